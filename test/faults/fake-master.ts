/**
 * A misbehaving "Mesos master", run as a REAL CHILD PROCESS by the fault suite:
 *
 *   node dist/test/faults/fake-master.js '<json FakeMasterConfig>'
 *
 * It listens on 127.0.0.1:0, prints one line `{"port":N}` on stdout, and serves:
 *  - POST /api/v1/scheduler (SUBSCRIBE): the misbehaviour named by `mode` (see FakeMasterMode);
 *  - GET /master/redirect: 307 to itself (as a leading master does);
 *  - GET /_faults/stats: what it saw ({subscribes: [ms since start], authorization: [...], ...}).
 *
 * It knows just enough Mesos to frame events (RecordIO + the JSON codec of src/mesos); it is
 * not the simulator and never tries to be a correct master.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { jsonCodec } from '../../src/mesos/codec.js';
import { encodeRecord } from '../../src/mesos/recordio.js';
import type { Event } from '../../src/mesos/types.js';

export type FakeMasterMode =
  /** SUBSCRIBED, then the TCP connection is cut. */
  | 'drop-after-subscribed'
  /** SUBSCRIBED + heartbeats every heartbeatSeconds; cut after `dropAfterMs` if given. */
  | 'healthy'
  /** SUBSCRIBED + one HEARTBEAT, then the response ends cleanly (terminating chunk). */
  | 'end-after-subscribed'
  /** 200 + headers, then the SUBSCRIBED record one byte every `dripMs`. */
  | 'slow-drip'
  /** SUBSCRIBED, then a record that never completes, one byte every `dripMs`. */
  | 'drip-after-subscribed'
  /** Reads the request and never answers (no headers). */
  | 'no-headers'
  /** 200, then `garbage` as raw stream bytes (after SUBSCRIBED when `garbageAfterSubscribed`). */
  | 'garbage'
  /** SUBSCRIBED, then one MESSAGE event whose record is `hugeBytes` long (or only its length prefix with `prefixOnly`). */
  | 'huge-record'
  /** Every SUBSCRIBE is answered 307 to this very master. */
  | 'redirect-loop'
  /** Every SUBSCRIBE is answered `status` with a text body. */
  | 'status'
  /** 200 with Content-Type text/html and an HTML body. */
  | 'wrong-content-type';

export interface FakeMasterConfig {
  mode: FakeMasterMode;
  frameworkId?: string;
  heartbeatSeconds?: number;
  dripMs?: number;
  dropAfterMs?: number;
  garbage?: string;
  garbageAfterSubscribed?: boolean;
  hugeBytes?: number;
  /** `message` (default): MESSAGE with base64 data; `padded`: a HEARTBEAT padded with JSON whitespace. */
  hugeKind?: 'message' | 'padded';
  prefixOnly?: boolean;
  status?: number;
}

export interface FakeMasterStats {
  subscribes: number[];
  authorization: Array<string | undefined>;
  redirectProbes: number;
}

const EVENT = 'mesos.v1.scheduler.Event';
const config = JSON.parse(process.argv[2] ?? '{}') as FakeMasterConfig;
const t0 = Date.now();
const stats: FakeMasterStats = { subscribes: [], authorization: [], redirectProbes: 0 };
let streams = 0;

function record(ev: Event): Buffer {
  return encodeRecord(jsonCodec.encode(EVENT, ev));
}

function subscribed(): Buffer {
  return record({
    type: 'SUBSCRIBED',
    subscribed: {
      framework_id: { value: config.frameworkId ?? 'fault-fw-0000' },
      heartbeat_interval_seconds: config.heartbeatSeconds ?? 1,
      master_info: { id: 'fault-master', ip: 16777343, port: 5050, hostname: '127.0.0.1' },
    },
  });
}

/**
 * A framed record of exactly `total` bytes: a MESSAGE whose base64 data fills it, or (`padded`) a
 * HEARTBEAT followed by JSON whitespace (cheap to decode: what remains is the framing's cost).
 */
function hugeRecord(total: number, kind: 'message' | 'padded'): Buffer {
  const head = kind === 'padded' ? '{"type":"HEARTBEAT"' : '{"type":"MESSAGE","message":{"agent_id":{"value":"a1"},"executor_id":{"value":"e1"},"data":"';
  const tail = kind === 'padded' ? '}' : '"}}';
  let payloadLen = total - 12; // the prefix is at most ~9 digits + "\n"; fixed below
  for (;;) {
    const framed = String(payloadLen).length + 1 + payloadLen;
    if (framed === total) break;
    payloadLen += total - framed;
  }
  let dataLen = kind === 'padded' ? 0 : payloadLen - head.length - tail.length;
  dataLen -= dataLen % 4; // whole base64 quanta
  const payload = Buffer.alloc(payloadLen, 0x20); // spaces are valid JSON whitespace
  payload.write(head, 0, 'latin1');
  payload.fill(0x41, head.length, head.length + dataLen); // 'A' = base64 of zero bits
  payload.write(tail, kind === 'padded' ? payloadLen - tail.length : head.length + dataLen, 'latin1');
  return Buffer.concat([Buffer.from(`${payloadLen}\n`, 'latin1'), payload]);
}

