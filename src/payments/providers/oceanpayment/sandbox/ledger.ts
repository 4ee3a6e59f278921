/**
 * Everything the sandbox was asked to do and did: one row per `/gateway/direct/pay` request
 * (charges and rejected requests), one per notice delivery attempt, and the refunds and
 * chargebacks of each payment (business-ledger.ts).
 *
 * Stored column-wise so a million charges fit comfortably in one process: numbers live in typed
 * arrays, repeated strings (accounts, amounts, currencies, tokens, details) are interned, the
 * payment_id is derived from the row rather than stored, and no request body is kept.
 *
 * Double charges: an approved charge counts as one when an earlier approved charge of the same
 * account and quickpay_id carries the same non-empty order_notes. rebill writes the subscription
 * and the period there, so two approvals with the same notes mean one period was paid twice.
 */
import { BEHAVIOUR_CODES } from './behaviours.ts';
import type { Behaviour } from './behaviours.ts';
import { BusinessLedger } from './business-ledger.ts';
import type { BusinessSummary, ChargebackEntry, RefundEntry } from './business-ledger.ts';
import { addToIndex, Column, Interner } from './columns.ts';

export const CHARGE_STATUSES = ['rejected', 'approved', 'declined', 'pending', 'action_required'] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];

/** `out_of_band`: an approved payment booked with `POST /sandbox/orders`, which the merchant never sent. */
export const FAULT_KINDS = ['none', 'server_error', 'timeout', 'garbled', 'out_of_band'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * `result`: the genuine notice; `duplicate`: a second copy; `stale`: an older pending state sent
 * late; `forged`: must be rejected; `refund`, `chargeback`: business notices about the payment.
 */
export const NOTICE_KINDS = ['result', 'duplicate', 'stale', 'forged', 'refund', 'chargeback'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** Longest string kept from a rejected request, so hostile input cannot grow the ledger much. */
const MAX_STORED_TEXT = 200;

export interface NewCharge {
  readonly account: string;
  readonly terminal: string;
  readonly orderNumber: string;
  readonly quickpayId: string;
  readonly serviceMode: string;
  readonly amount: string;
  readonly currency: string;
  readonly orderNotes: string;
  readonly status: ChargeStatus;
  /** `code:message`, as sent in payment_details. */
  readonly details: string;
  readonly behaviour: Behaviour;
  readonly fault: FaultKind;
  readonly at: number;
  /** Where its notices go (refund and chargeback notices too); '' or absent for none. */
  readonly noticeUrl?: string;
}

/** One row as handlers need it. */
export interface ChargeView extends Omit<NewCharge, 'at' | 'noticeUrl'> {
  readonly index: number;
  readonly noticeUrl: string;
  readonly paymentId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NoticeDelivery {
  readonly at: number;
  readonly kind: NoticeKind;
  /** The payment_status the notice carried (-1, 0 or 1); for refund and chargeback notices, their push_status. */
  readonly paymentStatus: number;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** HTTP status of the merchant's answer, 0 when the connection failed or timed out. */
  readonly httpStatus: number;
  /** The merchant answered exactly `receive-ok`. */
  readonly acknowledged: boolean;
}

/** The JSON shape of `GET /sandbox/ledger`. */
export interface LedgerEntry {
  readonly index: number;
  readonly order_number: string;
  readonly payment_id: string;
  readonly account: string;
  readonly terminal: string;
  readonly quickpay_id: string;
  readonly service_mode: string;
  readonly amount: string;
  readonly currency: string;
  readonly order_notes: string;
  readonly status: ChargeStatus;
  readonly payment_details: string;
  readonly behaviour: Behaviour;
  readonly fault: FaultKind;
  readonly created_at: string;
  readonly updated_at: string;
  readonly notices: ReadonlyArray<{
    at: string; kind: NoticeKind; payment_status: number; attempt: number; http_status: number; acknowledged: boolean;
  }>;
  readonly refunds: readonly RefundEntry[];
  readonly chargebacks: readonly ChargebackEntry[];
}

export interface LedgerSummary {
  readonly requests: number;
  readonly by_status: Record<ChargeStatus, number>;
  readonly double_charges: number;
  /** Up to 20 examples: the notes and (up to 10 of) the order numbers approved with them. */
  readonly double_charge_examples: ReadonlyArray<{ order_notes: string; order_numbers: string[] }>;
  readonly notices: { attempts: number; acknowledged: number };
  readonly queries: number;
  /** Refunds by status (`refused`: requests answered with a refusal) and chargebacks. */
  readonly refunds: BusinessSummary['refunds'];
  readonly chargebacks: number;
}

const MAX_DOUBLE_CHARGE_EXAMPLES = 20;
const MAX_ORDER_NUMBERS_PER_EXAMPLE = 10;

export class Ledger {
  /** Refunds and chargebacks, by payment row. */
  readonly business = new BusinessLedger();
  #size = 0;
  readonly #orderNumbers: string[] = [];
  readonly #orderNotes: string[] = [];
  readonly #strings = new Interner();
  readonly #tokens = new Interner();
  readonly #account = new Column((n) => new Int32Array(n));
  readonly #terminal = new Column((n) => new Int32Array(n));
  readonly #token = new Column((n) => new Int32Array(n));
  readonly #serviceMode = new Column((n) => new Int32Array(n));
  readonly #amount = new Column((n) => new Int32Array(n));
  readonly #currency = new Column((n) => new Int32Array(n));
  readonly #details = new Column((n) => new Int32Array(n));
  readonly #status = new Column((n) => new Uint8Array(n));
  readonly #behaviour = new Column((n) => new Uint8Array(n));
  readonly #fault = new Column((n) => new Uint8Array(n));
  readonly #noticeUrl = new Column((n) => new Int32Array(n));
  readonly #createdAt = new Column((n) => new Float64Array(n));
  readonly #updatedAt = new Column((n) => new Float64Array(n));
  /** Last delivery row of each charge, -1 for none; deliveries link back to the previous one. */
  readonly #lastDelivery = new Column((n) => new Int32Array(n));
  /** Approved rows ordered by approval time (updatedAt), for the successful-orders list. */
  #approvals = 0;
  readonly #approvalOrder = new Column((n) => new Int32Array(n));
  /** Charges (not rejected requests) per token id, for `decline-once`. */
  readonly #chargesPerToken = new Column((n) => new Int32Array(n));

  #deliveries = 0;
  #acknowledged = 0;
  readonly #deliveryCharge = new Column((n) => new Int32Array(n));
  readonly #deliveryPrevious = new Column((n) => new Int32Array(n));
  readonly #deliveryAt = new Column((n) => new Float64Array(n));
  readonly #deliveryKind = new Column((n) => new Uint8Array(n));
  readonly #deliveryPaymentStatus = new Column((n) => new Int8Array(n));
  readonly #deliveryAttempt = new Column((n) => new Uint8Array(n));
  readonly #deliveryHttpStatus = new Column((n) => new Int16Array(n));
  readonly #deliveryAcknowledged = new Column((n) => new Uint8Array(n));

  /** Charge rows by order number (rejected requests are not indexed). */
  readonly #byOrder = new Map<string, number | number[]>();
  /** Approved charges by non-empty order_notes, for the double-charge count. */
  readonly #approvedByNotes = new Map<string, number | number[]>();
  readonly #statusCounts: Record<ChargeStatus, number> = { rejected: 0, approved: 0, declined: 0, pending: 0, action_required: 0 };
  #doubleCharges = 0;
  readonly #doubleChargeExamples: Array<{ order_notes: string; order_numbers: string[] }> = [];
  #queries = 0;

  get size(): number {
    return this.#size;
  }

  /** Books a request and returns its row index. */
  record(charge: NewCharge): number {
    const index = this.#size;
    const rejected = charge.status === 'rejected';
    const keep = (text: string) => (rejected ? text.slice(0, MAX_STORED_TEXT) : text);
    const grow = index + 1;
    this.#orderNumbers.push(keep(charge.orderNumber));
    this.#orderNotes.push(charge.orderNotes === '' ? '' : keep(charge.orderNotes));
    const tokenId = this.#tokens.id(keep(charge.quickpayId));
    this.#chargesPerToken.ensure(this.#tokens.size);
    this.#account.set(grow, index, this.#strings.id(keep(charge.account)));
    this.#terminal.set(grow, index, this.#strings.id(keep(charge.terminal)));
    this.#token.set(grow, index, tokenId);
    this.#serviceMode.set(grow, index, this.#strings.id(keep(charge.serviceMode)));
    this.#amount.set(grow, index, this.#strings.id(keep(charge.amount)));
    this.#currency.set(grow, index, this.#strings.id(keep(charge.currency)));
    this.#details.set(grow, index, this.#strings.id(charge.details));
    this.#status.set(grow, index, CHARGE_STATUSES.indexOf(charge.status));
    this.#behaviour.set(grow, index, BEHAVIOUR_CODES.indexOf(charge.behaviour));
    this.#fault.set(grow, index, FAULT_KINDS.indexOf(charge.fault));
    this.#noticeUrl.set(grow, index, this.#strings.id(keep(charge.noticeUrl ?? '')));
    this.#createdAt.set(grow, index, charge.at);
    this.#updatedAt.set(grow, index, charge.at);
    this.#lastDelivery.set(grow, index, -1);
    this.#size = grow;
    this.#statusCounts[charge.status] += 1;
    if (!rejected) {
      addToIndex(this.#byOrder, charge.orderNumber, index);
      this.#chargesPerToken.data[tokenId] = (this.#chargesPerToken.data[tokenId] ?? 0) + 1;
      if (charge.status === 'approved') this.#noteApproval(index);
    }
    return index;
  }

  /** Moves a charge to its final status (3-D Secure completed, pending approved). */
  settle(index: number, status: 'approved' | 'declined', details: string, at: number): void {
    this.#assertIndex(index);
    const previous = this.status(index);
    if (previous === status) return;
    this.#statusCounts[previous] -= 1;
    this.#statusCounts[status] += 1;
    this.#status.data[index] = CHARGE_STATUSES.indexOf(status);
    this.#details.data[index] = this.#strings.id(details);
    this.#updatedAt.data[index] = at;
    if (status === 'approved') this.#noteApproval(index);
  }

  /** Gives a hosted checkout's charge the card token its page created (it had none until then). */
  assignToken(index: number, quickpayId: string): void {
    this.#assertIndex(index);
    const previous = this.#token.data[index] ?? 0;
    const tokenId = this.#tokens.id(quickpayId);
    this.#chargesPerToken.ensure(this.#tokens.size);
    this.#chargesPerToken.data[previous] = Math.max(0, (this.#chargesPerToken.data[previous] ?? 0) - 1);
    this.#chargesPerToken.data[tokenId] = (this.#chargesPerToken.data[tokenId] ?? 0) + 1;
    this.#token.data[index] = tokenId;
  }

  status(index: number): ChargeStatus {
    return CHARGE_STATUSES[this.#status.data[index] ?? 0] ?? 'rejected';
  }

  get(index: number): ChargeView {
    this.#assertIndex(index);
    const createdAt = this.#createdAt.data[index] ?? 0;
    const status = this.status(index);
    return {
      index,
      account: this.#strings.value(this.#account.data[index]),
      terminal: this.#strings.value(this.#terminal.data[index]),
      orderNumber: this.#orderNumbers[index] ?? '',
      paymentId: status === 'rejected' ? '' : paymentIdFor(index, createdAt),
      quickpayId: this.#tokens.value(this.#token.data[index]),
      serviceMode: this.#strings.value(this.#serviceMode.data[index]),
      amount: this.#strings.value(this.#amount.data[index]),
      currency: this.#strings.value(this.#currency.data[index]),
      orderNotes: this.#orderNotes[index] ?? '',
      status,
      details: this.#strings.value(this.#details.data[index]),
      behaviour: BEHAVIOUR_CODES[this.#behaviour.data[index] ?? 0] ?? 'approve',
      fault: FAULT_KINDS[this.#fault.data[index] ?? 0] ?? 'none',
      noticeUrl: this.#strings.value(this.#noticeUrl.data[index]),
      createdAt,
      updatedAt: this.#updatedAt.data[index] ?? createdAt,
    };
  }

  /** Charge rows (not rejected requests) for an order number and account, newest first. */
  chargesForOrder(orderNumber: string, account: string): number[] {
    return this.#chargesForOrderAnyAccount(orderNumber)
      .filter((index) => this.#strings.value(this.#account.data[index]) === account)
      .reverse();
  }

  /** Whether this order number already has an approved charge on this account and terminal (20061). */
  hasApprovedCharge(orderNumber: string, account: string, terminal: string): boolean {
    return this.chargesForOrder(orderNumber, account).some(
      (index) => this.status(index) === 'approved' && this.#strings.value(this.#terminal.data[index]) === terminal,
    );
  }

  /** The charge row of a payment_id this ledger issued, or undefined. */
  chargeForPaymentId(paymentId: string): number | undefined {
    if (!/^\d{21}$/.test(paymentId)) return undefined;
    const index = Number(paymentId.slice(12));
    if (index >= this.#size || this.status(index) === 'rejected') return undefined;
    return paymentIdFor(index, this.#createdAt.data[index] ?? 0) === paymentId ? index : undefined;
  }

  /**
   * Approved rows of one account and terminal whose approval time is within [from, to]
   * (milliseconds, inclusive), oldest first. Compares interned ids, so a day of many thousand
   * payments is paged through without building a view of each.
   */
  approvedBetween(from: number, to: number, where: { readonly account: string; readonly terminal: string }): number[] {
    const account = this.#strings.existingId(where.account);
    const terminal = this.#strings.existingId(where.terminal);
    if (account === undefined || terminal === undefined) return [];
    const order = this.#approvalOrder.data;
    const rows: number[] = [];
    for (let position = this.#firstApprovalAtOrAfter(from); position < this.#approvals; position += 1) {
      const index = order[position] ?? 0;
      if ((this.#updatedAt.data[index] ?? 0) > to) break;
      if (this.#account.data[index] === account && this.#terminal.data[index] === terminal) rows.push(index);
    }
    return rows;
  }

  /** Charges made so far with this token. */
  chargeCountForToken(quickpayId: string): number {
    const id = this.#tokens.existingId(quickpayId);
    return id === undefined ? 0 : (this.#chargesPerToken.data[id] ?? 0);
  }

  recordDelivery(index: number, delivery: NoticeDelivery): void {
    this.#assertIndex(index);
    const row = this.#deliveries;
    const grow = row + 1;
    this.#deliveryCharge.set(grow, row, index);
    this.#deliveryPrevious.set(grow, row, this.#lastDelivery.data[index] ?? -1);
    this.#deliveryAt.set(grow, row, delivery.at);
    this.#deliveryKind.set(grow, row, NOTICE_KINDS.indexOf(delivery.kind));
    this.#deliveryPaymentStatus.set(grow, row, delivery.paymentStatus);
    this.#deliveryAttempt.set(grow, row, delivery.attempt);
    this.#deliveryHttpStatus.set(grow, row, delivery.httpStatus);
    this.#deliveryAcknowledged.set(grow, row, delivery.acknowledged ? 1 : 0);
    this.#lastDelivery.data[index] = row;
    this.#deliveries = grow;
    if (delivery.acknowledged) this.#acknowledged += 1;
  }

  /** Delivery attempts of one charge, oldest first. */
  deliveries(index: number): NoticeDelivery[] {
    this.#assertIndex(index);
    const list: NoticeDelivery[] = [];
    for (let row = this.#lastDelivery.data[index] ?? -1; row >= 0; row = this.#deliveryPrevious.data[row] ?? -1) {
      list.push({
        at: this.#deliveryAt.data[row] ?? 0,
        kind: NOTICE_KINDS[this.#deliveryKind.data[row] ?? 0] ?? 'result',
        paymentStatus: this.#deliveryPaymentStatus.data[row] ?? 0,
        attempt: this.#deliveryAttempt.data[row] ?? 0,
        httpStatus: this.#deliveryHttpStatus.data[row] ?? 0,
        acknowledged: this.#deliveryAcknowledged.data[row] === 1,
      });
    }
    return list.reverse();
  }

  countQuery(): void {
    this.#queries += 1;
  }

  /** Rows in booking order as JSON-ready entries. */
  entries(offset: number, limit: number, filter?: { orderNumber?: string }): { total: number; entries: LedgerEntry[] } {
    if (filter?.orderNumber !== undefined) {
      const all = this.#chargesForOrderAnyAccount(filter.orderNumber);
      return { total: all.length, entries: all.slice(offset, offset + limit).map((index) => this.entry(index)) };
    }
    const entries: LedgerEntry[] = [];
    for (let index = offset; index < Math.min(this.#size, offset + limit); index += 1) entries.push(this.entry(index));
    return { total: this.#size, entries };
  }

  entry(index: number): LedgerEntry {
    const charge = this.get(index);
    return {
      index,
      order_number: charge.orderNumber,
      payment_id: charge.paymentId,
      account: charge.account,
      terminal: charge.terminal,
      quickpay_id: charge.quickpayId,
      service_mode: charge.serviceMode,
      amount: charge.amount,
      currency: charge.currency,
      order_notes: charge.orderNotes,
      status: charge.status,
      payment_details: charge.details,
      behaviour: charge.behaviour,
      fault: charge.fault,
      created_at: new Date(charge.createdAt).toISOString(),
      updated_at: new Date(charge.updatedAt).toISOString(),
      notices: this.deliveries(index).map((delivery) => ({
        at: new Date(delivery.at).toISOString(),
        kind: delivery.kind,
        payment_status: delivery.paymentStatus,
        attempt: delivery.attempt,
        http_status: delivery.httpStatus,
        acknowledged: delivery.acknowledged,
      })),
      ...this.business.entriesFor(index),
    };
  }

  summary(): LedgerSummary {
    return {
      requests: this.#size,
      by_status: { ...this.#statusCounts },
      double_charges: this.#doubleCharges,
      double_charge_examples: this.#doubleChargeExamples.map((example) => ({ ...example, order_numbers: [...example.order_numbers] })),
      notices: { attempts: this.#deliveries, acknowledged: this.#acknowledged },
      queries: this.#queries,
      ...this.business.summary(),
    };
  }

  #noteApproval(index: number): void {
    this.#indexApproval(index);
    const notes = this.#orderNotes[index] ?? '';
    if (notes === '') return;
    const earlier = this.#approvedByNotes.get(notes);
    const sameCard = (other: number) =>
      this.#account.data[other] === this.#account.data[index] && this.#token.data[other] === this.#token.data[index];
    const matches = (earlier === undefined ? [] : typeof earlier === 'number' ? [earlier] : earlier).filter(sameCard);
    if (matches.length > 0) {
      this.#doubleCharges += 1;
      const example = this.#doubleChargeExamples.find((item) => item.order_notes === notes);
      if (example) {
        if (example.order_numbers.length < MAX_ORDER_NUMBERS_PER_EXAMPLE) example.order_numbers.push(this.#orderNumbers[index] ?? '');
      }
      else if (this.#doubleChargeExamples.length < MAX_DOUBLE_CHARGE_EXAMPLES) {
        this.#doubleChargeExamples.push({
          order_notes: notes,
          order_numbers: [...matches.map((other) => this.#orderNumbers[other] ?? ''), this.#orderNumbers[index] ?? ''],
        });
      }
    }
    addToIndex(this.#approvedByNotes, notes, index);
  }

  /** Approvals arrive in time order, except payments booked out of band in the past: those are inserted. */
  #indexApproval(index: number): void {
    const position = this.#firstApprovalAtOrAfter((this.#updatedAt.data[index] ?? 0) + 1);
    this.#approvalOrder.ensure(this.#approvals + 1);
    const order = this.#approvalOrder.data;
    order.copyWithin(position + 1, position, this.#approvals);
    order[position] = index;
    this.#approvals += 1;
  }

  /** Position in approval order of the first approval at or after `at`. */
  #firstApprovalAtOrAfter(at: number): number {
    const order = this.#approvalOrder.data;
    let low = 0;
    let high = this.#approvals;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#updatedAt.data[order[middle] ?? 0] ?? 0) < at) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #chargesForOrderAnyAccount(orderNumber: string): number[] {
    const entry = this.#byOrder.get(orderNumber);
    return entry === undefined ? [] : typeof entry === 'number' ? [entry] : [...entry];
  }

  #assertIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.#size) throw new RangeError(`no ledger row ${index}`);
  }
}

/**
 * A 21-digit payment_id like the gateway's (`231220170723834010513`): the booking time
 * (yyMMddHHmmss, UTC+8 like Oceanpayment's clocks) followed by the row number.
 */
export function paymentIdFor(index: number, at: number): string {
  const shanghai = new Date(at + 8 * 3_600_000);
  const two = (value: number) => String(value).padStart(2, '0');
  const stamp =
    two(shanghai.getUTCFullYear() % 100) + two(shanghai.getUTCMonth() + 1) + two(shanghai.getUTCDate()) +
    two(shanghai.getUTCHours()) + two(shanghai.getUTCMinutes()) + two(shanghai.getUTCSeconds());
  return stamp + String(index).padStart(9, '0');
}
