/**
 * `sluice store copy`: moves the whole state between a file store and the ZooKeeper store of an HA
 * deployment (either way, or file → file, zk → zk).
 *
 *   source file:DIR   opened as Sluice opens it (takes its lock: refused while a Sluice runs on it)
 *   source zk://…/p   read without taking over (a leader may keep running; a compaction that
 *                     removes what is being read makes it read again)
 *   target file:DIR   one batch (deletes of what was there with --force, then every record):
 *                     all-or-nothing, as every file store batch
 *   target zk://…/p   refused while any Sluice replica is in the election under p (stop them
 *                     first); takes the store over (bumps the epoch) and replaces the whole state
 *                     in one step (new snapshot, head switched by one fenced multi)
 *
 * A target holding records is refused unless `force`. After writing, the target is opened afresh
 * and compared record by record (collections, keys, values and list() order) with the source.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FileStore } from '../store/index.js';
import type { BatchOp } from '../store/store.js';
import { ZkSession } from '../zk/session.js';
import { parseZkUrl, type ZkUrl } from '../zk/url.js';
import { ZkOperationError } from '../zk/errors.js';
import { nullLogger } from '../util/logger.js';
import { loadLiveState, paths, type State } from './zk-layout.js';
import { ZkStore } from './zk-store.js';
import { sortMembers } from './election.js';

export type StoreEndpoint = { kind: 'file'; dir: string; label: string } | { kind: 'zk'; url: ZkUrl; label: string };

export class CopyError extends Error {
  override readonly name = 'CopyError';
  constructor(
    message: string,
    /** 2: usage (bad endpoint), 3: target not empty / replicas running, 4: verification failed, 1: other. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** `file:DIR` (relative to `cwd`) or `zk://[user:pass@]hosts/path`. */
export function parseStoreEndpoint(s: string, cwd: string): StoreEndpoint {
  if (s.startsWith('zk://')) {
    try {
      const url = parseZkUrl(s);
      return { kind: 'zk', url, label: url.redacted };
    } catch (e) {
      throw new CopyError((e as Error).message, 2);
    }
  }
  const m = /^file:(?:\/\/)?(.+)$/.exec(s);
  if (!m || !m[1]!.trim()) throw new CopyError(`${JSON.stringify(s.replace(/\/\/[^@/]*@/, '//***@'))} is neither file:DIR nor zk://hosts/path`, 2);
  const dir = path.resolve(cwd, m[1]!);
  return { kind: 'file', dir, label: `file:${dir}` };
}

export interface CopyResult {
  from: string;
  to: string;
  records: number;
  collections: Record<string, number>;
  replaced: number;
  seconds: number;
  verified: true;
}

type Records = Array<[string, string, unknown]>;

function fromState(data: { collections(): string[]; list<T>(c: string): Array<[string, T]> } | State): Records {
  const out: Records = [];
  if (data instanceof Map) {
    for (const [c, m] of data) for (const [k, v] of m) out.push([c, k, v]);
  } else {
    for (const c of data.collections()) for (const [k, v] of data.list(c)) out.push([c, k, v]);
  }
  return out;
}

function hasFileStore(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'wal.log')) || fs.existsSync(path.join(dir, 'snapshot.json'));
}

async function connect(url: ZkUrl): Promise<ZkSession> {
  return ZkSession.connect(url, { connectTimeoutMs: 10_000, sessionTimeoutMs: 10_000 });
}

async function readAll(ep: StoreEndpoint): Promise<Records> {
  if (ep.kind === 'file') {
    if (!hasFileStore(ep.dir)) throw new CopyError(`${ep.label}: no Sluice store there (no wal.log or snapshot.json)`);
    const st = await FileStore.open(ep.dir, { logger: nullLogger() });
    try {
      return fromState(st);
    } finally {
      await st.close();
    }
  }
  const session = await connect(ep.url);
  try {
    const P = paths(ep.url.path);
    if (!(await session.exists(P.store))) throw new CopyError(`${ep.label}: no Sluice store there (no ${P.store})`);
    return fromState((await loadLiveState(session, ep.url.path)).data);
  } finally {
    await session.close();
  }
}

