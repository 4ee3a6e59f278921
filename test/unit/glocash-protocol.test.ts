/**
 * Glocash's signatures against fixed vectors, and what a notice must pass before it is believed.
 * The vectors use the seed's example fields (seed 003 §6–§10) with a known key (the seed's own
 * examples use an unpublished one); each was computed apart from this code, with
 * `printf '%s' "<key><values>" | sha256sum`.
 */
import { describe, expect, it } from 'vitest';
import { glocashSign } from '../../src/payments/providers/glocash/sign.ts';
import { readRecord, outcomeOfStatus } from '../../src/payments/providers/glocash/messages.ts';
import { glocashProvider } from '../../src/payments/providers/glocash/provider.ts';

const KEY = 'test-secret-key-1';
const MERCHANT = 'account123@merchant77.com';

/** The seed's example PSN (§6), re-signed with KEY. */
const PSN: Record<string, string> = {
  REQ_INVOICE: 'ORDER1234567890', CUS_EMAIL: 'customer789@gmail.com', BIL_METHOD: 'CCG', BIL_PRICE: '3.79', BIL_CURRENCY: 'USD',
  REQ_EMAIL: MERCHANT, REQ_SANDBOX: 'ON', TNS_UTIMES: '1512371781.833', TNS_GCID: 'CCGM48FGLP11H8MT', REQ_REFERER: 'https://www.merchant77.com/checkout.php',
  BIL_IPADDR: '123.123.123.123', PGW_PRICE: '3.18', PGW_CURRENCY: 'EUR', FDL_DECISION: 'ACP', BIL_STATUS: 'paid', REQ_TIMES: '1512371788',
  REQ_SIGN: '6f97fe071adfca959079e194ac6da44c6dffd92282ea8606a3d4d5844fee16b4',
};

describe('Glocash REQ_SIGN (secret key first, no separators, lowercase hex)', () => {
  it('signs a payment request as the published formula does', () => {
    const fields = { REQ_TIMES: '1466492149', REQ_EMAIL: MERCHANT, REQ_INVOICE: 'ORDER1234567890', CUS_EMAIL: 'customer789@gmail.com', BIL_METHOD: '', BIL_PRICE: '37.86', BIL_CURRENCY: 'USD' };
    expect(glocashSign('payment', fields, KEY)).toBe('b97bcf80b755c3b1137b737d347ed31a3d29f7bff44ea9dd246527fd0771f277');
  });

  it('signs a query and a refund', () => {
    expect(glocashSign('query', { REQ_TIMES: '1466492149', REQ_EMAIL: MERCHANT, TNS_GCID: 'CCGM48FGLP11H8MT' }, KEY)).toBe('d47254a0593c7c8bdcd95a6b3ff15ae560825338a4a634283026c43166274642');
    expect(glocashSign('refund', { REQ_TIMES: '1466492149', REQ_EMAIL: MERCHANT, TNS_GCID: 'CCGM48FGLP11H8MT', PGW_PRICE: '10' }, KEY)).toBe('f91b1674eb327d2c89ed4dbc195756aa057dcbc36bf06b2cc4c7bf74a5d962a5');
  });

  it('verifies the seed\'s notice signed with the known key', () => {
    expect(glocashSign('notice', PSN, KEY)).toBe(PSN.REQ_SIGN);
    expect(readRecord(PSN, KEY)).toMatchObject({ ok: true, record: { gcid: 'CCGM48FGLP11H8MT', status: 'paid', billed: { amountMinor: 379, currency: 'USD' }, paid: { amountMinor: 318, currency: 'EUR' } } });
  });
});

describe('a payment status notice', () => {
  it('is refused with another key, or with a signed field changed', () => {
    expect(readRecord(PSN, 'another-key')).toMatchObject({ ok: false, problem: 'REQ_SIGN does not verify' });
    expect(readRecord({ ...PSN, PGW_PRICE: '31.8' }, KEY)).toMatchObject({ ok: false, problem: 'REQ_SIGN does not verify' });
    expect(readRecord({ ...PSN, REQ_SIGN: PSN.REQ_SIGN!.toUpperCase() }, KEY)).toMatchObject({ ok: false });
  });

  it('is refused when a signed field is malformed, even with a matching signature (values re-cut between fields)', () => {
    // "paid" moved from BIL_STATUS into the end of TNS_GCID: the joined text, so the signature, is unchanged.
    const recut = { ...PSN, TNS_GCID: 'CCGM48FGLP11H8MTpaid', BIL_STATUS: '' };
    expect(glocashSign('notice', recut, KEY)).toBe(PSN.REQ_SIGN);
    const read = readRecord(recut, KEY);
    expect(read.ok).toBe(false);
    expect(!read.ok && read.problem).toContain('TNS_GCID "CCGM48FGLP11H8MTpaid" is not 16 upper-case letters and digits');
    expect(!read.ok && read.problem).toContain('BIL_STATUS "" is not unpaid, paid');
  });

  it('is refused when the unsigned BIL_PRICE disagrees with the signed PGW_PRICE in the same currency', () => {
    const fields: Record<string, string> = { ...PSN, BIL_PRICE: '1.00', PGW_CURRENCY: 'USD', PGW_PRICE: '3.79' };
    fields.REQ_SIGN = glocashSign('notice', fields, KEY);
    expect(readRecord(fields, KEY)).toMatchObject({ ok: false, problem: 'BIL_PRICE 1.00 differs from the signed PGW_PRICE 3.79 in the same currency' });
  });

  it('becomes a verified payment result, a refund or chargeback to confirm, or a rejection', () => {
    const provider = glocashProvider({ apiUrl: 'https://sandbox.glocash.com', credentials: { email: MERCHANT, secretKey: KEY }, timeoutMs: 1000 });
    const read = (fields: Record<string, string>) => provider.inbound.readNotice(new URLSearchParams(fields).toString());
    expect(read(PSN)).toMatchObject({ kind: 'payment_result', verified: true, reference: 'ORDER1234567890', paymentId: 'CCGM48FGLP11H8MT', money: { amountMinor: 379, currency: 'USD' }, outcome: { kind: 'approved' } });
    const refunded: Record<string, string> = { ...PSN, BIL_STATUS: 'refunded' };
    refunded.REQ_SIGN = glocashSign('notice', refunded, KEY);
    expect(read(refunded)).toMatchObject({ kind: 'business', category: 'refund', verified: false });
    expect(read({ ...PSN, BIL_STATUS: 'failed' })).toMatchObject({ kind: 'payment_result', verified: false, problem: 'REQ_SIGN does not verify' });
    expect(provider.inbound.readNotice(`${new URLSearchParams(PSN).toString()}&TNS_GCID=AAAAAAAAAAAAAAAA`)).toMatchObject({ kind: 'malformed' });
    expect(provider.inbound.accountProblem(read(PSN) as never, 'other@merchant77.com')).toContain('is not the charge\'s account');
  });

  it('maps every status to an outcome', () => {
    expect(outcomeOfStatus('paid', 'G').kind).toBe('approved');
    expect(outcomeOfStatus('pending', 'G').kind).toBe('pending');
    expect(outcomeOfStatus('unpaid', 'G').kind).toBe('pending');
    expect(outcomeOfStatus('failed', 'G')).toMatchObject({ kind: 'declined', declineClass: 'soft' });
    expect(outcomeOfStatus('cancelled', 'G')).toMatchObject({ kind: 'declined', declineClass: 'soft' });
    expect(outcomeOfStatus('refunded', 'G').kind).toBe('approved');
  });
});
