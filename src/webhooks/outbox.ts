/**
 * The webhooks' outbox: a follow-up of every commit (src/billing/commit.ts), so each delivery is
 * written in the same transaction as the change it reports, by whichever process made it. Each
 * event gets a random id (for the receiver to de-duplicate) and the subscription's next sequence
 * number (for the receiver to order); the worker sends them later.
 */
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { sql } from 'kysely';
import type { FollowUps } from '../billing/commit.ts';
import type { Tx } from '../db/connect.ts';
import type { PaymentTransaction } from '../db/database.ts';
import { pokeWebhookDelivery } from '../jobs/queue.ts';
import { viewsOf } from '../subscriptions/lookup.ts';
import { attemptJson, moneyBackJson, subscriptionJson } from '../views/json.ts';
import { wants, webhookEventsFor } from './catalogue.ts';
import { liveEndpoints } from './endpoints.repo.ts';

export function webhookOutbox(boss: PgBoss): FollowUps {
  return {
    async afterChanges(tx, records, now) {
      const drafts = webhookEventsFor(records);
      if (!drafts.length) return;
      const endpoints = await liveEndpoints(tx);
      const wanted = drafts.filter((d) => endpoints.some((e) => wants(e.event_types, d.type)));
      if (!wanted.length) return;

      const subscriptionIds = [...new Set(wanted.map((d) => d.subscriptionId))];
      const subscriptions = new Map((await viewsOf(tx, await tx.selectFrom('subscriptions').selectAll().where('id', 'in', subscriptionIds).execute())).map((s) => [s.id, s]));
      const transactionIds = [...new Set(wanted.flatMap((d) => (d.transactionId === null ? [] : [d.transactionId])))];
      const transactions = await transactionsWithParents(tx, transactionIds);

      const rows = [];
      for (const draft of wanted) {
        const subscription = subscriptions.get(draft.subscriptionId)!;
        const sequence = await nextSequence(tx, draft.subscriptionId);
        const moved = draft.transactionId === null ? undefined : transactions.get(draft.transactionId);
        const zone = subscription.timezone;
        const data: Record<string, unknown> = { subscription: subscriptionJson(subscription) };
        if (moved?.kind === 'charge') data.payment = attemptJson(moved, zone);
        if (moved?.kind === 'refund') data.refund = moneyBackJson(moved, transactions.get(moved.parent_id ?? -1), zone);
        if (moved?.kind === 'chargeback') data.chargeback = moneyBackJson(moved, transactions.get(moved.parent_id ?? -1), zone);
        const id = randomUUID();
        const body = JSON.stringify({ id, type: draft.type, created_at: now.toISOString(), subscription_id: draft.subscriptionId, sequence, data });
        for (const endpoint of endpoints.filter((e) => wants(e.event_types, draft.type))) {
          rows.push({ event_id: id, endpoint_id: endpoint.id, subscription_id: draft.subscriptionId, sequence, type: draft.type, body, next_attempt_at: now, created_at: now });
        }
      }
      await tx.insertInto('webhook_deliveries').values(rows).execute();
      await pokeWebhookDelivery(boss, tx);
    },
  };
}

/** The subscription's next event number; the row lock keeps concurrent commits in line. */
async function nextSequence(tx: Tx, subscriptionId: string): Promise<number> {
  const { rows } = await sql<{ last_sequence: number }>`
    insert into webhook_sequences (subscription_id, last_sequence) values (${subscriptionId}, 1)
    on conflict (subscription_id) do update set last_sequence = webhook_sequences.last_sequence + 1
    returning last_sequence`.execute(tx);
  return Number(rows[0]!.last_sequence);
}

async function transactionsWithParents(tx: Tx, ids: number[]): Promise<Map<number, PaymentTransaction>> {
  if (!ids.length) return new Map();
  const rows = await tx.selectFrom('payment_transactions').selectAll().where('id', 'in', ids).execute();
  const parentIds = rows.flatMap((r) => (r.parent_id === null ? [] : [r.parent_id]));
  const parents = parentIds.length ? await tx.selectFrom('payment_transactions').selectAll().where('id', 'in', parentIds).execute() : [];
  return new Map([...rows, ...parents].map((r) => [r.id, r]));
}
