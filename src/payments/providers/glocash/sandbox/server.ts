/**
 * The Glocash sandbox: the merchant calls of classic mode (create a payment, query, refund), the
 * payment page URL_PAYMENT leads to, and signed notices to URL_NOTIFY, over real HTTP. Its
 * behaviours are named in behaviours.ts; `POST /sandbox/pay/{TNS_GCID}` pays as the page does,
 * for tests without a browser.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, send, startHttpServer, type Route } from '../../../../http/server.ts';
import { silentLogger, type Logger } from '../../../../lib/logger.ts';
import { currencyProblem, formatAmount, moneyFromDecimal } from '../../../../lib/money.ts';
import { statusForCard } from './behaviours.ts';
import { GlocashLedger, type SandboxStatus, type SandboxTransaction } from './ledger.ts';
import { NoticeSender, psnFields } from './notices.ts';
import { closedPage, donePage, paymentPage } from './page.ts';
import { sandboxSign } from './signing.ts';

export interface GlocashSandboxOptions {
  /** Merchant accounts: REQ_EMAIL and its secret key. */
  readonly accounts: ReadonlyArray<{ readonly email: string; readonly secretKey: string }>;
  readonly host?: string;
  readonly port?: number;
  /** Waits between a notice's deliveries until one is answered 200. */
  readonly noticeRetryDelaysMs?: readonly number[];
  /** How long a `pending` card payment stays pending before it is paid. */
  readonly pendingDelayMs?: number;
  readonly logger?: Logger;
}

export interface GlocashSandbox {
  readonly url: string;
  readonly ledger: GlocashLedger;
  readonly notices: NoticeSender;
  /** Pays (or fails) a transaction as the payment page would with this card. */
  pay(gcid: string, card: string): SandboxTransaction;
  close(): Promise<void>;
}

const BODY_LIMIT = 16 * 1024;
const PAGE_PATH = '/gateway/payment/index/token/';

