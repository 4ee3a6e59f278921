import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/api/rate-limit.ts';
import { decodeCursor, encodeCursor, pageLimit } from '../../src/api/cursor.ts';
import { openApiDocument } from '../../src/api/openapi.ts';
import { schemaProblems } from '../../src/api/schema-validation.ts';
import { InvalidRequest } from '../../src/api/problems.ts';

describe('the API rate limit', () => {
  it('allows a burst of the per-minute limit, then refuses with when to retry, and refills with time', () => {
    const limiter = new RateLimiter(60);
    for (let i = 0; i < 60; i++) expect(limiter.take(1, 0).allowed).toBe(true);
    expect(limiter.take(1, 0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take(2, 0).allowed).toBe(true);
    expect(limiter.take(1, 1_000).allowed).toBe(true);
    expect(limiter.take(1, 1_000).allowed).toBe(false);
  });
});

describe('page cursors', () => {
  it('round-trip, and anything not given by the API is refused naming the cursor', () => {
    const cursor = { at: '2027-01-31T09:00:00.123456Z', id: '0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(decodeCursor(null)).toBeNull();
    for (const bad of ['xyz', encodeCursor({ at: "2027'; drop table", id: '1' }), encodeCursor({ at: '', id: '1 or 1=1' })]) {
      expect(() => decodeCursor(bad)).toThrow(InvalidRequest);
    }
    expect(pageLimit(new URLSearchParams())).toBe(20);
    expect(() => pageLimit(new URLSearchParams('limit=0'))).toThrow(/limit "0" must be a whole number from 1 to 100/);
  });
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and names each bad field of an enrolment', () => {
    expect(openApiDocument.openapi).toBe('3.1.0');
    const schema = openApiDocument.components.schemas.EnrolRequest;
    expect(schemaProblems(schema, { email: 'a@b.example', first_name: 'A', last_name: 'B', country: 'GB', interval: 'month', amount: '9.99', currency: 'GBP', quickpay_id: 'x' })).toEqual([]);
    const problems = schemaProblems(schema, { email: 1, first_name: 'A', last_name: 'B', country: 'GB', interval: 'fortnight', amount: '9,99', currency: 'GBP', extra: true });
    expect(problems.map((p) => p.field).sort()).toEqual(['amount', 'email', 'extra', 'interval']);
  });
});
