import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startInPersonCollection, settleInPersonCollection, type InPersonMethod } from '../billing/collect-in-person.ts';
import type { PaymentTransaction } from '../db/database.ts';
import { operatorActor } from '../deps.ts';
import { parseDuration } from '../lib/durations.ts';
import { escapeControlCharacters } from '../lib/printable.ts';
import { qrForTerminal, writeQrPng } from '../lib/qr-code.ts';
import { createPaymentLink } from '../payment-links/payment-link.repo.ts';
import { attemptJson } from '../views/json.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, optional, printJson, withEngine, type Command } from './command.ts';

const DEFAULT_TIMEOUT = '2m';

export const collectCommand: Command = {
  name: 'collect',
  summary: 'Collect an in-person subscription\'s due payment at the counter (WeChat Pay or Alipay)',
  help: `Usage: rebill collect ID (--qr [--wallet wechat|alipay] [--png FILE] [--timeout 2m] [--no-wait] | --scan CODE) [--json]

Collects the due period of a subscription enrolled with --collection in_person, face to face,
through Oceanpayment (/gateway/directservice/pay). A period waiting for a retry may be collected at
once: the customer is at the counter.

--qr creates the order and shows the code for the customer to scan with WeChat Pay (default) or
Alipay: in the terminal, as a PNG file (--png, default ./collect-ORDER.png) and on a counter page
of the worker (its address is printed; it refreshes by itself and shows the result). It then waits
for the gateway's notice, asking the gateway every few seconds, and prints the result. An order
not paid within --timeout (default ${DEFAULT_TIMEOUT}) is voided at the gateway
(/gateway/service/auth, payment_authType 3), so it can no longer be paid, and recorded as not
paid; a payment made meanwhile is kept. --no-wait prints the code and returns: the worker records
the notice, and \`rebill resolve ID\` asks the gateway.

--scan CODE charges the payment code the customer shows in WeChat Pay or Alipay, scanned at the
counter, and prints the result.

Exit codes: 0 paid (or, with --no-wait, the code shown), 1 not paid or still unknown, 2 usage.

Examples:
  rebill collect 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --qr --wallet alipay
  rebill collect 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --scan 134567890123456789
`,
  options: {
    qr: { type: 'boolean' },
    scan: { type: 'string' },
    wallet: { type: 'string' },
    png: { type: 'string' },
    timeout: { type: 'string' },
    'no-wait': { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const id = args.positionals[0]!;
    const scan = optional(args, 'scan');
    const qr = args.values.qr === true;
    if (qr === (scan !== undefined)) throw new UsageError('give either --qr or --scan CODE');
    const wallet = optional(args, 'wallet') ?? 'wechat';
    if (wallet !== 'wechat' && wallet !== 'alipay') throw new UsageError(`--wallet must be wechat or alipay, got "${wallet}"`);
    if (scan !== undefined && !/^[A-Za-z0-9-]{6,64}$/.test(scan)) throw new UsageError(`--scan "${escapeControlCharacters(scan)}" is not a payment code: 6 to 64 letters, digits or "-"`);
    const timeoutMs = parseDuration(optional(args, 'timeout') ?? DEFAULT_TIMEOUT);
    if (timeoutMs === null || timeoutMs < 1000 || timeoutMs > 3_600_000) throw new UsageError('--timeout must be a duration from 1s to 1h, such as 90s or 2m');
    const method: InPersonMethod = qr ? { kind: 'qr', wallet } : { kind: 'scan', code: scan! };
    const actor = operatorActor();
    const noWait = args.values['no-wait'] === true;

    const result = await withEngine(ctx, async (engine) => {
      const started = await startInPersonCollection(engine, id, method, actor);
      const subscription = await engine.db.selectFrom('subscriptions').select('timezone').where('id', '=', id).executeTakeFirstOrThrow();
      let shown: { code: string; png: string; counterUrl: string; terminal: string } | null = null;
      if (qr && started.status === 'pending' && started.action_url) {
        const png = resolve(optional(args, 'png') ?? `collect-${started.reference}.png`);
        await writeQrPng(png, started.action_url);
        // The counter page lives as long as the order may be paid (and a minute for the result).
        const { token } = await createPaymentLink(engine.db, started, engine.clock.now(), timeoutMs + 60_000, timeoutMs + 60_000);
        shown = { code: started.action_url, png, counterUrl: `${engine.publicUrl}/counter/${token}`, terminal: await qrForTerminal(started.action_url) };
        if (!args.json) {
          ctx.stdout.write(`Order ${started.reference}: ask the customer to scan this code with ${wallet === 'wechat' ? 'WeChat Pay' : 'Alipay'}.\n${shown.terminal}\n`);
          ctx.stdout.write(`PNG: ${shown.png}\nCounter page: ${shown.counterUrl}\n`);
          if (!noWait) ctx.stdout.write(`Waiting up to ${Math.round(timeoutMs / 1000)} s for the payment...\n`);
        }
      }
      const settled = shown && !noWait ? await settleInPersonCollection(engine, started, actor, { timeoutMs, queryEveryMs: 3_000, sleep: (ms) => sleep(ms) }) : started;
      return { charge: settled, shown, zone: subscription.timezone };
    });
    const { charge, shown } = result;
    const code = exitCodeOf(charge, shown !== null && noWait);
    if (args.json) {
      printJson(ctx.stdout, {
        charge: attemptJson(charge, result.zone),
        ...(shown ? { scan_code: shown.code, png: shown.png, counter_url: shown.counterUrl } : {}),
        waited: shown !== null && !noWait,
      });
      return code;
    }
    ctx.stdout.write(`${describe(charge, shown !== null && noWait)}\n`);
    return code;
  },
};

function exitCodeOf(charge: PaymentTransaction, shownOnly: boolean): number {
  if (charge.status === 'succeeded') return EXIT_OK;
  return shownOnly && charge.status === 'pending' ? EXIT_OK : EXIT_FAILURE;
}

function describe(charge: PaymentTransaction, shownOnly: boolean): string {
  const said = charge.provider_message ?? charge.failure_reason;
  const words = said ? ` (${escapeControlCharacters(said)})` : '';
  switch (charge.status) {
    case 'succeeded':
      return `Paid: order ${charge.reference}${words}.`;
    case 'failed':
      return `Not paid: order ${charge.reference}${words}.`;
    default:
      return shownOnly
        ? `Order ${charge.reference} is waiting for the customer; the worker records the payment (rebill show ${charge.subscription_id}).`
        : `Order ${charge.reference} is ${charge.status}${words}: the worker keeps asking the gateway (rebill resolve ${charge.subscription_id}).`;
  }
}