function openStream(res: http.ServerResponse, contentType = 'application/json'): void {
  res.writeHead(200, { 'Content-Type': contentType, 'Mesos-Stream-Id': `fault-stream-${++streams}`, 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
}

/** Writes `buf` respecting backpressure. */
async function writeAll(res: http.ServerResponse, buf: Buffer): Promise<void> {
  const step = 1 << 20;
  for (let i = 0; i < buf.length && !res.destroyed; i += step) {
    if (!res.write(buf.subarray(i, i + step))) await new Promise((r) => res.once('drain', r));
  }
}

function drip(res: http.ServerResponse, bytes: Buffer): void {
  let i = 0;
  const timer = setInterval(() => {
    if (res.destroyed || i >= bytes.length) return clearInterval(timer);
    res.write(bytes.subarray(i, ++i));
  }, config.dripMs ?? 1000);
  res.on('close', () => clearInterval(timer));
}

async function subscribe(req: http.IncomingMessage, res: http.ServerResponse, self: string): Promise<void> {
  switch (config.mode) {
    case 'drop-after-subscribed':
      openStream(res);
      res.write(subscribed());
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    case 'healthy': {
      openStream(res);
      res.write(subscribed());
      const hb = setInterval(() => res.write(record({ type: 'HEARTBEAT' })), (config.heartbeatSeconds ?? 1) * 1000);
      res.on('close', () => clearInterval(hb));
      if (config.dropAfterMs !== undefined) setTimeout(() => res.socket?.destroy(), config.dropAfterMs);
      return;
    }
    case 'end-after-subscribed':
      openStream(res);
      res.write(subscribed());
      res.end(record({ type: 'HEARTBEAT' }));
      return;
    case 'slow-drip':
      openStream(res);
      drip(res, subscribed());
      return;
    case 'drip-after-subscribed':
      openStream(res);
      res.write(subscribed());
      drip(res, Buffer.from('1000000\n' + '{"type":"HEARTBEAT"'.padEnd(1_000_000, ' '), 'latin1'));
      return;
    case 'no-headers':
      return; // the socket stays open, silent
    case 'garbage':
      openStream(res);
      if (config.garbageAfterSubscribed) res.write(subscribed());
      res.write(Buffer.from(config.garbage ?? 'garbage\n', 'latin1'));
      return;
    case 'huge-record': {
      openStream(res);
      res.write(subscribed());
      const total = config.hugeBytes ?? 1 << 20;
      if (config.prefixOnly) {
        res.write(`${total}\n{"type":"MESSAGE"`);
        return; // and then silence: a declared size must not be allocated before the bytes come
      }
      await writeAll(res, hugeRecord(total, config.hugeKind ?? 'message'));
      res.write(record({ type: 'HEARTBEAT' }));
      return;
    }
    case 'redirect-loop':
      res.writeHead(307, { Location: `//${self}/api/v1/scheduler` });
      res.end();
      return;
    case 'status':
      res.writeHead(config.status ?? 500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Internal fault injected by the fake master');
      return;
    case 'wrong-content-type':
      openStream(res, 'text/html; charset=utf-8');
      res.end('<html><body>Welcome to nginx!</body></html>');
      return;
  }
}

const sockets = new Set<Socket>();
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const path = (req.url ?? '/').split('?')[0];
    const self = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (path === '/_faults/stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    if (path === '/master/redirect') {
      stats.redirectProbes++;
      res.writeHead(307, { Location: `//${self}` });
      res.end();
      return;
    }
    if (path === '/api/v1/scheduler' && req.method === 'POST') {
      const body = Buffer.concat(chunks).toString('utf8');
      if (body.includes('"SUBSCRIBE"')) {
        stats.subscribes.push(Date.now() - t0);
        stats.authorization.push(req.headers.authorization);
        void subscribe(req, res, self).catch(() => res.destroy());
        return;
      }
      res.writeHead(202);
      res.end();
      return;
    }
    res.writeHead(404);
    res.end();
  });
});
server.on('connection', (s: Socket) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
// the parent ends us with SIGTERM; also exit when it goes away
const shutdown = () => {
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
