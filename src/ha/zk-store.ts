/**
 * The store of HA replicas, in ZooKeeper, fenced by a leader epoch (layout: zk-layout.ts).
 *
 * open() bumps the epoch (setData of <root>/epoch; its VERSION is the epoch) and remembers the new
 * version; every multi this store sends starts with `check(<root>/epoch, version)`. A replica that
 * has been deposed (another one opened the store since) gets BAD_VERSION on that check: nothing of
 * the multi is applied, its batches reject with StoreFencedError, and every later write rejects.
 *
 * Same guarantees as the file store: all state is read into memory at open (reads never touch
 * ZooKeeper), a batch is all-or-nothing and in order, it resolves once the ensemble has committed
 * it (a quorum has it in its log), batches commit in call order, values are deeply frozen, list()
 * keeps insertion order (an overwritten key keeps its place, a deleted and re-created one moves to
 * the end).
 *
 * Group commit: batches that queue up while a multi is on the wire go together into the next one
 * (one log entry, up to MAX_MULTI_BYTES). Each batch still resolves only once that multi has
 * committed; if the multi fails, every batch in it rejects (and the store refuses writes: fenced,
 * or the outcome is unknown after a connection loss — the owner restarts and re-reads).
 *
 * Compaction: once the log since the last snapshot exceeds a quarter of the snapshot (at least
 * COMPACT_MIN_BYTES) or COMPACT_MAX_ENTRIES entries, the state as of the last commit is written as a
 * new snapshot (compressed chunks, each its own fenced multi, while batches keep committing), the
 * head is switched to it in one fenced multi, and the old snapshot and covered log entries are
 * removed (fenced too). A crash at any point leaves either the old head (new chunks are orphans,
 * removed by the next compaction) or the new one (left-overs ignored, removed later).
 *
 * Limits: one operation may hold at most MAX_VALUE_BYTES of JSON; a single batch larger than
 * MAX_MULTI_BYTES is written as several multis, each fenced, in order — atomic per part only
 * (logged as zk_store_batch_split).
 */
import { performance } from 'node:perf_hooks';
import { StoreClosedError, StoreError, StoreFencedError } from '../store/errors.js';
import { CollectionsReader, applyOp, prepareOp, type BatchOp, type MemOp } from '../store/collections.js';
import type { KvStore } from '../store/index.js';
import type { ZkOp, ZkSession } from '../zk/session.js';
import { ZkOperationError } from '../zk/errors.js';
import { nullLogger, type Logger } from '../util/logger.js';
import {
  MAX_MULTI_BYTES,
  MAX_VALUE_BYTES,
  captureRecords,
  encodeChunks,
  headData,
  loadState,
  parseEntryName,
  paths,
  pool,
  readHead,
  type Head,
  type State,
} from './zk-layout.js';

export { MAX_MULTI_BYTES, MAX_VALUE_BYTES } from './zk-layout.js';

const COMPACT_MIN_BYTES = 8 * 1024 * 1024;
const COMPACT_MAX_ENTRIES = 4000;
/** Removals per fenced multi when cleaning up after a compaction. */
const REMOVE_PER_MULTI = 500;

export interface ZkStoreOptions {
  /** Written into <root>/epoch when taking over (who holds it). */
  owner: string;
  logger?: Logger;
  /** Called once per committed batch: seconds until durable, bytes written. */
  onWrite?: (seconds: number, bytes: number) => void;
  /** Compaction thresholds (tests use small ones). */
  compactMinBytes?: number;
  compactMaxEntries?: number;
}

interface Pending {
  ops: MemOp[];
  json: string[];
  bytes: number;
  startedAt: number;
  resolve(): void;
  reject(e: unknown): void;
}

export interface ZkStoreStats {
  epoch: number;
  seq: number;
  snapshot: string | null;
  logEntries: number;
  logBytes: number;
  /** Multis sent for batches, and batches committed (batches/multis = the group-commit factor). */
  multis: number;
  batches: number;
  compactions: number;
}

