import { SAMPLE_MERCHANT, useSandboxClient } from '../support/sandbox-client.ts';
import { describe, expect, it } from 'vitest';
import type { ChargeRequest } from '../../src/payments/providers/oceanpayment/client.ts';
import { parseBrowserReturn, parseNotice } from '../../src/payments/providers/oceanpayment/notice.ts';

const MERCHANT = SAMPLE_MERCHANT;
const setup = useSandboxClient({ seed: 3, noticeRetryDelaysMs: [0, 20] });

let sequence = 0;

function chargeRequest(quickpayId: string): ChargeRequest {
  sequence += 1;
  return {
    orderNumber: `T-${sequence}-${Date.now()}`,
    amountMinor: 4500,
    currency: 'EUR',
    serviceMode: 'Y2',
    quickpayId,
    orderNotes: `sub_${sequence}:2025`,
    billing: { firstName: 'Zoë', lastName: 'Brandt', email: 'zoe@example.com', country: 'DE' },
    product: { name: 'Yearly plan' },
    noticeUrl: setup.merchant.noticeUrl,
    backUrl: setup.merchant.backUrl,
  };
}

function unescapeHtml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** What a browser would see: the form's action and its fields. */
function readForm(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1];
  if (action === undefined) throw new Error('no form on the page');
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescapeHtml(match[1] ?? '')] = unescapeHtml(match[2] ?? '');
  }
  return { action: unescapeHtml(action), fields };
}

async function startThreeDSecure(request: ChargeRequest): Promise<string> {
  const outcome = await setup.client.charge(request);
  expect(outcome).toMatchObject({ kind: 'action_required', code: '80093' });
  if (outcome.kind !== 'action_required') throw new Error('expected action_required');
  expect(outcome.payUrl).toMatch(new RegExp(`^${setup.sandbox.url}/gateway/direct/redirect\\?pay_id=[0-9a-f]{64}$`));
  return outcome.payUrl;
}

async function submitChoice(payUrl: string, result: 'authenticate' | 'fail'): Promise<Response> {
  return fetch(payUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ result }).toString(),
  });
}

describe('3-D Secure round trip through the sandbox page', () => {
  it('Authenticate: approved, signed browser return to backUrl, pending then approval notices', async () => {
    const request = chargeRequest('3ds-alice-42');
    const payUrl = await startThreeDSecure(request);

    const page = await fetch(payUrl);
    expect(page.status).toBe(200);
    const challenge = await page.text();
    expect(challenge).toContain(request.orderNumber);
    expect(challenge).toContain('EUR 45.00');
    expect(challenge).toContain('995149');
    expect(challenge).toMatch(/<form method="post" action="[^"]+">/);
    expect(challenge).toMatch(/<button type="submit" name="result" value="authenticate">Authenticate<\/button>/);
    expect(challenge).toMatch(/<button type="submit" name="result" value="fail">Fail<\/button>/);
    expect(readForm(challenge).action).toBe(payUrl);

    const completed = await submitChoice(payUrl, 'authenticate');
    expect(completed.status).toBe(200);
    const returnPage = await completed.text();
    const { action, fields } = readForm(returnPage);
    expect(action).toBe(request.backUrl);
    expect(returnPage).toMatch(/\.submit\(\)/);
    expect(fields).toMatchObject({ response_type: '0', order_number: request.orderNumber, payment_status: '1', payment_authType: '2' });
    expect(parseBrowserReturn(fields, MERCHANT)).toMatchObject({ kind: 'transaction', verified: true, responseType: '0', outcome: { kind: 'approved' } });

    // The browser posts that form to the setup.merchant, which sees the same verified content.
    await fetch(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    const [returned] = await setup.merchant.waitFor('/return', 1);
    expect(parseBrowserReturn(Object.fromEntries(new URLSearchParams(returned?.body ?? '')), MERCHANT)).toMatchObject({ verified: true, outcome: { kind: 'approved' } });

    const notices = (await waitForOrderNotices(request.orderNumber, 2)).map((body) => parseNotice(body, MERCHANT));
    expect(notices.map((notice) => notice.kind === 'transaction' && [notice.verified, notice.responseType, notice.outcome.kind])).toEqual([
      [true, '1', 'action_required'],
      [true, '1', 'approved'],
    ]);
    expect(notices[0]).toMatchObject({ fields: { payment_status: '-1', payment_details: expect.stringMatching(/^80093:/), pay_url: payUrl } });
    expect(await setup.client.query(request.orderNumber)).toMatchObject({ kind: 'found', entries: [{ outcome: { kind: 'approved' } }] });

    const again = await fetch(payUrl);
    expect(again.status).toBe(409);
    expect(await again.text()).toMatch(/already been verified or declined/);
    expect((await submitChoice(payUrl, 'authenticate')).status).toBe(409);
  });

  it('Fail: declined 80091, the browser return and the notice say so, the query agrees', async () => {
    const request = chargeRequest('3ds-bob');
    const payUrl = await startThreeDSecure(request);
    const completed = await submitChoice(payUrl, 'fail');
    expect(completed.status).toBe(200);
    const { fields } = readForm(await completed.text());
    expect(parseBrowserReturn(fields, MERCHANT)).toMatchObject({ verified: true, outcome: { kind: 'declined', code: '80091' } });
    const [, final] = (await waitForOrderNotices(request.orderNumber, 2)).map((body) => parseNotice(body, MERCHANT));
    expect(final).toMatchObject({ verified: true, outcome: { kind: 'declined', code: '80091' } });
    expect(await setup.client.query(request.orderNumber)).toMatchObject({ kind: 'found', entries: [{ outcome: { kind: 'declined', code: '80091' } }] });
  });

  it('answers an unknown or tampered pay_id with 404, and a missing choice with 400', async () => {
    const payUrl = await startThreeDSecure(chargeRequest('3ds-carol'));
    const tampered = payUrl.replace(/.$/, (last) => (last === '0' ? '1' : '0'));
    expect((await fetch(tampered)).status).toBe(404);
    expect((await fetch(`${setup.sandbox.url}/gateway/direct/redirect?pay_id=nothing`)).status).toBe(404);
    expect((await fetch(`${setup.sandbox.url}/gateway/direct/redirect`)).status).toBe(404);
    const noChoice = await fetch(payUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(noChoice.status).toBe(400);
    expect((await fetch(payUrl)).status).toBe(200);
  });

  it('refuses a guessed pay_id for an existing ledger row', async () => {
    const page = await fetch(`${setup.sandbox.url}/gateway/direct/redirect?pay_id=${'0'.repeat(64)}`);
    expect(page.status).toBe(404);
  });
});

async function waitForOrderNotices(orderNumber: string, count: number): Promise<string[]> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const bodies = setup.merchant.received.filter((item) => item.path === '/notice' && item.body.includes(`<order_number>${orderNumber}</order_number>`)).map((item) => item.body);
    if (bodies.length >= count) return bodies;
    if (Date.now() > deadline) throw new Error(`expected ${count} notices for ${orderNumber}, got ${bodies.length}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
