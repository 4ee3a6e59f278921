/** The provider request for one claimed charge: a stored token's charge, a period's payment link, or a hosted checkout. */
import type { PaymentMethod, PaymentTransaction, Subscription } from '../db/database.ts';
import type { CheckoutRequest, PaymentLinkRequest, TokenChargeRequest } from '../payments/provider.ts';
import { sequenceOf } from '../plans/charge-sequence.ts';

export function renewalChargeRequest(
  subscription: Subscription,
  attempt: PaymentTransaction,
  method: PaymentMethod,
  urls: { notice: string; return: string },
): TokenChargeRequest {
  if (method.token === null) throw new Error(`payment method ${method.id} holds no card token to charge`);
  return { ...checkoutRequest(subscription, attempt, urls), token: method.token, sequence: sequenceOf(attempt.period) };
}

/** The first purchase the customer pays on the provider's page (no token yet: the page creates it). */
export function checkoutRequest(subscription: Subscription, attempt: PaymentTransaction, urls: { notice: string; return: string }): CheckoutRequest {
  return {
    ...paymentLinkRequest(subscription, attempt, urls),
    interval: subscription.interval,
    product: { name: subscription.product_name, sku: subscription.interval },
  };
}

export function paymentLinkRequest(subscription: Subscription, attempt: PaymentTransaction, urls: { notice: string; return: string }): PaymentLinkRequest {
  return {
    reference: attempt.reference,
    money: { amountMinor: attempt.amount_minor, currency: attempt.currency },
    // Shown in the provider's back office; the sandbox's double-charge check also keys on it.
    description: `subscription ${subscription.id} period ${attempt.period}`,
    customer: {
      firstName: subscription.customer_first_name,
      lastName: subscription.customer_last_name,
      email: subscription.customer_email,
      country: subscription.customer_country,
    },
    urls,
  };
}