/** Compares two record lists; the first difference, or undefined. */
function difference(a: Records, b: Records): string | undefined {
  const byColl = (r: Records) => {
    const m = new Map<string, Array<[string, string]>>();
    for (const [c, k, v] of r) {
      let l = m.get(c);
      if (!l) m.set(c, (l = []));
      l.push([k, JSON.stringify(v)]);
    }
    return m;
  };
  const A = byColl(a);
  const B = byColl(b);
  for (const c of new Set([...A.keys(), ...B.keys()])) {
    const x = A.get(c) ?? [];
    const y = B.get(c) ?? [];
    if (x.length !== y.length) return `collection ${c}: ${x.length} records in the source, ${y.length} in the target`;
    for (let i = 0; i < x.length; i++) {
      if (x[i]![0] !== y[i]![0]) return `collection ${c}: record ${i} is ${JSON.stringify(x[i]![0])} in the source, ${JSON.stringify(y[i]![0])} in the target`;
      if (x[i]![1] !== y[i]![1]) return `collection ${c}: ${JSON.stringify(x[i]![0])} differs`;
    }
  }
  return undefined;
}

export async function copyStore(from: StoreEndpoint, to: StoreEndpoint, opts: { force?: boolean } = {}): Promise<CopyResult> {
  const t0 = performance.now();
  if (from.label === to.label) throw new CopyError(`--from and --to are the same store (${from.label})`, 2);
  const records = await readAll(from);
  if (records.length === 0) throw new CopyError(`${from.label}: the store is empty; nothing to copy`);
  const refuse = (n: number) =>
    new CopyError(`${to.label} already holds ${n} record(s); pass --force to replace them (they are lost)`, 3);
  let replaced = 0;
  if (to.kind === 'file') {
    if (!hasFileStore(to.dir) && fs.existsSync(to.dir) && fs.readdirSync(to.dir).length > 0) {
      throw new CopyError(`${to.label}: the directory holds other files and no Sluice store; give an empty or new directory`, 3);
    }
    const st = await FileStore.open(to.dir, { logger: nullLogger() });
    try {
      const existing = fromState(st);
      replaced = existing.length;
      if (existing.length && !opts.force) throw refuse(existing.length);
      const ops: BatchOp[] = existing.map(([c, k]) => ({ op: 'delete', collection: c, key: k }));
      for (const [c, k, v] of records) ops.push({ op: 'put', collection: c, key: k, value: v });
      await st.batch(ops);
    } finally {
      await st.close();
    }
  } else {
    const session = await connect(to.url);
    try {
      const P = paths(to.url.path);
      const members = await session.getChildren(P.election).then(
        (r) => sortMembers(r.children),
        (e: unknown) => (e instanceof ZkOperationError && e.code === 'NO_NODE' ? [] : Promise.reject(e)),
      );
      if (members.length) {
        throw new CopyError(`${to.label}: ${members.length} Sluice replica(s) are running on it (${P.election}); stop them before replacing their state`, 3);
      }
      const st = await ZkStore.open(session, to.url.path, { owner: 'sluice store copy', logger: nullLogger() });
      try {
        const existing = fromState(st);
        replaced = existing.length;
        if (existing.length && !opts.force) throw refuse(existing.length);
        await st.replaceAll(records);
      } finally {
        await st.close();
      }
    } finally {
      await session.close();
    }
  }
  // verify: the target as a fresh reader sees it
  const back = await readAll(to).catch((e: unknown) => {
    throw new CopyError(`${to.label}: written, but reading it back failed: ${(e as Error).message}`, 4);
  });
  const diff = difference(records, back);
  if (diff) throw new CopyError(`${to.label}: verification failed: ${diff}`, 4);
  const collections: Record<string, number> = {};
  for (const [c] of records) collections[c] = (collections[c] ?? 0) + 1;
  return { from: from.label, to: to.label, records: records.length, collections, replaced, seconds: (performance.now() - t0) / 1000, verified: true };
}
