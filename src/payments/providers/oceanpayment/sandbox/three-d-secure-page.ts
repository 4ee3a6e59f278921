/**
 * The HTML standing in for the bank's 3-D Secure step: the challenge with two buttons, the page
 * that carries the signed result back to the merchant through the browser, and plain notices.
 */

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The sandbox's page frame around `body` (HTML the caller has escaped). */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }
.card { border: 1px solid #d5d9e0; border-radius: 8px; padding: 1.5rem; }
dt { color: #5b6473; font-size: .85rem; } dd { margin: 0 0 .75rem; font-weight: 600; }
button { font-size: 1rem; padding: .6rem 1.2rem; margin-right: .5rem; border-radius: 6px; border: 1px solid #8a93a3; cursor: pointer; }
button[value=authenticate] { background: #1f6feb; color: #fff; border-color: #1f6feb; }
.note { color: #5b6473; font-size: .85rem; }
</style>
</head>
<body>
<div class="card">
${body}
</div>
</body>
</html>
`;
}

export interface ChallengeDetails {
  readonly account: string;
  readonly orderNumber: string;
  readonly amount: string;
  readonly currency: string;
  /** Where the form posts: the same pay_url. */
  readonly action: string;
}

/** The challenge: who is asking for how much, and the customer's two choices. */
export function challengePage(details: ChallengeDetails): string {
  return page(
    '3-D Secure verification (sandbox)',
    `<h1>Verify this payment</h1>
<p class="note">Oceanpayment sandbox: this page stands in for your bank's 3-D Secure check.</p>
<dl>
<dt>Merchant</dt><dd>${escapeHtml(details.account)}</dd>
<dt>Order</dt><dd>${escapeHtml(details.orderNumber)}</dd>
<dt>Amount</dt><dd>${escapeHtml(details.currency)} ${escapeHtml(details.amount)}</dd>
</dl>
<form method="post" action="${escapeHtml(details.action)}">
<button type="submit" name="result" value="authenticate">Authenticate</button>
<button type="submit" name="result" value="fail">Fail</button>
</form>`,
  );
}

/**
 * Carries the signed result to the merchant's backUrl through the customer's browser, like the
 * gateway: a form that submits itself (with a button for browsers without scripts).
 */
export function returnToMerchantPage(backUrl: string, fields: ReadonlyArray<readonly [string, string]>, approved: boolean): string {
  const inputs = fields
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return page(
    approved ? 'Payment verified' : 'Verification failed',
    `<h1>${approved ? 'Payment verified' : 'Verification failed'}</h1>
<p>Returning you to the merchant…</p>
<form id="return" method="post" action="${escapeHtml(backUrl)}">
${inputs}
<button type="submit">Continue to the merchant</button>
</form>
<script>document.getElementById('return').submit();</script>`,
  );
}

/** A plain message (result without backUrl, completed or unknown payment). */
export function messagePage(title: string, text: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>`);
}
