/**
 * A scripted loopback "Mesos master" for client tests: a node:http server whose every answer the
 * test controls byte for byte (307s, 503s, streams cut mid-record, silence instead of heartbeats),
 * and which records every request it receives (method, path, headers, body, decoded Call).
 *
 * This is test code, not the simulator (src/sim): it knows nothing about Mesos semantics.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { jsonCodec, protobufCodec, type Codec } from '../../src/mesos/codec.js';
import { encodeRecord } from '../../src/mesos/recordio.js';
import type { Call, Event } from '../../src/mesos/types.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Decoded scheduler Call, when the path is the scheduler API and the body decodes. */
  call?: Call;
  at: number;
}

export type SubscribeHandler = (req: RecordedRequest, stream: StreamControl) => void | Promise<void>;
export type CallHandler = (req: RecordedRequest, res: http.ServerResponse) => void | Promise<void>;
export type RawHandler = (req: RecordedRequest, res: http.ServerResponse) => void | Promise<void>;

let streamCounter = 0;

/** Control over one SUBSCRIBE response. */
export class StreamControl {
  readonly streamId: string;
  readonly codec: Codec;
  /** Resolves when the connection closes (client abort, cut, end). */
  readonly closed: Promise<void>;
  private isClosed = false;

  constructor(
    readonly req: RecordedRequest,
    readonly res: http.ServerResponse,
  ) {
    this.codec = req.headers['accept'] === 'application/x-protobuf' ? protobufCodec : jsonCodec;
    this.streamId = `stream-${++streamCounter}-${Math.random().toString(16).slice(2, 10)}`;
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.isClosed = true;
        resolve();
      };
      res.on('close', done);
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** 200 with the stream headers (chunked). */
  open(opts: { streamId?: string; contentType?: string } = {}): this {
    const headers: Record<string, string> = {
      'Content-Type': opts.contentType ?? this.codec.mediaType,
      'Transfer-Encoding': 'chunked',
    };
    const sid = opts.streamId ?? this.streamId;
    if (sid) headers['Mesos-Stream-Id'] = sid;
    this.res.writeHead(200, headers);
    this.res.flushHeaders();
    return this;
  }

  /** Writes raw bytes as one HTTP chunk. */
  write(bytes: Uint8Array | string): this {
    if (this.isOpen) this.res.write(bytes);
    return this;
  }

  /** Writes bytes split at the given chunk sizes, yielding to the event loop between writes. */
  async writeChunked(bytes: Buffer, sizes: Iterable<number> | ((remaining: number) => number)): Promise<void> {
    let i = 0;
    const it = typeof sizes === 'function' ? undefined : sizes[Symbol.iterator]();
    while (i < bytes.length && this.isOpen) {
      const n = typeof sizes === 'function' ? sizes(bytes.length - i) : (it!.next().value as number | undefined) ?? bytes.length - i;
      const take = Math.max(1, Math.min(n, bytes.length - i));
      this.res.write(bytes.subarray(i, i + take));
      i += take;
      await new Promise((r) => setImmediate(r));
    }
  }

  record(ev: Event): Buffer {
    return encodeRecord(this.codec.encode('mesos.v1.scheduler.Event', ev));
  }

  event(ev: Event): this {
    return this.write(this.record(ev));
  }

  subscribed(frameworkId: string, heartbeatIntervalSeconds = 15): this {
    return this.event(subscribedEvent(frameworkId, heartbeatIntervalSeconds));
  }

  heartbeat(): this {
    return this.event({ type: 'HEARTBEAT' });
  }

  error(message: string): this {
    return this.event({ type: 'ERROR', error: { message } });
  }

  /** Destroys the TCP connection abruptly (no terminating chunk). */
  cut(): void {
    this.res.socket?.destroy();
  }

  /** Ends the response cleanly (terminating chunk): EOF for the client. */
  end(): void {
    if (this.isOpen) this.res.end();
  }
}

export function subscribedEvent(frameworkId: string, heartbeatIntervalSeconds = 15): Event {
  return {
    type: 'SUBSCRIBED',
    subscribed: {
      framework_id: { value: frameworkId },
      heartbeat_interval_seconds: heartbeatIntervalSeconds,
      master_info: { id: 'scripted-master', ip: 16777343, port: 5050, hostname: '127.0.0.1' },
    },
  };
}

export interface ScriptedMasterOptions {
  /** Default SUBSCRIBE handler: open, SUBSCRIBED with this framework id (default "fw-0000"), HEARTBEAT. */
  frameworkId?: string;
}

