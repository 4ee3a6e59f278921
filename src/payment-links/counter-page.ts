/**
 * `GET /counter/{token}`: the page counter staff open to show a customer the QR code of an
 * in-person order (`rebill collect --qr` prints its address). It shows the amount and the code
 * while the order waits, and the result once settled, refreshing itself; the token is
 * single-purpose, expires with the order and is closed once it is settled.
 */
import type { Db } from '../db/connect.ts';
import { send, type Route } from '../http/server.ts';
import type { Clock } from '../lib/clock.ts';
import { html, htmlPage, SafeHtml } from '../lib/html.ts';
import { displayMoney } from '../lib/money.ts';
import { qrSvg } from '../lib/qr-code.ts';
import { findLinkByToken } from './payment-link.repo.ts';

export function counterPageRoutes(settings: { db: Db; clock: Clock; merchant: { name: string } }): Route[] {
  return [
    {
      method: 'GET',
      path: '/counter/*',
      handler: async (_req, res, url) => {
        const page = await counterPage(settings, url.pathname.slice('/counter/'.length));
        send(res, page.status, page.body, 'text/html; charset=utf-8');
      },
    },
  ];
}

async function counterPage(settings: { db: Db; clock: Clock; merchant: { name: string } }, token: string): Promise<{ status: number; body: string }> {
  const found = await findLinkByToken(settings.db, token);
  if (!found || found.attempt.details.collection !== 'in_person') return { status: 404, body: htmlPage('Not found', html`<h1>This counter page is not valid</h1>`) };
  const { link, attempt, subscription } = found;
  const amount = displayMoney({ amountMinor: attempt.amount_minor, currency: attempt.currency });
  const who = `${subscription.customer_first_name} ${subscription.customer_last_name}`;
  if (attempt.status === 'succeeded') return { status: 200, body: htmlPage('Paid', html`<h1 id="result">Paid: ${amount}</h1><p>${who}, order ${attempt.reference}. Thank you.</p>`) };
  if (attempt.status === 'failed' || attempt.status === 'expired') {
    return { status: 200, body: htmlPage('Not paid', html`<h1 id="result">Not paid</h1><p>Order ${attempt.reference} of ${amount} was not paid${attempt.provider_message ? html`: ${attempt.provider_message}` : ''}.</p>`) };
  }
  if (link.closed_at || link.expires_at <= settings.clock.now() || !attempt.action_url) {
    return { status: 410, body: htmlPage('Closed', html`<h1>This counter page is closed</h1><p>Order ${attempt.reference} is ${attempt.status}.</p>`) };
  }
  const svg = new SafeHtml(await qrSvg(attempt.action_url));
  const body = htmlPage(`Pay ${amount}`, html`<h1>Scan to pay ${amount} to ${settings.merchant.name}</h1>
<div id="qr" style="width:18rem">${svg}</div>
<p>${who}, order ${attempt.reference}. This page refreshes by itself and shows the result.</p>`);
  // Refresh while waiting, so staff see the result without touching anything.
  return { status: 200, body: body.replace('<head>', '<head><meta http-equiv="refresh" content="3">') };
}
