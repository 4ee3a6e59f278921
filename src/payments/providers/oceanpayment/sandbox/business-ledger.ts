/**
 * The refunds and chargebacks the sandbox booked, against the ledger rows of the payments they
 * concern, stored column-wise like the charge ledger. Refund and chargeback ids are derived from
 * the row and its booking time, so no table of ids is kept.
 */
import { addToIndex, Column, Interner, rowsFor } from './columns.ts';

export const REFUND_STATUSES = ['pending', 'refunded', 'failed'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];
export type RefundType = 'full' | 'partial';

/** Longest refund description or chargeback reason kept. */
const MAX_STORED_TEXT = 200;

export interface NewRefund {
  /** Ledger row of the payment. */
  readonly charge: number;
  /** The payment's account, which scopes refund numbers. */
  readonly account: string;
  /** '' when the merchant sent none. */
  readonly refundNumber: string;
  /** As requested, e.g. "4.00". */
  readonly amount: string;
  /** The same amount in hundredths (every gateway amount has at most 2 decimals). */
  readonly hundredths: number;
  readonly type: RefundType;
  readonly description: string;
  readonly at: number;
}

export interface RefundView extends Omit<NewRefund, 'at' | 'account'> {
  readonly row: number;
  readonly refundId: string;
  readonly status: RefundStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewChargeback {
  readonly charge: number;
  readonly amount: string;
  readonly hundredths: number;
  readonly reason: string;
  readonly at: number;
}

export interface ChargebackView extends Omit<NewChargeback, 'at'> {
  readonly row: number;
  readonly chargebackId: string;
  readonly createdAt: number;
}

/** One refund or chargeback, in booking order (the business order list reads these). */
export interface BusinessEvent {
  readonly kind: 'refund' | 'chargeback';
  readonly row: number;
}

/** The JSON shapes in `GET /sandbox/ledger` entries. */
export interface RefundEntry {
  readonly refund_id: string;
  readonly refund_number: string;
  readonly amount: string;
  readonly type: RefundType;
  readonly status: RefundStatus;
  readonly description: string;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface ChargebackEntry {
  readonly chargeback_id: string;
  readonly amount: string;
  readonly reason: string;
  readonly created_at: string;
}

export interface BusinessSummary {
  readonly refunds: Record<RefundStatus | 'refused', number>;
  readonly chargebacks: number;
}

const EVENT_KINDS = ['refund', 'chargeback'] as const;
/** The 13th digit of an id says what it names, so refund and chargeback ids never coincide. */
const ID_MARK = { refund: '7', chargeback: '8' } as const;

export class BusinessLedger {
  readonly #amounts = new Interner();

  #refunds = 0;
  readonly #refundCharge = new Column((n) => new Int32Array(n));
  readonly #refundHundredths = new Column((n) => new Float64Array(n));
  readonly #refundAmount = new Column((n) => new Int32Array(n));
  readonly #refundType = new Column((n) => new Uint8Array(n));
  readonly #refundStatus = new Column((n) => new Uint8Array(n));
  readonly #refundCreatedAt = new Column((n) => new Float64Array(n));
  readonly #refundUpdatedAt = new Column((n) => new Float64Array(n));
  readonly #refundNumbers: string[] = [];
  readonly #refundDescriptions: string[] = [];
  readonly #refundsByCharge = new Map<number, number | number[]>();
  /** `account NUL refund_number` -> refund row. */
  readonly #refundsByNumber = new Map<string, number | number[]>();

  #chargebacks = 0;
  readonly #chargebackCharge = new Column((n) => new Int32Array(n));
  readonly #chargebackHundredths = new Column((n) => new Float64Array(n));
  readonly #chargebackAmount = new Column((n) => new Int32Array(n));
  readonly #chargebackCreatedAt = new Column((n) => new Float64Array(n));
  readonly #chargebackReasons: string[] = [];
  readonly #chargebacksByCharge = new Map<number, number | number[]>();

