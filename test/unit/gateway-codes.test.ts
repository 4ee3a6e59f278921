import { describe, expect, it } from 'vitest';
import { classifyCode, isStatusUnknownCode, parseDetails } from '../../src/payments/providers/oceanpayment/codes.ts';
import { outcomeFromPaymentFields, outcomeFromQueryFields } from '../../src/payments/providers/oceanpayment/outcome.ts';

describe('payment_details codes', () => {
  it.each([
    ['80000', 'success', undefined],
    ['80022', 'soft', undefined],
    ['80010', 'soft', 2],
    ['80012', 'soft', 2],
    ['80070', 'soft', 2],
    ['80040', 'hard', undefined],
    ['80041', 'hard', undefined],
    ['80023', 'hard', undefined],
    ['80031', 'unknown', undefined],
    ['80100', 'unknown', undefined],
    ['80700', 'unknown', undefined],
    ['20061', 'duplicate', undefined],
    ['20013', 'request', undefined],
    ['20068', 'request', undefined],
    ['20030', 'hard', undefined],
    ['10000', 'hard', undefined],
  ])('classifies %s as %s (retry limit %s)', (code, codeClass, retryLimit) => {
    const info = classifyCode(code);
    expect(info.class).toBe(codeClass);
    expect(info.retryLimit).toBe(retryLimit);
    expect(info.meaning.length).toBeGreaterThan(5);
  });

  it('reads unlisted codes safely', () => {
    expect(classifyCode('80799')).toMatchObject({ class: 'unknown' });
    expect(classifyCode('80555')).toMatchObject({ class: 'soft', retryLimit: 2 });
    expect(classifyCode('20099')).toMatchObject({ class: 'request' });
    expect(classifyCode('20050')).toMatchObject({ class: 'request' });
    expect(classifyCode('')).toMatchObject({ class: 'unknown' });
    expect(classifyCode('ABC')).toMatchObject({ class: 'unknown' });
    expect(isStatusUnknownCode('80701')).toBe(true);
    expect(isStatusUnknownCode('80101')).toBe(false);
  });

  it.each([
    ['80022:Not sufficient funds', '80022', 'Not sufficient funds'],
    [' 80000 : Transaction Approved ', '80000', 'Transaction Approved'],
    ['20013:Incorrect sign value: check the order', '20013', 'Incorrect sign value: check the order'],
    ['80000', '80000', ''],
    ['Approved', '', 'Approved'],
    ['', '', ''],
  ])('splits %j', (details, code, message) => {
    expect(parseDetails(details)).toEqual({ code, message });
  });
});

describe('outcomes', () => {
  const base = { payment_id: '231220170723834010513', pay_url: '', quickpay_id: 'tok-1' };

  it('decides by payment_status, not by the details text (the sandbox quirk 89999 with status 1)', () => {
    expect(outcomeFromPaymentFields({ ...base, payment_status: '1', payment_details: '89999:Contact Customer Service' })).toEqual({
      kind: 'approved', paymentId: base.payment_id, code: '89999', details: '89999:Contact Customer Service', quickpayId: 'tok-1',
    });
    expect(outcomeFromPaymentFields({ ...base, payment_status: '0', payment_details: '80000:Transaction Approved' }))
      .toMatchObject({ kind: 'declined', declineClass: 'soft', retryLimit: 1 });
  });

  it('classifies declines', () => {
    expect(outcomeFromPaymentFields({ ...base, payment_status: '0', payment_details: '80022:Not sufficient funds' })).toEqual({
      kind: 'declined', declineClass: 'soft', code: '80022', details: '80022:Not sufficient funds', paymentId: base.payment_id,
    });
    expect(outcomeFromPaymentFields({ ...base, payment_status: '0', payment_details: '80040:Lost card' })).toMatchObject({ declineClass: 'hard' });
    expect(outcomeFromPaymentFields({ ...base, payment_status: '0', payment_details: '20013:Incorrect sign value' })).toMatchObject({ declineClass: 'request' });
    expect(outcomeFromPaymentFields({ ...base, payment_status: '0', payment_details: '20061:Duplicate order' })).toMatchObject({ declineClass: 'duplicate' });
    expect(outcomeFromPaymentFields({ ...base, payment_status: '0', payment_details: '80012:Declined' })).toMatchObject({ declineClass: 'soft', retryLimit: 2 });
  });

  it('turns status-unknown codes into unknown, whether declined or pending', () => {
    for (const status of ['0', '-1']) {
      for (const code of ['80031', '80100', '80700']) {
        expect(outcomeFromPaymentFields({ ...base, payment_status: status, payment_details: `${code}:x` })).toMatchObject({ kind: 'unknown', code });
      }
    }
  });

  it('separates action required (pay_url) from pending', () => {
    expect(outcomeFromPaymentFields({ ...base, payment_status: '-1', payment_details: '80093:3D', pay_url: 'https://bank/3ds' }))
      .toEqual({ kind: 'action_required', payUrl: 'https://bank/3ds', paymentId: base.payment_id, code: '80093', details: '80093:3D' });
    expect(outcomeFromPaymentFields({ ...base, payment_status: '-1', payment_details: '80099:Pending' })).toMatchObject({ kind: 'pending' });
  });

  it('refuses a status it does not know', () => {
    expect(outcomeFromPaymentFields({ ...base, payment_status: '2', payment_details: '' })).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/payment_status "2"/) });
    expect(outcomeFromPaymentFields({ payment_details: '' })).toMatchObject({ kind: 'unknown' });
  });

  it('reads query payment_results: -1 pending, 1 success, anything else failed', () => {
    expect(outcomeFromQueryFields({ payment_results: '1', payment_id: 'p', payment_details: '80000:OK' })).toMatchObject({ kind: 'approved' });
    expect(outcomeFromQueryFields({ payment_results: '-1', payment_id: 'p', payment_details: '' })).toMatchObject({ kind: 'pending' });
    expect(outcomeFromQueryFields({ payment_results: '0', payment_id: 'p', payment_details: '80022:NSF' })).toMatchObject({ kind: 'declined', declineClass: 'soft' });
    expect(outcomeFromQueryFields({ payment_results: '7', payment_id: 'p', payment_details: '80040:Lost' })).toMatchObject({ kind: 'declined', declineClass: 'hard' });
  });
});
