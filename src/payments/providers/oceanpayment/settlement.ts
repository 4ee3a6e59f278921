/**
 * The order lists (order-lists.ts) in the provider-neutral words of reconciliation: a day in the
 * gateway's zone (UTC+8 unless configured), successful payments, and refunds and chargebacks with
 * their state. Pages of 100 orders, the most the gateway gives.
 */
import { ValidationError } from '../../../lib/errors.ts';
import type { ListedBusinessOrder, ListPage, SettledPayment, SettlementWindow } from '../../provider.ts';
import { moneyFromGatewayAmount } from './amount.ts';
import type { OceanpaymentClient } from './client.ts';
import type { BusinessOrderRow, OrderListPage, SuccessOrderRow } from './order-lists.ts';

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;
const PAGE_SIZE = 100;

/** The gateway's calendar day `day` as instants: midnight to 23:59:59 at `offsetMinutes` east of UTC. */
export function gatewayDay(day: string, offsetMinutes: number): SettlementWindow {
  const match = DAY.exec(day);
  const start = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (!match || new Date(start).toISOString().slice(0, 10) !== day) {
    throw new ValidationError(`"${day.slice(0, 40)}" is not a day; write it as YYYY-MM-DD, e.g. 2026-12-01`);
  }
  const from = start - offsetMinutes * 60_000;
  return { day, from: new Date(from), to: new Date(from + DAY_MS - 1000) };
}

export async function settledPayments(client: OceanpaymentClient, window: SettlementWindow, page: number): Promise<ListPage<SettledPayment>> {
  const answer = await client.successOrders({ beginDate: window.from, endDate: window.to, page, pageSize: PAGE_SIZE });
  return mapPage(answer, (row: SuccessOrderRow): SettledPayment => ({
    reference: row.orderNumber,
    paymentId: row.paymentId,
    money: moneyFromGatewayAmount(row.amount, row.currency),
    amountText: row.amount,
    currency: row.currency,
    paidAt: row.paidAt,
  }));
}

export async function businessOrders(client: OceanpaymentClient, window: SettlementWindow, page: number): Promise<ListPage<ListedBusinessOrder>> {
  const answer = await client.businessOrders({ beginDate: window.from, endDate: window.to, page, pageSize: PAGE_SIZE });
  return mapPage(answer, (row: BusinessOrderRow): ListedBusinessOrder => {
    const type = row.type.toLowerCase();
    return {
      category: type === 'refund' ? 'refund' : type === 'chargeback' ? 'chargeback' : 'other',
      type: row.type,
      reference: row.orderNumber,
      paymentId: row.paymentId,
      money: moneyFromGatewayAmount(row.amount, row.orderCurrency),
      amountText: row.amount,
      currency: row.orderCurrency,
      // §10: "1" done, "0" failed; the sandbox writes "-1" for a refund still pending.
      state: row.status === '1' ? 'done' : row.status === '0' ? 'failed' : row.status === '-1' ? 'pending' : 'other',
      at: row.debitedAt ?? row.exceptionAt ?? row.paidAt,
    };
  });
}

function mapPage<Row, Out>(answer: OrderListPage<Row>, map: (row: Row) => Out): ListPage<Out> {
  if (answer.kind === 'error') return { kind: 'error', reason: answer.reason };
  return { kind: 'page', page: answer.page, totalPages: answer.totalPages, rows: answer.rows.map(map) };
}
