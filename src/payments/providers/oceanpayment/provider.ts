/**
 * Oceanpayment as a payment provider: the neutral operations of src/payments/provider.ts mapped
 * onto its protocol (direct/pay with a QuickPay ID and service_mode, face-to-face WeChat Pay and
 * Alipay on directservice/pay with the void of an unpaid QR order, the order query, refunds,
 * signed notices with `receive-ok`, business notices confirmed by query).
 */
import { formatAmount } from '../../../lib/money.ts';
import type { QueriedPayment } from '../../outcomes.ts';
import type { BusinessConfirmation, BusinessMessage, Capability, InboundMessage, InboundReader, PaymentProvider, PaymentResultMessage } from '../../provider.ts';
import { moneyFromGatewayAmount } from './amount.ts';
import { OceanpaymentClient, type OceanpaymentClientOptions } from './client.ts';
import { parseBrowserReturn, parseNotice, type ParsedNotice } from './notice.ts';
import { secureCodeForTerminal, type MerchantCredentials } from './sign.ts';
import { serviceModeForSequence } from './service-mode.ts';
import { businessOrders, gatewayDay, settledPayments } from './settlement.ts';
import { GATEWAY_UTC_OFFSET_MINUTES } from './gateway-time.ts';

export const OCEANPAYMENT = 'oceanpayment';

const USABLE_TOKEN_STATUSES = new Set(['active', '1', 'normal']);

/** `YYYY-MM` from the QuickPay query's expiryTime (e.g. `2029-08` or `2029-08-31 23:59:59`), or null. */
function expiryMonth(expiryTime: string | null): string | null {
  const match = /^(\d{4})-(\d{2})/.exec(expiryTime ?? '');
  return match ? `${match[1]}-${match[2]}` : null;
}

const CAPABILITIES: ReadonlySet<Capability> = new Set(['token_charge', 'hosted_checkout', 'tokenise', 'in_person_qr', 'query', 'refund', 'signed_notices', 'order_lists']);

const OFFLINE_METHODS = { wechat: 'WeChatPay_Offline', alipay: 'Alipay_Offline' } as const;

export interface OceanpaymentProvider extends PaymentProvider {
  /** The protocol client, for what only Oceanpayment offers (its order lists). */
  readonly client: OceanpaymentClient;
}

export function oceanpaymentProvider(options: OceanpaymentClientOptions): OceanpaymentProvider {
  const client = new OceanpaymentClient(options);
  const { credentials } = options;
  const provider: OceanpaymentProvider = {
    name: OCEANPAYMENT,
    capabilities: CAPABILITIES,
    account: `${credentials.account}/${credentials.terminal}`,
    actionOrigin: new URL(options.gatewayUrl).origin,
    client,
    inbound: inboundReader(credentials),
    chargeDetails: ({ sequence, interval }) => ({ service_mode: serviceModeForSequence(interval, sequence) }),

    chargeToken: (request) =>
      client.charge({
        orderNumber: request.reference,
        amountMinor: request.money.amountMinor,
        currency: request.money.currency,
        serviceMode: serviceModeForSequence(request.interval, request.sequence),
        quickpayId: request.token,
        orderNotes: request.description,
        billing: request.customer,
        product: request.product,
        noticeUrl: request.urls.notice,
        backUrl: request.urls.return,
      }),

    tokenisePage: ({ customerId, customer, returnUrl }) => client.tokenisePage({ customerId, billing: customer, backUrl: returnUrl }),

    async confirmToken(customerId, token) {
      const answer = await client.quickPayQuery({ customerId });
      if (answer.kind === 'error') return answer;
      const held = answer.quickpay;
      if (!held) return { kind: 'not_confirmed', reason: `the gateway holds no card for customer ${customerId}` };
      if (held.id !== token) return { kind: 'not_confirmed', reason: `the gateway's card for customer ${customerId} is not the one the browser brought back` };
      // INFERRED: the status words are not documented; only a card the gateway calls active is used.
      if (!USABLE_TOKEN_STATUSES.has(held.status.toLowerCase())) return { kind: 'not_confirmed', reason: `the gateway says the card is "${held.status}"` };
      return { kind: 'confirmed', expiry: expiryMonth(held.expiryTime) };
    },

    async disableToken(token) {
      const answer = await client.quickPayCancel(token);
      return answer.kind === 'error' ? answer : { kind: 'disabled' };
    },

    async startCheckout(request) {
      const started = await client.hostedCheckout({
        orderNumber: request.reference,
        amountMinor: request.money.amountMinor,
        currency: request.money.currency,
        serviceMode: serviceModeForSequence(request.interval, 'first_purchase'),
        orderNotes: request.description,
        billing: request.customer,
        product: request.product,
        noticeUrl: request.urls.notice,
        backUrl: request.urls.return,
      });
      return started.kind === 'redirect' ? { kind: 'redirect', url: started.payUrl, paymentId: started.paymentId } : started;
    },

    collectInPerson: (request) =>
      client.collectInPerson(
        {
          orderNumber: request.reference,
          amountMinor: request.money.amountMinor,
          currency: request.money.currency,
          ...(request.method.kind === 'scan' ? { payAccountNumber: request.method.code } : {}),
          orderNotes: request.description,
          billing: request.customer,
          product: { name: request.description },
          noticeUrl: request.urls.notice,
          backUrl: request.urls.return,
        },
        request.method.kind === 'qr' ? OFFLINE_METHODS[request.method.wallet] : '',
      ),

    async voidInPerson(reference) {
      const answer = await client.voidInPerson(reference);
      return answer.kind === 'sent' ? { kind: 'sent' } : answer;
    },

    async queryCharge(reference) {
      const result = await client.query(reference);
      if (result.kind !== 'found') return result;
      return {
        kind: 'found',
        payments: result.entries.map(
          (entry): QueriedPayment => ({
            paymentId: entry.paymentId,
            money: moneyFromGatewayAmount(entry.amount, entry.currency),
            outcome: entry.outcome,
            chargedBack: entry.raw.chargeBack_status === '1',
            refunded: entry.raw.refund_status === '1',
          }),
        ),
      };
    },

    async refund(request) {
      const outcome = await client.applyRefund({
        paymentId: request.paymentId,
        refundNumber: request.reference,
        refundType: request.full ? 'full' : 'partial',
        amount: formatAmount(request.money),
        description: request.reason,
      });
      return outcome;
    },

    async queryRefund({ reference, refundId }) {
      const result = await client.queryRefund(refundId ? { refundId } : { refundNumber: reference });
      switch (result.kind) {
        case 'refunded':
          return { kind: 'refunded', refundId: result.refundId };
        case 'pending':
          return { kind: 'pending', refundId: result.refundId };
        case 'failed':
          return { kind: 'failed', refundId: result.refundId, message: result.message };
        default:
          return result;
      }
    },

    confirmBusiness: (message) => confirmBusiness(provider, message),

    settlementWindow: (day) => gatewayDay(day, options.gatewayUtcOffsetMinutes ?? GATEWAY_UTC_OFFSET_MINUTES),
    listSettledPayments: (window, page) => settledPayments(client, window, page),
    listBusinessOrders: (window, page) => businessOrders(client, window, page),

    close: () => client.close(),
  };
  return provider;
}

