/**
 * The in-memory side every store shares (the file store, src/store/store.ts; the ZooKeeper store of
 * HA replicas and a standby's read-only copy, src/ha): named collections of frozen JSON records, the
 * one rule that changes them (`applyOp`), the one check of a batch operation (`prepareOp`) and the
 * one reader over them (`CollectionsReader`).
 *
 * Empty collections: a collection exists exactly while it holds a record. Deleting its last key
 * removes it, so `collections()` names the non-empty collections only, and a collection that was
 * emptied reads like one that never existed (`list` → [], `get` → undefined) — in memory, after a
 * reopen and after a compaction alike (neither store's snapshot format can hold an empty one).
 */
/** One change as the log replays it: put (value already parsed and frozen) or delete. */
export type MemOp = ['p', string, string, unknown] | ['d', string, string];
/** collection → key → value, each map in insertion order. */
export type Collections = Map<string, Map<string, unknown>>;

/** What reads a store: memory only, never I/O. */
export interface StoreReader {
  /** The value stored under `key`, or undefined. Values are deeply frozen: treat them as read-only. */
  get<T>(collection: string, key: string): T | undefined;
  /** All [key, value] pairs of a collection in insertion order: a key keeps its position when
   *  overwritten and moves to the end when deleted and put again. Unknown collections are empty. */
  list<T>(collection: string): Array<[string, T]>;
  /** Names of the non-empty collections, in the order they were created. */
  collections(): string[];
}

/** A batch operation (the public write interface of every store). */
export interface BatchOp {
  op: 'put' | 'delete';
  collection: string;
  key: string;
  /** Required for 'put': any JSON-serialisable value (not undefined, not bigint). */
  value?: unknown;
}

/** Freezes a value and everything in it (store values are shared: nobody may change them). */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

/** Applies one change; a collection whose last key goes is removed. */
export function applyOp(data: Collections, op: MemOp): void {
  let m = data.get(op[1]);
  if (op[0] === 'p') {
    if (!m) data.set(op[1], (m = new Map()));
    m.set(op[2], op[3]);
  } else if (m && m.delete(op[2]) && m.size === 0) data.delete(op[1]);
}

/**
 * Checks operation `i` of a batch and returns it for memory (the value exactly as a replay of the
 * log would produce it: Dates become strings, etc., deeply frozen) and its log JSON
 * (`["p",c,k,v]` / `["d",c,k]`). Throws TypeError naming the operation.
 */
export function prepareOp(o: BatchOp, i: number): [MemOp, string] {
  const where = `batch op ${i}`;
  if (o === null || typeof o !== 'object') throw new TypeError(`${where}: not an object`);
  if (typeof o.collection !== 'string' || o.collection.length === 0) throw new TypeError(`${where}: collection must be a non-empty string`);
  if (typeof o.key !== 'string') throw new TypeError(`${where}: key must be a string`);
  const c = JSON.stringify(o.collection);
  const k = JSON.stringify(o.key);
  if (o.op === 'delete') return [['d', o.collection, o.key], `["d",${c},${k}]`];
  if (o.op !== 'put') throw new TypeError(`${where}: op must be 'put' or 'delete', got ${JSON.stringify((o as { op: unknown }).op)}`);
  let v: string | undefined;
  try {
    v = JSON.stringify(o.value);
  } catch (err) {
    throw new TypeError(`${where}: value for ${o.collection}/${o.key} is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (v === undefined) throw new TypeError(`${where}: value for ${o.collection}/${o.key} is not JSON-serialisable (${typeof o.value})`);
  return [['p', o.collection, o.key, deepFreeze(JSON.parse(v))], `["p",${c},${k},${v}]`];
}

/**
 * The one reader over a collections map. Stores extend it (they override `assertOpen`, and replace
 * `data` when they load or swap their state); a standby's copy uses it as it is.
 */
export class CollectionsReader implements StoreReader {
  constructor(protected data: Collections = new Map()) {}

  /** Throws when reading is no longer allowed (a closed store). */
  protected assertOpen(): void {}

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
    return Array.from(this.data.keys());
  }

  /** Records per collection. */
  protected counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, m] of this.data) out[name] = m.size;
    return out;
  }
}
