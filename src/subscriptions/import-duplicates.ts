/**
 * The duplicate checks of `rebill import`: rows that repeat each other within the file, and rows
 * that repeat subscriptions already in the database.
 *
 * A file may have hundreds of thousands of rows, so the file-wide memory is one short hash per
 * key (an external id, a set of terms) and the line it was first seen on; the database is asked
 * about one batch of rows at a time.
 */
import { createHash } from 'node:crypto';
import type { DbOrTx } from '../db/connect.ts';
import { ALLOW_DUPLICATE_HINT, describePlan, termsKey, termsOf, type EnrolmentRow } from './enrol.ts';
import { findLiveSubscriptionsWithTerms, findSubscriptionsByExternalId } from './subscription.repo.ts';

/** A valid row, with the line it starts on. */
export interface ImportCandidate {
  line: number;
  row: EnrolmentRow;
}

export interface DuplicateProblem {
  line: number;
  /** The column the problem is about, or null when it is the row as a whole. */
  column: 'external_id' | null;
  message: string;
}

/** 128 bits of SHA-256: a collision between two different keys of one file is not a practical risk. */
function compactKey(kind: string, key: string): string {
  return createHash('sha256').update(kind).update('\u0000').update(key).digest('base64').slice(0, 22);
}

function termsSummary(row: EnrolmentRow): string {
  return `${row.customer_email}, ${describePlan(termsOf(row))}`;
}

/** Remembers every row's keys as the file is read, and names the earlier line a row repeats. */
export class DuplicatesInFile {
  private readonly lineOf = new Map<string, number>();

  constructor(private readonly allowDuplicate: boolean) {}

  check({ line, row }: ImportCandidate): DuplicateProblem[] {
    const problems: DuplicateProblem[] = [];
    if (row.external_id) {
      const earlier = this.remember(compactKey('external_id', row.external_id), line);
      if (earlier !== null) {
        problems.push({ line, column: 'external_id', message: `external id "${row.external_id}" is also on line ${earlier}: each subscription needs its own` });
      }
    }
    if (!this.allowDuplicate) {
      // Rows with an external id are told apart by it; one without is refused if it repeats any row's terms.
      const earlier = this.remember(compactKey('terms', termsKey(termsOf(row))), line);
      if (earlier !== null && !row.external_id) {
        problems.push({
          line,
          column: null,
          message: `same e-mail, card token and plan as line ${earlier} (${termsSummary(row)}): ${ALLOW_DUPLICATE_HINT}`,
        });
      }
    }
    return problems;
  }

  /** The line the key was first seen on, or null (and it is remembered) when this is the first. */
  private remember(key: string, line: number): number | null {
    const earlier = this.lineOf.get(key);
    if (earlier !== undefined) return earlier;
    this.lineOf.set(key, line);
    return null;
  }
}

/** Rows of one batch that repeat a subscription in the database: a used external id, or a live one with the same terms. */
export async function duplicatesInDatabase(db: DbOrTx, candidates: readonly ImportCandidate[], allowDuplicate: boolean): Promise<DuplicateProblem[]> {
  const problems: DuplicateProblem[] = [];
  const externalIds = candidates.flatMap((c) => (c.row.external_id ? [c.row.external_id] : []));
  if (externalIds.length) {
    const taken = new Map((await findSubscriptionsByExternalId(db, externalIds)).map((s) => [s.external_id!, s.id]));
    for (const { line, row } of candidates) {
      const id = row.external_id ? taken.get(row.external_id) : undefined;
      if (id) problems.push({ line, column: 'external_id', message: `external id "${row.external_id}" is already subscription ${id}` });
    }
  }
  const unkeyed = candidates.filter((c) => !c.row.external_id);
  if (!allowDuplicate && unkeyed.length) {
    const live = await findLiveSubscriptionsWithTerms(db, unkeyed.map((c) => termsOf(c.row)));
    const idsByTerms = new Map<string, string[]>();
    for (const s of live) {
      const key = termsKey(s);
      idsByTerms.set(key, [...(idsByTerms.get(key) ?? []), s.id]);
    }
    for (const { line, row } of unkeyed) {
      const ids = idsByTerms.get(termsKey(termsOf(row)));
      if (ids) {
        problems.push({
          line,
          column: null,
          message: `same e-mail, card token and plan as live subscription ${ids.join(', ')} (${termsSummary(row)}): ${ALLOW_DUPLICATE_HINT}`,
        });
      }
    }
  }
  return problems.sort((a, b) => a.line - b.line);
}
