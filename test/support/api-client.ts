/**
 * Talks to the API over real HTTP and checks every response against the OpenAPI document the
 * worker serves: a status the document does not list, or a body its schema refuses, fails the test.
 */
import { expect } from 'vitest';
import { openApiDocument } from '../../src/api/openapi.ts';
import { schemaProblems } from '../../src/api/schema-validation.ts';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

function templateOf(path: string): string | undefined {
  const bare = path.split('?')[0]!;
  return Object.keys(openApiDocument.paths).find((template) => {
    const want = template.split('/');
    const got = bare.split('/');
    return want.length === got.length && want.every((part, i) => part.startsWith('{') || part === got[i]);
  });
}

export function apiClient(baseUrl: () => string) {
  return async function api<T = any>(method: 'GET' | 'POST', path: string, options: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${baseUrl()}/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const json = (await response.json()) as T;
    const template = templateOf(path);
    if (template) {
      const operation = (openApiDocument.paths as Record<string, Record<string, { responses: Record<string, { content: { 'application/json': { schema: object } } }> }>>)[template]![method.toLowerCase()];
      const documented = operation?.responses[String(response.status)];
      expect(documented, `${method} ${template} answered ${response.status}, which the OpenAPI document does not list`).toBeDefined();
      expect(schemaProblems(documented!.content['application/json'].schema, json), `${method} ${path} ${response.status} against the document`).toEqual([]);
    }
    return { status: response.status, headers: response.headers, body: json };
  };
}
