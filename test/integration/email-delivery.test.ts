import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/connect.ts';
import { deliverMessage, sweepOutbox, type MailDeps } from '../../src/email/deliver-email.job.ts';
import { queueMessages } from '../../src/email/outbox.repo.ts';
import { emlFileTransport, smtpTransport, type MailTransport } from '../../src/email/transport.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { createTestDatabase, dropTestDatabase } from '../support/database.ts';
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

async function queueOne(key: string, db: Db = h.db.db) {
  const [id] = await queueMessages(db, [
    { subscriptionId: null, transactionId: null, kind: 'payment_failed', to: 'ada@example.com', subject: `Test ${key}`, text: 'plain body', html: '<p>html body</p>', sendAfter: h.clock.now(), dedupeKey: key },
  ]);
  return id!;
}

function deps(port: number): MailDeps {
  return mailDeps(smtpTransport(`smtp://127.0.0.1:${port}`));
}

function mailDeps(transport: MailTransport, db: Db = h.db.db): MailDeps {
  return {
    db,
    boss: h.boss(),
    transport,
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
    const sent = await row(id);
    // The Message-ID is the message's own random key, so it never repeats after a database reset.
    expect(sent).toMatchObject({ status: 'sent', tries: 1, delivered_to: `smtp:<rebill-${sent.message_key}@shop.test>` });
    expect(mails[0]!.messageId).toBe(`<rebill-${sent.message_key}@shop.test>`);
  });

  it('the same message is never queued twice', async () => {
    await queueOne('dedupe-me');
    expect(await queueMessages(h.db.db, [
      { subscriptionId: null, transactionId: null, kind: 'payment_failed', to: 'x@example.com', subject: 'again', text: 't', html: 'h', sendAfter: h.clock.now(), dedupeKey: 'dedupe-me' },
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

describe('e-mail delivery as .eml files', () => {
  it('messages from two databases (or one reset) written to the same outbox directory both keep their own file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebill-outbox-'));
    // Two fresh databases: each one's first message has the same outbox id, as after a reset.
    const before = await createTestDatabase('outbox_before_reset');
    const after = await createTestDatabase('outbox_after_reset');
    try {
      const first = await queueOne('before-reset', before.db);
      const second = await queueOne('after-reset', after.db);
      expect(first).toBe(second);
      expect(await deliverMessage(mailDeps(emlFileTransport(dir), before.db), first)).toBe('sent');
      expect(await deliverMessage(mailDeps(emlFileTransport(dir), after.db), second)).toBe('sent');

      const rows = await Promise.all([before, after].map((d) => d.db.selectFrom('email_outbox').selectAll().where('id', '=', first).executeTakeFirstOrThrow()));
      expect(rows[0]!.delivered_to).not.toBe(rows[1]!.delivered_to);
      expect(readdirSync(dir).sort()).toEqual(rows.map((r) => basename(r.delivered_to!)).sort());
      for (const [i, subject] of ['Test before-reset', 'Test after-reset'].entries()) {
        const mail = await simpleParser(readFileSync(rows[i]!.delivered_to!));
        expect(mail.subject).toBe(subject);
        expect(mail.messageId).toBe(`<rebill-${rows[i]!.message_key}@shop.test>`);
        // Readable: when it was written, and what kind of message it is.
        expect(basename(rows[i]!.delivered_to!)).toMatch(new RegExp(`^\\d{8}T\\d{6}Z-${rows[i]!.message_key}-payment_failed\\.eml$`));
      }
    } finally {
      await dropTestDatabase(before);
      await dropTestDatabase(after);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file already written for a message is never rewritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebill-outbox-'));
    try {
      const id = await queueOne('written-once');
      const message = await row(id);
      const transport = emlFileTransport(dir);
      const path = await transport.deliver(message, '"Tea Shop" <help@shop.test>');
      const written = readFileSync(path, 'utf8');
      expect(await transport.deliver({ ...message, subject: 'Changed afterwards' }, '"Tea Shop" <help@shop.test>')).toBe(path);
      expect(readFileSync(path, 'utf8')).toBe(written);
      expect(readdirSync(dir)).toEqual([basename(path)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