/**
 * Business notices cannot be verified (their formula is unpublished), so each is checked with a
 * signed query: a refund by the refund query, a chargeback or fraud return by the order query.
 */
async function confirmBusiness(provider: OceanpaymentProvider, message: BusinessMessage): Promise<BusinessConfirmation> {
  switch (message.category) {
    case 'refund': {
      if (!message.eventId && !message.refundReference) return { kind: 'not_confirmed', reason: 'the notice names no refund' };
      const result = await provider.queryRefund!({ reference: message.refundReference, refundId: message.eventId || null });
      if (result.kind === 'not_found') return { kind: 'not_confirmed', reason: 'the gateway has no such refund' };
      if (result.kind === 'error') return { kind: 'unresolved', reason: result.reason };
      return result.kind === 'failed'
        ? { kind: 'refund', refundId: result.refundId, state: 'failed', message: result.message }
        : { kind: 'refund', refundId: result.refundId, state: result.kind };
    }
    case 'chargeback':
    case 'fraud': {
      const result = await provider.queryCharge!(message.reference);
      if (result.kind === 'error') return { kind: 'unresolved', reason: result.reason };
      if (result.kind === 'not_found') return { kind: 'not_confirmed', reason: `the gateway has no order ${message.reference}` };
      const payment = result.payments.find((p) => p.chargedBack && (!message.paymentId || p.paymentId === message.paymentId));
      if (!payment) return { kind: 'not_confirmed', reason: 'the order query shows no chargeback on this payment' };
      return { kind: 'chargeback', category: message.category, money: null };
    }
    case 'dispute':
    case 'other':
      return { kind: 'not_confirmed', reason: `a ${message.noticeType || message.category} notice is recorded; nothing moves money yet` };
  }
}

function inboundReader(credentials: MerchantCredentials): InboundReader {
  return {
    acknowledgement: 'receive-ok',
    readNotice: (body) => neutral(parseNotice(body, credentials)),
    readReturn: (form) => {
      const message = neutral(parseBrowserReturn(form, credentials));
      return message.kind === 'malformed' ? { ...message, reference: form.order_number ?? '' } : message;
    },
    accountProblem(message, providerAccount) {
      const [account = '', terminal = ''] = message.account.split('/');
      const [sentAccount = '', sentTerminal = ''] = providerAccount.split('/');
      // A merchant's other terminals (e.g. a 3-D Secure one) may report on a charge sent from the main one.
      const known = terminal === sentTerminal || (secureCodeForTerminal(credentials, terminal) !== undefined && account === credentials.account);
      return account === sentAccount && known ? null : `account/terminal ${account}/${terminal} is not the charge's (${providerAccount})`;
    },
  };
}

function neutral(parsed: ParsedNotice): InboundMessage {
  switch (parsed.kind) {
    case 'malformed':
      return parsed;
    case 'business': {
      const { claims } = parsed;
      return {
        kind: 'business',
        verified: false,
        category: claims.category,
        noticeType: claims.noticeType,
        reference: claims.orderNumber,
        paymentId: claims.paymentId,
        eventId: claims.pushId,
        refundReference: claims.refundNumber,
        problems: claims.problems,
      };
    }
    case 'transaction': {
      const fields = parsed.fields;
      const message: PaymentResultMessage = {
        kind: 'payment_result',
        verified: parsed.verified,
        ...(parsed.problem ? { problem: parsed.problem } : {}),
        reference: fields.order_number ?? '',
        paymentId: fields.payment_id ?? '',
        status: fields.payment_status ?? '',
        money: moneyFromGatewayAmount(fields.order_amount ?? '', fields.order_currency ?? ''),
        outcome: parsed.outcome,
        ...(fields.notice_type ? { noticeType: fields.notice_type } : {}),
        account: `${fields.account ?? ''}/${fields.terminal ?? ''}`,
      };
      return message;
    }
  }
}
