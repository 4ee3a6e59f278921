/**
 * What each API operation does, calling the same services as the CLI. Each returns a status and
 * a JSON body; expected refusals throw the shared errors, which the router turns into answers.
 */
import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/connect.ts';
import type { EventRow, SubscriptionStatus } from '../db/database.ts';
import type { BillingEngine } from '../billing/engine.ts';
import { cancelSubscription, updateToken, type OperatorContext } from '../billing/operator-actions.ts';
import { enrolSubscriber, refundPayment, retryNow } from '../billing/subscriber-actions.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { invoicesOf } from '../payments/invoices/invoice.repo.ts';
import { transactionsOf } from '../payments/transactions/transaction.repo.ts';
import { validateEnrolment, type EnrolField, type EnrolFieldNames, type EnrolInput } from '../subscriptions/enrol.ts';
import { getSubscription, getSubscriptionByExternalId, viewOf, viewsOf } from '../subscriptions/lookup.ts';
import { attemptJson, eventJson, invoiceJson, moneyBackJson, subscriptionJson } from '../views/json.ts';
import type { ApiKeyIdentity } from './api-keys.ts';
import { decodeCursor, encodeCursor, pageLimit } from './cursor.ts';
import { InvalidRequest } from './problems.ts';
import { enrolByCheckout } from '../checkout/enrol-by-checkout.ts';
import type { NotificationSettings } from '../email/customer-notifications.ts';
import { collectionProblemAmong, defaultProviderFor } from '../payment-providers.ts';

export interface ApiDeps {
  readonly engine: BillingEngine;
  readonly boss: PgBoss;
  /** Sign-up by hosted checkout: how long its links work, and whose name the e-mailed link carries. */
  readonly checkout: { ttlMs: number; merchant: NotificationSettings['merchant'] };
}

export interface ApiRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  key: ApiKeyIdentity;
  now: Date;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

const API_FIELD_NAMES: EnrolFieldNames = { firstPaidAt: 'first_paid_at', renewalsPaid: 'renewals_paid' };
const ENROL_FIELDS: Record<EnrolField, string> = {
  email: 'email',
  firstName: 'first_name',
  lastName: 'last_name',
  country: 'country',
  interval: 'interval',
  amount: 'amount',
  currency: 'currency',
  quickpayId: 'quickpay_id',
  timezone: 'timezone',
  product: 'product',
  firstPaidAt: 'first_paid_at',
  renewalsPaid: 'renewals_paid',
  externalId: 'external_id',
  collection: 'collection',
};

const actorOf = (key: ApiKeyIdentity) => `api:${key.name}`;
const reasonOf = (body: Record<string, unknown>) => (typeof body.reason === 'string' ? body.reason : null);
const str = (value: unknown) => (typeof value === 'string' ? value : undefined);

function operatorContext(deps: ApiDeps, request: ApiRequest): OperatorContext {
  const { engine } = deps;
  return { now: request.now, actor: actorOf(request.key), reason: reasonOf(request.body), policy: engine.policy, billing: engine.billing, followUps: engine.followUps };
}

async function subscriptionAnswer(db: Db, row: Parameters<typeof viewOf>[1], status = 200): Promise<ApiAnswer> {
  return { status, body: subscriptionJson(await viewOf(db, row)) };
}

/** Fields a checkout sign-up cannot have: the customer's payment on the hosted page is the first purchase and makes the token. */
const NOT_WITH_CHECKOUT = ['quickpay_id', 'first_paid_at', 'renewals_paid', 'collection', 'provider'] as const;

