/**
 * How the HA store lays its state out in ZooKeeper, and how it is read back (by a new leader, by a
 * standby answering reads, by `sluice store copy`). Log-structured, like the file store:
 *
 *   <root>/epoch                              its VERSION is the leader epoch (see zk-store.ts)
 *   <root>/store/head                         {"format":"sluice-zk-store","version":2,
 *                                              "snapshot":"<name>","seq":S,"chunks":N,"records":R,
 *                                              "raw_bytes":B} — absent until the first snapshot
 *   <root>/store/snapshots/<name>/c<i>        chunk i (0 ≤ i < N) of snapshot <name>: gzip of the JSON
 *                                              array [[collection, key, value], ...]; chunks in order
 *                                              hold every record in list() order
 *   <root>/store/log/l<seq, 12 digits>        one node per committed multi (a group of batches):
 *                                              {"s":seq,"o":[["p",c,k,v] | ["d",c,k], ...]}
 *
 * The state is the snapshot named by the head, then the log entries S+1, S+2, … (consecutive).
 * Log entries ≤ S and snapshots other than the head's are left-overs of a compaction, ignored and
 * removed later. Every node stays under ZooKeeper's 1 MB limit (jute.maxbuffer): a log entry holds
 * at most MAX_MULTI_BYTES, a chunk at most MAX_NODE_BYTES compressed. A 200,000-task state is some
 * 120 MB of JSON: ~150 compressed chunks of 1 MB or less, read in parallel on takeover.
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import { StoreCorruptError, StoreError } from '../store/errors.js';
import { applyOp, deepFreeze, type Collections, type MemOp } from '../store/collections.js';
import type { ZkSession } from '../zk/session.js';
import { ZkOperationError } from '../zk/errors.js';

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

export const ZK_STORE_FORMAT = 'sluice-zk-store';
export const ZK_STORE_VERSION = 2;
/** Largest JSON of one operation (["p",collection,key,value]). */
export const MAX_VALUE_BYTES = 900 * 1024;
/** Largest log entry (one multi: a group of batches). */
export const MAX_MULTI_BYTES = 768 * 1024;
/** Largest node written (a compressed snapshot chunk); ZooKeeper refuses requests over 1 MB. */
export const MAX_NODE_BYTES = 1000 * 1024;
/** Records of a chunk, as JSON, before compression (a chunk that compresses badly is split). */
const CHUNK_RAW_BYTES = 4 * 1024 * 1024;
/** Reads in flight while loading (pipelined on the one connection). */
const READ_CONCURRENCY = 256;

export type State = Collections;

export interface Head {
  snapshot: string;
  seq: number;
  chunks: number;
  records: number;
  raw_bytes: number;
}

export interface Loaded {
  data: State;
  /** The snapshot the state started from (null: none yet, the log holds everything). */
  snapshot: string | null;
  snapshotRawBytes: number;
  /** The last log entry applied (the head's seq when the log was empty). */
  seq: number;
  headExists: boolean;
  /** Log entries applied after the snapshot, and their bytes. */
  logEntries: number;
  logBytes: number;
}

export const paths = (root: string) => ({
  epoch: `${root}/epoch`,
  store: `${root}/store`,
  head: `${root}/store/head`,
  snapshots: `${root}/store/snapshots`,
  snapshot: (name: string) => `${root}/store/snapshots/${name}`,
  chunk: (name: string, i: number) => `${root}/store/snapshots/${name}/c${String(i).padStart(6, '0')}`,
  log: `${root}/store/log`,
  entry: (seq: number) => `${root}/store/log/l${String(seq).padStart(12, '0')}`,
  /** The layout of an earlier development version (one node per record): refused, not misread. */
  legacy: `${root}/state`,
  election: `${root}/election`,
});

