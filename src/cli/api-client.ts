/**
 * The CLI's client of the operator API. Errors become CliErrors carrying the API's `{error, details}`
 * rendered for humans (field paths of invalid job specs one per line).
 *
 * The API URL and token are checked before any request: credentials in the URL and control
 * characters in the token are usage errors (exit 2) that never echo the secret.
 *
 * Redirects: an HA standby answers 307 with the leader's URL (as Mesos masters do). The client
 * follows 307/308 itself (method and body kept, at most MAX_REDIRECTS hops, http(s) only, never
 * https → http) and only where the token may go: to the same host name as the --api URL (any
 * port), or from loopback to loopback, unless --follow-leader (SLUICE_FOLLOW_LEADER=1) allows any
 * host. Anything else is refused with the leader's URL, so the operator can point --api at it.
 */
import { DEFAULT_API_URL } from '../config.js';
import { isLoopback } from '../util/api-address.js';
import { hasUserInfo, redactUrl } from '../util/redact.js';
import { CliError } from './command.js';
import { renderApiError } from './output.js';

export { renderApiError } from './output.js';

export interface ApiClientOptions {
  /** Base URL (flag --api, env SLUICE_API, default http://127.0.0.1:5070). */
  url: string;
  token?: string;
  timeoutMs?: number;
  /** Follow a standby's redirect to any host (--follow-leader); default: same host or loopback only. */
  followLeader?: boolean;
}

/** Most redirects followed for one request (a standby → the leader is one hop). */
export const MAX_REDIRECTS = 3;

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
  const follow = flags['follow-leader'] === true || /^(1|true|yes)$/i.test(env['SLUICE_FOLLOW_LEADER'] ?? '');
  return { url: url.replace(/\/+$/, ''), token: token || undefined, ...(follow ? { followLeader: true } : {}) };
}

export class ApiClient {
  constructor(private readonly opts: ApiClientOptions) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    // Mutating requests must say JSON even without a body (the API refuses them otherwise: 415).
    if (body !== undefined || method !== 'GET') headers['content-type'] = 'application/json';
    if (this.opts.token) headers['authorization'] = `Bearer ${this.opts.token}`;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const signal = AbortSignal.timeout(this.opts.timeoutMs ?? 30_000);
    let res: Response;
    let url = this.opts.url + path;
    try {
      for (let hop = 0; ; hop++) {
        res = await fetch(url, { method, headers, body: payload, signal, redirect: 'manual' });
        if (res.status !== 307 && res.status !== 308) break;
        await res.body?.cancel();
        url = this.redirectTarget(url, res.headers.get('location'), hop);
      }
    } catch (e) {
      if (e instanceof CliError) throw e;
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      const timedOut = (e as Error)?.name === 'TimeoutError';
      const msg =
        `cannot reach the Sluice API at ${redactUrl(url === this.opts.url + path ? this.opts.url : url)}${cause ? ` (${cause})` : timedOut ? ' (timed out)' : ''}: ` +
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

  /** Where a 307/308 may be followed (see the module comment); a CliError otherwise. */
  private redirectTarget(from: string, location: string | null, hop: number): string {
    const refuse = (why: string): never => {
      const msg = `the Sluice API at ${redactUrl(from)} redirected ${why}`;
      throw new CliError(msg, 1, { error: msg });
    };
    if (!location) return refuse('without a Location header');
    let to: URL;
    try {
      to = new URL(location, from);
    } catch {
      return refuse(`to an invalid URL`);
    }
    const target = redactUrl(to.href);
    if (hop >= MAX_REDIRECTS) refuse(`more than ${MAX_REDIRECTS} times (last to ${target}); is a replica misconfigured?`);
    if (to.protocol !== 'http:' && to.protocol !== 'https:') refuse(`to ${target}: only http(s) redirects are followed`);
    if (to.username || to.password) refuse(`to a URL with credentials: ${target}`);
    const prev = new URL(from);
    if (prev.protocol === 'https:' && to.protocol === 'http:') refuse(`from https to http (${target}): not followed`);
    const origin = new URL(this.opts.url);
    const host = (u: URL) => u.hostname.replace(/^\[|\]$/g, '');
    const sameHost = host(to) === host(origin) || (isLoopback(host(to)) && isLoopback(host(origin)));
    if (!sameHost && !this.opts.followLeader) {
      refuse(
        `to the leader at ${target} (this replica is a standby). The request was not sent there: pass --api ${to.origin} ` +
          `(or --follow-leader / SLUICE_FOLLOW_LEADER=1 to follow redirects to other hosts${this.opts.token ? ' with your token' : ''}).`,
      );
    }
    return to.href;
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