export async function createSubscription(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { body } = request;
  const checkout = body.checkout === true;
  if (checkout) {
    const clashes = NOT_WITH_CHECKOUT.filter((field) => body[field] !== undefined);
    if (clashes.length) throw new InvalidRequest(clashes.map((field) => ({ field, message: `${field} cannot be given with checkout: the customer's payment on the hosted page is the first purchase and creates the card token` })));
  } else if (body.send_checkout !== undefined) {
    throw InvalidRequest.of('send_checkout', 'send_checkout e-mails a checkout link: it needs "checkout": true');
  }
  const input: EnrolInput = {
    email: str(body.email)!,
    firstName: str(body.first_name)!,
    lastName: str(body.last_name)!,
    country: str(body.country)!,
    interval: str(body.interval)!,
    amount: str(body.amount)!,
    currency: str(body.currency)!,
    quickpayId: checkout ? '' : str(body.quickpay_id),
    collection: str(body.collection),
    timezone: str(body.timezone),
    product: str(body.product),
    firstPaidAt: str(body.first_paid_at),
    renewalsPaid: typeof body.renewals_paid === 'number' ? String(body.renewals_paid) : undefined,
    externalId: str(body.external_id),
  };
  const checked = validateEnrolment(input, request.now, API_FIELD_NAMES, checkout ? 'checkout' : 'token');
  if (!checked.ok) throw new InvalidRequest(checked.issues.map((i) => ({ field: i.field === null ? null : ENROL_FIELDS[i.field], message: i.message })));
  const provider = str(body.provider) ?? defaultProviderFor(checked.row.collection_method);
  const unable = collectionProblemAmong(deps.engine.providers, provider, checked.row.collection_method);
  if (unable) throw InvalidRequest.of('provider', unable.replace('--provider', '"provider":'));
  const { db } = deps.engine;
  const ask = { provider, now: request.now, actor: actorOf(request.key), reason: reasonOf(body), allowDuplicate: body.allow_duplicate === true, fieldNames: API_FIELD_NAMES };
  if (checkout) {
    const result = await enrolByCheckout(db, input, {
      ...ask,
      links: { publicUrl: deps.engine.publicUrl, ttlMs: deps.checkout.ttlMs },
      ...(body.send_checkout === true ? { send: { boss: deps.boss, settings: { merchant: deps.checkout.merchant } } } : {}),
    });
    if (result.status === 'refused') throw new ConflictError(result.message);
    const answer = await subscriptionAnswer(db, result.subscription, result.status === 'enrolled' ? 201 : 200);
    const link = result.checkout ? { checkout_url: result.checkout.url, checkout_expires_at: result.checkout.expiresAt.toISOString() } : {};
    return { ...answer, body: { ...(answer.body as object), ...link } };
  }
  const result = await enrolSubscriber(db, deps.boss, input, ask);
  if (result.status === 'refused') throw new ConflictError(result.message);
  return subscriptionAnswer(db, result.subscription, result.status === 'enrolled' ? 201 : 200);
}

export async function getSubscriptionOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  return subscriptionAnswer(deps.engine.db, await getSubscription(deps.engine.db, request.params.id!));
}

export async function listSubscriptionsOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { db } = deps.engine;
  const limit = pageLimit(request.query);
  const after = decodeCursor(request.query.get('cursor'));
  const status = request.query.get('status') as SubscriptionStatus | null;
  const email = request.query.get('email');
  let query = db
    .selectFrom('subscriptions')
    .selectAll()
    // The cursor keeps PostgreSQL's microseconds, which a JavaScript Date would round away.
    .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_at'));
  if (status) query = query.where('status', '=', status);
  if (email) query = query.where(sql`lower(customer_email)`, '=', email.toLowerCase());
  if (after) query = query.where(sql<boolean>`(created_at, id) > (${after.at}::timestamptz, ${after.id}::uuid)`);
  const rows = await query.orderBy('created_at').orderBy('id').limit(limit + 1).execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const views = await viewsOf(db, page.map(({ cursor_at: _c, ...row }) => row));
  return { status: 200, body: { data: views.map(subscriptionJson), next_cursor: rows.length > limit && last ? encodeCursor({ at: last.cursor_at, id: last.id }) : null } };
}