export function parseEntryName(name: string): number | undefined {
  const m = /^l(\d{12})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function isNoNode(e: unknown): boolean {
  return e instanceof ZkOperationError && e.code === 'NO_NODE';
}

export async function readHead(session: ZkSession, root: string): Promise<Head | undefined> {
  const p = paths(root).head;
  let text: string;
  try {
    text = (await session.getData(p)).data.toString('utf8');
  } catch (e) {
    if (isNoNode(e)) return undefined;
    throw e;
  }
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new StoreCorruptError(`ZooKeeper store ${p}: not JSON`, p);
  }
  if (h === null || typeof h !== 'object' || h['format'] !== ZK_STORE_FORMAT) throw new StoreCorruptError(`ZooKeeper store ${p}: not a ${ZK_STORE_FORMAT} head`, p);
  if (h['version'] !== ZK_STORE_VERSION) throw new StoreCorruptError(`ZooKeeper store ${p}: unsupported version ${JSON.stringify(h['version'])}`, p);
  const int = (k: string): number => {
    const v = h[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new StoreCorruptError(`ZooKeeper store ${p}: bad ${k} ${JSON.stringify(v)}`, p);
    return v;
  };
  const snapshot = h['snapshot'];
  if (typeof snapshot !== 'string' || !/^s[0-9a-z-]+$/.test(snapshot)) throw new StoreCorruptError(`ZooKeeper store ${p}: bad snapshot name`, p);
  return { snapshot, seq: int('seq'), chunks: int('chunks'), records: int('records'), raw_bytes: int('raw_bytes') };
}

export function headData(h: Head): string {
  return JSON.stringify({ format: ZK_STORE_FORMAT, version: ZK_STORE_VERSION, ...h });
}

/** Runs `f` over `items` with at most `n` in flight; results in order. */
export async function pool<T, R>(items: readonly T[], n: number, f: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

function parseOps(text: string, where: string): MemOp[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new StoreCorruptError(`ZooKeeper store ${where}: not JSON`, where);
  }
  const ops = (doc as { o?: unknown })?.o;
  if (!Array.isArray(ops)) throw new StoreCorruptError(`ZooKeeper store ${where}: no "o" array`, where);
  for (const o of ops) {
    const ok =
      Array.isArray(o) &&
      typeof o[1] === 'string' &&
      typeof o[2] === 'string' &&
      ((o[0] === 'p' && o.length === 4) || (o[0] === 'd' && o.length === 3));
    if (!ok) throw new StoreCorruptError(`ZooKeeper store ${where}: an operation is not ["p",c,k,v] or ["d",c,k]`, where);
    if (o[0] === 'p') deepFreeze(o[3]);
  }
  return ops as MemOp[];
}

async function loadSnapshot(session: ZkSession, root: string, head: Head, data: State): Promise<void> {
  const P = paths(root);
  const dir = P.snapshot(head.snapshot);
  const idx = Array.from({ length: head.chunks }, (_, i) => i);
  const chunks = await pool(idx, READ_CONCURRENCY, async (i) => {
    const p = P.chunk(head.snapshot, i);
    const { data: z } = await session.getData(p).catch((e: unknown) => {
      throw isNoNode(e) ? new SnapshotGoneError(`ZooKeeper store: ${p} is missing (snapshot ${dir} of ${head.chunks} chunks)`, p) : e;
    });
    let rows: unknown;
    try {
      rows = JSON.parse((await gunzip(z)).toString('utf8'));
    } catch (e) {
      throw new StoreCorruptError(`ZooKeeper store ${p}: not a gzip of JSON (${(e as Error).message})`, p);
    }
    if (!Array.isArray(rows)) throw new StoreCorruptError(`ZooKeeper store ${p}: not an array of records`, p);
    return rows as unknown[];
  });
  let n = 0;
  for (let i = 0; i < chunks.length; i++) {
    for (const r of chunks[i]!) {
      if (!Array.isArray(r) || r.length !== 3 || typeof r[0] !== 'string' || typeof r[1] !== 'string') {
        throw new StoreCorruptError(`ZooKeeper store ${P.chunk(head.snapshot, i)}: a record is not [collection, key, value]`, dir);
      }
      applyOp(data, ['p', r[0], r[1], deepFreeze(r[2])]);
      n++;
    }
  }
  if (n !== head.records) throw new StoreCorruptError(`ZooKeeper store ${dir}: ${n} records, the head says ${head.records}`, dir);
}

/** A snapshot or log entry vanished while being read (a compaction by the leader): read again. */
export class SnapshotGoneError extends StoreError {
  override readonly name = 'SnapshotGoneError';
}

/**
 * Reads the state. With `prev` of the same snapshot, only the log entries after `prev.seq` are read
 * and applied to `prev.data` (a standby's refresh); otherwise everything. `live`: a leader may be
 * writing (and compacting) meanwhile, so a missing entry means "read again" (SnapshotGoneError)
 * rather than damage. Throws StoreCorruptError when the nodes are not what this layout writes.
 */
export async function loadState(session: ZkSession, root: string, opts: { prev?: Loaded; live?: boolean } = {}): Promise<Loaded> {
  const prev = opts.prev;
  const P = paths(root);
  const head = await readHead(session, root);
  if (!head) {
    const legacy = await session.getChildren(P.legacy).then((r) => r.children.length, (e: unknown) => (isNoNode(e) ? 0 : Promise.reject(e)));
    if (legacy > 0) {
      throw new StoreError(
        `ZooKeeper store ${root}: ${P.legacy} holds state in the one-node-per-record layout of an earlier development version; ` +
          `this version reads ${P.store} only (move it with an older build's export, or start from an empty root)`,
        P.legacy,
      );
    }
  }
  const snapshot = head?.snapshot ?? null;
  let base: Loaded;
  if (prev && prev.snapshot === snapshot) base = prev;
  else {
    const data: State = new Map();
    if (head) await loadSnapshot(session, root, head, data);
    base = { data, snapshot, snapshotRawBytes: head?.raw_bytes ?? 0, seq: head?.seq ?? 0, headExists: !!head, logEntries: 0, logBytes: 0 };
  }
  let names: string[];
  try {
    names = (await session.getChildren(P.log)).children;
  } catch (e) {
    if (!isNoNode(e)) throw e;
    names = [];
  }
  const seqs = names
    .map(parseEntryName)
    .filter((s): s is number => s !== undefined && s > base.seq)
    .sort((a, b) => a - b);
  seqs.forEach((s, i) => {
    if (s !== base.seq + 1 + i) {
      const msg = `ZooKeeper store ${P.log}: log entry ${base.seq + 1 + i} is missing (found ${s})`;
      throw opts.live ? new SnapshotGoneError(msg, P.log) : new StoreCorruptError(msg, P.log);
    }
  });
  const entries = await pool(seqs, READ_CONCURRENCY, async (s) => {
    const p = P.entry(s);
    const { data } = await session.getData(p).catch((e: unknown) => {
      throw isNoNode(e) ? new SnapshotGoneError(`ZooKeeper store: ${p} vanished while being read`, p) : e;
    });
    return { ops: parseOps(data.toString('utf8'), p), bytes: data.length };
  });
  for (const e of entries) for (const op of e.ops) applyOp(base.data, op);
  return {
    ...base,
    seq: seqs.length ? seqs[seqs.length - 1]! : base.seq,
    logEntries: base.logEntries + entries.length,
    logBytes: base.logBytes + entries.reduce((a, e) => a + e.bytes, 0),
  };
}

/** loadState while a leader may write: read again (up to 5 times) when a compaction removed what it was reading. */
export async function loadLiveState(session: ZkSession, root: string, prev?: Loaded): Promise<Loaded> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await loadState(session, root, { prev: attempt === 0 ? prev : undefined, live: true });
    } catch (e) {
      if (!(e instanceof SnapshotGoneError) || attempt >= 4) throw e;
    }
  }
}

