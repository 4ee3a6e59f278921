/**
 * What rebill needs from a payment provider. A provider declares what it can do (its
 * capabilities) and implements those operations with neutral requests and outcomes; it owns its
 * protocol (signing, codes, amount format, notice parsing) and its sandbox, in its own folder under
 * `providers/`. Adding a provider touches that folder, the registry and the configuration only.
 */
import type { Money } from '../lib/money.ts';
import type { Interval } from '../plans/billing-calendar.ts';
import type { ChargeSequence } from '../plans/charge-sequence.ts';
import type { ChargeOutcome, ChargeQueryResult, RefundQueryResult, RefundRequestOutcome } from './outcomes.ts';

export const CAPABILITIES = [
  'token_charge', 'hosted_checkout', 'tokenise', 'payment_link', 'in_person_qr', 'query', 'refund', 'signed_notices', 'order_lists',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

export type { ChargeSequence } from '../plans/charge-sequence.ts';

export interface TokenChargeRequest {
  /** Our reference for this charge, unique for ever (the order number). */
  readonly reference: string;
  readonly money: Money;
  /** The stored payment method's token. */
  readonly token: string;
  readonly sequence: ChargeSequence;
  readonly interval: Interval;
  /** Shown in the provider's back office: which subscription and period this is. */
  readonly description: string;
  readonly customer: { readonly firstName: string; readonly lastName: string; readonly email: string; readonly country: string };
  readonly product: { readonly name: string; readonly sku?: string };
  /** Where the provider posts its notices and sends the customer back. */
  readonly urls: { readonly notice: string; readonly return: string };
}

/** A period collected by a link the customer pays on the provider's page (`payment_link`). */
export interface PaymentLinkRequest {
  /** Our reference for this attempt, unique for ever (the order number). */
  readonly reference: string;
  readonly money: Money;
  readonly description: string;
  readonly customer: { readonly firstName: string; readonly lastName: string; readonly email: string; readonly country: string };
  /** Where the provider posts its notices and sends the customer back. */
  readonly urls: { readonly notice: string; readonly return: string };
}

/** A first purchase the customer makes on the provider's own payment page, which also stores the card. */
export type CheckoutRequest = Omit<TokenChargeRequest, 'token' | 'sequence'>;

/** What starting a hosted checkout gave. */
export type CheckoutStart =
  /** The provider's page is ready: the customer goes to `url` (on the provider's action origin). */
  | { kind: 'redirect'; url: string; paymentId: string }
  /** Refused: nothing can be paid on this request (`code` is the provider's). */
  | { kind: 'refused'; code: string; message: string }
  /** No believable answer: whether the order exists is unknown. */
  | { kind: 'unknown'; reason: string };
/** A period collected at a counter (`in_person_qr`): WeChat Pay or Alipay, face to face. */
export interface InPersonRequest extends PaymentLinkRequest {
  /** `qr`: a code for the customer to scan with the wallet; `scan`: the customer's payment code, scanned by staff. */
  readonly method: { readonly kind: 'qr'; readonly wallet: 'wechat' | 'alipay' } | { readonly kind: 'scan'; readonly code: string };
}

/** A page where the customer saves a new card: a form their browser posts to `action`. */
export interface TokenisePage {
  readonly action: string;
  readonly fields: ReadonlyArray<readonly [string, string]>;
}

/** What the provider says of a token a customer's browser brought back. */
export type TokenConfirmation =
  /** The provider holds it for this customer and it can pay; `expiry` `YYYY-MM` when it says. */
  | { kind: 'confirmed'; expiry: string | null }
  | { kind: 'not_confirmed'; reason: string }
  | { kind: 'error'; reason: string };

export interface RefundRequest {
  /** Our reference for this refund, unique for ever; it finds the refund after an unknown outcome. */
  readonly reference: string;
  /** The provider's id of the payment to refund. */
  readonly paymentId: string;
  readonly money: Money;
  /** The whole payment, or part of it. */
  readonly full: boolean;
  readonly reason: string;
}

/** A payment result the provider pushed (a notice) or the customer's browser carried back. */
export interface PaymentResultMessage {
  readonly kind: 'payment_result';
  /** The signature and every field's format check out. Only then may `outcome` be considered. */
  readonly verified: boolean;
  readonly problem?: string;
  /** Our reference (the order number), as received. */
  readonly reference: string;
  readonly paymentId: string;
  /** The provider's status, as received, for the record. */
  readonly status: string;
  /** The amount as money, or null when it cannot be read as such. */
  readonly money: Money | null;
  readonly outcome: ChargeOutcome;
  /** The provider's own kind of notice, when it says, for the record. */
  readonly noticeType?: string;
  /** Facts naming which merchant account the message is for, checked by `belongsTo`. */
  readonly account: string;
}

export type BusinessCategory = 'refund' | 'chargeback' | 'dispute' | 'fraud' | 'other';

/** A refund, chargeback or dispute notice: never verifiable, so only ever a reason to ask. */
export interface BusinessMessage {
  readonly kind: 'business';
  readonly verified: false;
  readonly category: BusinessCategory;
  readonly noticeType: string;
  /** The charge it is about: our reference and the provider's payment id, as received. */
  readonly reference: string;
  readonly paymentId: string;
  /** The provider's id of the business event (for refunds, the refund id). */
  readonly eventId: string;
  /** Our refund reference, for refunds we asked for. */
  readonly refundReference: string;
  /** Format problems: a message with any is stored and never leads to a query. */
  readonly problems: readonly string[];
}

/** What could not be read as any message; `reference` is what it claimed to be about, for the record. */
export type MalformedMessage = { readonly kind: 'malformed'; readonly problem: string; readonly reference?: string };

export type InboundMessage = PaymentResultMessage | BusinessMessage | MalformedMessage;

/** What a query to the provider found about a business notice it sent. */
export type BusinessConfirmation =
  | { kind: 'refund'; refundId: string; state: 'refunded' | 'pending' | 'failed'; message?: string }
  /** The payment was charged back (or returned as fraud); money null when the provider does not say how much. */
  | { kind: 'chargeback'; category: 'chargeback' | 'fraud'; money: Money | null }
  /** The provider does not confirm what the notice claimed. */
  | { kind: 'not_confirmed'; reason: string }
  /** The provider could not be asked or did not answer clearly: ask again later. */
  | { kind: 'unresolved'; reason: string };

/** A provider's day, both ends inclusive: what "the payments of 2026-12-01" means in its time zone. */
export interface SettlementWindow {
  /** The day as written, `YYYY-MM-DD`. */
  readonly day: string;
  readonly from: Date;
  readonly to: Date;
}

/** A successful payment as the provider's daily list shows it (`order_lists`). */
export interface SettledPayment {
  /** Our reference (the order number), as listed. */
  readonly reference: string;
  readonly paymentId: string;
  /** The amount as money, or null when it cannot be read as such in the listed currency. */
  readonly money: Money | null;
  /** Amount and currency as listed, for the record. */
  readonly amountText: string;
  readonly currency: string;
  readonly paidAt: Date | null;
}

/** A refund, chargeback or other business order as the provider's daily list shows it (`order_lists`). */
export interface ListedBusinessOrder {
  readonly category: 'refund' | 'chargeback' | 'other';
  /** The provider's own word for it, as listed. */
  readonly type: string;
  /** The payment it is about: our reference and the provider's payment id. */
  readonly reference: string;
  readonly paymentId: string;
  /** How much was refunded or charged back, or null when it cannot be read as money. */
  readonly money: Money | null;
  readonly amountText: string;
  readonly currency: string;
  readonly state: 'done' | 'failed' | 'pending' | 'other';
  /** When it happened (or, lacking that, when the payment did). */
  readonly at: Date | null;
}

export type ListPage<Row> =
  | { kind: 'page'; page: number; totalPages: number; rows: Row[] }
  | { kind: 'error'; reason: string };

export interface InboundReader {
  /** The exact response body that tells the provider a notice was received. */
  readonly acknowledgement: string;
  readNotice(body: string): InboundMessage;
  /** The form the customer's browser posted to the return URL. */
  readReturn(form: Readonly<Record<string, string>>): InboundMessage;
  /** Why a verified result cannot be about a transaction sent from `providerAccount`, or null. */
  accountProblem(message: PaymentResultMessage, providerAccount: string): string | null;
}

export interface PaymentProvider {
  /** Lower-case name used in URLs, configuration and the database, e.g. `oceanpayment`. */
  readonly name: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** Who rebill is at the provider (stored with each transaction), e.g. `995149/99514901`. */
  readonly account: string;
  /** Where this provider sends customers to act (3-D Secure): only URLs on this origin are ever redirected to. */
  readonly actionOrigin: string;
  /** Provider facts stored with a charge for the record (Oceanpayment: its service_mode). */
  chargeDetails(charge: { sequence: ChargeSequence; interval: Interval }): Record<string, string>;
  readonly inbound: InboundReader;
  /** Charges a stored token (`token_charge`). */
  chargeToken?(request: TokenChargeRequest): Promise<ChargeOutcome>;
  /** The provider's page where a customer saves a new card (`tokenise`), filed under `customerId`. */
  tokenisePage?(request: { customerId: string; customer: { firstName: string; lastName: string; email: string }; returnUrl: string }): TokenisePage;
  /** Whether the provider holds `token` for `customerId`, able to pay (`tokenise`). */
  confirmToken?(customerId: string, token: string): Promise<TokenConfirmation>;
  /** Stops a token from paying again (a replaced card); the provider keeps its records. */
  disableToken?(token: string): Promise<{ kind: 'disabled' } | { kind: 'error'; reason: string }>;
  /** Opens the provider's hosted page for a first purchase (`hosted_checkout`); the result comes as a notice carrying the new token. */
  startCheckout?(request: CheckoutRequest): Promise<CheckoutStart>;
  /**
   * Creates the payment a link leads to (`payment_link`): `action_required` with the provider's
   * page as `payUrl` and its payment id, which later queries and notices must name.
   */
  createPaymentLink?(request: PaymentLinkRequest): Promise<ChargeOutcome>;
  /**
   * Collects at a counter (`in_person_qr`): a scanned code is charged at once; a QR order answers
   * `pending` with the `scanCode` to show, and is settled by a notice or a query.
   */
  collectInPerson?(request: InPersonRequest): Promise<ChargeOutcome>;
  /** Voids an unpaid QR order; only a query says what the order then is. */
  voidInPerson?(reference: string): Promise<{ kind: 'sent' } | { kind: 'unknown'; reason: string }>;
  /**
   * Every payment the provider holds for our reference (`query`). `paymentId` is the provider's
   * id when it gave one: providers that can only be asked by their own id (Glocash) need it.
   */
  queryCharge?(reference: string, paymentId?: string | null): Promise<ChargeQueryResult>;
  refund?(request: RefundRequest): Promise<RefundRequestOutcome>;
  queryRefund?(refund: { reference: string; refundId: string | null }): Promise<RefundQueryResult>;
  /** Asks the provider about a business notice it sent (`signed_notices` providers need this for refunds and disputes). */
  confirmBusiness?(message: BusinessMessage): Promise<BusinessConfirmation>;
  /** The provider's day in its own time zone (`order_lists`); throws a ValidationError for a day that is not `YYYY-MM-DD`. */
  settlementWindow?(day: string): SettlementWindow;
  /** One page (from 1) of the successful payments in a window (`order_lists`). */
  listSettledPayments?(window: SettlementWindow, page: number): Promise<ListPage<SettledPayment>>;
  /** One page (from 1) of the refunds, chargebacks and other business orders in a window (`order_lists`). */
  listBusinessOrders?(window: SettlementWindow, page: number): Promise<ListPage<ListedBusinessOrder>>;
  close(): Promise<void>;
}

/** Thrown when asked of a provider that has not declared the capability: a configuration error. */
export class CapabilityError extends Error {
  constructor(provider: string, capability: Capability) {
    super(`the payment provider "${provider}" cannot ${capability.replaceAll('_', ' ')}`);
    this.name = 'CapabilityError';
  }
}

/** The provider's implementation of an operation, or a clear error when it has none. */
export function operation<K extends 'chargeToken' | 'startCheckout' | 'tokenisePage' | 'confirmToken' | 'disableToken' | 'createPaymentLink' | 'collectInPerson' | 'voidInPerson' | 'queryCharge' | 'refund' | 'queryRefund' | 'confirmBusiness' | 'settlementWindow' | 'listSettledPayments' | 'listBusinessOrders'>(
  provider: PaymentProvider,
  name: K,
  capability: Capability,
): NonNullable<PaymentProvider[K]> {
  const fn = provider[name];
  if (!provider.capabilities.has(capability) || !fn) throw new CapabilityError(provider.name, capability);
  return fn.bind(provider) as NonNullable<PaymentProvider[K]>;
}

/** The providers rebill can use, by name. Built once by the composition root from configuration. */
export class PaymentProviders {
  readonly #byName = new Map<string, PaymentProvider>();

  constructor(providers: readonly PaymentProvider[], readonly defaultName: string) {
    for (const provider of providers) this.#byName.set(provider.name, provider);
    if (!this.#byName.has(defaultName)) throw new Error(`the default payment provider "${defaultName}" is not configured`);
  }

  get(name: string): PaymentProvider {
    const provider = this.#byName.get(name);
    if (!provider) throw new Error(`no payment provider named "${name}" is configured (configured: ${[...this.#byName.keys()].join(', ')})`);
    return provider;
  }

  find(name: string): PaymentProvider | undefined {
    return this.#byName.get(name);
  }

  get default(): PaymentProvider {
    return this.get(this.defaultName);
  }

  all(): PaymentProvider[] {
    return [...this.#byName.values()];
  }

  async close(): Promise<void> {
    for (const provider of this.#byName.values()) await provider.close();
  }
}
