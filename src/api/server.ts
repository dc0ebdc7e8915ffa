/**
 * The operator HTTP API server (node:http, JSON).
 *
 * Security (README "Security model"; the checks are in ./guard.ts and run before routing): it binds
 * to 127.0.0.1 by default; binding anything that is not loopback requires a token (--api-token /
 * SLUICE_API_TOKEN), and once a token is configured every request must carry
 * `Authorization: Bearer <token>`. Requests must name this server in `Host` (DNS rebinding), must not
 * come from another origin (CSRF), and mutating requests must be `application/json`. No CORS header
 * is ever sent. The server bounds header and body time, header size, body size (413 delivered to the
 * client) and connections, and masks configured secrets and credentials out of every answer.
 *
 * Identity and roles (./auth.ts): with a tokens file (--api-tokens-file) or a token configured, the
 * bearer token names the caller and its role; every route declares the least role it needs (403
 * naming the missing role). Each answer carries `X-Request-Id`, the id audit entries of it record.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hasUserInfo, maskSecrets, redactText, redactUrl } from '../util/redact.js';
import { safeStringify, nullLogger, type Logger } from '../util/logger.js';
import { checkApiExposure, parseListen } from '../util/api-address.js';
import crypto from 'node:crypto';
import { RequestGuard } from './guard.js';
import { Authenticator, requireRole } from './auth.js';
import { ApiError, type ApiRequest, type ApiResult, type Principal, type ResponseStream, type Router } from './router.js';

export { ApiConfigError, isLoopback, parseListen } from '../util/api-address.js';

export interface ApiServerLimits {
  /** Time to receive the request headers (default 10 s). */
  headersTimeoutMs?: number;
  /** Time to receive the whole request, body included (default 30 s): a trickled body is cut. */
  requestTimeoutMs?: number;
  /** Idle time of a kept-alive connection between requests (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** Open connections at most; further ones are closed at once (default 256). */
  maxConnections?: number;
  /** Header lines at most (default 100). */
  maxHeadersCount?: number;
  /** Bytes of request line + headers at most (default 16 KiB; 431 beyond). */
  maxHeaderBytes?: number;
}

export interface ApiServerOptions {
  /** `host:port` (port 0 = any free port). Default 127.0.0.1:5070. */
  listen: string;
  token?: string;
  /** Identities and policy beyond the single token (README "Roles and the tokens file"). */
  access?: ApiAccessOptions;
  router: Router;
  logger?: Logger;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Extra host names the API may be reached by (`name` or `name:port`; see guard.ts). */
  allowedHosts?: readonly string[];
  limits?: ApiServerLimits;
  /**
   * Values that must never appear in an answer (framework secret, master URLs with credentials...).
   * The API token is always included. URLs with user info are masked to `scheme://***@host`.
   */
  secrets?: ReadonlyArray<string | undefined>;
}

export interface ApiAccessOptions {
  /** `NAME ROLE sha256:HEX` lines (./auth.ts); re-read on change and on SIGHUP. */
  tokensFile?: string;
  /** Actions that must carry a reason (e.g. start, complete, abort); --force always does. */
  requireReason?: readonly string[];
}

export interface ApiServer {
  readonly host: string;
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:5070 */
  readonly url: string;
  close(): Promise<void>;
}

const DEFAULT_LIMITS: Required<ApiServerLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  maxHeadersCount: 100,
  maxHeaderBytes: 16 * 1024,
};

/**
 * Builds the function that removes configured secrets and URL user info (and, in errors, any
 * credential-looking text) from an answer, streamed or not.
 */
