/**
 * The read side of the audit trail and its retention (src/audit/types.ts has the contract):
 *
 *   GET /api/v1/audit?host=&actor=&kind=&since=&until=&after=&before=&limit=     role viewer
 *       → {entries, more, next_after?, prev_before?, first_seq, last_seq, now_ms}
 *
 * - `since`/`until`: ISO-8601, milliseconds since the epoch, or a duration ago (`1h`, `30m`, `7d`)
 *   on Sluice's clock; `kind`: comma-separated kinds; `limit` 1..1000 (default 100).
 * - Pages by seq (src/audit/query.ts): `after=SEQ` reads forward from SEQ (oldest first); without it
 *   the newest entries come back (oldest first), `before=SEQ` goes further back.
 * - Entries come from the runtime's journal (its in-memory backlog) and, for older ones, from the
 *   store's `audit` collection: both hold only durable entries, so an answer never shows an action
 *   that a crash could undo.
 *
 * Retention (`audit_retention`, count and/or age): a runtime extension prunes the oldest entries with
 * store deletes issued inside the loop (a batch of their own, at most PRUNE_BUDGET a tick); at start
 * it also removes stored entries that are not valid audit entries (store files are input too).
 *
 * `jobAudit` gives the audit entry of a job change (create/update/delete), written by the runtime in
 * the same batch as the change, so it is durable before the API answers.
 */
import { AUDIT_COLLECTION, AUDIT_KINDS, auditKey, seqOfKey, type AuditEntry, type AuditInput, type AuditKind } from '../audit/types.js';
import { auditPage, firstAfter, type AuditPage, type AuditQuery } from '../audit/query.js';
import { planPrune, PRUNE_BUDGET, pruneOps, type RetentionPolicy } from '../audit/retention.js';
import type { MemoryJournal } from '../audit/journal.js';
import type { CommandResult, SchedulerCommand } from '../scheduler/reducer.js';
import type { ExtensionContext, ExtensionStep, RuntimeExtension } from '../runtime/runtime.js';
import { ApiError, type ApiRequest, type Router } from './router.js';

export const MAX_AUDIT_LIMIT = 1000;
const QUERY_KEYS = ['host', 'actor', 'kind', 'since', 'until', 'after', 'before', 'limit'];

/** What the store offers the audit (SluiceRuntime's Store). */
interface StoreLike {
  get<T>(collection: string, key: string): T | undefined;
  list<T>(collection: string): Array<[string, T]>;
}

/** A stored audit entry is trusted only as far as its shape, and only under its own key. */
export function validStoredEntry(key: string, e: unknown): e is AuditEntry {
  if (!e || typeof e !== 'object') return false;
  const r = e as Partial<AuditEntry>;
  return (
    Number.isSafeInteger(r.seq) && (r.seq as number) > 0 && seqOfKey(key) === r.seq && typeof r.kind === 'string' && typeof r.ts_ms === 'number' && typeof r.actor === 'string'
  );
}

/** Retention: which entries the store holds, and the extension that prunes them. */
export class AuditRetention {
  /** Lowest seq that may still be held (readers ignore anything below it). */
  floor = 0;
  /** Held seqs known from the start (sorted), walked before the consecutive ones numbered since. */
  private initial: number[] = [];
  private pos = 0;
  private last = 0;
  private started = false;
  /** Highest seq claimed by the store at start: the journal's entries up to it came from there, unchecked. */
  bootTop = 0;

  constructor(readonly policy: RetentionPolicy) {}

