/**
 * The live event feed: `GET /api/v1/events` as Server-Sent Events (issue #14).
 *
 *   id: <seq>            every durable audit entry (src/audit/types.ts), in seq order
 *   event: <kind>        host_transition, drain_kill, inverse_offer, … (an unknown kind: `audit`)
 *   data: <entry JSON>
 *
 * Resume: `Last-Event-ID` (what EventSource sends on reconnect) or `?since=N` (scripts; the header
 * wins when both are sent) replays the entries after N still in the journal's backlog, then follows
 * live. `?tail=N` starts N entries back (as far as the backlog goes). Without any, the feed starts
 * at the newest entry. When the entries after N are no longer all in the backlog (or N is newer than
 * anything this store has seen) the feed says so with `event: resync` (its `id` is where the feed
 * continues): the client reloads the state from the API instead of silently missing events.
 * `?follow=false` sends the backlog and ends.
 *
 * Views, not durable and without an id (a reconnect does not replay them): `event: hello` first
 * ({last_seq, first_seq, from}), and `event: progress` — hosts in maintenance with tasks left,
 * blockers and drain estimate ({full, hosts, removed}: the full list on connect, then only changes).
 * `: hb` comment lines keep proxies and clients from timing out.
 *
 * Memory per subscriber is bounded: entries are never queued per subscriber. When a write finds the
 * socket's buffer full, the subscriber is paused and later catches up from the journal itself; one
 * whose buffer stays full for `slowMs` (or whose backlog fell out of the journal meanwhile, then it
 * gets `resync`) is disconnected. Following streams are capped in total (503) and per identity (429).
 * Auth and origin checks are the API's (src/api/guard.ts), as for
 * every route; no CORS header is sent.
 */
import type { AuditEntry, Journal } from '../audit/types.js';
import { ApiError, type ApiRequest, type ApiResult, type ResponseStream, type Router } from './router.js';

/** One host in maintenance as the `progress` view carries it (a subset of GET /api/v1/hosts). */
export type ProgressHost = Record<string, unknown> & { hostname: string };

export interface EventFeedOptions {
  journal: Journal & { readonly firstSeq?: number };
  /** Comment line interval (default 15 s). */
  heartbeatMs?: number;
  /** A subscriber whose socket buffer stays full this long is disconnected (default 30 s). */
  slowMs?: number;
  /** Hard cap of bytes queued for one subscriber (default 1 MiB): beyond, it is disconnected at once. */
  maxBufferedBytes?: number;
  /** Subscribers at most (default 128; the API server's connection cap is 256): 503 beyond. */
  maxSubscribers?: number;
  /**
   * Following subscribers per identity (token name, or "local") at most (default 32): 429 beyond, so
   * one leaked or looping viewer token cannot take every stream from the other operators.
   */
  maxPerIdentity?: number;
  /** Hosts in maintenance with their progress (the `progress` view); none when absent. */
  progress?: () => Promise<readonly ProgressHost[] | undefined>;
  /** How often the progress view is recomputed while someone listens (default 2 s). */
  progressMs?: number;
}

export interface FeedStats {
  subscribers: number;
  paused: number;
  /** Disconnected because too slow, since the feed started. */
  dropped_slow: number;
  /** Most bytes ever seen queued for one subscriber. */
  max_buffered: number;
  resyncs: number;
}

interface Subscriber {
  out: ResponseStream;
  /** seq of the last entry written to this subscriber */
  sent: number;
  mode: 'catchup' | 'live' | 'paused' | 'closed';
  pausedAt: number;
  follow: boolean;
  /** needs the full progress list when it next goes live */
  needsFull: boolean;
  /** the principal's name (per-identity cap) */
  who: string;
}

const KIND_RE = /^[a-z][a-z0-9_]{0,39}$/;
const SEQ_RE = /^\d{1,15}$/;

/** The SSE frame of one audit entry. */
export function entryFrame(e: AuditEntry): string {
  const kind = typeof e.kind === 'string' && KIND_RE.test(e.kind) ? e.kind : 'audit';
  return `id: ${e.seq}\nevent: ${kind}\ndata: ${JSON.stringify(e)}\n\n`;
}