export async function cancelOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { db } = deps.engine;
  return subscriptionAnswer(db, await cancelSubscription(db, request.params.id!, request.body.at_period_end === true, operatorContext(deps, request)));
}

export async function retryOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { db } = deps.engine;
  return subscriptionAnswer(db, await retryNow(db, deps.boss, request.params.id!, operatorContext(deps, request)));
}

export async function updateCardTokenOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { db } = deps.engine;
  return subscriptionAnswer(db, await updateToken(db, request.params.id!, str(request.body.quickpay_id)!, operatorContext(deps, request)));
}

export async function listInvoicesOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { db } = deps.engine;
  const subscription = await getSubscription(db, request.params.id!);
  const [invoices, transactions] = await Promise.all([invoicesOf(db, subscription.id), transactionsOf(db, subscription.id)]);
  return { status: 200, body: { data: invoices.map((invoice) => invoiceJson(invoice, transactions, subscription.timezone)) } };
}

export async function listPaymentsOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { db } = deps.engine;
  const subscription = await getSubscription(db, request.params.id!);
  const charges = await transactionsOf(db, subscription.id, 'charge');
  return { status: 200, body: { data: charges.map((charge) => attemptJson(charge, subscription.timezone)) } };
}

export async function findCustomerOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { db } = deps.engine;
  const email = request.query.get('email');
  const externalId = request.query.get('external_id');
  if ((email === null) === (externalId === null)) {
    throw new InvalidRequest([{ field: email === null ? 'email' : 'external_id', message: 'give exactly one of email and external_id' }]);
  }
  const address = email ?? (await getSubscriptionByExternalId(db, externalId!)).customer_email;
  const rows = await db.selectFrom('subscriptions').selectAll().where(sql`lower(customer_email)`, '=', address.toLowerCase()).orderBy('created_at').orderBy('id').execute();
  const latest = rows.at(-1);
  if (!latest) throw new NotFoundError(`no customer has the e-mail address ${address}`);
  const views = await viewsOf(db, rows);
  return {
    status: 200,
    body: { email: latest.customer_email, first_name: latest.customer_first_name, last_name: latest.customer_last_name, country: latest.customer_country, subscriptions: views.map(subscriptionJson) },
  };
}

export async function createRefundOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { body } = request;
  const sent = await refundPayment(deps.engine, { orderNumber: str(body.order_number)!, amount: str(body.amount), reason: str(body.reason)!, actor: actorOf(request.key) });
  const subscription = await getSubscription(deps.engine.db, sent.charge.subscription_id);
  return { status: 201, body: { refund: moneyBackJson(sent.refund, sent.charge, subscription.timezone), provider_answer: sent.outcome.kind } };
}

export async function listEventsOperation(deps: ApiDeps, request: ApiRequest): Promise<ApiAnswer> {
  const { db } = deps.engine;
  const limit = pageLimit(request.query);
  const after = decodeCursor(request.query.get('cursor'));
  const subscriptionId = request.query.get('subscription_id');
  let query = db.selectFrom('events').selectAll();
  if (subscriptionId !== null) query = query.where('subscription_id', '=', (await getSubscription(db, subscriptionId)).id);
  if (after) query = query.where('id', '>', Number(after.id));
  const rows: EventRow[] = await query.orderBy('id').limit(limit + 1).execute();
  const page = rows.slice(0, limit);
  const zones = new Map(
    (page.length ? await db.selectFrom('subscriptions').select(['id', 'timezone']).where('id', 'in', [...new Set(page.map((e) => e.subscription_id))]).execute() : []).map((s) => [s.id, s.timezone]),
  );
  const last = page.at(-1);
  return {
    status: 200,
    body: {
      data: page.map((event) => ({ ...eventJson(event, zones.get(event.subscription_id) ?? 'UTC'), subscription_id: event.subscription_id })),
      next_cursor: rows.length > limit && last ? encodeCursor({ at: '', id: String(last.id) }) : null,
    },
  };
}
