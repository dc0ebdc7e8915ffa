/**
 * The operator HTTP API server (node:http, JSON).
 *
 * Security: it binds to 127.0.0.1 by default. Binding anything that is not loopback requires a
 * token (--api-token / SLUICE_API_TOKEN); once a token is configured (on any address), every
 * request must carry `Authorization: Bearer <token>` (401 otherwise).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { safeStringify, nullLogger, type Logger } from '../util/logger.js';
import { ApiError, type ApiRequest, type ApiResult, type Router } from './router.js';

export interface ApiServerOptions {
  /** `host:port` (port 0 = any free port). Default 127.0.0.1:5070. */
  listen: string;
  token?: string;
  router: Router;
  logger?: Logger;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface ApiServer {
  readonly host: string;
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:5070 */
  readonly url: string;
  close(): Promise<void>;
}

export class ApiConfigError extends Error {
  override readonly name = 'ApiConfigError';
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(listen.trim());
  if (!m) throw new ApiConfigError(`API listen address ${JSON.stringify(listen)} is not host:port (e.g. 127.0.0.1:5070)`);
  const port = Number(m[2]);
  if (port > 65535) throw new ApiConfigError(`API listen port ${port} is out of range`);
  return { host: m[1] || '127.0.0.1', port };
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const a = crypto.createHash('sha256').update(m[1]!).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { host, port } = parseListen(opts.listen);
  const token = opts.token && opts.token.length ? opts.token : undefined;
  if (!isLoopback(host) && !token) {
    throw new ApiConfigError(
      `Refusing to serve the operator API on ${host}:${port} without a token: it is not a loopback address. ` +
        `Set --api-token or SLUICE_API_TOKEN, or listen on 127.0.0.1.`,
    );
  }
  const log = opts.logger ?? nullLogger();
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;

  const server = http.createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    let status = 500;
    const send = (r: ApiResult) => {
      status = r.status;
      const headers: Record<string, string> = { 'cache-control': 'no-store', ...r.headers };
      let payload: string | undefined;
      if (r.text !== undefined) {
        payload = r.text;
        headers['content-type'] ??= 'text/plain; charset=utf-8';
      } else if (r.body !== undefined) {
        payload = safeStringify(r.body) + '\n';
        headers['content-type'] = 'application/json; charset=utf-8';
      }
      if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
      res.writeHead(r.status, headers);
      res.end(req.method === 'HEAD' ? undefined : payload);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://sluice');
      if (token && !tokenMatches(req.headers.authorization, token)) {
        throw new ApiError(401, 'unauthorized', 'this API requires "Authorization: Bearer <token>" (see --api-token / SLUICE_API_TOKEN)');
      }
      const m = opts.router.match(req.method ?? 'GET', url.pathname);
      if (m.kind === 'none') throw new ApiError(404, 'not found', { path: url.pathname });
      if (m.kind === 'method') {
        send({ status: 405, body: { error: 'method not allowed', details: { allowed: m.allowed } }, headers: { allow: m.allowed.join(', ') } });
        return;
      }
      let bodyText: Promise<string> | undefined;
      const text = () => (bodyText ??= readBody(req, maxBody));
      const apiReq: ApiRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        params: m.params,
        query: url.searchParams,
        headers: req.headers,
        text,
        async json() {
          const t = await text();
          if (t.trim() === '') return undefined;
          try {
            return JSON.parse(t) as unknown;
          } catch (e) {
            throw new ApiError(400, 'request body is not valid JSON', (e as Error).message);
          }
        },
      };
      send(await m.handler(apiReq));
    } catch (e) {
      if (e instanceof ApiError) send({ status: e.status, body: e.details === undefined ? { error: e.error } : { error: e.error, details: e.details } });
      else {
        log.error('api_error', { event: 'api_error', method: req.method, path: req.url, error: (e as Error)?.message ?? String(e) });
        if (!res.headersSent) send({ status: 500, body: { error: 'internal error', details: (e as Error)?.message ?? String(e) } });
        else res.destroy();
      }
    } finally {
      log.debug('api_request', { event: 'api_request', method: req.method, path: req.url, status, ms: Date.now() - started });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  log.info('api_listening', { event: 'api_listening', address: `${urlHost}:${addr.port}`, token: token ? 'required' : 'none' });
  return {
    host: addr.address,
    port: addr.port,
    url: `http://${urlHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new ApiError(413, 'request body too large', { max_bytes: max }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
