/** A run's items as CSV, one line per item, amounts in minor units as well as as listed. */
import type { ReconciliationItem, ReconciliationRun } from '../db/database.ts';
import { csvLine } from '../lib/csv.ts';

const HEADER = ['run', 'provider', 'day', 'outcome', 'kind', 'order_number', 'payment_id', 'subscription_id', 'transaction_id', 'provider_amount', 'provider_currency', 'rebill_amount_minor', 'rebill_currency', 'detail'];

export function itemsCsv(run: ReconciliationRun, items: readonly ReconciliationItem[]): string {
  return csvLine(HEADER) + items.map((i) => csvLine([
    run.id, run.provider, run.day, i.outcome, i.kind, i.reference, i.provider_reference, i.subscription_id, i.transaction_id,
    i.provider_amount, i.provider_currency, i.rebill_amount_minor, i.rebill_currency, i.detail,
  ])).join('');
}
