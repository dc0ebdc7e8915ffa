/**
 * The CLI's client of the operator API. Errors become CliErrors carrying the API's `{error, details}`
 * rendered for humans (field paths of invalid job specs one per line).
 *
 * The API URL and token are checked before any request: credentials in the URL and control
 * characters in the token are usage errors (exit 2) that never echo the secret.
 */
import { DEFAULT_API_URL } from '../config.js';
import { hasUserInfo, redactUrl } from '../util/redact.js';
import { CliError } from './command.js';
import { renderApiError } from './output.js';

export { renderApiError } from './output.js';

export interface ApiClientOptions {
  /** Base URL (flag --api, env SLUICE_API, default http://127.0.0.1:5070). */
  url: string;
  token?: string;
  timeoutMs?: number;
}

export function apiOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ApiClientOptions {
  const fromFlag = flags['api'] as string | undefined;
  const where = fromFlag !== undefined ? '--api' : env['SLUICE_API'] ? 'SLUICE_API' : 'the default API URL';
  let url = fromFlag ?? (env['SLUICE_API'] || DEFAULT_API_URL);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) url = `http://${url}`;
  if (hasUserInfo(url) || /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(url)) {
    throw new CliError(
      `${where}: the API URL must not contain credentials (user:password@): ${redactUrl(url)}. ` +
        `The API takes a bearer token: pass it with --api-token or SLUICE_API_TOKEN.`,
      2,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`${where}: ${JSON.stringify(url)} is not a URL (e.g. http://127.0.0.1:5070)`, 2);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(`${where}: the API URL must start with http:// or https:// (got ${parsed.protocol}//)`, 2);
  }
  const tokenFlag = flags['api-token'] as string | undefined;
  const token = tokenFlag ?? env['SLUICE_API_TOKEN'];
  if (token !== undefined && /[\x00-\x1f\x7f]/.test(token)) {
    const src = tokenFlag !== undefined ? '--api-token' : 'SLUICE_API_TOKEN';
    throw new CliError(`${src}: the API token contains a newline or another control character (a stray line end from a file?); it was not sent`, 2);
  }
  return { url: url.replace(/\/+$/, ''), token: token || undefined };
}

export class ApiClient {
  constructor(private readonly opts: ApiClientOptions) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    // Mutating requests must say JSON even without a body (the API refuses them otherwise: 415).
    if (body !== undefined || method !== 'GET') headers['content-type'] = 'application/json';
    if (this.opts.token) headers['authorization'] = `Bearer ${this.opts.token}`;
    let res: Response;
    try {
      res = await fetch(this.opts.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      const timedOut = (e as Error)?.name === 'TimeoutError';
      const msg =
        `cannot reach the Sluice API at ${redactUrl(this.opts.url)}${cause ? ` (${cause})` : timedOut ? ' (timed out)' : ''}: ` +
        `is \`sluice start\` running? Point the CLI at it with --api URL or SLUICE_API.`;
      throw new CliError(msg, 1, { error: msg });
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text.trim()) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (res.status >= 400) {
      const data = parsed && typeof parsed === 'object' ? { status: res.status, ...(parsed as object) } : { status: res.status, error: String(parsed ?? '') };
      throw new CliError(renderApiError(res.status, parsed), res.status === 404 ? 4 : res.status < 500 ? 3 : 1, data);
    }
    return { status: res.status, body: parsed as T };
  }

  get<T = unknown>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = unknown>(path: string, body: unknown) {
    return this.request<T>('POST', path, body);
  }
  put<T = unknown>(path: string, body: unknown) {
    return this.request<T>('PUT', path, body);
  }
  delete<T = unknown>(path: string) {
    return this.request<T>('DELETE', path);
  }
}
