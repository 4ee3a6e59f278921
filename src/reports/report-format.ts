/** The report as text for a terminal and as CSV for a spreadsheet (one figure a line). */
import { csvLine } from '../lib/csv.ts';
import { displayMoney } from '../lib/money.ts';
import type { MoneyTotal, Report } from './report.ts';

const money = (amountMinor: number, currency: string) => displayMoney({ amountMinor, currency });
const totals = (rows: readonly MoneyTotal[]) => (rows.length ? rows.map((r) => `${r.count} (${money(r.amount_minor, r.currency)})`).join(', ') : '0');

export function reportText(report: Report): string {
  const rate = report.three_d_secure.completion_rate;
  const lines = [
    `Report from ${report.from} to ${report.to} (end exclusive)`,
    '',
    `MRR:            ${report.mrr.length ? report.mrr.map((m) => `${money(m.mrr_minor, m.currency)} (${m.subscriptions} subscriptions)`).join(', ') : 'none'}`,
    `New:            ${report.new_subscriptions}`,
    `Churned:        ${report.churned.voluntary + report.churned.involuntary} (${report.churned.voluntary} voluntary, ${report.churned.involuntary} involuntary)`,
    `Renewals:       ${report.renewals.attempted} attempted, ${report.renewals.succeeded} succeeded, ${report.renewals.recovered_by_dunning} recovered by dunning`,
    `3-D Secure:     ${report.three_d_secure.completed} of ${report.three_d_secure.required} completed${rate === null ? '' : ` (${(rate * 100).toFixed(1)}%)`}`,
    `Refunds:        ${totals(report.refunds)}`,
    `Chargebacks:    ${totals(report.chargebacks)}`,
    `Past due:       ${report.past_due_ageing.map((b) => `${b.bucket}: ${b.subscriptions}`).join(', ')}`,
    '',
    'Active subscribers by plan (at the end)',
  ];
  for (const plan of report.active_by_plan) {
    lines.push(`  ${plan.product}, ${money(plan.amount_minor, plan.currency)} every ${plan.interval}: ${plan.active} active, ${plan.past_due} past due`);
  }
  if (!report.active_by_plan.length) lines.push('  none');
  return `${lines.join('\n')}\n`;
}

export function reportCsv(report: Report): string {
  const rows: (string | number | null)[][] = [['figure', 'detail', 'currency', 'value']];
  for (const m of report.mrr) rows.push(['mrr_minor', `${m.subscriptions} subscriptions`, m.currency, m.mrr_minor]);
  rows.push(['new_subscriptions', '', '', report.new_subscriptions]);
  rows.push(['churned', 'voluntary', '', report.churned.voluntary], ['churned', 'involuntary', '', report.churned.involuntary]);
  rows.push(['renewals', 'attempted', '', report.renewals.attempted], ['renewals', 'succeeded', '', report.renewals.succeeded], ['renewals', 'recovered_by_dunning', '', report.renewals.recovered_by_dunning]);
  rows.push(['three_d_secure', 'required', '', report.three_d_secure.required], ['three_d_secure', 'completed', '', report.three_d_secure.completed]);
  for (const [name, list] of [['refunds', report.refunds], ['chargebacks', report.chargebacks]] as const) {
    for (const r of list) rows.push([name, 'count', r.currency, r.count], [name, 'amount_minor', r.currency, r.amount_minor]);
  }
  for (const b of report.past_due_ageing) rows.push(['past_due', b.bucket, '', b.subscriptions]);
  for (const p of report.active_by_plan) {
    const plan = `${p.product} / ${p.interval} / ${p.amount_minor}`;
    rows.push(['active_by_plan', plan, p.currency, p.active], ['past_due_by_plan', plan, p.currency, p.past_due]);
  }
  return rows.map(csvLine).join('');
}