function scrubber(secrets: ReadonlyArray<string | undefined>): (text: string, error: boolean) => string {
  const values: string[] = [];
  const urls: Array<[string, string]> = [];
  for (const s of secrets) {
    if (!s) continue;
    if (hasUserInfo(s)) {
      // Mask the credential-bearing prefix wherever it appears (even a 1-character password),
      // and the password itself when it is long enough to be recognisable.
      for (const m of s.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/[^\s/@'"<>]*@/gi)) urls.push([m[0], redactUrl(m[0])]);
      try {
        const u = new URL(s.split(',')[0]!);
        values.push(decodeURIComponent(u.password), u.password);
      } catch {
        /* not a WHATWG URL (e.g. zk://h1,h2): the prefix rule above still applies */
      }
    } else values.push(s);
  }
  return (text, error) => {
    let out = text;
    for (const [from, to] of urls) out = out.split(from).join(to);
    // URL user info is never shown, whoever stored it (a job's coordinator URL, a hook command...)
    out = error ? redactText(out) : redactUrl(out);
    return maskSecrets(out, values);
  };
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { host, port } = parseListen(opts.listen);
  const token = opts.token && opts.token.length ? opts.token : undefined;
  const tokensFile = opts.access?.tokensFile;
  checkApiExposure(opts.listen, token ?? tokensFile);
  const log = opts.logger ?? nullLogger();
  const auth = new Authenticator({ token, tokensFile, logger: log });
  const reasonActions = new Set(opts.access?.requireReason ?? []);
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const scrub = scrubber([token, ...(opts.secrets ?? [])]);
  let guard: RequestGuard | undefined; // needs the actual port: set once listening

  const requestTimeout = limits.requestTimeoutMs;
  const server = http.createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(limits.headersTimeoutMs, requestTimeout),
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // How often Node looks for requests past their time (default 30 s would blur short limits).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, requestTimeout) / 4))),
    },
    (req, res) => void handle(req, res),
  );
  server.maxConnections = limits.maxConnections;
  server.maxHeadersCount = limits.maxHeadersCount;
  // A connection that never sends a byte is not covered by headersTimeout (it has no request yet):
  // give it the same time to start one, so idle sockets cannot hold the connection cap.
  server.on('connection', (socket) => socket.setTimeout(limits.headersTimeoutMs));
  server.on('request', (req: http.IncomingMessage) => req.socket.setTimeout(server.timeout));

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    let status = 500;
    const id = `req-${crypto.randomBytes(6).toString('hex')}`;
    let actor: string | undefined;
    const send = (r: ApiResult) => {
      status = r.status;
      const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-request-id': id, ...r.headers };
      if (r.stream) {
        res.writeHead(r.status, headers);
        if (req.method === 'HEAD') res.end();
        else r.stream(responseStream(res, (t) => scrub(t, false)));
        return;
      }
      let payload: string | undefined;
      if (r.text !== undefined) {
        payload = scrub(r.text, r.status >= 400);
        headers['content-type'] ??= 'text/plain; charset=utf-8';
      } else if (r.body !== undefined) {
        payload = scrub(safeStringify(r.body), r.status >= 400) + '\n';
        headers['content-type'] = 'application/json; charset=utf-8';
      }
      if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
      res.writeHead(r.status, headers);
      res.end(req.method === 'HEAD' ? undefined : payload);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://sluice');
      const method = req.method ?? 'GET';
      const m = opts.router.match(method, url.pathname);
      // the console's page and static files (no data) are the only routes served without a token
      const isPublic = m.kind === 'found' && m.public === true;
      guard!.check(req.headers, isPublic);
      const principal: Principal = isPublic ? { name: 'anonymous', role: 'viewer' } : auth.authenticate(req.headers);
      actor = principal.name;
      if (m.kind === 'none') throw new ApiError(404, 'not found', { path: url.pathname });
      if (m.kind === 'method') {
        send({ status: 405, body: { error: 'method not allowed', details: { allowed: m.allowed } }, headers: { allow: m.allowed.join(', ') } });
        return;
      }
      requireRole({ principal }, m.role ?? (method === 'GET' || method === 'HEAD' ? 'viewer' : 'admin'), `${method} ${url.pathname}`);
      guard!.checkContentType(method, req.headers);
      let bodyText: Promise<string> | undefined;
      const text = () => (bodyText ??= readBody(req, maxBody));
      const apiReq: ApiRequest = {
        method,
        path: url.pathname,
        params: m.params,
        query: url.searchParams,
        headers: req.headers,
        principal,
        actor: principal.name,
        id,
        reasonRequired: (action) => reasonActions.has(action),
        text,
        json: async () => parseJsonObject(await text()),
      };
      send(await m.handler(apiReq));
    } catch (e) {
      if (e instanceof ApiError) {
        if (e.status === 413) res.setHeader('connection', 'close');
        if (e.status === 403 && actor !== undefined) log.warn('api_forbidden', { event: 'api_forbidden', method: req.method, path: loggedPath(req.url), actor, request_id: id, error: e.error });
        send({ status: e.status, body: e.details === undefined ? { error: e.error } : { error: e.error, details: e.details }, headers: e.headers });
      } else {
        const message = scrub((e as Error)?.message ?? String(e), true);
        log.error('api_error', { event: 'api_error', method: req.method, path: loggedPath(req.url), error: message });
        if (!res.headersSent) send({ status: 500, body: { error: 'internal error', details: message } });
        else res.destroy();
      }
    } finally {
      log.debug('api_request', { event: 'api_request', method: req.method, path: loggedPath(req.url), status, actor, request_id: id, ms: Date.now() - started });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    auth.close();
    throw e;
  });
  const addr = server.address() as AddressInfo;
  // the guard checks Host and Origin; tokens are the Authenticator's
  guard = new RequestGuard({ listenHost: host, port: addr.port, allowedHosts: opts.allowedHosts });
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  log.info('api_listening', {
    event: 'api_listening',
    address: `${urlHost}:${addr.port}`,
    token: auth.required ? 'required' : 'none',
    ...(tokensFile !== undefined ? { tokens_file: tokensFile, identities: auth.identities.map((i) => `${i.name}:${i.role}`) } : {}),
  });
  return {
    host: addr.address,
    port: addr.port,
    url: `http://${urlHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        auth.close();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/** A streamed answer over `res` (see ResponseStream in router.ts). */
function responseStream(res: http.ServerResponse, scrub: (text: string) => string): ResponseStream {
  res.socket?.setNoDelay(true);
  res.flushHeaders();
  return {
    write: (text) => !res.destroyed && res.write(scrub(text)),
    get buffered() {
      return res.writableLength;
    },
    end: () => res.end(),
    destroy: () => res.destroy(),
    onClose: (fn) => {
      if (res.destroyed || res.writableFinished) queueMicrotask(fn);
      else res.once('close', fn);
    },
    onDrain: (fn) => void res.once('drain', fn),
  };
}

/**
 * A request target as logged: the values of query parameters that look like credentials
 * (`?access_token=`, `?token=`, `?api_key=`, `?bearer=`… — never accepted, but a client may still send one) are
 * masked, and so is anything else redactText recognises. Logs must not collect tokens from URLs.
 */
export function loggedPath(target: string | undefined): string {
  let u: URL;
  try {
    u = new URL(target ?? '/', 'http://sluice');
  } catch {
    return '(unparsable target)';
  }
  // `//host/path` parses as a host: log the target's own path, not the parser's idea of it
  const raw = target ?? '/';
  const q = raw.indexOf('?');
  const pathPart = q < 0 ? raw : raw.slice(0, q);
  for (const k of new Set(u.searchParams.keys())) if (/token|secret|passw|auth|bearer|jwt|key|sig|cred|session/i.test(k)) u.searchParams.set(k, '***');
  return redactText(pathPart + u.search).slice(0, 2048);
}

function parseJsonObject(t: string): Record<string, unknown> | undefined {
  if (t.trim() === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    throw new ApiError(400, 'request body is not valid JSON', [{ path: '', message: (e as Error).message }]);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
    throw new ApiError(400, 'request body must be a JSON object', [{ path: '', message: `send a JSON object, got ${got}` }]);
  }
  return v as Record<string, unknown>;
}

/**
 * Reads the body. Past `max` bytes the rest is read and thrown away (up to 8× the limit), so the 413
 * answer reaches a client that is still sending; beyond that the answer is sent and the connection
 * closed. The request timeout bounds how long this can take.
 */
function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () => new ApiError(413, 'request body too large', { max_bytes: max });
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max * 8) {
      req.resume();
      reject(tooLarge());
      return;
    }
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
      else if (chunks.length) chunks.length = 0; // discard: only the 413 will be answered
      if (size > max * 8) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
      }
    });
    req.on('end', () => (size > max ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
    // Cut by the request timeout or by the client: nothing more will come (rejecting twice is a no-op).
    req.on('close', () => {
      if (!req.complete) reject(new ApiError(408, 'request body incomplete: the connection closed or timed out'));
    });
  });
}
