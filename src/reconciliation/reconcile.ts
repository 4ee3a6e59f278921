/**
 * Daily reconciliation: pages through a provider's lists of a day's successful payments and of
 * its refunds and chargebacks, and compares them with rebill's records. What would move money is
 * confirmed with a signed query and recorded through the normal commit path (a lost success
 * notice, a refund or chargeback rebill never heard of); what cannot be explained is flagged for
 * a person and never changed. Every run is stored with its items; running a day again changes
 * nothing new, because each fix is recorded only while rebill's state still lacks it.
 */
import { createHash } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { recordChargeback } from '../billing/disputes.ts';
import { recordContext, type BillingEngine } from '../billing/engine.ts';
import { resolutionFromQuery, refundResolutionFromQuery } from '../billing/janitor.ts';
import { recordOutcomes } from '../billing/record-outcomes.ts';
import { recordFoundRefund, recordRefundOutcomes } from '../billing/refunds.ts';
import type { PaymentTransaction, ReconciliationItem, ReconciliationRun } from '../db/database.ts';
import { dispatchMessages } from '../email/deliver-email.job.ts';
import { composeMessage } from '../email/messages.ts';
import { queueMessages } from '../email/outbox.repo.ts';
import { errorMessage, ValidationError } from '../lib/errors.ts';
import { displayMoney, type Money } from '../lib/money.ts';
import type { ChargeQueryResult, RefundQueryResult } from '../payments/outcomes.ts';
import { operation, type ListedBusinessOrder, type ListPage, type PaymentProvider, type SettledPayment, type SettlementWindow } from '../payments/provider.ts';
import { childrenOf, findTransactionsByReference } from '../payments/transactions/transaction.repo.ts';
import { compareBusiness, comparePayment, ITEM_KINDS, refundUsedBy, type ItemKind } from './compare.ts';
import { addItems, finishRun, itemsOf, recordProgress, startRun, type NewItem, type RunCounts } from './reconciliation.repo.ts';

/** Who a reconciliation's fixes are recorded as: the provider said so, through its lists and a query. */
export const RECONCILIATION_ACTOR = 'gateway:reconciliation';

export interface ReconcileProgress {
  list: 'payments' | 'business orders' | 'rebill payments';
  page: number;
  totalPages: number;
  counts: RunCounts;
}

export interface OperatorAlerts {
  merchant: { name: string; supportEmail: string };
  operatorEmail: string;
  /** Queues the e-mail's delivery at once; without it the worker's outbox sweep sends it. */
  boss?: PgBoss;
}

export interface ReconcileRequest {
  /** The provider's calendar day, `YYYY-MM-DD`. */
  day: string;
  /** Default: the default provider. */
  provider?: string;
  /** Who started it: `worker` for the daily job, `operator:<name>` from the CLI. */
  startedBy: string;
  alerts?: OperatorAlerts;
  onProgress?: (progress: ReconcileProgress) => void;
}

export interface ReconcileResult {
  run: ReconciliationRun;
  items: ReconciliationItem[];
}

/** The provider's window for a day, refusing days that have not begun. */
export function reconciliationWindow(provider: PaymentProvider, day: string, now: Date): SettlementWindow {
  const window = operation(provider, 'settlementWindow', 'order_lists')(day);
  if (window.from.getTime() > now.getTime()) {
    throw new ValidationError(`${day} has not begun yet in ${provider.name}'s time zone; reconcile a day that has (today is partial, yesterday complete)`);
  }
  return window;
}

