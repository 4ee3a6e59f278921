/**
 * `/api/v1` on the worker's HTTP server: bearer keys, a rate limit per key, read-only keys kept
 * to reading, request bodies checked against the OpenAPI document, Idempotency-Key on every POST.
 * Errors are JSON naming the problem; secrets and stack traces never leave.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors.ts';
import { readBody, send, type Route } from '../http/server.ts';
import { authenticate, touchApiKey, type ApiKeyIdentity } from './api-keys.ts';
import { IDEMPOTENCY_KEY_FORMAT, beginIdempotent, finishIdempotent, requestHash } from './idempotency.ts';
import { openApiDocument } from './openapi.ts';
import * as operations from './operations.ts';
import type { ApiAnswer, ApiDeps, ApiRequest } from './operations.ts';
import { InvalidRequest, type FieldProblem } from './problems.ts';
import { RateLimiter } from './rate-limit.ts';
import { schemaProblems } from './schema-validation.ts';

export const API_PREFIX = '/api/v1';
const BODY_LIMIT = 64 * 1024;

type Operation = (deps: ApiDeps, request: ApiRequest) => Promise<ApiAnswer>;

interface Endpoint {
  method: 'GET' | 'POST';
  /** As in the OpenAPI document, e.g. `/subscriptions/{id}`. */
  path: keyof typeof openApiDocument.paths;
  run: Operation;
}

const ENDPOINTS: readonly Endpoint[] = [
  { method: 'POST', path: '/subscriptions', run: operations.createSubscription },
  { method: 'GET', path: '/subscriptions', run: operations.listSubscriptionsOperation },
  { method: 'GET', path: '/subscriptions/{id}', run: operations.getSubscriptionOperation },
  { method: 'POST', path: '/subscriptions/{id}/cancel', run: operations.cancelOperation },
  { method: 'POST', path: '/subscriptions/{id}/retry', run: operations.retryOperation },
  { method: 'POST', path: '/subscriptions/{id}/card-token', run: operations.updateCardTokenOperation },
  { method: 'GET', path: '/subscriptions/{id}/invoices', run: operations.listInvoicesOperation },
  { method: 'GET', path: '/subscriptions/{id}/payments', run: operations.listPaymentsOperation },
  { method: 'GET', path: '/customers', run: operations.findCustomerOperation },
  { method: 'POST', path: '/refunds', run: operations.createRefundOperation },
  { method: 'GET', path: '/events', run: operations.listEventsOperation },
];

type ErrorType = 'invalid_request' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'idempotency_conflict' | 'rate_limited' | 'internal';

function errorAnswer(status: number, type: ErrorType, message: string, problems?: FieldProblem[]): ApiAnswer {
  return { status, body: { error: { type, message, ...(problems ? { problems } : {}) } } };
}

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const part = want[i]!;
    if (part.startsWith('{')) {
      if (!got[i]) return null;
      params[part.slice(1, -1)] = decodeURIComponent(got[i]!);
    } else if (part !== got[i]) return null;
  }
  return params;
}

function requestBodySchema(endpoint: Endpoint): object | null {
  const operation = openApiDocument.paths[endpoint.path] as Record<string, { requestBody?: { content: { 'application/json': { schema: object } } } }>;
  return operation[endpoint.method.toLowerCase()]?.requestBody?.content['application/json'].schema ?? null;
}

export interface ApiOptions {
  /** Requests each key may make per minute (bursts up to as many). */
  ratePerMinute: number;
}

export function apiRoutes(deps: ApiDeps, options: ApiOptions): Route[] {
  const limiter = new RateLimiter(options.ratePerMinute);
  const touched = new Map<number, number>();
  const document = JSON.stringify(openApiDocument, null, 2);
  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (req.method === 'GET' && url.pathname === `${API_PREFIX}/openapi.json`) {
      send(res, 200, document, 'application/json');
      return;
    }
    const answer = await answerRequest(deps, { limiter, touched }, req, url);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    if (answer.status === 401) headers['www-authenticate'] = 'Bearer';
    if ('retryAfter' in answer) headers['retry-after'] = String(answer.retryAfter);
    if ('replayed' in answer) headers['idempotent-replayed'] = 'true';
    const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
  return [
    { method: 'GET', path: `${API_PREFIX}/*`, handler: handle },
    { method: 'POST', path: `${API_PREFIX}/*`, handler: handle },
  ];
}

type RouterAnswer = ApiAnswer & { retryAfter?: number; replayed?: true };

interface KeyBookkeeping {
  limiter: RateLimiter;
  /** When this process last noted each key's use: the database is told at most once a minute. */
  touched: Map<number, number>;
}