export class ZkStore extends CollectionsReader implements KvStore {
  readonly dir: string;
  private epochVersion = -1;
  private seq = 0;
  private snapshot: string | null = null;
  private snapshotRawBytes = 0;
  private headExists = false;
  private logEntries = 0;
  private logBytes = 0;
  private queue: Pending[] = [];
  private writing = false;
  private idleWaiters: Array<() => void> = [];
  private compacting: Promise<void> | undefined;
  private failed: Error | undefined;
  private closed = false;
  private multis = 0;
  private batches = 0;
  private compactions = 0;
  private readonly log: Logger;
  private readonly P: ReturnType<typeof paths>;

  private constructor(
    readonly session: ZkSession,
    readonly root: string,
    private readonly opts: ZkStoreOptions,
  ) {
    super();
    this.dir = `zk://${session.url.connectString}${root}`;
    this.log = opts.logger ?? nullLogger();
    this.P = paths(root);
  }

  /** The epoch version this store writes under (each take-over increments it). */
  get epoch(): number {
    return this.epochVersion;
  }

  stats(): ZkStoreStats {
    return {
      epoch: this.epochVersion,
      seq: this.seq,
      snapshot: this.snapshot,
      logEntries: this.logEntries,
      logBytes: this.logBytes,
      multis: this.multis,
      batches: this.batches,
      compactions: this.compactions,
    };
  }

  /**
   * Takes the store over (bumps the epoch: any earlier owner's writes fail from now on) and loads
   * all of it into memory.
   */
  static async open(session: ZkSession, root: string, opts: ZkStoreOptions): Promise<ZkStore> {
    const s = new ZkStore(session, root.replace(/\/+$/, ''), opts);
    for (const p of [s.P.epoch, s.P.log, s.P.snapshots]) await session.mkdirp(p);
    const stat = await session.setData(s.P.epoch, JSON.stringify({ owner: opts.owner, at: new Date().toISOString() }));
    s.epochVersion = stat.version;
    const t0 = performance.now();
    // after our own epoch bump nobody else writes: a hole in the log is damage, not a race
    const l = await loadState(session, s.root);
    s.data = l.data;
    s.seq = l.seq;
    s.snapshot = l.snapshot;
    s.snapshotRawBytes = l.snapshotRawBytes;
    s.headExists = l.headExists;
    s.logEntries = l.logEntries;
    s.logBytes = l.logBytes;
    let records = 0;
    for (const m of s.data.values()) records += m.size;
    s.log.info('zk_store_loaded', {
      event: 'zk_store_loaded',
      root: s.root,
      epoch: s.epochVersion,
      records,
      snapshot: s.snapshot,
      log_entries: s.logEntries,
      seconds: Math.round(performance.now() - t0) / 1000,
    });
    s.maybeCompact();
    return s;
  }

  // reads (memory only): get, list, collections — CollectionsReader (src/store/collections.ts)

  // ---------------------------------------------------------------- writes

  put(collection: string, key: string, value: unknown): Promise<void> {
    return this.batch([{ op: 'put', collection, key, value }]);
  }

  delete(collection: string, key: string): Promise<void> {
    return this.batch([{ op: 'delete', collection, key }]);
  }

