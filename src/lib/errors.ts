/**
 * Expected failures are returned as values; these classes are for the few places where
 * throwing is the clearest way to stop: bad input reaching a service, or a missing record.
 */

/** Input that breaks a rule the caller can fix (a CLI usage error, a bad CSV cell, …). */
export class ValidationError extends Error {
  readonly problems: string[];
  constructor(problems: string[] | string) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('\n'));
    this.name = 'ValidationError';
    this.problems = list;
  }
}

/** A record the caller named does not exist. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The request is valid but the current state does not allow it (e.g. cancelling a canceled subscription). */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