  /** Learns what the store holds (once; the extension's onStart, or the first reader). */
  learn(store: StoreLike): string[] {
    if (this.started) return [];
    this.started = true;
    const bad: string[] = [];
    const seqs: number[] = [];
    let top = 0;
    for (const [k, v] of store.list<unknown>(AUDIT_COLLECTION)) {
      if (validStoredEntry(k, v)) seqs.push(v.seq);
      else bad.push(k);
      // the runtime numbers on from the highest seq it believes stored: walk up to any of them
      const claimed = (v as { seq?: unknown } | null)?.seq;
      top = Math.max(top, seqOfKey(k) ?? 0, Number.isSafeInteger(claimed) ? (claimed as number) : 0);
    }
    seqs.sort((a, b) => a - b);
    this.initial = seqs;
    this.pos = 0;
    this.last = top;
    this.bootTop = top;
    this.floor = seqs.length ? seqs[0]! : 0;
    return bad;
  }

  /** The oldest seq held (below `limit`, the journal's first), or null; moves the floor up to it. */
  oldestHeld(store: StoreLike, limit: number): number | null {
    for (let s = Math.max(1, this.floor), n = 0; s < limit && n < PRUNE_BUDGET; s++, n++) {
      if (store.get(AUDIT_COLLECTION, auditKey(s)) !== undefined) return (this.floor = s);
    }
    return limit <= this.last ? limit : null;
  }

  /** Oldest held seqs first: the known ones, then the contiguous seqs numbered since. */
  private *oldest(): Iterable<number> {
    for (let i = this.pos; i < this.initial.length; i++) yield this.initial[i]!;
    const known = this.initial.length ? this.initial[this.initial.length - 1]! + 1 : 1;
    for (let s = Math.max(this.floor, known); s <= this.last; s++) yield s;
  }

  /** The deletes due now (and moves the floor past them). */
  prune(store: StoreLike, now: number): ExtensionStep | undefined {
    const get = (s: number) => store.get<AuditEntry>(AUDIT_COLLECTION, auditKey(s));
    // entries numbered since: consecutive after the newest known (cost: the new ones only)
    while (get(this.last + 1) !== undefined) this.last++;
    const seqs = planPrune({ newest: this.last, oldest: () => this.oldest(), get }, this.policy, now);
    if (!seqs.length) return undefined;
    const top = seqs[seqs.length - 1]!;
    while (this.pos < this.initial.length && this.initial[this.pos]! <= top) this.pos++;
    this.floor = top + 1;
    return { storeOps: pruneOps(AUDIT_COLLECTION, seqs) };
  }

  extension(): RuntimeExtension {
    return {
      name: 'audit-retention',
      onStart: (ctx: ExtensionContext): ExtensionStep => {
        const bad = this.learn(ctx.store);
        const step = this.prune(ctx.store, ctx.now) ?? {};
        if (bad.length) {
          step.storeOps = [...(step.storeOps ?? []), ...bad.map((key) => ({ op: 'delete' as const, collection: AUDIT_COLLECTION, key }))];
          step.logs = [{ kind: 'log', level: 'warn', event: 'audit_invalid_entries_removed', fields: { count: bad.length, keys: bad.slice(0, 5).map((k) => k.slice(0, 40)) } }];
        }
        return step;
      },
      onTick: (ctx: ExtensionContext) => (this.started ? this.prune(ctx.store, ctx.now) : undefined),
    };
  }
}

/** Reads pages of the durable audit: the journal's backlog, and the store for what is older. */
export class AuditReader {
  constructor(
    private readonly journal: MemoryJournal,
    private readonly store: StoreLike,
    private readonly retention: AuditRetention,
  ) {}

  /**
   * The journal's entries, less those loaded at start that the store does not hold under their seq
   * (invalid stored entries: retention removes them from the store, the journal still has them).
   */
  private trusted<T extends AuditEntry[] | 'gap'>(es: T): T {
    if (es === 'gap') return es;
    const list = es as AuditEntry[];
    const boot = firstAfter(list, this.retention.bootTop);
    if (boot === 0) return es;
    const ok = (e: AuditEntry) => {
      const held = this.store.get<unknown>(AUDIT_COLLECTION, auditKey(e.seq));
      return validStoredEntry(auditKey(e.seq), held);
    };
    return [...list.slice(0, boot).filter(ok), ...list.slice(boot)] as T;
  }

