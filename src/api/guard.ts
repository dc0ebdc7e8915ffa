/**
 * The operator API's gate: every request passes here before routing (src/api/server.ts).
 *
 * Threat model (README "Security model"): the API can start drains whose `post_drain` runs a shell
 * command as Sluice's user and create jobs whose commands run on the cluster. A web page open in a
 * browser on the same machine can send requests to 127.0.0.1, and a DNS-rebinding host name can make
 * the browser treat the API as the page's own origin. So, in this order:
 *
 * 1. `Host` must name this server: the listen address, `localhost`, `127.0.0.1` or `[::1]` with the
 *    listen port, or a name configured in `api_allowed_hosts` (DNS rebinding) — 421 otherwise; a
 *    request without `Host` (HTTP/1.0) is 400.
 * 2. An `Origin` header, when present, must be this API's own origin (`null` is refused), and
 *    `Sec-Fetch-Site` must not say `cross-site`/`same-site` — 403 (cross-site requests).
 * 3. With a token configured: `Authorization: Bearer <token>` — 401 with `WWW-Authenticate`.
 * 4. Mutating methods (POST, PUT, DELETE, PATCH) need `Content-Type: application/json` even without a
 *    body — 415 otherwise (HTML forms and "simple" cross-site requests cannot send it).
 *
 * No CORS header is ever sent, so browsers never let another origin read an answer.
 */
import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import { parseAllowedHosts, splitHost } from '../util/api-address.js';
import { ApiError } from './router.js';

export { ApiConfigError, checkApiExposure, isLoopback, parseAllowedHosts, parseListen } from '../util/api-address.js';

export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

export const WWW_AUTHENTICATE = 'Bearer realm="sluice"';

const JSON_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export interface GuardOptions {
  /** The address the server listens on and its actual port. */
  listenHost: string;
  port: number;
  /** Extra names the API may be reached by, e.g. behind a reverse proxy: `name` (any port) or `name:port`. */
  allowedHosts?: readonly string[];
  token?: string;
}

export class RequestGuard {
  private readonly port: string;
  /** Names of this server, accepted with the listen port. */
  private readonly local = new Set<string>();
  private readonly configured = new Set<string>();
  private readonly token?: string;

  constructor(opts: GuardOptions) {
    this.port = String(opts.port);
    this.token = opts.token && opts.token.length ? opts.token : undefined;
    const listen = splitHost(opts.listenHost.includes(':') && !opts.listenHost.startsWith('[') ? `[${opts.listenHost}]` : opts.listenHost);
    for (const n of ['localhost', '127.0.0.1', '::1', listen?.name]) if (n) this.local.add(n);
    if (listen && (listen.name === '0.0.0.0' || listen.name === '::')) {
      // Every interface: its own addresses are this server too (an IP literal cannot be rebound).
      for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) this.local.add(a.address.toLowerCase());
    }
    for (const e of parseAllowedHosts(opts.allowedHosts ?? [])) this.configured.add(e);
  }

  /** True when `value` (a Host header, or the host part of an Origin) names this server. */
  allowsHost(value: string): boolean {
    const h = splitHost(value);
    if (!h) return false;
    if (this.configured.has(h.name)) return true; // a configured name without a port: any port
    if (h.port === undefined) return false;
    if (h.port === this.port && this.local.has(h.name)) return true;
    return this.configured.has(`${h.name}:${h.port}`);
  }

  /**
   * Host, Origin / Sec-Fetch-Site and token checks; throws the ApiError to answer. `publicRoute`
   * (the console's page and static files only) skips the token, never the Host and Origin checks.
   */
  check(headers: IncomingHttpHeaders, publicRoute = false): void {
    const host = headers.host;
    if (host === undefined || host === '') {
      throw new ApiError(400, 'missing Host header', 'send HTTP/1.1 with a Host header naming this server');
    }
    if (!this.allowsHost(host)) {
      throw new ApiError(
        421,
        'misdirected request: unknown Host',
        `this API answers only to its listen address, localhost:${this.port}, 127.0.0.1:${this.port}, [::1]:${this.port}` +
          ` and the names in --api-allowed-hosts (SLUICE_API_ALLOWED_HOSTS); Host ${JSON.stringify(host.slice(0, 200))} is none of them`,
      );
    }
    const origin = headers.origin;
    if (origin !== undefined && !this.allowsOrigin(origin)) {
      throw new ApiError(403, 'cross-origin request refused', `Origin ${JSON.stringify(origin.slice(0, 200))} is not this API; browsers from other origins may not use it`);
    }
    const site = headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      throw new ApiError(403, 'cross-origin request refused', `Sec-Fetch-Site: ${site}; browsers from other origins may not use this API`);
    }
    if (this.token && !publicRoute && !tokenMatches(headers.authorization, this.token)) {
      throw new ApiError(401, 'unauthorized', 'this API requires "Authorization: Bearer <token>" (see --api-token / SLUICE_API_TOKEN)', {
        'www-authenticate': WWW_AUTHENTICATE,
      });
    }
  }

  /** 415 unless a mutating request says `Content-Type: application/json` (optionally `; charset=utf-8`). */
  checkContentType(method: string, headers: IncomingHttpHeaders): void {
    if (!MUTATING_METHODS.has(method)) return;
    const ct = headers['content-type'];
    if (ct !== undefined && JSON_TYPE.test(ct.trim())) return;
    throw new ApiError(
      415,
      'unsupported media type: send Content-Type: application/json',
      `${method} requests need "Content-Type: application/json" (even without a body); got ${ct === undefined ? 'none' : JSON.stringify(ct.slice(0, 100))}`,
    );
  }

  private allowsOrigin(origin: string): boolean {
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false; // includes "null" (sandboxed frames, file://, redirects)
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) return false;
    return this.allowsHost(u.port ? u.host : `${u.host}:${u.protocol === 'https:' ? 443 : 80}`);
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const a = crypto.createHash('sha256').update(m[1]!).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}