  #events = 0;
  readonly #eventKind = new Column((n) => new Uint8Array(n));
  readonly #eventRow = new Column((n) => new Int32Array(n));

  readonly #refundCounts: Record<RefundStatus | 'refused', number> = { pending: 0, refunded: 0, failed: 0, refused: 0 };

  bookRefund(refund: NewRefund): number {
    const row = this.#refunds;
    const grow = row + 1;
    this.#refundCharge.set(grow, row, refund.charge);
    this.#refundHundredths.set(grow, row, refund.hundredths);
    this.#refundAmount.set(grow, row, this.#amounts.id(refund.amount));
    this.#refundType.set(grow, row, refund.type === 'full' ? 1 : 2);
    this.#refundStatus.set(grow, row, REFUND_STATUSES.indexOf('pending'));
    this.#refundCreatedAt.set(grow, row, refund.at);
    this.#refundUpdatedAt.set(grow, row, refund.at);
    this.#refundNumbers.push(refund.refundNumber);
    this.#refundDescriptions.push(refund.description.slice(0, MAX_STORED_TEXT));
    this.#refunds = grow;
    addToIndex(this.#refundsByCharge, refund.charge, row);
    if (refund.refundNumber !== '') addToIndex(this.#refundsByNumber, numberKey(refund.account, refund.refundNumber), row);
    this.#refundCounts.pending += 1;
    this.#noteEvent('refund', row);
    return row;
  }

  /** Moves a pending refund to its final status; false when it was not pending. */
  settleRefund(row: number, status: 'refunded' | 'failed', at: number): boolean {
    this.#assertRow(row, this.#refunds, 'refund');
    if (this.refundStatus(row) !== 'pending') return false;
    this.#refundStatus.data[row] = REFUND_STATUSES.indexOf(status);
    this.#refundUpdatedAt.data[row] = at;
    this.#refundCounts.pending -= 1;
    this.#refundCounts[status] += 1;
    return true;
  }

  /** A refused refund request is only counted: nothing was booked. */
  countRefusal(): void {
    this.#refundCounts.refused += 1;
  }

  refundStatus(row: number): RefundStatus {
    return REFUND_STATUSES[this.#refundStatus.data[row] ?? 0] ?? 'pending';
  }

  refund(row: number): RefundView {
    this.#assertRow(row, this.#refunds, 'refund');
    const createdAt = this.#refundCreatedAt.data[row] ?? 0;
    return {
      row,
      refundId: businessIdFor('refund', row, createdAt),
      charge: this.#refundCharge.data[row] ?? 0,
      refundNumber: this.#refundNumbers[row] ?? '',
      amount: this.#amounts.value(this.#refundAmount.data[row]),
      hundredths: this.#refundHundredths.data[row] ?? 0,
      type: this.#refundType.data[row] === 1 ? 'full' : 'partial',
      description: this.#refundDescriptions[row] ?? '',
      status: this.refundStatus(row),
      createdAt,
      updatedAt: this.#refundUpdatedAt.data[row] ?? createdAt,
    };
  }

  /** The refund row a refund id names, or undefined. */
  refundById(refundId: string): number | undefined {
    if (!/^\d{21}$/.test(refundId) || refundId[12] !== ID_MARK.refund) return undefined;
    const row = Number(refundId.slice(13));
    if (row >= this.#refunds) return undefined;
    return businessIdFor('refund', row, this.#refundCreatedAt.data[row] ?? 0) === refundId ? row : undefined;
  }

  /** Refund rows booked with this refund number on this account, oldest first. */
  refundsByNumber(account: string, refundNumber: string): number[] {
    return rowsFor(this.#refundsByNumber, numberKey(account, refundNumber));
  }

  refundsOf(charge: number): number[] {
    return rowsFor(this.#refundsByCharge, charge);
  }

  bookChargeback(chargeback: NewChargeback): number {
    const row = this.#chargebacks;
    const grow = row + 1;
    this.#chargebackCharge.set(grow, row, chargeback.charge);
    this.#chargebackHundredths.set(grow, row, chargeback.hundredths);
    this.#chargebackAmount.set(grow, row, this.#amounts.id(chargeback.amount));
    this.#chargebackCreatedAt.set(grow, row, chargeback.at);
    this.#chargebackReasons.push(chargeback.reason.slice(0, MAX_STORED_TEXT));
    this.#chargebacks = grow;
    addToIndex(this.#chargebacksByCharge, chargeback.charge, row);
    this.#noteEvent('chargeback', row);
    return row;
  }

  chargeback(row: number): ChargebackView {
    this.#assertRow(row, this.#chargebacks, 'chargeback');
    const createdAt = this.#chargebackCreatedAt.data[row] ?? 0;
    return {
      row,
      chargebackId: businessIdFor('chargeback', row, createdAt),
      charge: this.#chargebackCharge.data[row] ?? 0,
      amount: this.#amounts.value(this.#chargebackAmount.data[row]),
      hundredths: this.#chargebackHundredths.data[row] ?? 0,
      reason: this.#chargebackReasons[row] ?? '',
      createdAt,
    };
  }

  chargebacksOf(charge: number): number[] {
    return rowsFor(this.#chargebacksByCharge, charge);
  }

  /** Refunds and chargebacks in booking order. */
  *events(): Generator<BusinessEvent> {
    for (let event = 0; event < this.#events; event += 1) {
      yield { kind: EVENT_KINDS[this.#eventKind.data[event] ?? 0] ?? 'refund', row: this.#eventRow.data[event] ?? 0 };
    }
  }

  /** The JSON for a payment's refunds and chargebacks. */
  entriesFor(charge: number): { refunds: RefundEntry[]; chargebacks: ChargebackEntry[] } {
    return {
      refunds: this.refundsOf(charge).map((row) => {
        const refund = this.refund(row);
        return {
          refund_id: refund.refundId,
          refund_number: refund.refundNumber,
          amount: refund.amount,
          type: refund.type,
          status: refund.status,
          description: refund.description,
          created_at: new Date(refund.createdAt).toISOString(),
          updated_at: new Date(refund.updatedAt).toISOString(),
        };
      }),
      chargebacks: this.chargebacksOf(charge).map((row) => {
        const chargeback = this.chargeback(row);
        return {
          chargeback_id: chargeback.chargebackId,
          amount: chargeback.amount,
          reason: chargeback.reason,
          created_at: new Date(chargeback.createdAt).toISOString(),
        };
      }),
    };
  }

  summary(): BusinessSummary {
    return { refunds: { ...this.#refundCounts }, chargebacks: this.#chargebacks };
  }

  #noteEvent(kind: BusinessEvent['kind'], row: number): void {
    const event = this.#events;
    this.#eventKind.set(event + 1, event, EVENT_KINDS.indexOf(kind));
    this.#eventRow.set(event + 1, event, row);
    this.#events = event + 1;
  }

  #assertRow(row: number, size: number, what: string): void {
    if (!Number.isInteger(row) || row < 0 || row >= size) throw new RangeError(`no ${what} row ${row}`);
  }
}

/**
 * 21 digits like a payment_id: the booking time (yyMMddHHmmss, UTC+8 like the gateway's clock),
 * a digit for the kind (7 refund, 8 chargeback), then the row.
 */
export function businessIdFor(kind: 'refund' | 'chargeback', row: number, at: number): string {
  const stamp = new Date(at + 8 * 3_600_000).toISOString();
  const digits = stamp.slice(2, 4) + stamp.slice(5, 7) + stamp.slice(8, 10) + stamp.slice(11, 13) + stamp.slice(14, 16) + stamp.slice(17, 19);
  return digits + ID_MARK[kind] + String(row).padStart(8, '0');
}

function numberKey(account: string, refundNumber: string): string {
  return `${account}\u0000${refundNumber}`;
}
