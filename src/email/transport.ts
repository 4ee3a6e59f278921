/**
 * How e-mail leaves: over SMTP with nodemailer when SMTP_URL is set, otherwise as `.eml` files in
 * the outbox directory (for development and the demo). Either way a message is delivered at most
 * once: an `.eml` file already written is never written again.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { OutboxMessage } from '../db/database.ts';

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
    // Stable per message, so a receiving system can recognise a copy.
    messageId: `<rebill-${message.id}-${message.kind}@${from.replace(/.*@/, '').replace(/[>\s]/g, '') || 'rebill.local'}>`,
    headers: { 'X-Rebill-Message': `${message.kind}/${message.id}` },
  };
}

export function smtpTransport(url: string): MailTransport {
  const transporter = nodemailer.createTransport(url);
  return {
    description: `SMTP (${url.replace(/\/\/[^@]*@/, '//…@')})`,
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

export function emlFileTransport(dir: string): MailTransport {
  return {
    description: `.eml files in ${dir}`,
    async deliver(message, from) {
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${String(message.id).padStart(6, '0')}-${message.kind}.eml`);
      if (await stat(path).then(() => true, () => false)) return path;
      const raw = await new MailComposer(mailOptions(message, from)).compile().build();
      const partial = `${path}.partial`;
      await writeFile(partial, raw);
      await rename(partial, path);
      return path;
    },
    close: () => {},
  };
}
