import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { deliverMessage, sweepOutbox, type MailDeps } from '../../src/email/deliver-email.job.ts';
import { queueMessages } from '../../src/email/outbox.repo.ts';
import { smtpTransport } from '../../src/email/transport.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { freePort } from '../support/e2e.ts';
import { useHarness } from '../support/engine-harness.ts';

const h = useHarness('email');
const servers: SMTPServer[] = [];
afterAll(async () => {
  for (const server of servers) await new Promise<void>((r) => server.close(() => r()));
});

function smtpCatcher(port: number): Promise<ParsedMail[]> & { received: ParsedMail[] } {
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        received.push(mail);
        callback();
      }, callback);
    },
  });
  servers.push(server);
  const listening = new Promise<ParsedMail[]>((resolve) => server.listen(port, '127.0.0.1', () => resolve(received)));
  return Object.assign(listening, { received });
}

async function queueOne(key: string) {
  const [id] = await queueMessages(h.db.db, [
    { subscriptionId: null, attemptId: null, kind: 'payment_failed', to: 'ada@example.com', subject: `Test ${key}`, text: 'plain body', html: '<p>html body</p>', sendAfter: h.clock.now(), dedupeKey: key },
  ]);
  return id!;
}

function deps(port: number): MailDeps {
  return {
    db: h.db.db,
    boss: h.boss(),
    transport: smtpTransport(`smtp://127.0.0.1:${port}`),
    from: '"Tea Shop" <help@shop.test>',
    clock: h.clock,
    logger: silentLogger,
    metrics: h.engine.metrics,
  };
}

const row = (id: number) => h.db.db.selectFrom('email_outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('e-mail delivery over SMTP', () => {
  it('delivers a message once, with plain text and HTML, however often its job runs', async () => {
    const port = await freePort();
    const mails = await smtpCatcher(port);
    const id = await queueOne('smtp-once');
    expect(await deliverMessage(deps(port), id)).toBe('sent');
    expect(await deliverMessage(deps(port), id)).toBe('skipped');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Test smtp-once');
    expect(mails[0]!.text?.trim()).toBe('plain body');
    expect(mails[0]!.html).toBe('<p>html body</p>');
    expect(mails[0]!.from?.text).toBe('"Tea Shop" <help@shop.test>');
    expect(await row(id)).toMatchObject({ status: 'sent', tries: 1, delivered_to: expect.stringMatching(/^smtp:<rebill-/) });
  });

  it('the same message is never queued twice', async () => {
    await queueOne('dedupe-me');
    expect(await queueMessages(h.db.db, [
      { subscriptionId: null, attemptId: null, kind: 'payment_failed', to: 'x@example.com', subject: 'again', text: 't', html: 'h', sendAfter: h.clock.now(), dedupeKey: 'dedupe-me' },
    ])).toEqual([]);
  });

  it('retries with backoff while the server is unreachable, then delivers exactly once', async () => {
    const port = await freePort();
    const id = await queueOne('smtp-retry');
    expect(await deliverMessage(deps(port), id)).toBe('retrying');
    const waiting = await row(id);
    expect(waiting).toMatchObject({ status: 'queued', tries: 1, last_error: expect.stringMatching(/ECONNREFUSED|connect/i) });
    expect(waiting.send_after.getTime()).toBe(h.clock.now().getTime() + 30_000);
    // The next try is already queued as a job for later.
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pgboss.job where name = 'deliver-email' and (data->>'messageId')::int = ${id} and start_after > now()`.execute(h.db.db);
    expect(rows[0]!.n).toBe(1);
    const mails = await smtpCatcher(port);
    expect(await deliverMessage(deps(port), id)).toBe('sent');
    expect(await deliverMessage(deps(port), id)).toBe('skipped');
    expect(mails).toHaveLength(1);
  });

  it('a delivery cut short by a crash is marked uncertain and not sent again', async () => {
    const id = await queueOne('smtp-crash');
    await h.db.db.updateTable('email_outbox').set({ status: 'sending', claimed_at: new Date(h.clock.now().getTime() - 11 * 60_000) }).where('id', '=', id).execute();
    const swept = await sweepOutbox({ db: h.db.db, boss: h.boss(), clock: h.clock });
    expect(swept.uncertain).toBeGreaterThanOrEqual(1);
    expect(await row(id)).toMatchObject({ status: 'uncertain' });
    const port = await freePort();
    const mails = await smtpCatcher(port);
    expect(await deliverMessage(deps(port), id)).toBe('skipped');
    expect(mails).toHaveLength(0);
  });
});
