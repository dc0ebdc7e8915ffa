/**
 * Raw HTTP for the hostile-input suite: node:http with full control of Host, Origin and
 * Content-Type (fetch decides those itself), and bare sockets for slow and many connections.
 */
import http from 'node:http';
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RawRequest {
  method?: string;
  path: string;
  /** `undefined` values are left out; `host: undefined` with `noHost` sends no Host header at all. */
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
  /** Send no Host header (as an HTTP/1.0 client would). */
  noHost?: boolean;
}

/** Every answer seen by `request`, so a test can check a property of all of them (e.g. no CORS). */
export const seen: RawResponse[] = [];

export function request(base: string, r: RawRequest): Promise<RawResponse> {
  const u = new URL(base);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) if (v !== undefined) headers[k] = v;
  if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: r.method ?? 'GET', path: r.path, headers, setHost: !r.noHost && !('host' in headers), agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          const out = { status: res.statusCode ?? 0, headers: res.headers, text, body };
          seen.push(out);
          resolve(out);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

export interface SocketOutcome {
  /** Milliseconds from connecting until the server closed the connection. */
  closedAfterMs: number;
  /** Everything the server sent. */
  received: string;
}

/**
 * Opens a socket, writes `head`, then `drip` one byte every `everyMs` until the server closes the
 * connection (or `giveUpMs` passes, which resolves with closedAfterMs = Infinity).
 */
export function trickle(port: number, head: string, drip: string, everyMs: number, giveUpMs: number): Promise<SocketOutcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    let received = '';
    let i = 0;
    const s = net.connect(port, '127.0.0.1');
    let timer: NodeJS.Timeout | undefined;
    const done = (closedAfterMs: number) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      s.destroy();
      resolve({ closedAfterMs, received });
    };
    const giveUp = setTimeout(() => done(Infinity), giveUpMs);
    s.on('data', (d: Buffer) => (received += d.toString('utf8')));
    s.on('error', () => undefined);
    s.on('close', () => done(Date.now() - started));
    s.on('connect', () => {
      s.write(head);
      timer = setInterval(() => {
        if (s.destroyed || !s.writable) return;
        s.write(drip[i % drip.length]!);
        i++;
      }, everyMs);
    });
  });
}

/** Opens `n` idle sockets; resolves once all are connected. */
export async function openIdle(port: number, n: number): Promise<Array<{ socket: net.Socket; closed: () => boolean }>> {
  const out: Array<{ socket: net.Socket; closed: () => boolean }> = [];
  await Promise.all(
    Array.from({ length: n }, () => {
      return new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let closed = false;
        socket.on('error', () => undefined);
        socket.on('close', () => (closed = true));
        socket.on('connect', () => resolve());
        socket.on('close', () => resolve());
        out.push({ socket, closed: () => closed });
      });
    }),
  );
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms for up to `maxMs` of real time. */
export async function eventually(cond: () => boolean, maxMs: number): Promise<boolean> {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}