  batch(ops: BatchOp[]): Promise<void> {
    const startedAt = performance.now();
    const memOps: MemOp[] = [];
    const json: string[] = [];
    let bytes = 0;
    try {
      this.assertWritable();
      if (!Array.isArray(ops)) throw new TypeError('batch(ops): ops must be an array');
      ops.forEach((o, i) => {
        const [m, j] = prepare(o, i);
        memOps.push(m);
        json.push(j);
        bytes += j.length + 1;
      });
    } catch (e) {
      return Promise.reject(e);
    }
    if (memOps.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops: memOps, json, bytes, startedAt, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = true;
    void this.writeLoop();
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group: Pending[] = [this.queue.shift()!];
        let bytes = group[0]!.bytes;
        while (this.queue.length > 0 && bytes + this.queue[0]!.bytes <= MAX_MULTI_BYTES) {
          const b = this.queue.shift()!;
          group.push(b);
          bytes += b.bytes;
        }
        try {
          await this.commitGroup(group);
        } catch (e) {
          for (const b of group) b.reject(e);
        }
      }
    } finally {
      this.writing = false;
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  private async commitGroup(group: Pending[]): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new StoreClosedError('the store is closed', this.root);
    // a single batch over the limit goes as several entries, each its own fenced multi
    const entries: string[][] = [];
    if (group.length === 1 && group[0]!.bytes > MAX_MULTI_BYTES) {
      let cur: string[] = [];
      let size = 0;
      for (const j of group[0]!.json) {
        if (cur.length && size + j.length > MAX_MULTI_BYTES) {
          entries.push(cur);
          cur = [];
          size = 0;
        }
        cur.push(j);
        size += j.length + 1;
      }
      entries.push(cur);
      this.log.warn('zk_store_batch_split', { event: 'zk_store_batch_split', parts: entries.length, ops: group[0]!.ops.length, bytes: group[0]!.bytes });
    } else entries.push(group.flatMap((b) => b.json));
    for (const e of entries) {
      const seq = this.seq + 1;
      const data = `{"s":${seq},"o":[${e.join(',')}]}`;
      await this.fenced([{ op: 'create', path: this.P.entry(seq), data }], true);
      this.seq = seq;
      this.logEntries++;
      this.logBytes += data.length;
    }
    this.multis += entries.length;
    const now = performance.now();
    for (const b of group) {
      for (const op of b.ops) applyOp(this.data, op);
      this.batches++;
      try {
        this.opts.onWrite?.((now - b.startedAt) / 1000, b.bytes);
      } catch (e) {
        this.log.warn('store_on_write_failed', { event: 'store_on_write_failed', error: (e as Error).message });
      }
      b.resolve();
    }
    this.maybeCompact();
  }

