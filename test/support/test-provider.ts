/**
 * A payment provider written only for the tests, to show what adding one takes: an object that
 * implements src/payments/provider.ts, registered beside Oceanpayment. Nothing in rebill's core
 * knows it. It keeps its payments in memory; its notices are JSON signed with HMAC-SHA256.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Money } from '../../src/lib/money.ts';
import type { ChargeOutcome } from '../../src/payments/outcomes.ts';
import type { Capability, InboundMessage, PaymentProvider } from '../../src/payments/provider.ts';

export const TESTPAY_SECRET = 'testpay-secret';

interface Payment {
  paymentId: string;
  money: Money;
  outcome: ChargeOutcome;
  refunds: { refundId: string; reference: string; state: 'pending' | 'refunded' }[];
}

export interface TestPay extends PaymentProvider {
  readonly payments: Map<string, Payment>;
  /** The provider settles a pending payment (as a bank would) and returns the notice it would send. */
  settle(reference: string): string;
  /** Every pending refund goes through. */
  settleRefunds(): void;
}

export function signNotice(body: object): string {
  const json = JSON.stringify(body);
  return JSON.stringify({ ...body, signature: createHmac('sha256', TESTPAY_SECRET).update(json).digest('hex') });
}

export function testPay(): TestPay {
  const payments = new Map<string, Payment>();
  let next = 1;
  const capabilities: ReadonlySet<Capability> = new Set(['token_charge', 'query', 'refund', 'signed_notices']);
  const provider: TestPay = {
    name: 'testpay',
    capabilities,
    account: 'testpay-merchant',
    actionOrigin: 'https://testpay.example',
    payments,
    chargeDetails: ({ sequence }) => ({ sequence }),
    async chargeToken(request) {
      const paymentId = `tp_${next++}`;
      const outcome: ChargeOutcome = request.token.startsWith('pending')
        ? { kind: 'pending', paymentId }
        : request.token.startsWith('decline')
          ? { kind: 'declined', declineClass: 'soft', code: 'insufficient_funds', details: 'insufficient_funds: try later', paymentId }
          : { kind: 'approved', paymentId };
      payments.set(request.reference, { paymentId, money: request.money, outcome, refunds: [] });
      return outcome;
    },
    async queryCharge(reference) {
      const payment = payments.get(reference);
      if (!payment) return { kind: 'not_found' };
      return { kind: 'found', payments: [{ paymentId: payment.paymentId, money: payment.money, outcome: payment.outcome, chargedBack: false }] };
    },
    async refund(request) {
      const payment = [...payments.values()].find((p) => p.paymentId === request.paymentId);
      if (!payment) return { kind: 'refused', code: 'no_such_payment', message: 'no such payment' };
      const refundId = `tpr_${next++}`;
      payment.refunds.push({ refundId, reference: request.reference, state: 'pending' });
      return { kind: 'accepted', refundId };
    },
    async queryRefund({ reference, refundId }) {
      for (const payment of payments.values()) {
        const refund = payment.refunds.find((r) => r.refundId === refundId || r.reference === reference);
        if (refund) return { kind: refund.state, refundId: refund.refundId };
      }
      return { kind: 'not_found' };
    },
    inbound: {
      acknowledgement: 'OK',
      readNotice(body): InboundMessage {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(body) as Record<string, unknown>;
        } catch {
          return { kind: 'malformed', problem: 'not JSON' };
        }
        const { signature, ...fields } = parsed;
        const expected = createHmac('sha256', TESTPAY_SECRET).update(JSON.stringify(fields)).digest();
        const given = Buffer.from(typeof signature === 'string' ? signature : '', 'hex');
        const verified = given.length === expected.length && timingSafeEqual(given, expected);
        const paymentId = String(fields.payment_id ?? '');
        return {
          kind: 'payment_result',
          verified,
          ...(verified ? {} : { problem: 'signature does not verify' }),
          reference: String(fields.reference ?? ''),
          paymentId,
          status: String(fields.status ?? ''),
          money: typeof fields.amount_minor === 'number' ? { amountMinor: fields.amount_minor, currency: String(fields.currency) } : null,
          outcome: fields.status === 'paid' ? { kind: 'approved', paymentId } : { kind: 'declined', declineClass: 'soft', code: 'failed', details: 'failed', paymentId },
          account: String(fields.account ?? ''),
        };
      },
      readReturn: () => ({ kind: 'malformed', problem: 'testpay has no return page' }),
      accountProblem: (message, providerAccount) => (message.account === providerAccount ? null : `account ${message.account} is not ${providerAccount}`),
    },
    settle(reference) {
      const payment = payments.get(reference)!;
      payment.outcome = { kind: 'approved', paymentId: payment.paymentId };
      return signNotice({ reference, payment_id: payment.paymentId, status: 'paid', amount_minor: payment.money.amountMinor, currency: payment.money.currency, account: 'testpay-merchant' });
    },
    settleRefunds() {
      for (const payment of payments.values()) for (const refund of payment.refunds) refund.state = 'refunded';
    },
    async close() {},
  };
  return provider;
}
