/**
 * Glocash as a payment provider. It charges no stored token: each period is collected by a
 * payment link (classic mode), its signed payment status notices (PSN) report the outcome, a
 * query by TNS_GCID settles what they do not, and refunds are full or partial.
 */
import type { QueriedPayment } from '../../outcomes.ts';
import type { BusinessConfirmation, BusinessMessage, Capability, InboundMessage, InboundReader, PaymentProvider } from '../../provider.ts';
import { GlocashClient, type GlocashClientOptions, type GlocashCredentials } from './client.ts';
import { formFields, outcomeOfStatus, readRecord } from './messages.ts';

export const GLOCASH = 'glocash';

const CAPABILITIES: ReadonlySet<Capability> = new Set(['payment_link', 'query', 'refund', 'signed_notices']);

/** BIL_STATUS values that report a refund or dispute rather than the payment's result. */
const BUSINESS_STATUSES: Readonly<Record<string, BusinessMessage['category']>> = {
  refunding: 'refund',
  refunded: 'refund',
  complaint: 'dispute',
  chargeback: 'chargeback',
};

export interface GlocashProvider extends PaymentProvider {
  readonly client: GlocashClient;
}

export function glocashProvider(options: GlocashClientOptions): GlocashProvider {
  const client = new GlocashClient(options);
  const provider: GlocashProvider = {
    name: GLOCASH,
    capabilities: CAPABILITIES,
    account: options.credentials.email,
    actionOrigin: new URL(options.apiUrl).origin,
    client,
    inbound: inboundReader(options.credentials),
    chargeDetails: () => ({}),

    createPaymentLink: (request) =>
      client.createPaymentLink({ invoice: request.reference, customerEmail: request.customer.email, money: request.money, urls: { notify: request.urls.notice, back: request.urls.return } }),

    async queryCharge(reference, paymentId) {
      // Glocash is asked by its own id only. Without one, its answer to our create request was
      // lost: the link never reached the customer, so nobody can have paid it.
      if (!paymentId) return { kind: 'not_found' };
      const answer = await client.query(paymentId);
      if (answer.kind !== 'found') return answer;
      const { record } = answer;
      if (record.invoice !== reference) return { kind: 'error', reason: `Glocash's ${paymentId} is for invoice ${record.invoice}, not ${reference}` };
      const payment: QueriedPayment = { paymentId: record.gcid, money: record.billed, outcome: outcomeOfStatus(record.status, record.gcid), chargedBack: record.status === 'chargeback' };
      return { kind: 'found', payments: [payment] };
    },

    refund: (request) => client.refund(request.paymentId, request.money),

    async queryRefund({ refundId }) {
      // Glocash has no refund of its own to ask about: the payment's status tells what it knows.
      if (!refundId) return { kind: 'not_found' };
      const answer = await client.query(refundId);
      if (answer.kind !== 'found') return answer.kind === 'not_found' ? answer : { kind: 'error', reason: answer.reason };
      if (answer.record.status === 'refunded') return { kind: 'refunded', refundId };
      if (answer.record.status === 'refunding') return { kind: 'pending', refundId };
      return { kind: 'error', reason: `the payment is ${answer.record.status}; Glocash's query does not show partial refunds, so check its back office` };
    },

    confirmBusiness: (message) => confirmBusiness(provider, message),

    close: () => client.close(),
  };
  return provider;
}

/** A refund or dispute status is checked against the payment's current record before anything moves. */
async function confirmBusiness(provider: GlocashProvider, message: BusinessMessage): Promise<BusinessConfirmation> {
  if (message.category !== 'chargeback') {
    return { kind: 'not_confirmed', reason: `a ${message.noticeType} notice is recorded; refunds rebill asked for are settled by Glocash's answer, and nothing else moves money` };
  }
  const answer = await provider.client.query(message.paymentId);
  if (answer.kind === 'error') return { kind: 'unresolved', reason: answer.reason };
  if (answer.kind === 'not_found') return { kind: 'not_confirmed', reason: `Glocash has no transaction ${message.paymentId}` };
  return answer.record.status === 'chargeback'
    ? { kind: 'chargeback', category: 'chargeback', money: null }
    : { kind: 'not_confirmed', reason: `Glocash's record says ${answer.record.status}, not chargeback` };
}

function inboundReader(credentials: GlocashCredentials): InboundReader {
  return {
    // Any 200 answer stops Glocash's retries.
    acknowledgement: 'OK',
    readNotice(body): InboundMessage {
      const fields = formFields(body);
      if (!fields) return { kind: 'malformed', problem: 'a field appears more than once' };
      if (!fields.TNS_GCID && !fields.REQ_INVOICE) return { kind: 'malformed', problem: 'not a Glocash payment status notice (no TNS_GCID or REQ_INVOICE)' };
      const read = readRecord(fields, credentials.secretKey);
      if (!read.ok) {
        return {
          kind: 'payment_result', verified: false, problem: read.problem, reference: read.invoice, paymentId: read.gcid,
          status: fields.BIL_STATUS ?? '', money: null, outcome: { kind: 'unknown', reason: read.problem }, account: fields.REQ_EMAIL ?? '',
        };
      }
      const { record } = read;
      const category = BUSINESS_STATUSES[record.status];
      if (category) {
        return { kind: 'business', verified: false, category, noticeType: record.status, reference: record.invoice, paymentId: record.gcid, eventId: '', refundReference: '', problems: [] };
      }
      return {
        kind: 'payment_result',
        verified: true,
        reference: record.invoice,
        paymentId: record.gcid,
        status: record.status,
        money: record.billed,
        outcome: outcomeOfStatus(record.status, record.gcid),
        ...(record.notifyType ? { noticeType: record.notifyType } : {}),
        account: record.merchantEmail,
      };
    },
    // Glocash sends the browser back with a plain GET: it proves nothing, so it is only recorded.
    readReturn: () => ({ kind: 'malformed', problem: 'Glocash sends the customer back without a signed result; only a notice or a query decides' }),
    accountProblem: (message, providerAccount) =>
      message.account.toLowerCase() === providerAccount.toLowerCase() ? null : `REQ_EMAIL ${message.account} is not the charge's account (${providerAccount})`,
  };
}