export class ScriptedMaster {
  readonly requests: RecordedRequest[] = [];
  readonly streams: StreamControl[] = [];
  private readonly subscribeQueue: SubscribeHandler[] = [];
  private readonly callQueue: CallHandler[] = [];
  private readonly sockets = new Set<Socket>();
  defaultSubscribe: SubscribeHandler;
  defaultCall: CallHandler = (_req, res) => {
    res.writeHead(202);
    res.end();
  };
  /** GET /master/redirect: default 307 to this master itself (as the leader does). */
  redirectHandler: RawHandler = (_req, res) => {
    res.writeHead(307, { Location: `//${this.hostPort}` });
    res.end();
  };
  /** Anything else. */
  otherHandler: RawHandler = (_req, res) => {
    res.writeHead(404);
    res.end();
  };
  frameworkId: string;

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    opts: ScriptedMasterOptions,
  ) {
    this.frameworkId = opts.frameworkId ?? 'fw-0000';
    this.defaultSubscribe = (req, s) => {
      const fid = req.call?.framework_id?.value ?? this.frameworkId;
      s.open().subscribed(fid).heartbeat();
    };
  }

  static async start(opts: ScriptedMasterOptions = {}): Promise<ScriptedMaster> {
    let master: ScriptedMaster | undefined;
    const server = http.createServer((req, res) => void master!.handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    master = new ScriptedMaster(server, (server.address() as AddressInfo).port, opts);
    server.on('connection', (s: Socket) => {
      master!.sockets.add(s);
      s.on('close', () => master!.sockets.delete(s));
    });
    return master;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Requests to the scheduler API carrying a SUBSCRIBE. */
  get subscribes(): RecordedRequest[] {
    return this.requests.filter((r) => r.call?.type === 'SUBSCRIBE');
  }

  /** Requests to the scheduler API other than SUBSCRIBE. */
  get calls(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === '/api/v1/scheduler' && r.call && r.call.type !== 'SUBSCRIBE');
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  /** The next SUBSCRIBE is answered by `h` (one-shot, FIFO); later ones fall back to defaultSubscribe. */
  onSubscribe(h: SubscribeHandler): this {
    this.subscribeQueue.push(h);
    return this;
  }

  /** The next non-SUBSCRIBE call is answered by `h` (one-shot, FIFO). */
  onCall(h: CallHandler): this {
    this.callQueue.push(h);
    return this;
  }

  /** Latest stream opened. */
  get lastStream(): StreamControl | undefined {
    return this.streams[this.streams.length - 1];
  }

  /** Resolves when `pred` holds (checked on every request and every 10 ms), rejects after `timeoutMs` real time. */
  async waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    return waitUntil(pred, timeoutMs, what);
  }

  async close(): Promise<void> {
    for (const s of this.streams) if (s.isOpen) s.res.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = (req.url ?? '/').split('?')[0]!;
    const rec: RecordedRequest = { method: req.method ?? '', path, headers: req.headers, body, at: Date.now() };
    if (path === '/api/v1/scheduler' || path === '/master/api/v1/scheduler') {
      const ct = req.headers['content-type'];
      const codec = ct === 'application/x-protobuf' ? protobufCodec : ct === 'application/json' ? jsonCodec : undefined;
      if (codec) {
        try {
          rec.call = codec.decode<Call>('mesos.v1.scheduler.Call', body);
        } catch {
          /* recorded undecoded */
        }
      }
    }
    this.requests.push(rec);
    try {
      if (rec.call?.type === 'SUBSCRIBE') {
        const stream = new StreamControl(rec, res);
        this.streams.push(stream);
        await (this.subscribeQueue.shift() ?? this.defaultSubscribe)(rec, stream);
      } else if (rec.call) {
        await (this.callQueue.shift() ?? this.defaultCall)(rec, res);
      } else if (path === '/master/redirect' || path === '/redirect') {
        await this.redirectHandler(rec, res);
      } else {
        await this.otherHandler(rec, res);
      }
    } catch (e) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    }
  }
}

/** Polls `pred` every 5 ms of real time. */
export async function waitUntil(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Answers with a status and a plain-text body, as a Mesos master does for errors. */
export function reply(status: number, body = '', headers: Record<string, string> = {}): CallHandler {
  return (_req, res) => {
    res.writeHead(status, body ? { 'Content-Type': 'text/plain; charset=utf-8', ...headers } : headers);
    res.end(body);
  };
}

/** 307 to another master, protocol-relative like Mesos (`//host:port/api/v1/scheduler`). */
export function redirectTo(hostPort: string, path = '/api/v1/scheduler'): CallHandler {
  return (_req, res) => {
    res.writeHead(307, { Location: `//${hostPort}${path}` });
    res.end();
  };
}
