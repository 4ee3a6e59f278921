/** `rebill reconcile`: compares a day at the payment provider with rebill's records. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { notificationSettings, operatorActor } from '../deps.ts';
import { displayMoney } from '../lib/money.ts';
import type { ReconciliationItem, ReconciliationRun } from '../db/database.ts';
import { itemsCsv } from '../reconciliation/csv.ts';
import { reconcileDay, type ReconcileProgress } from '../reconciliation/reconcile.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, optional, printJson, required, withEngine, type Command } from './command.ts';
import { table } from './present.ts';

export const reconcileCommand: Command = {
  name: 'reconcile',
  summary: "Compare a day's payments, refunds and chargebacks at the provider with rebill's",
  help: `Usage: rebill reconcile --date YYYY-MM-DD [--provider NAME] [--csv FILE] [--json]

Pages through the provider's lists of that day's successful payments and of its refunds and
chargebacks (Oceanpayment: /service/QueryOrdersList and /service/BusinessOrdersList; the day is
the gateway's, UTC+8 unless OCEANPAYMENT_UTC_OFFSET_MINUTES says otherwise) and compares them with
rebill's payments and refunds:

  paid at the provider, open or failed in rebill   confirmed by the order query, recorded as paid
  refund or chargeback rebill did not know of      confirmed by the order query, recorded
  rebill's refund done there, still open here      confirmed by the refund query, recorded
  paid at the provider for an order rebill never sent   flagged
  amount, currency or payment id differs           flagged
  paid in rebill, not listed and not confirmed     flagged (never changed)

Every run is stored with what it fixed and flagged; running a day again changes nothing new.
When something is flagged the operator is e-mailed (REBILL_OPERATOR_EMAIL). The worker runs this
every day by itself for the day before (REBILL_RECONCILE_CRON). Progress goes to stderr.

Options:
  --date DAY       the provider's calendar day, e.g. 2026-12-01 (required)
  --provider NAME  which payment provider (default: the default one)
  --csv FILE       also write the fixed and flagged items to FILE as CSV
  --json           print JSON

Exit code 0 when the run finished (whatever it flagged), 1 when it could not (the provider's
list could not be read: the run is stored as failed and can simply be run again).

Examples:
  rebill reconcile --date 2026-12-01
  rebill reconcile --date 2026-12-01 --csv recon-2026-12-01.csv --json
`,
  options: { date: { type: 'string' }, provider: { type: 'string' }, csv: { type: 'string' } },
  async run(args, ctx) {
    const day = required(args, 'date').trim();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new UsageError(`--date must be a day written YYYY-MM-DD, e.g. 2026-12-01, got "${day.slice(0, 40)}"`);
    const csvPath = optional(args, 'csv');
    if (csvPath !== undefined && !csvPath.trim()) throw new UsageError('--csv needs a file name, e.g. --csv recon.csv');
    const provider = optional(args, 'provider');
    const { run, items } = await withEngine(ctx, (engine) =>
      reconcileDay(engine, {
        day,
        ...(provider ? { provider } : {}),
        startedBy: operatorActor(),
        alerts: notificationSettings(ctx.config()),
        onProgress: progressPrinter(ctx.stderr),
      }),
    );
    if (csvPath) writeFileSync(resolve(csvPath), itemsCsv(run, items));
    if (args.json) printJson(ctx.stdout, { run: runJson(run), items: items.map(itemJson) });
    else ctx.stdout.write(runText(run, items));
    return run.status === 'done' ? EXIT_OK : EXIT_FAILURE;
  },
};

/** A line per page while the run is short, then about one a second. */
function progressPrinter(out: { write(text: string): void }): (progress: ReconcileProgress) => void {
  let last = 0;
  return ({ list, page, totalPages, counts }) => {
    const now = Date.now();
    if (totalPages > 20 && page < totalPages && now - last < 1000) return;
    last = now;
    out.write(`reconcile: ${list} page ${page} of ${totalPages} (${counts.matched} matched, ${counts.fixed} fixed, ${counts.flagged} flagged)\n`);
  };
}

export function runJson(run: ReconciliationRun) {
  return {
    id: run.id,
    provider: run.provider,
    day: run.day,
    window: { from: run.window_from.toISOString(), to: run.window_to.toISOString() },
    status: run.status,
    started_by: run.actor,
    started_at: run.started_at.toISOString(),
    finished_at: run.finished_at?.toISOString() ?? null,
    pages_read: run.pages_read,
    payments_compared: run.payments_compared,
    business_compared: run.business_compared,
    matched: run.matched,
    fixed: run.fixed,
    flagged: run.flagged,
    error: run.error,
  };
}

export function itemJson(item: ReconciliationItem) {
  return {
    outcome: item.outcome,
    kind: item.kind,
    order_number: item.reference,
    payment_id: item.provider_reference,
    subscription_id: item.subscription_id,
    transaction_id: item.transaction_id,
    provider_amount: item.provider_amount,
    provider_currency: item.provider_currency,
    rebill_amount: item.rebill_amount_minor === null || item.rebill_currency === null ? null : displayMoney({ amountMinor: item.rebill_amount_minor, currency: item.rebill_currency }),
    detail: item.detail,
  };
}

function runText(run: ReconciliationRun, items: readonly ReconciliationItem[]): string {
  const lines = [
    `Reconciliation run ${run.id}: ${run.provider}, ${run.day} (${run.window_from.toISOString()} to ${run.window_to.toISOString()}): ${run.status}`,
    `Compared ${run.payments_compared} payments and ${run.business_compared} refunds and chargebacks (${run.pages_read} pages): ${run.matched} matched, ${run.fixed} fixed, ${run.flagged} flagged.`,
  ];
  if (run.error) lines.push(`It stopped: ${run.error}`, 'Run it again once the provider answers; what was fixed stays fixed.');
  let text = `${lines.join('\n')}\n`;
  for (const outcome of ['fixed', 'flagged'] as const) {
    const some = items.filter((i) => i.outcome === outcome);
    if (!some.length) continue;
    text += `\n${outcome === 'fixed' ? 'Fixed' : 'Flagged for a person'} (${some.length})\n`;
    text += table(['KIND', 'ORDER NUMBER', 'PAYMENT ID', 'LISTED', 'DETAIL'], some.map((i) => [i.kind, i.reference, i.provider_reference, i.provider_amount === null ? null : `${i.provider_currency} ${i.provider_amount}`, i.detail]));
  }
  return text;
}
