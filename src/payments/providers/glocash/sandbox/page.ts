/** The sandbox's payment page: what the customer sees at URL_PAYMENT, and the pages after it. */
import { html, htmlPage } from '../../../../lib/html.ts';
import { TEST_CARDS } from './behaviours.ts';
import type { SandboxTransaction } from './ledger.ts';

export function paymentPage(transaction: SandboxTransaction, action: string): string {
  return htmlPage(
    `Pay ${transaction.currency} ${transaction.price}`,
    html`<h1>Glocash sandbox: pay ${transaction.currency} ${transaction.price}</h1>
<p>To <strong>${transaction.merchantEmail}</strong>, invoice ${transaction.invoice}, for ${transaction.customerEmail}.</p>
<form method="post" action="${action}">
<p><label>Card number <input name="card" id="card" value="${TEST_CARDS[0]!.card}" autocomplete="off" inputmode="numeric"></label></p>
<p><button type="submit" name="choice" value="pay" id="pay">Pay ${transaction.currency} ${transaction.price}</button>
<button type="submit" name="choice" value="cancel" id="cancel">Cancel</button></p>
</form>
<p class="note">Test cards: ${TEST_CARDS.map((row, i) => html`${i ? ', ' : ''}${row.card} ${row.description}`)}. No real money moves.</p>`,
  );
}

export function donePage(transaction: SandboxTransaction): string {
  return htmlPage(
    `Payment ${transaction.status}`,
    html`<h1 id="result">Payment ${transaction.status}</h1><p>Invoice ${transaction.invoice}: ${transaction.currency} ${transaction.price}.</p>`,
  );
}

export function closedPage(status: string): string {
  return htmlPage('Payment closed', html`<h1 id="result">This payment is ${status}</h1><p>There is nothing more to pay here.</p>`);
}
