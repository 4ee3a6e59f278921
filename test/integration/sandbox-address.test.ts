/** A sandbox listening on every interface (as in a container) hands out links a browser can open. */
import { describe, expect, it } from 'vitest';
import { useSandboxClient } from '../support/sandbox-client.ts';

const setup = useSandboxClient({ host: '0.0.0.0', seed: 'address' });

describe('the sandbox on every interface', () => {
  it('names the loopback in its address and its 3-D Secure links, and serves them there', async () => {
    expect(setup.sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const outcome = await setup.client.charge({
      orderNumber: `ADDR-${Date.now()}`,
      amountMinor: 1250,
      currency: 'USD',
      serviceMode: 'M2',
      quickpayId: '3ds-address',
      orderNotes: 'subscription address period 1',
      billing: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', country: 'US' },
      product: { name: 'Coffee of the month' },
      noticeUrl: setup.merchant.noticeUrl,
      backUrl: setup.merchant.backUrl,
    });
    expect(outcome.kind).toBe('action_required');
    const payUrl = (outcome as { payUrl: string }).payUrl;
    expect(payUrl.startsWith(`${setup.sandbox.url}/`)).toBe(true);
    const page = await fetch(payUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Authenticate');
  });
});
