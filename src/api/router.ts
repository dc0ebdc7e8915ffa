/**
 * A small router for the operator API. Modules register their own routes:
 *
 *   router.get('/api/v1/jobs/:name', async (req) => ({ status: 200, body: ... }));
 *   router.post('/api/v1/hosts/:host/drain', handler, { summary: 'Drain a host' });
 *
 * Handlers return { status, body } (JSON), or { status, text, headers } for non-JSON (e.g. /metrics),
 * and throw ApiError(status, error, details) for clean 4xx/5xx JSON errors `{error, details}`.
 * Paths are matched segment by segment; `:name` captures one URL-decoded segment.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ROLES, type Role } from '../util/tokens-file.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

/**
 * Who may call a route (README "Roles"): `viewer` reads, `operator` also runs maintenance verbs and
 * changes jobs, `admin` also forces, overrides and changes settings. Each role includes the ones below it.
 */
export { ROLES, type Role };

export function roleAllows(has: Role, needs: Role): boolean {
  return ROLES.indexOf(has) >= ROLES.indexOf(needs);
}

/** The caller of a request, as authenticated by src/api/auth.ts (never the token itself). */
export interface Principal {
  /** A name from the tokens file, "token" (the single --api-token) or "local" (loopback, no token configured). */
  name: string;
  role: Role;
}

/** A route's role when it declares none: reads need viewer, anything else admin (fail closed). */
export function defaultRole(method: string): Role {
  return method === 'GET' || method === 'HEAD' ? 'viewer' : 'admin';
}

export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Who is calling (authenticated before routing); routes pass `principal.name` on as the audit actor. */
  principal: Principal;
  /** = principal.name: the audit's actor (an operator name, "token", or "local"). */
  actor: string;
  /** This request's id (also the `X-Request-Id` answer header), recorded in the audit entries it causes. */
  id: string;
  /** Policy: must this action carry a reason (`require_reason` setting; --force always does)? */
  reasonRequired(action: string): boolean;
  /**
   * The body parsed as JSON: a JSON object, or undefined when the body is empty. 400 ApiError when it
   * is not valid JSON or not an object (every route of this API takes an object); 413 when too large.
   */
  json(): Promise<Record<string, unknown> | undefined>;
  text(): Promise<string>;
}

export interface ApiResult {
  status: number;
  /** Serialised as JSON (bigints as strings). */
  body?: unknown;
  /** Sent as-is instead of `body` (with headers['content-type']). */
  text?: string;
  headers?: Record<string, string>;
  /**
   * A streamed answer (Server-Sent Events, src/api/events.ts): the status and headers are sent, then
   * the handler owns the stream until it ends it or the client goes away.
   */
  stream?: (out: ResponseStream) => void;
}

/** The server side of a streamed answer. Every write goes through the server's secret scrubber. */
export interface ResponseStream {
  /** Queues text; false when the socket's buffer is full (the bytes are still queued). */
  write(text: string): boolean;
  /** Bytes queued in user space, not yet handed to the socket. */
  readonly buffered: number;
  end(): void;
  /** Cuts the connection (a consumer too slow to keep up). */
  destroy(): void;
  /** Called once when the connection closes, whoever closed it. */
  onClose(fn: () => void): void;
  /** Called once when the buffer has been handed to the socket after a write returned false. */
  onDrain(fn: () => void): void;
}

export type Handler = (req: ApiRequest) => Promise<ApiResult> | ApiResult;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly error: string,
    readonly details?: unknown,
    /** Extra answer headers (e.g. WWW-Authenticate on 401). */
    readonly headers?: Record<string, string>,
  ) {
    super(error);
  }
}

interface Route {
  method: Method;
  pattern: string;
  segments: string[];
  handler: Handler;
  summary?: string;
  role?: Role;
  public?: boolean;
}

export interface RouteOptions {
  summary?: string;
  /** The least role allowed to call it (403 below it). Every route should say; see defaultRole. */
  role?: Role;
  /**
   * Served without the API token (the console's page and its static files: a browser cannot send a
   * bearer token when it navigates). The Host and Origin checks still apply. Never for data.
   */
  public?: boolean;
}

export type RouteMatch = { kind: 'found'; handler: Handler; params: Record<string, string>; role?: Role; public?: boolean } | { kind: 'method'; allowed: string[] } | { kind: 'none' };

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

export class Router {
  private readonly table: Route[] = [];

  add(method: Method, pattern: string, handler: Handler, opts: RouteOptions = {}): this {
    const segments = split(pattern);
    if (this.table.some((r) => r.method === method && r.segments.join('/') === segments.join('/'))) {
      throw new Error(`route ${method} ${pattern} is already registered`);
    }
    this.table.push({ method, pattern, segments, handler, summary: opts.summary, role: opts.role, ...(opts.public ? { public: true } : {}) });
    return this;
  }
  get(pattern: string, handler: Handler, opts?: RouteOptions): this {
    return this.add('GET', pattern, handler, opts);
  }
  post(pattern: string, handler: Handler, opts?: RouteOptions): this {
    return this.add('POST', pattern, handler, opts);
  }
  put(pattern: string, handler: Handler, opts?: RouteOptions): this {
    return this.add('PUT', pattern, handler, opts);
  }
  delete(pattern: string, handler: Handler, opts?: RouteOptions): this {
    return this.add('DELETE', pattern, handler, opts);
  }

  match(method: string, path: string): RouteMatch {
    const segs = split(path);
    const allowed: string[] = [];
    // literal segments win over parameters: try routes with more literals first
    for (const r of this.sorted()) {
      const params = matchSegments(r.segments, segs);
      if (!params) continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { kind: 'found', handler: r.handler, params, role: r.role ?? defaultRole(r.method), ...(r.public ? { public: true } : {}) };
      if (!allowed.includes(r.method)) allowed.push(r.method);
    }
    return allowed.length ? { kind: 'method', allowed } : { kind: 'none' };
  }

  /** Registered routes (for the API index). */
  routes(): Array<{ method: Method; path: string; summary?: string; role?: Role; public?: boolean }> {
    return this.table.map((r) => ({ method: r.method, path: r.pattern, ...(r.summary ? { summary: r.summary } : {}), ...(r.role ? { role: r.role } : {}), ...(r.public ? { public: true } : {}) }));
  }

  private sorted(): Route[] {
    const literals = (r: Route) => r.segments.filter((s) => !s.startsWith(':')).length;
    return [...this.table].sort((a, b) => literals(b) - literals(a));
  }
}

function matchSegments(pattern: string[], path: string[]): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = path[i]!;
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(s);
      } catch {
        return undefined;
      }
    } else if (p !== s) return undefined;
  }
  return params;
}
