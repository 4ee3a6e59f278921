/** Reconciliation runs and their items: what each run compared, fixed and flagged. */
import type { DbOrTx } from '../db/connect.ts';
import type { ReconciliationItem, ReconciliationRun } from '../db/database.ts';
import { ConflictError } from '../lib/errors.ts';
import type { SettlementWindow } from '../payments/provider.ts';
import { ITEM_KINDS, type ItemKind } from './compare.ts';

/** A running run whose heartbeat is older than this was left by a process that died. */
export const ABANDONED_AFTER_MS = 15 * 60_000;

export interface NewItem {
  kind: ItemKind;
  reference: string;
  providerReference?: string | null;
  subscriptionId?: string | null;
  transactionId?: number | null;
  providerAmount?: string | null;
  providerCurrency?: string | null;
  rebillAmountMinor?: number | null;
  rebillCurrency?: string | null;
  detail: string;
}

export interface RunCounts {
  pagesRead: number;
  pagesTotal: number;
  paymentsCompared: number;
  businessCompared: number;
  matched: number;
  fixed: number;
  flagged: number;
}

function isOneRunningViolation(error: unknown): boolean {
  const pgError = error as { code?: string; constraint?: string } | null;
  return pgError?.code === '23505' && pgError.constraint === 'reconciliation_runs_one_running';
}

/** Starts a run of a provider's day; refused while another run of that day is going. */
export async function startRun(db: DbOrTx, provider: string, window: SettlementWindow, actor: string, now: Date): Promise<ReconciliationRun> {
  await db
    .updateTable('reconciliation_runs')
    .set({ status: 'failed', finished_at: now, error: 'abandoned: its process stopped before it finished' })
    .where('status', '=', 'running')
    .where('heartbeat_at', '<', new Date(now.getTime() - ABANDONED_AFTER_MS))
    .execute();
  try {
    return await db
      .insertInto('reconciliation_runs')
      .values({ provider, day: window.day, window_from: window.from, window_to: window.to, status: 'running', actor, started_at: now, heartbeat_at: now, finished_at: null, error: null })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    if (!isOneRunningViolation(error)) throw error;
    const running = await db.selectFrom('reconciliation_runs').select(['id', 'started_at']).where('provider', '=', provider).where('day', '=', window.day).where('status', '=', 'running').executeTakeFirst();
    throw new ConflictError(
      `${provider}'s ${window.day} is being reconciled already (run ${running?.id ?? '?'}, started ${running?.started_at.toISOString() ?? '?'}); wait for it to finish, then run it again if you wish`,
    );
  }
}

const countColumns = (counts: RunCounts) => ({
  pages_read: counts.pagesRead,
  pages_total: counts.pagesTotal,
  payments_compared: counts.paymentsCompared,
  business_compared: counts.businessCompared,
  matched: counts.matched,
  fixed: counts.fixed,
  flagged: counts.flagged,
});

export async function recordProgress(db: DbOrTx, runId: number, counts: RunCounts, now: Date): Promise<void> {
  await db.updateTable('reconciliation_runs').set({ ...countColumns(counts), heartbeat_at: now }).where('id', '=', runId).execute();
}

export async function addItems(db: DbOrTx, runId: number, items: readonly NewItem[]): Promise<void> {
  if (!items.length) return;
  await db
    .insertInto('reconciliation_items')
    .values(items.map((item) => ({
      run_id: runId,
      outcome: ITEM_KINDS[item.kind],
      kind: item.kind,
      reference: item.reference,
      provider_reference: item.providerReference ?? null,
      subscription_id: item.subscriptionId ?? null,
      transaction_id: item.transactionId ?? null,
      provider_amount: item.providerAmount ?? null,
      provider_currency: item.providerCurrency ?? null,
      rebill_amount_minor: item.rebillAmountMinor ?? null,
      rebill_currency: item.rebillCurrency ?? null,
      detail: item.detail,
    })))
    .execute();
}

export async function finishRun(db: DbOrTx, runId: number, counts: RunCounts, now: Date, error: string | null): Promise<ReconciliationRun> {
  return db
    .updateTable('reconciliation_runs')
    .set({ ...countColumns(counts), status: error ? 'failed' : 'done', heartbeat_at: now, finished_at: now, error })
    .where('id', '=', runId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function recentRuns(db: DbOrTx, limit = 50): Promise<ReconciliationRun[]> {
  return db.selectFrom('reconciliation_runs').selectAll().orderBy('id', 'desc').limit(limit).execute();
}

export async function findRun(db: DbOrTx, runId: number): Promise<ReconciliationRun | undefined> {
  return db.selectFrom('reconciliation_runs').selectAll().where('id', '=', runId).executeTakeFirst();
}

export async function itemsOf(db: DbOrTx, runId: number): Promise<ReconciliationItem[]> {
  return db.selectFrom('reconciliation_items').selectAll().where('run_id', '=', runId).orderBy('id').execute();
}