export async function startGlocashSandbox(options: GlocashSandboxOptions): Promise<GlocashSandbox> {
  const ledger = new GlocashLedger();
  const secretOf = (email: string) => options.accounts.find((a) => a.email.toLowerCase() === email.toLowerCase())?.secretKey;
  const notices = new NoticeSender(options.noticeRetryDelaysMs ?? [0, 1_000, 5_000, 30_000, 120_000], (email) => secretOf(email) ?? '');
  const pendingTimers = new Set<NodeJS.Timeout>();
  let baseUrl = '';

  const settle = (transaction: SandboxTransaction, status: SandboxStatus, method = 'CCG') => {
    transaction.status = status;
    transaction.method = method;
    if (status === 'paid') transaction.paidAt = Date.now();
    notices.send(transaction);
  };

  const pay = (gcid: string, card: string): SandboxTransaction => {
    const transaction = ledger.byGcid(gcid);
    if (!transaction) throw new Error(`no transaction ${gcid}`);
    if (transaction.status !== 'unpaid') return transaction;
    const status = statusForCard(card);
    settle(transaction, status);
    if (status === 'pending') {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        if (transaction.status === 'pending') settle(transaction, 'paid');
      }, options.pendingDelayMs ?? 5_000);
      pendingTimers.add(timer);
    }
    return transaction;
  };

  /** The signed request's fields, or the name of the first bad one (Glocash answers `REQ_ERROR`). */
  const signedRequest = async (req: IncomingMessage, kind: 'create' | 'query' | 'refund'): Promise<{ fields: Record<string, string>; secretKey: string } | { error: string }> => {
    const fields = Object.fromEntries(new URLSearchParams(await readBody(req, BODY_LIMIT)));
    if (!/^\d{9,11}$/.test(fields.REQ_TIMES ?? '')) return { error: 'REQ_TIMES' };
    const secretKey = secretOf(fields.REQ_EMAIL ?? '');
    if (secretKey === undefined) return { error: 'REQ_EMAIL' };
    if (sandboxSign(kind, fields, secretKey) !== fields.REQ_SIGN) return { error: 'REQ_SIGN' };
    return { fields, secretKey };
  };
  const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, JSON.stringify(body), 'application/json');

  const routes: Route[] = [
    {
      method: 'POST',
      path: '/gateway/payment/index',
      handler: async (req, res) => {
        const request = await signedRequest(req, 'create');
        if ('error' in request) return json(res, 200, { REQ_ERROR: request.error });
        const { fields } = request;
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(fields.REQ_INVOICE ?? '')) return json(res, 200, { REQ_ERROR: 'REQ_INVOICE' });
        if (!/^[^@\s]+@[^@\s]+$/.test(fields.CUS_EMAIL ?? '')) return json(res, 200, { REQ_ERROR: 'CUS_EMAIL' });
        const currency = fields.BIL_CURRENCY ?? '';
        if (currencyProblem(currency)) return json(res, 200, { REQ_ERROR: 'BIL_CURRENCY' });
        const money = moneyFromDecimal(fields.BIL_PRICE ?? '', currency);
        if (!money || money.amountMinor <= 0) return json(res, 200, { REQ_ERROR: 'BIL_PRICE' });
        const url = (name: string) => (fields[name] ?? '').slice(0, 255);
        const transaction = ledger.add({
          merchantEmail: fields.REQ_EMAIL!,
          invoice: fields.REQ_INVOICE!,
          customerEmail: fields.CUS_EMAIL!,
          price: fields.BIL_PRICE!,
          priceMinor: money.amountMinor,
          currency,
          urls: { success: url('URL_SUCCESS'), pending: url('URL_PENDING'), failed: url('URL_FAILED'), notify: url('URL_NOTIFY') },
        });
        json(res, 200, { TNS_GCID: transaction.gcid, URL_PAYMENT: `${baseUrl}${PAGE_PATH}${transaction.token}` });
      },
    },
    {
      method: 'POST',
      path: '/gateway/transaction/index',
      handler: async (req, res) => {
        const request = await signedRequest(req, 'query');
        if ('error' in request) return json(res, 200, { REQ_ERROR: request.error });
        const transaction = ledger.byGcid(request.fields.TNS_GCID ?? '');
        if (!transaction || transaction.merchantEmail.toLowerCase() !== request.fields.REQ_EMAIL!.toLowerCase()) return json(res, 404, { REQ_ERROR: 'TNS_GCID' });
        json(res, 200, { [transaction.gcid]: psnFields(transaction, request.secretKey) });
      },
    },
    {
      method: 'POST',
      path: '/gateway/transaction/refund',
      handler: async (req, res) => {
        const request = await signedRequest(req, 'refund');
        if ('error' in request) return json(res, 200, { REQ_CODE: 400, REQ_ERROR: request.error });
        const transaction = ledger.byGcid(request.fields.TNS_GCID ?? '');
        if (!transaction) return json(res, 200, { REQ_CODE: 404, REQ_ERROR: 'TRANSACTION NOT FOUND' });
        if (transaction.status !== 'paid') return json(res, 200, { REQ_CODE: 400, REQ_ERROR: `TRANSACTION ${transaction.status.toUpperCase()}` });
        const money = moneyFromDecimal(request.fields.PGW_PRICE ?? '', transaction.currency);
        if (!money || money.amountMinor <= 0) return json(res, 200, { REQ_CODE: 400, REQ_ERROR: 'PGW_PRICE' });
        if (money.amountMinor > transaction.priceMinor - transaction.refundedMinor) {
          return json(res, 200, { REQ_CODE: 400, REQ_ERROR: `REFUND AMOUNT EXCEEDS ${formatAmount({ amountMinor: transaction.priceMinor - transaction.refundedMinor, currency: transaction.currency })}` });
        }
        transaction.refundedMinor += money.amountMinor;
        if (transaction.refundedMinor === transaction.priceMinor) settle(transaction, 'refunded', transaction.method);
        json(res, 200, { REQ_CODE: 200, REQ_ERROR: 'REFUND SUCCESS' });
      },
    },
    {
      method: 'GET',
      path: `${PAGE_PATH}*`,
      handler: (_req, res, url) => {
        const transaction = ledger.byToken(url.pathname.slice(PAGE_PATH.length));
        if (!transaction) return send(res, 404, 'no such payment\n');
        if (transaction.status !== 'unpaid') return send(res, 410, closedPage(transaction.status), 'text/html; charset=utf-8');
        send(res, 200, paymentPage(transaction, url.pathname), 'text/html; charset=utf-8');
      },
    },
    {
      method: 'POST',
      path: `${PAGE_PATH}*`,
      handler: async (req, res, url) => {
        const transaction = ledger.byToken(url.pathname.slice(PAGE_PATH.length));
        if (!transaction) return send(res, 404, 'no such payment\n');
        const form = new URLSearchParams(await readBody(req, BODY_LIMIT));
        if (transaction.status === 'unpaid') {
          if (form.get('choice') === 'cancel') settle(transaction, 'cancelled', '');
          else pay(transaction.gcid, form.get('card') ?? '');
        }
        // The browser goes back to the shop with a plain GET (no proof: the notice or a query decides).
        const back = transaction.status === 'paid' ? transaction.urls.success : transaction.status === 'pending' ? transaction.urls.pending : transaction.urls.failed;
        if (back) {
          res.writeHead(303, { location: back, 'cache-control': 'no-store' });
          res.end();
          return;
        }
        send(res, 200, donePage(transaction), 'text/html; charset=utf-8');
      },
    },
    {
      method: 'POST',
      path: '/sandbox/pay/*',
      handler: async (req, res, url) => {
        const card = new URLSearchParams(await readBody(req, BODY_LIMIT)).get('card') ?? '';
        const transaction = ledger.byGcid(url.pathname.slice('/sandbox/pay/'.length));
        if (!transaction) return json(res, 404, { error: 'no such transaction' });
        json(res, 200, { TNS_GCID: transaction.gcid, BIL_STATUS: pay(transaction.gcid, card).status });
      },
    },
  ];

  const server = await startHttpServer(routes, options.port ?? 0, options.logger ?? silentLogger, options.host ?? '127.0.0.1');
  // Listening on every interface is no address to send a browser to.
  const shownHost = !options.host || options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  baseUrl = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${server.port}`;
  return {
    url: baseUrl,
    ledger,
    notices,
    pay,
    async close() {
      for (const timer of pendingTimers) clearTimeout(timer);
      notices.close();
      await server.close();
    },
  };
}
