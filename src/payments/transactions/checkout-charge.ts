/**
 * A checkout charge: the first purchase a customer pays on the provider's hosted page. It is
 * recorded like any charge (invoice, transaction, notices, queries), but it waits for the
 * customer, not for the scheduler: until it is paid only the customer's link can try again, and
 * its success also brings the card token the renewals will use.
 */
import type { PaymentTransaction } from '../../db/database.ts';

/** What a checkout charge carries in its `details`. */
export const CHECKOUT_DETAILS = { channel: 'hosted_checkout' } as const;

export function isCheckoutCharge(charge: Pick<PaymentTransaction, 'details'>): boolean {
  return charge.details.channel === CHECKOUT_DETAILS.channel;
}

/** A card token a provider may hand over: letters, digits, `-` and `_`, nothing a person could smuggle in. */
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

export function isPlausibleToken(token: string | undefined): token is string {
  return token !== undefined && TOKEN.test(token);
}
