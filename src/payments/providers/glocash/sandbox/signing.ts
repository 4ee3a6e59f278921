/**
 * The sandbox signs and checks as Glocash documents it (seed 003, appendix 1), written apart from
 * rebill's own signing so that each checks the other: secret key first, then the values, no
 * separators, SHA-256 in lowercase hex.
 */
import { createHash } from 'node:crypto';

const ORDER: Readonly<Record<'create' | 'query' | 'psn' | 'refund', readonly string[]>> = {
  create: ['REQ_TIMES', 'REQ_EMAIL', 'REQ_INVOICE', 'CUS_EMAIL', 'BIL_METHOD', 'BIL_PRICE', 'BIL_CURRENCY'],
  query: ['REQ_TIMES', 'REQ_EMAIL', 'TNS_GCID'],
  psn: ['REQ_TIMES', 'REQ_EMAIL', 'CUS_EMAIL', 'TNS_GCID', 'BIL_STATUS', 'BIL_METHOD', 'PGW_PRICE', 'PGW_CURRENCY'],
  refund: ['REQ_TIMES', 'REQ_EMAIL', 'TNS_GCID', 'PGW_PRICE'],
};

export function sandboxSign(kind: keyof typeof ORDER, values: Readonly<Record<string, string | undefined>>, secretKey: string): string {
  const hash = createHash('sha256');
  hash.update(secretKey);
  for (const name of ORDER[kind]) hash.update(values[name] ?? '');
  return hash.digest('hex');
}