  read(q: AuditQuery): AuditPage & { first_seq: number | null; last_seq: number } {
    this.retention.learn(this.store);
    const floor = this.retention.floor;
    const lastSeq = this.journal.lastSeq;
    const all = this.trusted(this.journal.since(Math.max(0, floor - 1)));
    if (all !== 'gap') return { ...auditPage(all, q), first_seq: all[0]?.seq ?? null, last_seq: lastSeq };
    // the journal holds only the newest entries: a page that lies within them needs nothing else
    const first = this.journal.firstSeq ?? lastSeq + 1;
    const oldest = this.retention.oldestHeld(this.store, first);
    const recent = this.journal.since(first - 1);
    const newest = recent === 'gap' ? [] : this.trusted(recent);
    if (q.after !== undefined && q.after >= first - 1) return { ...auditPage(newest, q), first_seq: oldest, last_seq: lastSeq };
    if (q.after === undefined && (q.before === undefined || q.before > first)) {
      const p = auditPage(newest, q);
      if (p.more) return { ...p, first_seq: oldest, last_seq: lastSeq };
    }
    const older = this.store
      .list<unknown>(AUDIT_COLLECTION)
      .filter((kv): kv is [string, AuditEntry] => validStoredEntry(kv[0], kv[1]) && kv[1].seq >= floor && kv[1].seq < first)
      .map(([, e]) => e)
      .sort((x, y) => x.seq - y.seq);
    return { ...auditPage([...older, ...newest], q), first_seq: oldest, last_seq: lastSeq };
  }
}

