/**
 * Test helpers for the simulator conformance suite: a raw SUBSCRIBE stream reader (node:http +
 * RecordIODecoder) and a plain HTTP call function. This is test code, not a scheduler client.
 */
import http from 'node:http';
import { jsonCodec, protobufCodec, type Codec } from '../../src/mesos/codec.js';
import { RecordIODecoder } from '../../src/mesos/recordio.js';
import type { Event } from '../../src/mesos/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { startSim, type Sim, type SimOptions } from '../../src/sim/index.js';

export const EVENT = 'mesos.v1.scheduler.Event';
export const CALL = 'mesos.v1.scheduler.Call';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export function request(
  url: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpResult> {
  const u = new URL(opts.path ?? '/', url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** POSTs a scheduler call (JSON by default) to /api/v1/scheduler. */
export function call(url: string, body: object | string | Buffer, o: { streamId?: string; contentType?: string | null; accept?: string; path?: string; method?: string } = {}): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  const ct = o.contentType === undefined ? 'application/json' : o.contentType;
  if (ct !== null) headers['Content-Type'] = ct;
  if (o.accept) headers['Accept'] = o.accept;
  if (o.streamId) headers['Mesos-Stream-Id'] = o.streamId;
  let payload: string | Buffer;
  if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
  else if (ct === 'application/x-protobuf') payload = protobufCodec.encode(CALL, body);
  else payload = jsonCodec.encode(CALL, body);
  return request(url, { method: o.method ?? 'POST', path: o.path ?? '/api/v1/scheduler', headers, body: payload });
}

export class Stream {
  readonly events: Event[] = [];
  readonly raw: Buffer[] = [];
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  ended = false;
  private waiters: Array<() => void> = [];
  private req: http.ClientRequest | undefined;
  private res: http.IncomingMessage | undefined;
  private cursor = 0;
  body = Buffer.alloc(0);

  get streamId(): string {
    return String(this.headers['mesos-stream-id'] ?? '');
  }

  get frameworkId(): string {
    const s = this.events.find((e) => e.type === 'SUBSCRIBED');
    return s?.subscribed?.framework_id.value ?? '';
  }

  static open(
    url: string,
    body: object | string | Buffer,
    o: { accept?: string; contentType?: string; headers?: Record<string, string>; path?: string } = {},
  ): Promise<Stream> {
    const s = new Stream();
    const ct = o.contentType ?? 'application/json';
    const codec: Codec = (o.accept ?? 'application/json') === 'application/x-protobuf' ? protobufCodec : jsonCodec;
    const payload =
      typeof body === 'string' || Buffer.isBuffer(body) ? body : ct === 'application/x-protobuf' ? protobufCodec.encode(CALL, body) : jsonCodec.encode(CALL, body);
    const u = new URL(o.path ?? '/api/v1/scheduler', url);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'Content-Type': ct, ...(o.headers ?? {}) };
      if (o.accept) headers['Accept'] = o.accept;
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers, agent: false }, (res) => {
        s.res = res;
        s.status = res.statusCode ?? 0;
        s.headers = res.headers;
        const dec = new RecordIODecoder();
        const decoder: Codec = String(res.headers['content-type']).startsWith('application/x-protobuf') ? protobufCodec : codec;
        res.on('data', (c: Buffer) => {
          s.body = Buffer.concat([s.body, c]);
          if (s.status !== 200) return;
          for (const rec of dec.push(c)) {
            s.raw.push(rec);
            s.events.push(decoder.decode<Event>(EVENT, rec));
          }
          s.wake();
        });
        res.on('end', () => {
          s.ended = true;
          s.wake();
        });
        res.on('close', () => {
          s.ended = true;
          s.wake();
        });
        res.on('error', () => {
          s.ended = true;
          s.wake();
        });
        resolve(s);
      });
      s.req = req;
      req.on('error', (e) => {
        if (s.status === 0) reject(e);
        s.ended = true;
        s.wake();
      });
      req.write(payload);
      req.end();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitChange(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Next unread event (optionally of a type, skipping HEARTBEATs unless asked); fails after timeoutMs real time. */
  async next(type?: string, timeoutMs = 2000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.events.length) {
        const e = this.events[this.cursor++]!;
        if (type === undefined ? e.type !== 'HEARTBEAT' : e.type === type) return e;
      }
      if (this.ended) throw new Error(`stream ended while waiting for ${type ?? 'an event'}`);
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.waitChange(left))) {
        throw new Error(`timeout waiting for ${type ?? 'an event'}; got ${this.events.map((e) => e.type).join(',')}`);
      }
    }
  }

  /** Resolves true if no event of `type` (default any non-heartbeat) arrives within `ms` real time. */
  async none(type?: string, ms = 100): Promise<boolean> {
    const start = this.cursor;
    await new Promise((r) => setTimeout(r, ms));
    for (let i = start; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (type === undefined ? e.type !== 'HEARTBEAT' : e.type === type) return false;
    }
    return true;
  }

  /** Marks everything received so far as read. */
  drain(): Event[] {
    const out = this.events.slice(this.cursor);
    this.cursor = this.events.length;
    return out;
  }

  async waitEnd(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.waitChange(left))) throw new Error('timeout waiting for stream end');
    }
  }

  destroy(): void {
    this.req?.destroy();
    this.res?.destroy();
    this.ended = true;
  }
}

