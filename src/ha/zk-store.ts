/**
 * The store of HA replicas, in ZooKeeper, fenced by a leader epoch.
 *
 *   <root>/epoch                          data = the id of the replica that took over last;
 *                                         its VERSION is the epoch
 *   <root>/state/<collection>/k<key>      one node per record: "<i>:<JSON of the value>", i = the
 *                                         op's index in the multi that created the node
 *                                         (collection and key URI-encoded; "k" keeps "." / ".." /
 *                                         "" valid node names)
 *
 * open() bumps the epoch (setData) and remembers the new version; every batch is ONE ZooKeeper multi
 * that starts with `check(<root>/epoch, version)`. A replica that has been deposed (another one
 * opened the store since) gets BAD_VERSION on that check: nothing of its batch is applied and the
 * batch rejects with StoreFencedError, after which every write of this store object rejects.
 *
 * Same guarantees as the file store: all state is read into memory at open (reads never touch
 * ZooKeeper), a batch is all-or-nothing and in order, it resolves once the ensemble has committed
 * it (a quorum has it in its log), batches are serialised in call order, values are deeply frozen,
 * and list() keeps insertion order (the creation zxid of the record's node, then <i> — all nodes of
 * one multi share a zxid: an overwritten key keeps its place, a deleted and re-created one moves to
 * the end).
 *
 * Limits (ZooKeeper's jute.maxbuffer, 1 MB by default, bounds a node AND a whole multi request):
 * one value may hold at most MAX_VALUE_BYTES of JSON; a batch larger than MAX_MULTI_BYTES is written
 * as several multis, each fenced, in order — atomic per part only (logged as
 * zk_store_batch_split). Any other failure (connection loss in the middle of a multi: its outcome is
 * unknown) also leaves the store refusing writes; the owner restarts and re-reads.
 */
import { performance } from 'node:perf_hooks';
import type { BatchOp } from '../store/store.js';
import { StoreClosedError, StoreError, StoreFencedError } from '../store/errors.js';
import { deepFreeze } from '../store/recover-wal.js';
import type { KvStore } from '../store/index.js';
import type { ZkOp, ZkSession } from '../zk/session.js';
import { ZkOperationError } from '../zk/errors.js';
import { nullLogger, type Logger } from '../util/logger.js';

export const MAX_VALUE_BYTES = 900 * 1024;
export const MAX_MULTI_BYTES = 768 * 1024;
/** Reads in flight while loading (pipelined on the one connection). */
const LOAD_CONCURRENCY = 2000;

export interface ZkStoreOptions {
  /** Written into <root>/epoch when taking over (who holds it). */
  owner: string;
  logger?: Logger;
  /** Called once per committed batch: seconds until durable, bytes written. */
  onWrite?: (seconds: number, bytes: number) => void;
}

interface Rec {
  value: unknown;
  czxid: bigint;
  idx: number;
}

export class ZkStore implements KvStore {
  readonly dir: string;
  private readonly data = new Map<string, Map<string, unknown>>();
  private readonly knownCollections = new Set<string>();
  /** "<collection>\0<key>" → <i> of its node (kept when the value is overwritten). */
  private readonly order = new Map<string, number>();
  private epochVersion = -1;
  private chain: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  private closed = false;
  private readonly log: Logger;

  private constructor(
    readonly session: ZkSession,
    readonly root: string,
    private readonly opts: ZkStoreOptions,
  ) {
    this.dir = `zk://${session.url.connectString}${root}`;
    this.log = opts.logger ?? nullLogger();
  }

  /** The epoch version this store writes under (each take-over increments it). */
  get epoch(): number {
    return this.epochVersion;
  }

  /**
   * Takes the store over (bumps the epoch: any earlier owner's writes fail from now on) and loads
   * all of it into memory.
   */
  static async open(session: ZkSession, root: string, opts: ZkStoreOptions): Promise<ZkStore> {
    const s = new ZkStore(session, root.replace(/\/+$/, ''), opts);
    await session.mkdirp(`${s.root}/state`);
    await session.mkdirp(`${s.root}/epoch`);
    const stat = await session.setData(`${s.root}/epoch`, JSON.stringify({ owner: opts.owner, at: new Date().toISOString() }));
    s.epochVersion = stat.version;
    const t0 = performance.now();
    const records = await s.load();
    s.log.info('zk_store_loaded', {
      event: 'zk_store_loaded',
      root: s.root,
      epoch: s.epochVersion,
      records,
      collections: s.data.size,
      seconds: Math.round(performance.now() - t0) / 1000,
    });
    return s;
  }

