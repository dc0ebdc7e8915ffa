/**
 * The coordinator client: asks a service's coordinator whether one instance may go now (protocol in
 * src/sla/coordinator.ts). I/O at the edge: the runtime calls `ask` for the questions a plan puts in
 * `decideKills(...).ask` and feeds the answers back into the loop; nothing here decides a kill.
 *
 * Safety: every failure is a "no" with a reason, never an exception — a timeout (the whole exchange,
 * connect to last byte, within the policy's `timeout_seconds`), a refused or reset connection, a
 * non-2xx status, a redirect (never followed), a body above 64 KiB (stopped reading at the limit),
 * a body that is not a JSON object saying `"allow": true`. At most `maxConcurrent` questions are in
 * flight (the rest wait in a bounded queue; a full queue answers no at once), and the same question
 * about the same task asked again while in flight shares the first answer. Credentials in the URL
 * are sent as HTTP Basic and redacted in every log line and reason (src/util/redact.ts).
 */
import http from 'node:http';
import https from 'node:https';
import type { CoordinatorAnswer, CoordinatorQuestion, CoordinatorRef } from '../sla/index.js';
import { COORDINATOR_MAX_BODY_BYTES, parseCoordinatorReply } from '../sla/index.js';
import { redactText, redactUrl } from '../util/redact.js';

/** Where the client logs (a winston Logger fits). */
export interface CoordinatorLog {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export interface CoordinatorClientOptions {
  /** Questions in flight at once, over every coordinator (default 4). */
  maxConcurrent?: number;
  /** Questions waiting for a slot (default 256); beyond that, "no" at once. */
  maxQueued?: number;
  /** Largest answer body read (default 64 KiB). */
  maxBodyBytes?: number;
  log?: CoordinatorLog;
}

/** An answer with what was asked (the URL redacted) and how long it took. */
export type CoordinatorResult = CoordinatorAnswer & { url: string; question: CoordinatorQuestion; elapsed_ms: number };

export class CoordinatorClient {
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly maxBody: number;
  private readonly log: CoordinatorLog | undefined;
  private active = 0;
  private readonly queue: Array<() => void> = [];
  private readonly inFlight = new Map<string, Promise<CoordinatorResult>>();
  private readonly requests = new Set<http.ClientRequest>();
  private closed = false;

  constructor(opts: CoordinatorClientOptions = {}) {
    this.maxConcurrent = Math.max(1, opts.maxConcurrent ?? 4);
    this.maxQueued = Math.max(0, opts.maxQueued ?? 256);
    this.maxBody = Math.max(1, opts.maxBodyBytes ?? COORDINATOR_MAX_BODY_BYTES);
    this.log = opts.log;
  }

  /** Questions being asked now (for metrics and tests). */
  get activeCount(): number {
    return this.active;
  }

  /** Ask whether `q.task_id` may go now. Never rejects. */
  ask(ref: CoordinatorRef, q: CoordinatorQuestion): Promise<CoordinatorResult> {
    const key = `${ref.url}\u0000${q.task_id}\u0000${q.reason}`;
    const shared = this.inFlight.get(key);
    if (shared) return shared;
    const p = this.schedule(ref, q).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  /** Abort every question in flight (each answers no) and refuse new ones. */
  close(): void {
    this.closed = true;
    for (const r of this.requests) r.destroy(new Error('coordinator client closed'));
    const waiting = this.queue.splice(0);
    for (const w of waiting) w();
  }

  private async schedule(ref: CoordinatorRef, q: CoordinatorQuestion): Promise<CoordinatorResult> {
    const t0 = Date.now();
    const url = redactUrl(ref.url);
    if (this.closed) return this.done({ allow: false, reason: 'coordinator client closed' }, url, q, t0);
    if (this.active >= this.maxConcurrent) {
      if (this.queue.length >= this.maxQueued) return this.done({ allow: false, reason: `too many coordinator questions waiting (${this.queue.length})` }, url, q, t0);
      await new Promise<void>((resolve) => this.queue.push(resolve));
      if (this.closed) return this.done({ allow: false, reason: 'coordinator client closed' }, url, q, t0);
    }
    this.active++;
    try {
      const a = await this.exchange(ref, q);
      return this.done(a, url, q, t0);
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  private done(a: CoordinatorAnswer, url: string, question: CoordinatorQuestion, t0: number): CoordinatorResult {
    const safe: CoordinatorAnswer = a.allow ? a : { allow: false, reason: redactText(a.reason) };
    const meta = { event: 'coordinator_answer', job: question.job, instance: question.instance, task_id: question.task_id, host: question.host, url, allow: safe.allow, reason: safe.reason };
    if (safe.allow) this.log?.info(`coordinator allows ${question.job}[${question.instance}]`, meta);
    else this.log?.warn(`coordinator refuses ${question.job}[${question.instance}]: ${safe.reason}`, meta);
    return { ...safe, url, question, elapsed_ms: Date.now() - t0 };
  }

  /** One POST; resolves (never rejects) with the answer. */
  private exchange(ref: CoordinatorRef, q: CoordinatorQuestion): Promise<CoordinatorAnswer> {
    let u: URL;
    try {
      u = new URL(ref.url);
    } catch {
      return Promise.resolve({ allow: false, reason: 'coordinator URL is not valid' });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return Promise.resolve({ allow: false, reason: `coordinator URL scheme ${u.protocol} is not http(s)` });
    const body = Buffer.from(JSON.stringify({ job: q.job, instance: q.instance, host: q.host, task_id: q.task_id, reason: q.reason }));
    const timeoutMs = Math.max(1, Math.round(ref.timeout_seconds * 1000));
    const mod = u.protocol === 'https:' ? https : http;
    const opts: http.RequestOptions = {
      method: 'POST',
      protocol: u.protocol,
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || undefined,
      path: `${u.pathname}${u.search}`,
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), accept: 'application/json', 'user-agent': 'sluice-coordinator-client' },
    };
    if (u.username || u.password) opts.auth = `${safeDecode(u.username)}:${safeDecode(u.password)}`;
    return new Promise<CoordinatorAnswer>((resolve) => {
      let settled = false;
      const finish = (a: CoordinatorAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.requests.delete(req);
        resolve(a);
      };
      const req = mod.request(opts, (res) => {
        const status = res.statusCode ?? 0;
        const ct = res.headers['content-type'];
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.maxBody) {
          finish({ allow: false, reason: `coordinator answer too large (${declared} bytes > ${this.maxBody})` });
          req.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxBody) {
            finish({ allow: false, reason: `coordinator answer too large (over ${this.maxBody} bytes)` });
            req.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => finish(parseCoordinatorReply(status, Array.isArray(ct) ? ct[0] : ct, Buffer.concat(chunks).toString('utf8'))));
        res.on('aborted', () => finish({ allow: false, reason: 'coordinator closed the connection before the answer was complete' }));
        res.on('error', () => finish({ allow: false, reason: 'coordinator closed the connection before the answer was complete' }));
      });
      const timer = setTimeout(() => {
        finish({ allow: false, reason: `coordinator did not answer within ${ref.timeout_seconds}s` });
        req.destroy();
      }, timeoutMs);
      this.requests.add(req);
      req.on('error', (e: NodeJS.ErrnoException) => finish({ allow: false, reason: `coordinator unreachable: ${e.code ?? ''}${e.code ? ' ' : ''}${e.message}`.trim() }));
      req.end(body);
    });
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