/** `since`/`until`: ISO-8601, ms since the epoch, or a duration ago (`90s`, `30m`, `2h`, `7d`, `1w`). */
export function parseAuditTime(v: string, now: number, name: string): number {
  const t = v.trim();
  const d = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i.exec(t);
  if (d) return now - Number(d[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[d[2]!.toLowerCase() as 's']!;
  if (/^\d{10,16}$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new ApiError(400, `invalid ${name}`, [{ path: name, message: `expected ISO-8601 (2026-05-01T10:00:00Z), ms since the epoch, or a duration ago (30m, 2h, 7d); got ${JSON.stringify(t.slice(0, 40))}` }]);
}

/** Checks the query string of GET /api/v1/audit (every problem at once). */
export function auditQuery(query: URLSearchParams, now: number): AuditQuery {
  const problems: Array<{ path: string; message: string }> = [];
  for (const k of new Set(query.keys())) {
    if (!QUERY_KEYS.includes(k)) problems.push({ path: k.slice(0, 40), message: `unknown query parameter; allowed: ${QUERY_KEYS.join(', ')}` });
    else if (query.getAll(k).length > 1) problems.push({ path: k, message: 'given more than once' });
  }
  const str = (k: string, max: number): string | undefined => {
    const v = query.get(k);
    if (v === null) return undefined;
    if (!v.trim() || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) {
      problems.push({ path: k, message: `must be 1 to ${max} printable characters` });
      return undefined;
    }
    return v.trim();
  };
  const seq = (k: string): number | undefined => {
    const v = query.get(k);
    if (v === null) return undefined;
    if (!/^\d{1,15}$/.test(v)) {
      problems.push({ path: k, message: `must be an audit seq (a whole number ≥ 0), got ${JSON.stringify(v.slice(0, 20))}` });
      return undefined;
    }
    return Number(v);
  };
  const time = (k: string): number | undefined => {
    const v = query.get(k);
    if (v === null) return undefined;
    try {
      return parseAuditTime(v, now, k);
    } catch (e) {
      problems.push(...(((e as ApiError).details as Array<{ path: string; message: string }>) ?? []));
      return undefined;
    }
  };
  const q: AuditQuery = { limit: 100 };
  const host = str('host', 253);
  if (host !== undefined) q.host = host;
  const actor = str('actor', 64);
  if (actor !== undefined) q.actor = actor;
  const kind = str('kind', 500);
  if (kind !== undefined) {
    const kinds = kind.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = kinds.filter((k) => !(AUDIT_KINDS as string[]).includes(k));
    if (unknown.length) problems.push({ path: 'kind', message: `unknown kind(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 30))).join(', ')}; kinds: ${AUDIT_KINDS.join(', ')}` });
    else q.kinds = kinds as AuditKind[];
  }
  const since = time('since');
  if (since !== undefined) q.sinceMs = since;
  const until = time('until');
  if (until !== undefined) q.untilMs = until;
  if (since !== undefined && until !== undefined && until < since) problems.push({ path: 'until', message: 'is before since' });
  const after = seq('after');
  const before = seq('before');
  if (after !== undefined && before !== undefined) problems.push({ path: 'before', message: 'give after (read forward) or before (read back), not both' });
  if (after !== undefined) q.after = after;
  if (before !== undefined) q.before = before;
  const limit = query.get('limit');
  if (limit !== null) {
    if (!/^\d{1,5}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_AUDIT_LIMIT) problems.push({ path: 'limit', message: `must be a whole number from 1 to ${MAX_AUDIT_LIMIT}` });
    else q.limit = Number(limit);
  }
  if (problems.length) throw new ApiError(400, 'invalid audit query', problems);
  return q;
}

export function registerAuditRoutes(router: Router, reader: AuditReader, now: () => number): void {
  router.get(
    '/api/v1/audit',
    (req) => {
      const t = now();
      const page = reader.read(auditQuery(req.query, t));
      return { status: 200, body: { ...page, now_ms: t } };
    },
    { summary: 'The audit trail: who did what, when, why; every host transition (filters, pages by seq)', role: 'viewer' },
  );
}

/** What the audit plugin needs of the runtime and the plugin context. */
interface AuditHost {
  readonly journal: MemoryJournal;
}

/**
 * The audit's piece of a running Sluice: the retention extension and the read route. Registered by
 * the composition root next to the other plugins.
 */
export function auditPlugin(policy: RetentionPolicy) {
  const retention = new AuditRetention(policy);
  return {
    name: 'audit',
    extension: (): RuntimeExtension => retention.extension(),
    routes: (router: Router, runtime: AuditHost, ctx: { store: StoreLike; clock: { now(): number } }): void =>
      registerAuditRoutes(router, new AuditReader(runtime.journal, ctx.store, retention), () => ctx.clock.now()),
  };
}

const JOB_ACTIONS: Partial<Record<SchedulerCommand['type'], string>> = { create_job: 'job_create', update_job: 'job_update', delete_job: 'job_delete' };

/** The audit entries of a job change made by `req`'s caller: one `request` entry when it succeeded. */
export function jobAudit(cmd: SchedulerCommand, req: Pick<ApiRequest, 'principal' | 'id'>): (r: CommandResult, now: number) => AuditInput[] {
  return (r, now) => {
    const action = JOB_ACTIONS[cmd.type];
    if (!r.ok || !action) return [];
    const spec = 'spec' in cmd && cmd.spec && typeof cmd.spec === 'object' ? (cmd.spec as Record<string, unknown>) : undefined;
    const bodyName = r.body && typeof r.body === 'object' ? (r.body as { name?: unknown }).name : undefined;
    const job = cmd.type === 'delete_job' ? cmd.name : typeof spec?.['name'] === 'string' ? spec['name'] : typeof bodyName === 'string' ? bodyName : undefined;
    const instances = typeof spec?.['instances'] === 'number' ? spec['instances'] : undefined;
    return [
      {
        kind: 'request',
        ts_ms: now,
        actor: req.principal.name,
        action,
        request_id: req.id,
        ...(job !== undefined ? { job } : {}),
        ...(instances !== undefined ? { detail: { instances } } : {}),
      },
    ];
  };
}