  private async load(): Promise<number> {
    const { children } = await this.session.getChildren(`${this.root}/state`);
    let total = 0;
    for (const enc of children) {
      const name = decodeName(enc);
      if (name === undefined) continue;
      this.knownCollections.add(name);
      const dir = `${this.root}/state/${enc}`;
      const keys = (await this.session.getChildren(dir)).children;
      const recs: Array<[string, Rec]> = [];
      for (let i = 0; i < keys.length; i += LOAD_CONCURRENCY) {
        const part = keys.slice(i, i + LOAD_CONCURRENCY);
        const got = await Promise.all(
          part.map(async (k) => {
            const key = decodeName(k);
            if (key === undefined) return undefined;
            const { data, stat } = await this.session.getData(`${dir}/${k}`);
            const text = data.toString('utf8');
            const colon = text.indexOf(':');
            const idx = Number(text.slice(0, colon));
            let value: unknown;
            try {
              if (colon < 1 || !Number.isSafeInteger(idx)) throw new Error('no index');
              value = JSON.parse(text.slice(colon + 1));
            } catch {
              throw new StoreError(`ZooKeeper store: ${dir}/${k} does not hold "<index>:<JSON>"`, `${dir}/${k}`);
            }
            return [key, { value: deepFreeze(value), czxid: BigInt(`0x${stat.czxid}`), idx }] as [string, Rec];
          }),
        );
        for (const g of got) if (g) recs.push(g);
      }
      recs.sort((a, b) => (a[1].czxid < b[1].czxid ? -1 : a[1].czxid > b[1].czxid ? 1 : a[1].idx - b[1].idx));
      for (const [k, r] of recs) this.order.set(`${name}\u0000${k}`, r.idx);
      if (recs.length) this.data.set(name, new Map(recs.map(([k, r]) => [k, r.value])));
      total += recs.length;
    }
    return total;
  }

  // ---------------------------------------------------------------- reads (memory only)

  get<T>(collection: string, key: string): T | undefined {
    this.assertOpen();
    return this.data.get(collection)?.get(key) as T | undefined;
  }

  list<T>(collection: string): Array<[string, T]> {
    this.assertOpen();
    const m = this.data.get(collection);
    return m ? (Array.from(m) as Array<[string, T]>) : [];
  }

  collections(): string[] {
    this.assertOpen();
    return Array.from(this.data.keys()).filter((c) => this.data.get(c)!.size > 0);
  }

  // ---------------------------------------------------------------- writes

  put(collection: string, key: string, value: unknown): Promise<void> {
    return this.batch([{ op: 'put', collection, key, value }]);
  }

  delete(collection: string, key: string): Promise<void> {
    return this.batch([{ op: 'delete', collection, key }]);
  }