export async function reconcileDay(engine: BillingEngine, request: ReconcileRequest): Promise<ReconcileResult> {
  const provider = request.provider ? engine.providers.get(request.provider) : engine.providers.default;
  const window = reconciliationWindow(provider, request.day, engine.clock.now());
  const listPayments = operation(provider, 'listSettledPayments', 'order_lists');
  const listBusiness = operation(provider, 'listBusinessOrders', 'order_lists');
  const run = await startRun(engine.db, provider.name, window, request.startedBy, engine.clock.now());
  const state = new RunState(engine, provider, run.id, request.onProgress);
  let failure: string | null = null;
  try {
    await pageThrough('payments', (page) => listPayments(window, page), state, (rows) => state.comparePayments(rows));
    await pageThrough('business orders', (page) => listBusiness(window, page), state, (rows) => state.compareBusinessOrders(rows));
    await state.findMissingAtProvider(window);
  } catch (error) {
    failure = errorMessage(error);
    engine.logger.error({ run_id: run.id, provider: provider.name, day: window.day, err: error }, 'reconciliation failed');
  }
  const finished = await finishRun(engine.db, run.id, state.counts, engine.clock.now(), failure);
  const items = await itemsOf(engine.db, run.id);
  engine.metrics.reconciliationFlagged.set({ provider: provider.name }, finished.flagged);
  engine.logger.info({ run_id: run.id, provider: provider.name, day: window.day, status: finished.status, ...state.counts }, 'reconciliation finished');
  if (request.alerts) await alertOperator(engine, request.alerts, finished, items);
  return { run: finished, items };
}

async function pageThrough<Row>(
  list: ReconcileProgress['list'],
  fetchPage: (page: number) => Promise<ListPage<Row>>,
  state: RunState,
  compare: (rows: Row[]) => Promise<void>,
): Promise<void> {
  let totalPages = 1;
  for (let page = 1; page <= totalPages; page++) {
    const answer = await fetchPage(page).catch((error: unknown): ListPage<Row> => ({ kind: 'error', reason: errorMessage(error) }));
    if (answer.kind === 'error') throw new Error(`${state.provider.name}'s ${list} list, page ${page}: ${answer.reason}`);
    // An empty day has no pages, yet its first page was read.
    totalPages = Math.max(answer.totalPages, 1);
    if (page === 1) state.counts.pagesTotal += totalPages;
    await compare(answer.rows);
    state.counts.pagesRead += 1;
    await state.progress(list, page, totalPages);
  }
}

/** One run's counts and items as it goes; each page's items are stored with its progress. */
class RunState {
  readonly counts: RunCounts = { pagesRead: 0, pagesTotal: 0, paymentsCompared: 0, businessCompared: 0, matched: 0, fixed: 0, flagged: 0 };
  /** Order numbers the provider listed as paid: what rebill paid that day must be among them. */
  readonly listed = new Set<string>();
  /** rebill's refunds matched to a listed refund, so equal refunds are matched one to one. */
  readonly usedRefunds = new Set<number>();
  #items: NewItem[] = [];

  constructor(
    readonly engine: BillingEngine,
    readonly provider: PaymentProvider,
    readonly runId: number,
    readonly onProgress: ((progress: ReconcileProgress) => void) | undefined,
  ) {}

  add(item: NewItem): void {
    this.#items.push(item);
    if (ITEM_KINDS[item.kind] === 'fixed') this.counts.fixed += 1;
    else this.counts.flagged += 1;
    this.engine.metrics.reconciliationItems.inc({ outcome: ITEM_KINDS[item.kind], kind: item.kind });
  }

