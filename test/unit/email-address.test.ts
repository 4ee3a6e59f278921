import { describe, expect, it } from 'vitest';
import { emailAddressProblem } from '../../src/lib/email-address.ts';

describe('an e-mail address is one plain mailbox', () => {
  it.each([
    ['ada@example.com'],
    ['a.b+tag@sub.example.co.uk'],
    ['first.last@xn--bcher-kva.example'],
    ['x_y-z!#$%&*/=?^`{|}~@example.org'],
    ['digits123@mail-1.example.io'],
  ])('accepts %s', (address) => {
    expect(emailAddressProblem(address)).toBeNull();
  });

  it.each([
    // Each of these is read by mail software as something other than one mailbox.
    ['ada,bob@example.com', /contains ",": only one address is accepted, not a list/],
    ['ada;bob@example.com', /contains ";": only one address is accepted, not a list/],
    ['a(comment)@example.com', /contains "\(": comments are not accepted/],
    ['a@b..com', /domain "b\.\.com" has an empty part/],
    ['"ada"@example.com', /contains """: only the bare address/],
    ['Ada <ada@example.com>', /contains a space/],
    ['<ada@example.com>', /contains "<"/],
    ['ada@example.com ', /contains a space/],
    ['ada\t@example.com', /white space \(\\x09\)/],
    ['ada@bob@example.com', /more than one "@"/],
    ['ada.example.com', /no "@"/],
    ['@example.com', /nothing before the "@"/],
    ['.ada@example.com', /starts or ends with a dot/],
    ['ada.@example.com', /starts or ends with a dot/],
    ['a..da@example.com', /two dots in a row/],
    ['ada@', /no domain after the "@"/],
    ['ada@localhost', /domain "localhost" has no dot/],
    ['ada@.example.com', /empty part/],
    ['ada@example.com.', /empty part/],
    ['ada@-example.com', /domain part "-example" may only have letters, digits and hyphens, and no hyphen at either end/],
    ['ada@exa_mple.com', /domain part "exa_mple" may only have letters/],
    ['ada@example.c', /top-level domain "c" is not two or more letters/],
    ['ada@example.c0m', /top-level domain "c0m"/],
    ['jörg@example.com', /contains "ö": addresses are written in ASCII/],
    ['', /empty/],
    [`${'a'.repeat(65)}@example.com`, /longer than 64 characters/],
    [`ada@${'a'.repeat(64)}.com`, /domain part "a{64}" is longer than 63 characters/],
  ])('refuses %j, saying why', (address, why) => {
    expect(emailAddressProblem(address)).toMatch(why);
  });
});