  batch(ops: BatchOp[]): Promise<void> {
    let prepared: Prepared[];
    try {
      this.assertWritable();
      if (!Array.isArray(ops)) throw new TypeError('batch(ops): ops must be an array');
      prepared = ops.map((o, i) => prepare(o, i));
    } catch (e) {
      return Promise.reject(e);
    }
    if (prepared.length === 0) return Promise.resolve();
    const startedAt = performance.now();
    const run = this.chain.then(() => this.commit(prepared, startedAt));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async commit(ops: Prepared[], startedAt: number): Promise<void> {
    this.assertWritable();
    // what exists, as the batch goes (a put after a delete of the same key re-creates it)
    const exists = (c: string, k: string, overlay: Map<string, boolean>): boolean =>
      overlay.get(`${c}\u0000${k}`) ?? this.data.get(c)?.has(k) ?? false;
    const overlay = new Map<string, boolean>();
    const created = new Map<string, number>();
    const newCollections = new Set<string>();
    const parts: ZkOp[][] = [];
    let part: ZkOp[] = [];
    let partBytes = 0;
    let bytes = 0;
    const push = (op: ZkOp, size: number): void => {
      if (part.length && partBytes + size > MAX_MULTI_BYTES) {
        parts.push(part);
        part = [];
        partBytes = 0;
      }
      part.push(op);
      partBytes += size + 64;
      bytes += size;
    };
    for (const o of ops) {
      const cdir = `${this.root}/state/${encodeName(o.collection)}`;
      const path = `${cdir}/${encodeName(o.key)}`;
      const had = exists(o.collection, o.key, overlay);
      if (o.op === 'put') {
        if (!this.knownCollections.has(o.collection) && !newCollections.has(o.collection)) {
          newCollections.add(o.collection);
          push({ op: 'create', path: cdir }, cdir.length);
        }
        const ok = `${o.collection}\u0000${o.key}`;
        let idx = had ? (created.get(ok) ?? this.order.get(ok) ?? 0) : part.length;
        if (!had) created.set(ok, idx);
        const data = `${idx}:${o.json}`;
        push(had ? { op: 'set', path, data } : { op: 'create', path, data }, data.length + path.length);
        if (!had && part[part.length - 1]?.path === path && part.length - 1 !== idx) {
          // the op landed in a new part: its index is its place in that part
          idx = part.length - 1;
          created.set(ok, idx);
          part[part.length - 1] = { op: 'create', path, data: `${idx}:${o.json}` };
        }
        overlay.set(`${o.collection}\u0000${o.key}`, true);
      } else if (had) {
        push({ op: 'remove', path }, path.length);
        overlay.set(`${o.collection}\u0000${o.key}`, false);
      }
    }
    if (part.length) parts.push(part);
    if (parts.length > 1) this.log.warn('zk_store_batch_split', { event: 'zk_store_batch_split', parts: parts.length, ops: ops.length, bytes });
    for (const p of parts) await this.multi(p);
    for (const c of newCollections) this.knownCollections.add(c);
    for (const o of ops) this.apply(o);
    for (const [k, i] of created) this.order.set(k, i);
    try {
      this.opts.onWrite?.((performance.now() - startedAt) / 1000, bytes);
    } catch (e) {
      this.log.warn('store_on_write_failed', { event: 'store_on_write_failed', error: (e as Error).message });
    }
  }

  private async multi(ops: ZkOp[]): Promise<void> {
    const epochPath = `${this.root}/epoch`;
    try {
      await this.session.multi([{ op: 'check', path: epochPath, version: this.epochVersion }, ...ops]);
    } catch (e) {
      if (e instanceof ZkOperationError && e.code === 'BAD_VERSION' && e.opIndex === 0) {
        this.failed = new StoreFencedError(
          `ZooKeeper store ${this.root}: another replica has taken over (the leader epoch is no longer ${this.epochVersion}); this replica is deposed and must not write`,
          epochPath,
        );
        this.log.error('zk_store_fenced', { event: 'zk_store_fenced', root: this.root, epoch: this.epochVersion });
      } else {
        this.failed = new StoreError(`ZooKeeper store ${this.root}: write failed, outcome unknown, not writing any more: ${(e as Error).message}`, this.root);
      }
      throw this.failed;
    }
  }

  private apply(o: Prepared): void {
    let m = this.data.get(o.collection);
    if (o.op === 'put') {
      if (!m) this.data.set(o.collection, (m = new Map()));
      m.set(o.key, o.value);
    } else {
      m?.delete(o.key);
      this.order.delete(`${o.collection}\u0000${o.key}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError('the store is closed', this.root);
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.failed) throw this.failed;
  }
}

interface Prepared {
  op: 'put' | 'delete';
  collection: string;
  key: string;
  value?: unknown;
  json: string;
}

function prepare(o: BatchOp, i: number): Prepared {
  const where = `batch op ${i}`;
  if (o === null || typeof o !== 'object') throw new TypeError(`${where}: not an object`);
  if (typeof o.collection !== 'string' || o.collection.length === 0) throw new TypeError(`${where}: collection must be a non-empty string`);
  if (typeof o.key !== 'string') throw new TypeError(`${where}: key must be a string`);
  if (o.op === 'delete') return { op: 'delete', collection: o.collection, key: o.key, json: '' };
  if (o.op !== 'put') throw new TypeError(`${where}: op must be 'put' or 'delete'`);
  let json: string | undefined;
  try {
    json = JSON.stringify(o.value);
  } catch (e) {
    throw new TypeError(`${where}: value is not JSON-serialisable: ${(e as Error).message}`);
  }
  if (json === undefined) throw new TypeError(`${where}: value is not JSON-serialisable`);
  if (Buffer.byteLength(json) > MAX_VALUE_BYTES) {
    throw new TypeError(`${where}: value of ${o.collection}/${o.key} is ${Buffer.byteLength(json)} bytes of JSON; the ZooKeeper store holds at most ${MAX_VALUE_BYTES} per record`);
  }
  return { op: 'put', collection: o.collection, key: o.key, value: deepFreeze(JSON.parse(json)), json };
}

function encodeName(s: string): string {
  return `k${encodeURIComponent(s)}`;
}

function decodeName(s: string): string | undefined {
  if (!s.startsWith('k')) return undefined;
  try {
    return decodeURIComponent(s.slice(1));
  } catch {
    return undefined;
  }
}
