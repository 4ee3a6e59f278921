/**
 * Which notices a charge's result produces: the genuine one, plus the copies that behaviours and
 * notice faults add (a forged copy first, then duplicates, then a stale pending one).
 */
import { randomBytes } from 'node:crypto';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { paymentResultFields, stalePendingState, stateOf } from './gateway-messages.ts';
import type { ChargeView } from './ledger.ts';
import type { NoticeToSend } from './notice-dispatcher.ts';

/** The notice for the charge's current state alone (the pending 3-D Secure notice). */
export function currentStateNotice(context: SandboxContext, charge: ChargeView, payUrl: string): NoticeToSend {
  const secureCode = secureCodeFor(context, charge.account, charge.terminal);
  return { kind: 'result', fields: paymentResultFields(charge, stateOf(charge, payUrl), secureCode) };
}

/** The notices for a final result, with the copies the behaviour and the fault settings ask for. */
export function finalNotices(context: SandboxContext, charge: ChargeView, payUrl: string): NoticeToSend[] {
  const { faults, random } = context;
  const secureCode = secureCodeFor(context, charge.account, charge.terminal);
  const genuine = currentStateNotice(context, charge, payUrl);
  const notices: NoticeToSend[] = [];
  if (random.chance(faults.noticeForgeShare)) {
    // Alternates by ledger row, so any run of forged notices has both kinds.
    notices.push({ kind: 'forged', fields: forge(genuine.fields, charge.index % 2 === 0 ? 'signature' : 'amount') });
  }
  notices.push(genuine);
  if (charge.behaviour === 'duplicate-notice' || random.chance(faults.noticeDuplicateShare)) {
    notices.push({ kind: 'duplicate', fields: genuine.fields });
  }
  if (charge.behaviour === 'out-of-order' || random.chance(faults.noticeReorderShare)) {
    notices.push({ kind: 'stale', fields: paymentResultFields(charge, stalePendingState(charge, payUrl), secureCode) });
  }
  return notices;
}

/** A copy a correct merchant must reject: a made-up signValue, or a larger amount under the genuine signValue. */
function forge(fields: ReadonlyArray<readonly [string, string]>, how: 'signature' | 'amount'): Array<readonly [string, string]> {
  return fields.map(([name, value]): readonly [string, string] => {
    if (how === 'signature' && name === 'signValue') return [name, randomBytes(32).toString('hex').toUpperCase()];
    if (how === 'amount' && name === 'order_amount') return [name, `1${value}`];
    return [name, value];
  });
}
