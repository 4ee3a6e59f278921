/**
 * How e-mail leaves: over SMTP with nodemailer when SMTP_URL is set, otherwise as `.eml` files in
 * the outbox directory (for development and the demo). Either way a message is delivered at most
 * once: an `.eml` file already written is never written again.
 */
import { link, mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { OutboxMessage } from '../db/database.ts';
import { withoutCredentials } from '../lib/secrets.ts';

export interface MailTransport {
  /** Returns where it went (a file path, or the SMTP server's message id). */
  deliver(message: OutboxMessage, from: string): Promise<string>;
  readonly description: string;
  close(): void;
}

/** An SMTP failure before the server took the message: trying again cannot send it twice. */
export class RetryableDeliveryError extends Error {}

function mailOptions(message: OutboxMessage, from: string) {
  return {
    from,
    to: message.to_address,
    subject: message.subject,
    text: message.text_body,
    html: message.html_body,
    // Stable per message and unique for ever (outbox ids repeat after a database reset), so a
    // receiving system can recognise a copy and never mistakes a new message for an old one.
    messageId: `<rebill-${message.message_key}@${from.replace(/.*@/, '').replace(/[>\s]/g, '') || 'rebill.local'}>`,
    headers: { 'X-Rebill-Message': `${message.kind}/${message.message_key}` },
  };
}

export function smtpTransport(url: string): MailTransport {
  const transporter = nodemailer.createTransport(url);
  return {
    description: `SMTP (${withoutCredentials(url)})`,
    async deliver(message, from) {
      try {
        const info = await transporter.sendMail(mailOptions(message, from));
        return `smtp:${info.messageId}`;
      } catch (error) {
        const code = (error as { code?: string; responseCode?: number }).code;
        const responseCode = (error as { responseCode?: number }).responseCode ?? 0;
        // Connection problems and 4xx answers happen before the server accepts the message.
        if (code === 'ECONNECTION' || code === 'ETIMEDOUT' || code === 'EDNS' || code === 'ESOCKET' || (responseCode >= 400 && responseCode < 500)) {
          throw new RetryableDeliveryError(String((error as Error).message));
        }
        throw error;
      }
    },
    close: () => transporter.close(),
  };
}

/**
 * `20260131T090000Z-{message_key}-action_required.eml`: sorted by time, named after the message's
 * own random key so no other message (from this database or an earlier one) can have the name.
 */
export function emlFileName(message: Pick<OutboxMessage, 'created_at' | 'message_key' | 'kind'>): string {
  const stamp = message.created_at.toISOString().replace(/\.\d+/, '').replace(/[-:]/g, '');
  return `${stamp}-${message.message_key}-${message.kind.replace(/[^a-z0-9_-]/gi, '_')}.eml`;
}

export function emlFileTransport(dir: string): MailTransport {
  return {
    description: `.eml files in ${dir}`,
    async deliver(message, from) {
      await mkdir(dir, { recursive: true });
      const path = join(dir, emlFileName(message));
      const raw = await new MailComposer(mailOptions(message, from)).compile().build();
      const partial = `${path}.${process.pid}.partial`;
      await writeFile(partial, raw);
      try {
        // link() never replaces an existing file: a message already written stays as it was.
        await link(partial, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await unlink(partial).catch(() => undefined);
      }
      return path;
    },
    close: () => {},
  };
}
