export { Store, SNAPSHOT_FILE, WAL_FILE } from './store.js';
export type { StoreOptions, StoreLogger, BatchOp, StoreStats } from './store.js';
export { StoreError, StoreCorruptError, StoreLockedError, StoreClosedError } from './errors.js';
export { LOCK_FILE } from './lock.js';
