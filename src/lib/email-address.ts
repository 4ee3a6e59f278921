/**
 * What rebill accepts as a customer's (or its own) e-mail address: one plain RFC 5322 addr-spec
 * mailbox, `local@domain`, and nothing a mail library would read as something else. A comma or
 * semicolon makes a list (`ada,bob@example.com` is delivered to bob), parentheses a comment,
 * quotes and angle brackets a display name; none of them is ever needed for a real mailbox.
 */
import { escapeControlCharacters } from './printable.ts';

/** RFC 5322 atext: the characters of a dot-atom besides the dots. */
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
/** RFC 5321 limits. */
const LOCAL_PART_MAX = 64;
const DOMAIN_MAX = 253;
const LABEL_MAX = 63;

function describe(char: string): string {
  if (char === ' ') return 'a space';
  if (/\s/.test(char)) return `white space (${escapeControlCharacters(char)})`;
  return `"${escapeControlCharacters(char)}"`;
}

/**
 * Why the text is not one plain address such as name@example.com, or null when it is.
 *
 * The local part is a dot-atom (letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~, with
 * single dots between them); the domain has at least two labels of letters, digits and inner
 * hyphens (1–63 characters each), the last all letters. Addresses are ASCII: an international
 * domain is written in its xn-- form.
 */
export function emailAddressProblem(address: string): string | null {
  if (address === '') return 'it is empty';
  for (const char of address) {
    if (char !== '@' && char !== '.' && !ATEXT.test(char)) {
      const why = /[,;]/.test(char)
        ? 'only one address is accepted, not a list'
        : /[()]/.test(char)
          ? 'comments are not accepted'
          : /["<>]/.test(char)
            ? 'only the bare address is accepted, without a name, quotes or angle brackets'
            : /[\s\\[\]:]/.test(char)
              ? 'a plain address has none'
              : 'addresses are written in ASCII (an international domain in its xn-- form)';
      return `it contains ${describe(char)}: ${why}`;
    }
  }
  const at = address.indexOf('@');
  if (at < 0) return 'it has no "@"';
  if (address.indexOf('@', at + 1) >= 0) return 'it has more than one "@"';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);

  if (!local) return 'there is nothing before the "@"';
  if (local.startsWith('.') || local.endsWith('.')) return 'the part before the "@" starts or ends with a dot';
  if (local.includes('..')) return 'the part before the "@" has two dots in a row';
  if (local.length > LOCAL_PART_MAX) return `the part before the "@" is longer than ${LOCAL_PART_MAX} characters`;

  if (!domain) return 'there is no domain after the "@"';
  if (domain.length > DOMAIN_MAX) return `the domain is longer than ${DOMAIN_MAX} characters`;
  const labels = domain.split('.');
  if (labels.some((label) => label === '')) return `the domain "${domain}" has an empty part (a dot at an end, or two in a row)`;
  if (labels.length < 2) return `the domain "${domain}" has no dot: it needs a top-level domain such as .com`;
  for (const label of labels) {
    if (label.length > LABEL_MAX) return `the domain part "${label}" is longer than ${LABEL_MAX} characters`;
    if (!LABEL.test(label)) return `the domain part "${label}" may only have letters, digits and hyphens, and no hyphen at either end`;
  }
  const tld = labels.at(-1)!;
  if (!/^[A-Za-z]{2,}$/.test(tld)) return `the top-level domain "${tld}" is not two or more letters`;
  return null;
}