  /**
   * One multi behind the epoch check. A failed check (deposed) fails the store for good. With
   * `critical`, any other failure does too (a batch's outcome is unknown).
   */
  private async fenced(ops: ZkOp[], critical: boolean): Promise<void> {
    if (this.failed) throw this.failed;
    try {
      await this.session.multi([{ op: 'check', path: this.P.epoch, version: this.epochVersion }, ...ops]);
    } catch (e) {
      if (e instanceof ZkOperationError && e.code === 'BAD_VERSION' && e.opIndex === 0) {
        this.failed ??= new StoreFencedError(
          `ZooKeeper store ${this.root}: another replica has taken over (the leader epoch is no longer ${this.epochVersion}); this replica is deposed and must not write`,
          this.P.epoch,
        );
        this.log.error('zk_store_fenced', { event: 'zk_store_fenced', root: this.root, epoch: this.epochVersion });
        throw this.failed;
      }
      if (critical) {
        this.failed ??= new StoreError(`ZooKeeper store ${this.root}: write failed, outcome unknown, not writing any more: ${(e as Error).message}`, this.root);
        throw this.failed;
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- compaction

  private maybeCompact(): void {
    if (this.compacting || this.failed || this.closed) return;
    const minBytes = this.opts.compactMinBytes ?? COMPACT_MIN_BYTES;
    const maxEntries = this.opts.compactMaxEntries ?? COMPACT_MAX_ENTRIES;
    if (this.logBytes < Math.max(minBytes, this.snapshotRawBytes / 4) && this.logEntries < maxEntries) return;
    this.compacting = this.compact(captureRecords(this.data), this.seq, 'log')
      .catch((e: unknown) => {
        if (!(e instanceof StoreFencedError)) this.log.warn('zk_store_compaction_failed', { event: 'zk_store_compaction_failed', root: this.root, error: (e as Error).message });
      })
      .finally(() => (this.compacting = undefined));
  }

  /**
   * Writes `records` (the state as of log entry `seq`) as a new snapshot, points the head at it,
   * then removes what it supersedes.
   */
  private async compact(records: Array<[string, string, unknown]>, seq: number, why: string): Promise<void> {
    const t0 = performance.now();
    const entriesAt = this.logEntries;
    const bytesAt = this.logBytes;
    const name = `s${seq}-e${this.epochVersion}-${Date.now().toString(36)}`;
    await this.fenced([{ op: 'create', path: this.P.snapshot(name) }], false);
    const encoded: Buffer[] = [];
    let raw = 0;
    for await (const c of encodeChunks(records)) {
      encoded.push(c.data);
      raw += c.rawBytes;
    }
    const chunks = encoded.length;
    await pool(encoded, 4, (data, i) => this.fenced([{ op: 'create', path: this.P.chunk(name, i), data }], false));
    const head: Head = { snapshot: name, seq, chunks, records: records.length, raw_bytes: raw };
    await this.fenced([this.headExists ? { op: 'set', path: this.P.head, data: headData(head) } : { op: 'create', path: this.P.head, data: headData(head) }], false);
    this.headExists = true;
    this.snapshot = name;
    this.snapshotRawBytes = raw;
    // the entries committed since `seq` was captured stay in the log
    this.logEntries = why === 'log' ? this.logEntries - entriesAt : 0;
    this.logBytes = why === 'log' ? this.logBytes - bytesAt : 0;
    this.compactions++;
    this.log.info('zk_store_compacted', {
      event: 'zk_store_compacted',
      root: this.root,
      reason: why,
      snapshot: name,
      seq,
      records: records.length,
      chunks,
      raw_bytes: raw,
      seconds: Math.round(performance.now() - t0) / 1000,
    });
    await this.cleanup();
  }

  /** Removes the snapshots the head does not name and the log entries it covers (fenced). */
  private async cleanup(): Promise<void> {
    const head = await readHead(this.session, this.root);
    if (!head) return;
    const removes: ZkOp[] = [];
    for (const s of (await this.session.getChildren(this.P.snapshots)).children) {
      if (s === head.snapshot) continue;
      for (const c of (await this.session.getChildren(this.P.snapshot(s))).children) removes.push({ op: 'remove', path: `${this.P.snapshot(s)}/${c}` });
      removes.push({ op: 'remove', path: this.P.snapshot(s) });
    }
    for (const l of (await this.session.getChildren(this.P.log)).children) {
      const s = parseEntryName(l);
      if (s !== undefined && s <= head.seq) removes.push({ op: 'remove', path: this.P.entry(s) });
    }
    const parts: ZkOp[][] = [];
    for (let i = 0; i < removes.length; i += REMOVE_PER_MULTI) parts.push(removes.slice(i, i + REMOVE_PER_MULTI));
    // in order: a snapshot's chunks go before the snapshot node
    for (const p of parts) await this.fenced(p, false);
  }

  /**
   * Replaces the whole state with `records` (in list() order) in one step: a new snapshot, then the
   * head switched to it in one fenced multi (so readers see the old state or the new, never a mix).
   * For `sluice store copy`; waits for queued writes first.
   */
  async replaceAll(records: Array<[string, string, unknown]>): Promise<void> {
    this.assertWritable();
    const checked = records.map(([c, k, v], i): [string, string, unknown] => {
      const [op] = prepare({ op: 'put', collection: c, key: k, value: v }, i);
      return [c, k, op[3]];
    });
    await this.idle();
    await this.compacting;
    const data: State = new Map();
    for (const [c, k, v] of checked) applyOp(data, ['p', c, k, v]);
    await this.compact(captureRecords(data), this.seq, 'replace');
    this.data = data;
  }

  private idle(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle();
    await this.compacting;
    this.closed = true;
  }

  protected override assertOpen(): void {
    if (this.closed) throw new StoreClosedError('the store is closed', this.root);
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.failed) throw this.failed;
  }
}

/** Checks one operation (prepareOp) and the size of one record a ZooKeeper node can hold. */
function prepare(o: BatchOp, i: number): [MemOp, string] {
  const [m, j] = prepareOp(o, i);
  if (m[0] === 'p' && Buffer.byteLength(j) > MAX_VALUE_BYTES) {
    throw new TypeError(`batch op ${i}: value of ${m[1]}/${m[2]} is ${Buffer.byteLength(JSON.stringify(m[3]))} bytes of JSON; the ZooKeeper store holds at most ${MAX_VALUE_BYTES} per record`);
  }
  return [m, j];
}