async function answerRequest(deps: ApiDeps, { limiter, touched }: KeyBookkeeping, req: IncomingMessage, url: URL): Promise<RouterAnswer> {
  const { db, clock } = deps.engine;
  const path = url.pathname.slice(API_PREFIX.length);
  const candidates = ENDPOINTS.map((endpoint) => ({ endpoint, params: match(endpoint.path, path) })).filter((c) => c.params !== null);
  const found = candidates.find((c) => c.endpoint.method === req.method);
  if (!found) {
    req.resume();
    return candidates.length ? errorAnswer(405, 'invalid_request', `${req.method} is not allowed on ${url.pathname}`) : errorAnswer(404, 'not_found', `no API endpoint ${url.pathname} (see ${API_PREFIX}/openapi.json)`);
  }
  const { endpoint } = found;

  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  const key: ApiKeyIdentity | null = token ? await authenticate(db, token) : null;
  if (!key) {
    req.resume();
    return errorAnswer(401, 'unauthenticated', 'send a live API key as "Authorization: Bearer <key>" (rebill api-key create makes one)');
  }
  const now = clock.now();
  const rate = limiter.take(key.id, Date.now());
  if (!rate.allowed) {
    req.resume();
    return { ...errorAnswer(429, 'rate_limited', `too many requests for key "${key.name}": retry after ${rate.retryAfterSeconds} s`), retryAfter: rate.retryAfterSeconds };
  }
  if (Date.now() - (touched.get(key.id) ?? 0) > 60_000) {
    touched.set(key.id, Date.now());
    await touchApiKey(db, key.id, now);
  }
  if (endpoint.method === 'POST' && key.readOnly) {
    req.resume();
    return errorAnswer(403, 'forbidden', `key "${key.name}" is read-only: changes need a key created without --read-only`);
  }

  let body: Record<string, unknown> = {};
  let raw = '';
  if (endpoint.method === 'POST') {
    raw = await readBody(req, BODY_LIMIT);
    const schema = requestBodySchema(endpoint);
    if (raw.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return errorAnswer(400, 'invalid_request', 'the body is not valid JSON', [{ field: null, message: 'the body is not valid JSON' }]);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return errorAnswer(400, 'invalid_request', 'the body must be a JSON object', [{ field: null, message: 'the body must be a JSON object' }]);
      body = parsed as Record<string, unknown>;
    }
    const problems = schema ? schemaProblems(schema, body) : [];
    if (problems.length) return invalid(problems);
  }
  const request: ApiRequest = { params: found.params!, query: url.searchParams, body, key, now };

  const idempotencyKey = req.headers['idempotency-key'];
  if (endpoint.method === 'POST' && idempotencyKey !== undefined) {
    const given = Array.isArray(idempotencyKey) ? idempotencyKey.join(',') : idempotencyKey;
    if (!IDEMPOTENCY_KEY_FORMAT.test(given)) return invalid([{ field: 'Idempotency-Key', message: 'the Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces' }]);
    const start = await beginIdempotent(db, key.id, given, requestHash(endpoint.method, url.pathname, raw), now);
    if (start.kind === 'replay') return { status: start.status, body: start.body, replayed: true };
    if (start.kind === 'different_request') {
      return errorAnswer(409, 'idempotency_conflict', `Idempotency-Key "${given}" was already used with another request: use a new key for a new request`);
    }
    if (start.kind === 'unanswered') {
      return errorAnswer(409, 'idempotency_conflict', `the first request with Idempotency-Key "${given}" has not been answered (still running, or interrupted): check its result with a GET before trying again with a new key`);
    }
    const answer = await runOperation(deps, endpoint, request);
    // A server error keeps the key unanswered: the change may have been made, so it is never redone blindly.
    if (answer.status < 500) await finishIdempotent(db, key.id, given, answer.status, JSON.stringify(answer.body));
    return answer;
  }
  return runOperation(deps, endpoint, request);
}

function invalid(problems: FieldProblem[]): ApiAnswer {
  const message = problems.length === 1 ? problems[0]!.message : `the request has ${problems.length} problems: ${problems.map((p) => p.message).join('; ')}`;
  return errorAnswer(400, 'invalid_request', message, problems);
}

async function runOperation(deps: ApiDeps, endpoint: Endpoint, request: ApiRequest): Promise<ApiAnswer> {
  try {
    return await endpoint.run(deps, request);
  } catch (error) {
    if (error instanceof InvalidRequest) return invalid(error.fieldProblems);
    if (error instanceof ValidationError) return invalid(error.problems.map((message) => ({ field: null, message })));
    if (error instanceof NotFoundError) return errorAnswer(404, 'not_found', error.message);
    if (error instanceof ConflictError) return errorAnswer(409, 'conflict', error.message);
    deps.engine.logger.error({ err: error, operation: `${endpoint.method} ${endpoint.path}` }, 'API request failed');
    return errorAnswer(500, 'internal', 'the request failed inside rebill; the log has the details');
  }
}
