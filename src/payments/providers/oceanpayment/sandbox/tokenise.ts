/**
 * Saving a card without a payment, both ways: `POST /gateway/service/create` (the customer's
 * browser, with the merchant's signed form, §1.2) shows a card form; its submission creates a
 * QuickPay ID filed under the merchant's `customer_id` and carries it back to backUrl. The JSON
 * QuickPay API (§3.5) answers `/pg/quickPay/query` (by customer.id or quickpay.id) and
 * `/pg/quickPay/cancel`, authenticated by the account, terminal and secureCode headers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sign, TOKENISE_REQUEST_FIELDS, verify } from '../sign.ts';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { cardProblem, SANDBOX_CARDS } from './hosted-checkout.ts';
import { sendHtml, sendJson } from './http-util.ts';
import { readJsonObject } from './json-body.ts';
import { escapeHtml, messagePage, page, returnToMerchantPage } from './three-d-secure-page.ts';

export const TOKENISE_PATH = '/gateway/service/create';
export const TOKENISE_CARD_PATH = '/gateway/service/create/card';

type Form = Readonly<Record<string, string>>;
const field = (form: Form, name: string): string => (Object.hasOwn(form, name) ? (form[name] ?? '') : '');

/** A token the sandbox created, as the QuickPay API reports it. */
export interface SandboxToken {
  readonly account: string;
  readonly terminal: string;
  readonly customerId: string;
  status: 'active' | 'canceled';
  /** `YYYY-MM`. */
  readonly expiry: string;
  readonly createdAt: number;
}

export function startTokenise(context: SandboxContext, form: Form, response: ServerResponse): void {
  const secureCode = secureCodeFor(context, field(form, 'account'), field(form, 'terminal'));
  const problem =
    secureCode === undefined ? '20016:Terminal not match to interface'
    : !/^[A-Za-z0-9_-]{1,50}$/.test(field(form, 'customer_id')) ? '20001:customer_id is empty or malformed'
    : !/^https?:\/\/\S{1,490}$/.test(field(form, 'backUrl')) ? '20024:backUrl is not a valid http(s) URL'
    : !verify(TOKENISE_REQUEST_FIELDS, form, secureCode, field(form, 'signValue')) ? '20013:Incorrect sign value'
    : null;
  if (problem) {
    sendHtml(response, 400, messagePage('Request refused', problem));
    return;
  }
  const session = randomBytes(16).toString('hex');
  context.tokeniseSessions.set(session, { account: field(form, 'account'), terminal: field(form, 'terminal'), customerId: field(form, 'customer_id'), backUrl: field(form, 'backUrl') });
  sendHtml(response, 200, cardForm(context, session, null));
}

