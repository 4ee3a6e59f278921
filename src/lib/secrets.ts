/**
 * Showing values that may carry secrets (connection strings, secure codes) in errors and logs
 * without the secret. Pure functions: they never throw, whatever the text.
 */

/** Parameters whose values are credentials (libpq's `password`, an API's `key`, …), in a query or `key=value` text. */
const SECRET_PARAMETER = /((?:^|[?&;\s])(?:password|passwd|pass|pwd|secret|token|key|apikey|api_key|access_key|auth|sslpassword)\s*=\s*)[^&;#\s]*/gi;

/**
 * A URL (or text meant to be one) with everything before its host's `@` (user and password)
 * and credential-like query parameters replaced by `…`. Everything up to the last `@` goes, so
 * a password holding `/`, `?` or `@` is hidden too; text that does not parse is handled alike.
 */
export function withoutCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, (_match, scheme: string | undefined) => `${scheme ?? ''}…@`).replace(SECRET_PARAMETER, '$1…');
}

/**
 * The secret parts of a URL-like value (the password, credential parameters), raw and
 * percent-decoded, for scrubbing them from messages built without `withoutCredentials`.
 */
export function credentialsIn(text: string): string[] {
  const found: string[] = [];
  const userinfo = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(.*)@/is.exec(text)?.[1];
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) found.push(userinfo.slice(colon + 1));
  }
  for (const match of text.matchAll(SECRET_PARAMETER)) found.push(text.slice(match.index + match[1]!.length).split(/[&;#\s]/)[0]!);
  return found.flatMap((raw) => [raw, safeDecode(raw)]);
}

/**
 * Replaces every occurrence of the given secrets in `text` by `…`. Fragments shorter than four
 * characters are left alone: they reveal nothing and would mangle ordinary words.
 */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  const fragments = [...new Set([...secrets].filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  let result = text;
  for (const fragment of fragments) result = result.replaceAll(fragment, '…');
  return result;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