  async progress(list: ReconcileProgress['list'], page: number, totalPages: number): Promise<void> {
    await addItems(this.engine.db, this.runId, this.#items);
    this.#items = [];
    await recordProgress(this.engine.db, this.runId, this.counts, this.engine.clock.now());
    this.onProgress?.({ list, page, totalPages, counts: { ...this.counts } });
  }

  async comparePayments(rows: readonly SettledPayment[]): Promise<void> {
    const charges = await chargesByReference(this.engine, rows.map((r) => r.reference));
    for (const row of rows) {
      this.counts.paymentsCompared += 1;
      this.listed.add(row.reference);
      const charge = charges.get(row.reference);
      const verdict = comparePayment(row, charge, this.provider.name);
      const facts = paymentFacts(row, charge);
      if (verdict.kind === 'matched') this.counts.matched += 1;
      else if (verdict.kind === 'flag') this.add({ ...facts, kind: verdict.item, detail: verdict.detail });
      else this.add({ ...facts, ...(await this.recordLostSuccess(verdict.charge)) });
    }
  }

  /** Paid at the provider, open or failed in rebill: the signed order query decides, as for any notice. */
  async recordLostSuccess(charge: PaymentTransaction): Promise<{ kind: ItemKind; detail: string }> {
    const result = await this.queryCharge(charge.reference);
    const resolution = resolutionFromQuery(charge, result);
    const [recorded] = await this.engine.db.transaction().execute((tx) =>
      recordOutcomes(tx, [{ transactionId: charge.id, resolution, actor: RECONCILIATION_ACTOR, fromQuery: true }], recordContext(this.engine)),
    );
    if (recorded?.changed && recorded.status === 'succeeded') {
      return { kind: 'lost_success_recorded', detail: `paid at ${this.provider.name} but ${charge.status} in rebill (its notice was lost): the order query confirmed it and it is recorded as paid` };
    }
    return {
      kind: 'unresolved',
      detail: `listed as paid by ${this.provider.name} but ${recorded?.status ?? charge.status} in rebill, and the order query did not settle it${recorded?.why ? `: ${recorded.why}` : ''}`,
    };
  }

  async compareBusinessOrders(rows: readonly ListedBusinessOrder[]): Promise<void> {
    const charges = await chargesByReference(this.engine, rows.map((r) => r.reference));
    const children = await childrenOf(this.engine.db, [...charges.values()].map((c) => c.id));
    for (const row of rows) {
      this.counts.businessCompared += 1;
      const charge = charges.get(row.reference);
      const verdict = compareBusiness(row, charge, charge ? children.filter((c) => c.parent_id === charge.id) : [], this.usedRefunds, this.provider.name);
      const used = refundUsedBy(verdict);
      if (used !== null) this.usedRefunds.add(used);
      const facts = businessFacts(row, charge);
      switch (verdict.kind) {
        case 'ignored':
          break;
        case 'matched':
          this.counts.matched += 1;
          break;
        case 'flag':
          this.add({ ...facts, kind: verdict.item, detail: verdict.detail });
          break;
        case 'settle_refund':
          this.add({ ...facts, ...(await this.settleRefund(verdict.refund)) });
          break;
        case 'confirm_refund':
          this.add({ ...facts, ...(await this.recordUnknownRefund(row, verdict.charge, verdict.money)) });
          break;
        case 'confirm_chargeback':
          this.add({ ...facts, ...(await this.recordUnknownChargeback(row, verdict.charge, verdict.money)) });
          break;
      }
    }
  }

  /** rebill's own refund, done at the provider but still open here: its refund query settles it. */
  async settleRefund(refund: PaymentTransaction): Promise<{ kind: ItemKind; detail: string; transactionId: number }> {
    const result = await Promise.resolve()
      .then(() => operation(this.provider, 'queryRefund', 'refund')({ reference: refund.reference, refundId: refund.provider_reference }))
      .catch((error: unknown): RefundQueryResult => ({ kind: 'error', reason: errorMessage(error) }));
    const [recorded] = await this.engine.db.transaction().execute((tx) =>
      recordRefundOutcomes(tx, [{ refundId: refund.id, resolution: refundResolutionFromQuery(result), actor: RECONCILIATION_ACTOR, fromQuery: true }], recordContext(this.engine)),
    );
    return recorded?.changed && recorded.status === 'succeeded'
      ? { kind: 'refund_settled', detail: `refund ${refund.reference} was done at ${this.provider.name} but ${refund.status} in rebill: the refund query confirmed it`, transactionId: refund.id }
      : { kind: 'unresolved', detail: `refund ${refund.reference} is listed as done but the refund query did not confirm it (${result.kind})`, transactionId: refund.id };
  }

  /** A refund rebill never asked for: recorded once the signed order query shows the payment refunded. */
  async recordUnknownRefund(row: ListedBusinessOrder, charge: PaymentTransaction, money: Money): Promise<{ kind: ItemKind; detail: string; transactionId?: number }> {
    const result = await this.queryCharge(charge.reference);
    const confirmed = result.kind === 'found' && result.payments.some((p) => p.paymentId === row.paymentId && p.refunded === true);
    if (!confirmed) {
      return { kind: 'unknown_business', detail: `a refund of ${displayMoney(money)} rebill did not ask for, and the order query does not show the payment refunded (${result.kind === 'error' ? result.reason : result.kind}): not recorded` };
    }
    const recorded = await this.engine.db.transaction().execute((tx) =>
      recordFoundRefund(tx, { chargeId: charge.id, money, actor: RECONCILIATION_ACTOR, note: `refunded at ${this.provider.name} without rebill asking (found by reconciliation, confirmed by the order query)` }, recordContext(this.engine)),
    );
    if (!recorded.recorded) return { kind: 'unknown_business', detail: `a refund of ${displayMoney(money)} rebill did not ask for could not be recorded: ${recorded.why}` };
    this.usedRefunds.add(recorded.refund.id);
    return { kind: 'refund_recorded', detail: `a refund of ${displayMoney(money)} made at ${this.provider.name} without rebill asking, confirmed by the order query, is recorded as ${recorded.refund.reference}`, transactionId: recorded.refund.id };
  }

  /** A chargeback rebill never heard of: confirmed the way a chargeback notice is, then recorded. */
  async recordUnknownChargeback(row: ListedBusinessOrder, charge: PaymentTransaction, money: Money): Promise<{ kind: ItemKind; detail: string; transactionId?: number }> {
    const confirm = operation(this.provider, 'confirmBusiness', 'signed_notices');
    const confirmation = await confirm({
      kind: 'business', verified: false, category: 'chargeback', noticeType: row.type, reference: charge.reference,
      paymentId: row.paymentId, eventId: '', refundReference: '', problems: [],
    }).catch((error: unknown) => ({ kind: 'unresolved' as const, reason: errorMessage(error) }));
    if (confirmation.kind !== 'chargeback') {
      const reason = 'reason' in confirmation ? confirmation.reason : confirmation.kind;
      return { kind: 'unknown_business', detail: `a chargeback of ${displayMoney(money)} rebill did not know of, not confirmed by the order query (${reason}): not recorded` };
    }
    const recorded = await this.engine.db.transaction().execute((tx) =>
      recordChargeback(tx, { chargeId: charge.id, category: confirmation.category, money, actor: RECONCILIATION_ACTOR }, { ...recordContext(this.engine), stopOnDispute: this.engine.billing.stopOnDispute }),
    );
    return recorded.recorded
      ? { kind: 'chargeback_recorded', detail: `a ${confirmation.category} of ${displayMoney(money)} rebill did not know of, confirmed by the order query, is recorded`, transactionId: recorded.chargeback.id }
      : { kind: 'unknown_business', detail: `a chargeback of ${displayMoney(money)} could not be recorded: ${recorded.why}` };
  }

  /**
   * What rebill recorded as paid that day but the provider did not list. A payment may be listed on
   * the next day (a 3-D Secure completed after midnight), so each is asked about before it is flagged.
   */
  async findMissingAtProvider(window: SettlementWindow): Promise<void> {
    // Only the order numbers of a day's payments (100,000 on a busy day), then whole rows for the few not listed.
    const paid = await this.engine.db
      .selectFrom('payment_transactions')
      .select(['id', 'reference'])
      .where('provider', '=', this.provider.name)
      .where('kind', '=', 'charge')
      .where('status', '=', 'succeeded')
      .where('requested_at', '>=', window.from)
      .where('requested_at', '<=', new Date(window.to.getTime() + 999))
      .execute();
    const missingIds = paid.filter((c) => !this.listed.has(c.reference)).map((c) => c.id);
    const missing = missingIds.length ? await this.engine.db.selectFrom('payment_transactions').selectAll().where('id', 'in', missingIds).orderBy('id').execute() : [];
    for (const charge of missing) {
      const result = await this.queryCharge(charge.reference);
      const paidThere = result.kind === 'found' && result.payments.some((p) =>
        p.outcome.kind === 'approved' && p.money?.amountMinor === charge.amount_minor && p.money.currency === charge.currency && (!charge.provider_reference || p.paymentId === charge.provider_reference));
      if (paidThere) {
        this.counts.matched += 1;
        continue;
      }
      this.add({
        kind: 'missing_at_provider',
        reference: charge.reference,
        providerReference: charge.provider_reference,
        subscriptionId: charge.subscription_id,
        transactionId: charge.id,
        rebillAmountMinor: charge.amount_minor,
        rebillCurrency: charge.currency,
        detail: `paid in rebill (${displayMoney({ amountMinor: charge.amount_minor, currency: charge.currency })}) but ${this.provider.name} does not list it, and its order query ${result.kind === 'error' ? `failed: ${result.reason}` : result.kind === 'not_found' ? 'knows no such order' : 'shows no matching success'}; left unchanged for a person to check`,
      });
    }
    await this.progress('rebill payments', 1, 1);
  }

  async queryCharge(reference: string): Promise<ChargeQueryResult> {
    const stopTimer = this.engine.metrics.gatewayLatency.startTimer({ operation: 'query' });
    try {
      return await operation(this.provider, 'queryCharge', 'query')(reference);
    } catch (error) {
      return { kind: 'error', reason: errorMessage(error) };
    } finally {
      stopTimer();
    }
  }
}

async function chargesByReference(engine: BillingEngine, references: readonly string[]): Promise<Map<string, PaymentTransaction>> {
  if (!references.length) return new Map();
  const found = await findTransactionsByReference(engine.db, references);
  return new Map(found.filter((t) => t.kind === 'charge').map((t) => [t.reference, t]));
}

function paymentFacts(row: SettledPayment, charge: PaymentTransaction | undefined): Omit<NewItem, 'kind' | 'detail'> {
  return {
    reference: row.reference,
    providerReference: row.paymentId,
    subscriptionId: charge?.subscription_id ?? null,
    transactionId: charge?.id ?? null,
    providerAmount: row.amountText,
    providerCurrency: row.currency,
    rebillAmountMinor: charge?.amount_minor ?? null,
    rebillCurrency: charge?.currency ?? null,
  };
}

function businessFacts(row: ListedBusinessOrder, charge: PaymentTransaction | undefined): Omit<NewItem, 'kind' | 'detail'> {
  return { ...paymentFacts({ reference: row.reference, paymentId: row.paymentId, money: row.money, amountText: row.amountText, currency: row.currency, paidAt: row.at }, charge) };
}

/**
 * One e-mail per run that flagged something, unless the same day was already reported with the
 * same flags: running a day again does not mail the team again.
 */
async function alertOperator(engine: BillingEngine, alerts: OperatorAlerts, run: ReconciliationRun, items: readonly ReconciliationItem[]): Promise<void> {
  const flagged = items.filter((i) => i.outcome === 'flagged');
  if (!flagged.length && run.status === 'done') return;
  const fingerprint = createHash('sha256')
    .update([run.status, run.error ?? '', ...flagged.map((i) => `${i.kind}:${i.reference}:${i.provider_reference ?? ''}`).sort()].join('\n'))
    .digest('hex')
    .slice(0, 32);
  const lines = flagged.slice(0, 50).map((i) => `- ${i.kind} ${i.reference}: ${i.detail}`);
  const subject = run.status === 'failed'
    ? `Reconciliation of ${run.day} with ${run.provider} failed`
    : `Reconciliation of ${run.day} with ${run.provider}: ${flagged.length} item${flagged.length === 1 ? '' : 's'} to check`;
  const text = [
    `Run ${run.id} compared ${run.payments_compared} payments and ${run.business_compared} refunds and chargebacks listed by ${run.provider} for ${run.day}: ${run.matched} matched, ${run.fixed} fixed, ${run.flagged} flagged.`,
    run.error ? `It stopped: ${run.error}` : '',
    ...lines,
    flagged.length > lines.length ? `…and ${flagged.length - lines.length} more.` : '',
    `See rebill reconcile --date ${run.day} --json, or the console's reconciliation page.`,
  ].filter(Boolean).join('\n');
  const composed = composeMessage({ merchant: alerts.merchant, customer: { firstName: 'team' }, timezone: 'UTC' }, { kind: 'operator_alert', subject, text });
  await engine.db.transaction().execute(async (tx) => {
    const ids = await queueMessages(tx, [{
      subscriptionId: null, transactionId: null, kind: 'reconciliation_alert', to: alerts.operatorEmail, ...composed,
      sendAfter: engine.clock.now(), dedupeKey: `reconciliation:${run.provider}:${run.day}:${fingerprint}`,
    }]);
    if (alerts.boss) await dispatchMessages(alerts.boss, tx, ids);
  });
}