function viewFrame(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class EventFeed {
  private readonly subs = new Set<Subscriber>();
  private readonly opts: Required<Omit<EventFeedOptions, 'progress'>> & Pick<EventFeedOptions, 'progress'>;
  private unsubscribe: (() => void) | undefined;
  private housekeeping: ReturnType<typeof setInterval> | undefined;
  private progressTimer: ReturnType<typeof setInterval> | undefined;
  private progressSoon: ReturnType<typeof setTimeout> | undefined;
  private progressBusy = false;
  private lastBeat = Date.now();
  private readonly progressState = new Map<string, { json: string; host: ProgressHost }>();
  private progressKnown = false;
  private readonly counters = { dropped_slow: 0, max_buffered: 0, resyncs: 0 };

  constructor(opts: EventFeedOptions) {
    this.opts = { heartbeatMs: 15_000, slowMs: 30_000, maxBufferedBytes: 1024 * 1024, maxSubscribers: 128, maxPerIdentity: 32, progressMs: 2000, ...opts };
  }

  get journal(): EventFeedOptions['journal'] {
    return this.opts.journal;
  }

  stats(): FeedStats {
    let paused = 0;
    for (const s of this.subs) if (s.mode === 'paused') paused++;
    return { subscribers: this.subs.size, paused, ...this.counters };
  }

  /** The route handler: validates the request, then hands the stream to the feed. */
  handle(req: ApiRequest): ApiResult {
    const after = this.startAfter(req);
    const followRaw = req.query.get('follow');
    if (followRaw !== null && !/^(true|false|1|0)$/.test(followRaw)) {
      throw new ApiError(400, 'invalid query', [{ path: 'follow', message: 'must be true or false' }]);
    }
    const follow = followRaw === null || followRaw === 'true' || followRaw === '1';
    if (follow && this.subs.size >= this.opts.maxSubscribers) {
      throw new ApiError(503, 'too many event subscribers', { max: this.opts.maxSubscribers }, { 'retry-after': '10' });
    }
    const who = req.principal.name;
    if (follow) {
      let mine = 0;
      for (const s of this.subs) if (s.who === who) mine++;
      if (mine >= this.opts.maxPerIdentity) {
        throw new ApiError(429, 'too many event streams for this identity', { actor: who, max: this.opts.maxPerIdentity, message: 'close a stream (console tab, sluice events --follow) first' }, { 'retry-after': '10' });
      }
    }
    return {
      status: 200,
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
      stream: (out) => this.attach(out, after, follow, who),
    };
  }

  /** Ends every stream (shutdown). */
  close(): void {
    for (const s of [...this.subs]) s.out.end();
    this.subs.clear();
    this.idle();
  }

  private startAfter(req: ApiRequest): number {
    const j = this.opts.journal;
    const bad = (path: string, v: string) =>
      new ApiError(400, 'invalid event position', [{ path, message: `must be a whole number (an event id), got ${JSON.stringify(v.slice(0, 40))}` }]);
    const header = req.headers['last-event-id'];
    const h = Array.isArray(header) ? header[0] : header;
    if (h !== undefined && h.trim() !== '') {
      if (!SEQ_RE.test(h.trim())) throw bad('Last-Event-ID', h);
      return Number(h.trim());
    }
    const since = req.query.get('since');
    if (since !== null) {
      if (!SEQ_RE.test(since)) throw bad('since', since);
      return Number(since);
    }
    const tail = req.query.get('tail');
    if (tail !== null) {
      if (!SEQ_RE.test(tail)) throw bad('tail', tail);
      const from = Math.max(0, j.lastSeq - Number(tail));
      const first = j.firstSeq;
      return first !== undefined ? Math.max(from, first - 1) : from;
    }
    return j.lastSeq;
  }

  private attach(out: ResponseStream, after: number, follow: boolean, who: string): void {
    const sub: Subscriber = { out, sent: after, mode: 'catchup', pausedAt: 0, follow, needsFull: true, who };
    const j = this.opts.journal;
    out.write(`retry: 3000\n\n`);
    this.write(sub, viewFrame('hello', { last_seq: j.lastSeq, first_seq: j.firstSeq ?? null, from: after }));
    if (after > j.lastSeq) this.resync(sub, `event ${after} is newer than anything this Sluice has recorded (${j.lastSeq}): a different store?`);
    if (follow) {
      this.subs.add(sub);
      this.busy();
    }
    out.onClose(() => this.remove(sub));
    this.catchUp(sub);
  }

  private remove(sub: Subscriber): void {
    sub.mode = 'closed';
    if (this.subs.delete(sub) && this.subs.size === 0) this.idle();
  }

  private resync(sub: Subscriber, reason: string): void {
    const j = this.opts.journal;
    this.counters.resyncs++;
    sub.sent = j.lastSeq;
    this.write(sub, viewFrame('resync', { reason, last_seq: j.lastSeq, first_seq: j.firstSeq ?? null }, j.lastSeq));
  }

  /** Writes from the journal until caught up (then live) or the socket is full (then paused). */
  private catchUp(sub: Subscriber): void {
    if (sub.mode === 'closed') return;
    sub.mode = 'catchup';
    for (;;) {
      const list = this.opts.journal.since(sub.sent);
      if (list === 'gap') {
        this.resync(sub, `events after ${sub.sent} are no longer in the backlog: reload the state from the API`);
        continue;
      }
      if (!list.length) break;
      for (const e of list) {
        sub.sent = e.seq;
        if (!this.write(sub, entryFrame(e))) return this.pause(sub);
      }
    }
    if (!sub.follow) {
      sub.mode = 'closed';
      sub.out.end();
      return;
    }
    sub.mode = 'live';
    if (sub.needsFull && this.progressKnown) {
      sub.needsFull = false;
      if (!this.write(sub, viewFrame('progress', { full: true, hosts: [...this.progressState.values()].map((v) => v.host), removed: [] }))) this.pause(sub);
    }
  }

  private pause(sub: Subscriber): void {
    if (sub.mode === 'closed') return;
    sub.mode = 'paused';
    sub.pausedAt = Date.now();
    sub.out.onDrain(() => {
      if (sub.mode === 'paused') this.catchUp(sub);
    });
  }

  /** false when the subscriber must stop writing for now (or was cut). */
  private write(sub: Subscriber, frame: string): boolean {
    if (sub.mode === 'closed') return false;
    const ok = sub.out.write(frame);
    const queued = sub.out.buffered;
    if (queued > this.counters.max_buffered) this.counters.max_buffered = queued;
    if (queued > this.opts.maxBufferedBytes) {
      this.cut(sub);
      return false;
    }
    return ok;
  }

  private cut(sub: Subscriber): void {
    this.counters.dropped_slow++;
    sub.mode = 'closed';
    this.subs.delete(sub);
    sub.out.destroy();
    if (this.subs.size === 0) this.idle();
  }

  private onEntry(e: AuditEntry): void {
    const frame = entryFrame(e);
    for (const sub of [...this.subs]) {
      if (sub.mode !== 'live' || e.seq <= sub.sent) continue;
      sub.sent = e.seq;
      if (!this.write(sub, frame)) this.pause(sub);
    }
    // transitions change tasks left / blockers: refresh the progress view soon
    if (this.opts.progress && !this.progressSoon) {
      this.progressSoon = setTimeout(() => {
        this.progressSoon = undefined;
        void this.refreshProgress();
      }, 200);
      this.progressSoon.unref?.();
    }
  }

  private busy(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.opts.journal.subscribe((e) => this.onEntry(e));
    const tick = Math.max(10, Math.min(this.opts.heartbeatMs, this.opts.slowMs / 2, 1000));
    this.housekeeping = setInterval(() => this.housekeep(), tick);
    this.housekeeping.unref?.();
    if (this.opts.progress) {
      this.progressTimer = setInterval(() => void this.refreshProgress(), this.opts.progressMs);
      this.progressTimer.unref?.();
      void this.refreshProgress();
    }
  }

  private idle(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.housekeeping);
    clearInterval(this.progressTimer);
    clearTimeout(this.progressSoon);
    this.housekeeping = this.progressTimer = this.progressSoon = undefined;
    this.progressState.clear();
    this.progressKnown = false;
  }

  private housekeep(): void {
    const now = Date.now();
    const beat = now - this.lastBeat >= this.opts.heartbeatMs;
    if (beat) this.lastBeat = now;
    for (const sub of [...this.subs]) {
      if (sub.mode === 'paused' && now - sub.pausedAt >= this.opts.slowMs) this.cut(sub);
      else if (beat && sub.mode === 'live' && !this.write(sub, `: hb ${now}\n\n`)) this.pause(sub);
    }
  }

  private async refreshProgress(): Promise<void> {
    if (this.progressBusy || !this.opts.progress || !this.subs.size) return;
    this.progressBusy = true;
    let hosts: readonly ProgressHost[] | undefined;
    try {
      hosts = await this.opts.progress();
    } catch {
      hosts = undefined; // no master / stopping: the view waits for the next round
    } finally {
      this.progressBusy = false;
    }
    if (!hosts || !this.subs.size) return;
    const changed: ProgressHost[] = [];
    const seen = new Set<string>();
    for (const h of hosts) {
      seen.add(h.hostname);
      const json = JSON.stringify(h);
      if (this.progressState.get(h.hostname)?.json === json) continue;
      this.progressState.set(h.hostname, { json, host: h });
      changed.push(h);
    }
    const removed = [...this.progressState.keys()].filter((k) => !seen.has(k));
    for (const k of removed) this.progressState.delete(k);
    const first = !this.progressKnown;
    this.progressKnown = true;
    for (const sub of [...this.subs]) {
      if (sub.mode !== 'live') {
        sub.needsFull = true; // it misses this change: the whole list when it is live again
        continue;
      }
      const full = sub.needsFull || first;
      if (!full && !changed.length && !removed.length) continue;
      sub.needsFull = false;
      const data = full ? { full: true, hosts: [...this.progressState.values()].map((v) => v.host), removed: [] } : { full: false, hosts: changed, removed };
      if (!this.write(sub, viewFrame('progress', data))) this.pause(sub);
    }
  }
}

/** Mounts GET /api/v1/events. */
export function registerEventRoutes(router: Router, feed: EventFeed): void {
  router.get('/api/v1/events', (req) => feed.handle(req), {
    summary: 'Live event feed (Server-Sent Events): audit entries (id = seq, Last-Event-ID / ?since= resume), progress views',
    role: 'viewer',
  });
}