/**
 * Records as compressed chunks, each under MAX_NODE_BYTES (a chunk that does not compress enough
 * is split). Compression runs on libuv's thread pool; the caller's event loop runs between chunks.
 */
export async function* encodeChunks(records: Iterable<[string, string, unknown]>): AsyncGenerator<{ data: Buffer; records: number; rawBytes: number }> {
  let parts: string[] = [];
  let raw = 0;
  const flush = async function* (ps: string[]): AsyncGenerator<{ data: Buffer; records: number; rawBytes: number }> {
    const text = `[${ps.join(',')}]`;
    const z = await gzip(text, { level: 6 });
    if (z.length <= MAX_NODE_BYTES || ps.length === 1) {
      if (z.length > MAX_NODE_BYTES) throw new StoreError(`a record compresses to ${z.length} bytes, more than a ZooKeeper node holds (${MAX_NODE_BYTES})`);
      yield { data: z, records: ps.length, rawBytes: text.length };
      return;
    }
    const half = Math.ceil(ps.length / 2);
    yield* flush(ps.slice(0, half));
    yield* flush(ps.slice(half));
  };
  for (const [c, k, v] of records) {
    const j = JSON.stringify([c, k, v]);
    parts.push(j);
    raw += j.length + 1;
    if (raw >= CHUNK_RAW_BYTES) {
      yield* flush(parts);
      parts = [];
      raw = 0;
    }
  }
  if (parts.length) yield* flush(parts);
}

/** Every record of a state, in list() order, from a copy of the state taken when called. */
export function captureRecords(data: State): Array<[string, string, unknown]> {
  const out: Array<[string, string, unknown]> = [];
  for (const [c, m] of data) for (const [k, v] of m) out.push([c, k, v]);
  return out;
}
