import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OutboxMessage } from '../../src/db/database.ts';
import { emlFileTransport } from '../../src/email/transport.ts';
import { readEml } from '../../scripts/lib/eml.ts';

const dir = mkdtempSync(join(tmpdir(), 'rebill-eml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let nextId = 1;
async function written(fields: Pick<OutboxMessage, 'to_address' | 'subject' | 'text_body' | 'html_body'>): Promise<Buffer> {
  const id = nextId++;
  const message = { id, kind: 'action_required', created_at: new Date(), message_key: `key${id}`, ...fields } as OutboxMessage;
  return readFileSync(await emlFileTransport(dir).deliver(message, 'Northwind Coffee Club <billing@northwind.example>'));
}

describe('reading the .eml files the outbox writes (what the demo follows links from)', () => {
  it('gives back the recipient, a non-ASCII subject and the plain text exactly, long lines and all', async () => {
    const link = `http://127.0.0.1:8080/pay/${'AbC_-9'.repeat(8)}`;
    const text = `Hello Grace,\n\nPlease confirm your payment of 12,50 € for “Coffee of the month”:\n${link}\n\n${'and a line far longer than seventy-six characters, '.repeat(4)}\nThanks — Northwind`;
    const raw = await written({ to_address: 'grace@example.com', subject: 'Action required: confirm 12,50 € — Northwind Coffee Club', text_body: text, html_body: '<p>Hello</p>' });
    expect(raw.toString('latin1')).toContain('quoted-printable'); // the encoding is really exercised
    const read = readEml(raw);
    expect(read.to).toBe('grace@example.com');
    expect(read.subject).toBe('Action required: confirm 12,50 € — Northwind Coffee Club');
    expect(read.text).toBe(text);
    expect(read.text.match(/https?:\/\/\S+\/pay\/[A-Za-z0-9_-]+/)?.[0]).toBe(link);
  });

  it('reads a plain ASCII message the same way', async () => {
    const read = readEml(await written({ to_address: 'ada@example.com', subject: 'Your receipt', text_body: 'Paid 9.99 GBP.', html_body: '<p>Paid</p>' }));
    expect(read).toEqual({ to: 'ada@example.com', subject: 'Your receipt', text: 'Paid 9.99 GBP.' });
  });
});
