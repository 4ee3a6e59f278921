/** The HTML standing in for Oceanpayment's hosted payment page: who is asking for how much, and a card form. */
import { escapeHtml, page } from './three-d-secure-page.ts';

export interface CheckoutPageDetails {
  readonly account: string;
  readonly orderNumber: string;
  readonly amount: string;
  readonly currency: string;
  /** Where the form posts: the same pay_url. */
  readonly action: string;
}

export function checkoutPage(details: CheckoutPageDetails, problem: string | null): string {
  return page('Pay by card (sandbox)', `<h1>Pay by card</h1>
<p class="note">Oceanpayment sandbox: this page stands in for the gateway's hosted payment page.</p>
<dl>
<dt>Merchant</dt><dd>${escapeHtml(details.account)}</dd>
<dt>Order</dt><dd>${escapeHtml(details.orderNumber)}</dd>
<dt>Amount</dt><dd>${escapeHtml(details.currency)} ${escapeHtml(details.amount)}</dd>
</dl>
${problem ? `<p role="alert" style="color:#b42318">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="${escapeHtml(details.action)}">
<p><label>Card number<br><input name="card_number" inputmode="numeric" autocomplete="cc-number" required></label></p>
<p><label>Expiry (MM/YY)<br><input name="expiry" autocomplete="cc-exp" required></label></p>
<p><label>Security code<br><input name="cvv" inputmode="numeric" autocomplete="cc-csc" required></label></p>
<button type="submit" name="action" value="pay">Pay ${escapeHtml(details.currency)} ${escapeHtml(details.amount)}</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>`);
}
