import { Store as FileStore } from './store.js';
import type { BatchOp, StoreReader } from './collections.js';

export { SNAPSHOT_FILE, WAL_FILE } from './store.js';
export { FileStore };
export type { StoreOptions, StoreLogger, BatchOp, StoreStats } from './store.js';
export type { Collections, StoreReader } from './collections.js';
export { StoreError, StoreCorruptError, StoreLockedError, StoreClosedError, StoreFencedError } from './errors.js';
export { LOCK_FILE } from './lock.js';

/**
 * What the runtime and its modules need from a store: named collections of JSON records read from
 * memory, changed by atomic, durable batches. Two implementations: the file store (`FileStore`,
 * `Store.open(dir)`, the default) and the ZooKeeper store of HA replicas (src/ha/zk-store.ts).
 */
export interface KvStore extends StoreReader {
  /** Where the store lives, for logs (a directory, or a redacted zk:// URL). */
  readonly dir: string;
  put(collection: string, key: string, value: unknown): Promise<void>;
  delete(collection: string, key: string): Promise<void>;
  /** All-or-nothing, in order; resolves once durable. */
  batch(ops: BatchOp[]): Promise<void>;
  close(): Promise<void>;
}

/** The file store class (value: `Store.open(dir)`); as a type, any store implementation. */
export const Store = FileStore;
export type Store = KvStore;
