import { describe, expect, it } from 'vitest';
import { applyToInvoice, invoiceStatus, type InvoiceEvent, type InvoiceState } from '../../src/payments/invoices/invoice-machine.ts';
import { nextChargebackStep } from '../../src/payments/transactions/chargeback-machine.ts';
import { nextRefundStep, type RefundResolution, type RefundStatus } from '../../src/payments/transactions/refund-machine.ts';

describe('refund machine', () => {
  const step = (status: RefundStatus, resolution: RefundResolution) => nextRefundStep({ status }, resolution);

  it.each<[RefundStatus, RefundResolution, RefundStatus | 'unchanged']>([
    ['sending', { kind: 'accepted', providerReference: 'r1' }, 'pending'],
    ['sending', { kind: 'refused', code: '97', message: 'Insufficient balance' }, 'failed'],
    ['sending', { kind: 'unknown', reason: 'timed out' }, 'unknown'],
    ['sending', { kind: 'not_found', reason: 'no such refund' }, 'failed'],
    ['unknown', { kind: 'pending', providerReference: 'r1' }, 'pending'],
    ['unknown', { kind: 'refunded' }, 'succeeded'],
    ['unknown', { kind: 'not_found', reason: 'no such refund' }, 'failed'],
    ['unknown', { kind: 'unknown', reason: 'again' }, 'unchanged'],
    ['pending', { kind: 'refunded' }, 'succeeded'],
    ['pending', { kind: 'failed', message: 'audit failed' }, 'failed'],
    ['pending', { kind: 'pending' }, 'unchanged'],
    ['pending', { kind: 'not_found', reason: 'no such refund' }, 'unchanged'],
    ['pending', { kind: 'refused', code: '1', message: 'x' }, 'unchanged'],
    ['pending', { kind: 'still_unresolved', reason: 'network' }, 'unchanged'],
    ['succeeded', { kind: 'failed', message: 'late' }, 'unchanged'],
    ['failed', { kind: 'refunded' }, 'unchanged'],
  ])('%s + %o → %s', (from, resolution, to) => {
    const result = step(from, resolution);
    if (to === 'unchanged') expect(result.changed).toBe(false);
    else expect(result).toMatchObject({ changed: true, change: { status: to } });
  });

  it('keeps the provider reference from an acceptance and stops querying once final', () => {
    expect(step('sending', { kind: 'accepted', providerReference: 'RF-9' })).toMatchObject({ change: { providerReference: 'RF-9', query: 'next', event: 'refund_accepted' } });
    expect(step('pending', { kind: 'refunded' })).toMatchObject({ change: { query: 'none', event: 'refund_succeeded' } });
  });
});

describe('chargeback machine', () => {
  it('is recorded once confirmed, and may be reversed once', () => {
    expect(nextChargebackStep(null, { kind: 'confirmed' })).toEqual({ changed: true, status: 'succeeded', event: 'chargeback_confirmed' });
    expect(nextChargebackStep('succeeded', { kind: 'confirmed' }).changed).toBe(false);
    expect(nextChargebackStep('succeeded', { kind: 'reversed' })).toEqual({ changed: true, status: 'reversed', event: 'chargeback_reversed' });
    expect(nextChargebackStep('reversed', { kind: 'reversed' }).changed).toBe(false);
    expect(nextChargebackStep(null, { kind: 'reversed' }).changed).toBe(false);
  });
});

describe('invoice machine', () => {
  const open: InvoiceState = { amountDueMinor: 999, amountPaidMinor: 0, amountRefundedMinor: 0, amountChargedBackMinor: 0, closedAs: null };
  function run(state: InvoiceState, ...events: InvoiceEvent[]) {
    let current = state;
    let excess = 0;
    for (const event of events) {
      const result = applyToInvoice(current, event);
      if (!result.ok) throw new Error(result.refusal);
      current = result.state;
      excess = result.excessMinor;
    }
    return { state: current, status: invoiceStatus(current), excess };
  }

  it('is open, then paid, then partially and fully refunded', () => {
    expect(invoiceStatus(open)).toBe('open');
    expect(run(open, { type: 'payment_received', amountMinor: 999 })).toMatchObject({ status: 'paid', excess: 0 });
    expect(run(open, { type: 'payment_received', amountMinor: 999 }, { type: 'refund_completed', amountMinor: 400 }).status).toBe('partially_refunded');
    expect(run(open, { type: 'payment_received', amountMinor: 999 }, { type: 'refund_completed', amountMinor: 400 }, { type: 'refund_completed', amountMinor: 599 }).status).toBe('refunded');
  });

  it('reports a second payment of a paid period as an excess, and is paid again once it is refunded', () => {
    const twice = run(open, { type: 'payment_received', amountMinor: 999 }, { type: 'payment_received', amountMinor: 999 });
    expect(twice).toMatchObject({ status: 'paid', excess: 999 });
    expect(run(twice.state, { type: 'refund_completed', amountMinor: 999 }).status).toBe('paid');
  });

  it('reports a payment of a void invoice (the subscription ended first) as an excess in full', () => {
    const voided = run(open, { type: 'voided' });
    expect(voided.status).toBe('void');
    expect(run(voided.state, { type: 'payment_received', amountMinor: 999 })).toMatchObject({ excess: 999 });
  });

  it('an uncollectible invoice paid late is simply paid', () => {
    const late = run(open, { type: 'marked_uncollectible' }, { type: 'payment_received', amountMinor: 999 });
    expect(late).toMatchObject({ status: 'paid', excess: 0 });
  });

  it('refuses to refund more than is left, and a chargeback marks it until reversed', () => {
    const paid = run(open, { type: 'payment_received', amountMinor: 999 }).state;
    expect(applyToInvoice(paid, { type: 'refund_completed', amountMinor: 1000 })).toMatchObject({ ok: false });
    const disputed = run(paid, { type: 'chargeback_confirmed', amountMinor: 999 });
    expect(disputed.status).toBe('charged_back');
    expect(run(disputed.state, { type: 'chargeback_reversed', amountMinor: 999 }).status).toBe('paid');
    expect(applyToInvoice(paid, { type: 'voided' })).toMatchObject({ ok: false });
    expect(applyToInvoice(open, { type: 'payment_received', amountMinor: 0 })).toMatchObject({ ok: false });
  });
});