function cardForm(context: SandboxContext, session: string, problem: string | null): string {
  const action = `${context.baseUrl}${TOKENISE_CARD_PATH}?session=${session}`;
  return page('Save your card (sandbox)', `<h1>Save your card</h1>
<p class="note">Oceanpayment sandbox: this page stands in for the gateway's card page. Nothing is charged.</p>
${problem ? `<p role="alert" style="color:#b42318">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<p><label>Card number<br><input name="card_number" inputmode="numeric" autocomplete="cc-number" required></label></p>
<p><label>Expiry (MM/YY)<br><input name="expiry" autocomplete="cc-exp" required></label></p>
<p><label>Security code<br><input name="cvv" inputmode="numeric" autocomplete="cc-csc" required></label></p>
<button type="submit" name="action" value="save">Save card</button>
</form>`);
}

export function saveCard(context: SandboxContext, session: string, form: Form, response: ServerResponse): void {
  const pending = context.tokeniseSessions.get(session);
  if (!pending) {
    sendHtml(response, 404, messagePage('Unknown page', 'This card page is not valid or was already used. Ask the merchant for a new link.'));
    return;
  }
  const number = field(form, 'card_number').replace(/[\s-]/g, '');
  const card = SANDBOX_CARDS.find((c) => c.number === number);
  const problem = cardProblem(form) ?? (card?.result === 'decline' ? 'This card was declined; please use another card.' : null);
  if (problem) {
    sendHtml(response, 400, cardForm(context, session, problem));
    return;
  }
  context.tokeniseSessions.delete(session);
  const token = `${card?.tokenPrefix ?? ''}${randomUUID()}`;
  const [month, year] = field(form, 'expiry').split('/').map((part) => part.trim());
  context.quickpayTokens.set(token, { account: pending.account, terminal: pending.terminal, customerId: pending.customerId, status: 'active', expiry: `20${year}-${month}`, createdAt: Date.now() });
  context.logger?.info({ customerId: pending.customerId }, 'card saved');
  const secureCode = secureCodeFor(context, pending.account, pending.terminal) ?? '';
  const values = { account: pending.account, terminal: pending.terminal, customer_id: pending.customerId, quickpay_id: token };
  // The real return's signature formula is unpublished; the sandbox signs its own way, and rebill
  // confirms the token with the QuickPay query instead of trusting this.
  const signValue = sign(['account', 'terminal', 'customer_id', 'quickpay_id'], values, secureCode).toUpperCase();
  sendHtml(response, 200, returnToMerchantPage(pending.backUrl, [
    ['response_type', '0'], ['account', values.account], ['terminal', values.terminal], ['signValue', signValue],
    ['customer_id', values.customer_id], ['quickpay_id', token], ['card_number', `${number.slice(0, 6)}***${number.slice(-4)}`],
    ['payment_status', '1'], ['payment_details', '80000:Transaction Approved'],
  ], true));
}

/** `POST /pg/quickPay/query` and `/pg/quickPay/cancel`: JSON, credentials in headers, `code` "000" on success. */
export async function handleQuickPay(context: SandboxContext, request: IncomingMessage, response: ServerResponse, operation: 'query' | 'cancel'): Promise<void> {
  const header = (name: string) => String(request.headers[name] ?? '');
  const secureCode = secureCodeFor(context, header('account'), header('terminal'));
  if (secureCode === undefined || secureCode !== header('securecode')) {
    sendJson(response, 200, { code: 'AUTH_ERROR', message: 'account, terminal or secureCode is wrong', data: {} });
    return;
  }
  const body = await readJsonObject(request, '{"quickpay": {"id": "…"}}');
  if (!body.ok) {
    sendJson(response, 200, { code: 'PARAM_ERROR', message: body.error, data: {} });
    return;
  }
  const id = (body.value.quickpay as { id?: unknown } | undefined)?.id;
  const customerId = (body.value.customer as { id?: unknown } | undefined)?.id;
  const mine = (token: SandboxToken) => token.account === header('account') && token.terminal === header('terminal');
  let found: [string, SandboxToken] | undefined;
  if (typeof id === 'string') {
    const token = context.quickpayTokens.get(id);
    if (token && mine(token)) found = [id, token];
  } else if (typeof customerId === 'string' && operation === 'query') {
    // The customer's newest card.
    for (const entry of context.quickpayTokens) if (mine(entry[1]) && entry[1].customerId === customerId) found = entry;
  } else {
    sendJson(response, 200, { code: 'PARAM_ERROR', message: operation === 'query' ? 'give quickpay.id or customer.id' : 'give quickpay.id', data: {} });
    return;
  }
  if (!found) {
    // A query that finds nothing succeeds with no card; there is nothing to cancel.
    sendJson(response, 200, operation === 'query' ? { code: '000', message: 'SUCCESS', data: {} } : { code: 'NOT_FOUND', message: 'no such QuickPay ID', data: {} });
    return;
  }
  if (operation === 'cancel') found[1].status = 'canceled';
  sendJson(response, 200, { code: '000', message: 'SUCCESS', data: { quickpay: { id: found[0], status: found[1].status, expiryTime: found[1].expiry } } });
}