export function frameworkInfo(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { user: 'test', name: 'sim-test', ...extra };
}

export function subscribeCall(info: Record<string, unknown> = frameworkInfo(), frameworkId?: string): Record<string, unknown> {
  const c: Record<string, unknown> = { type: 'SUBSCRIBE', subscribe: { framework_info: info } };
  if (frameworkId) {
    c['framework_id'] = { value: frameworkId };
    (c['subscribe'] as { framework_info: Record<string, unknown> }).framework_info = { ...info, id: { value: frameworkId } };
  }
  return c;
}

/** Lets pending event-loop work (immediate allocations, socket writes) happen. */
export async function tick(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

export async function withSim<T>(opts: SimOptions, fn: (sim: Sim, clock: VirtualClock) => Promise<T>): Promise<T> {
  const clock = (opts.clock as VirtualClock | undefined) ?? new VirtualClock();
  const sim = await startSim({ seed: 42, ...opts, clock });
  try {
    return await fn(sim, clock);
  } finally {
    await sim.close();
  }
}

/** Subscribes and reads SUBSCRIBED + HEARTBEAT; returns the stream. */
export async function subscribed(url: string, info: Record<string, unknown> = frameworkInfo(), o: { accept?: string } = {}): Promise<Stream> {
  const s = await Stream.open(url, subscribeCall(info), o);
  await s.next('SUBSCRIBED');
  await s.next('HEARTBEAT');
  return s;
}

export function taskInfo(
  id: string,
  agentId: { value: string },
  o: { cpus?: number; mem?: number; labels?: Record<string, string>; command?: string; role?: string; killGraceSeconds?: number; extra?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const res = (name: string, value: number): Record<string, unknown> => {
    const r: Record<string, unknown> = { name, type: 'SCALAR', scalar: { value } };
    if (o.role !== undefined) r['allocation_info'] = { role: o.role };
    return r;
  };
  const t: Record<string, unknown> = {
    name: id,
    task_id: { value: id },
    agent_id: agentId,
    resources: [res('cpus', o.cpus ?? 0.5), res('mem', o.mem ?? 64)],
    command: { value: o.command ?? 'sleep 1000', shell: true },
    ...(o.extra ?? {}),
  };
  if (o.labels) t['labels'] = { labels: Object.entries(o.labels).map(([key, value]) => ({ key, value })) };
  if (o.killGraceSeconds !== undefined) t['kill_policy'] = { grace_period: { nanoseconds: BigInt(o.killGraceSeconds * 1e9) } };
  return t;
}

export function acceptCall(fid: string, offerIds: Array<{ value: string }>, tasks: Array<Record<string, unknown>>, filters?: Record<string, unknown>): Record<string, unknown> {
  const accept: Record<string, unknown> = { offer_ids: offerIds, operations: tasks.length ? [{ type: 'LAUNCH', launch: { task_infos: tasks } }] : [] };
  if (filters) accept['filters'] = filters;
  return { framework_id: { value: fid }, type: 'ACCEPT', accept };
}

/** POSTs a call on behalf of the framework subscribed on `s`; expects 202. */
export async function send(url: string, s: Stream, body: Record<string, unknown>): Promise<HttpResult> {
  const r = await call(url, { framework_id: { value: s.frameworkId }, ...body }, { streamId: s.streamId });
  if (r.status !== 202 && r.status !== 200) throw new Error(`call ${String(body['type'])} -> ${r.status} ${r.text}`);
  return r;
}

export async function ack(url: string, s: Stream, status: { agent_id?: { value: string }; task_id: { value: string }; uuid?: Uint8Array }): Promise<void> {
  await send(url, s, { type: 'ACKNOWLEDGE', acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid } });
}

/** Advances the virtual clock in steps, letting socket I/O flow between steps. */
export async function advance(clock: VirtualClock, ms: number, step = 1000): Promise<void> {
  let left = ms;
  while (left > 0) {
    const d = Math.min(step, left);
    await clock.advance(d);
    await tick(3);
    left -= d;
  }
}
