/** Errors thrown by the store. Each names the file (and byte offset, when there is one). */

/** The base of every store error; thrown as such when the store directory itself is unusable (a
 *  file where the directory should be, a path through a file, no permission, a read-only disk). */
export class StoreError extends Error {
  override readonly name: string = 'StoreError';
  constructor(
    message: string,
    /** The file or directory concerned. */
    readonly path?: string,
  ) {
    super(message);
  }
}

/** The on-disk state cannot be trusted: mid-log WAL corruption, an unreadable snapshot, files missing
 *  or out of step. Never thrown for a torn WAL tail (that is recovered). Open with `{ repair: true }`
 *  to keep what is good and move the bad file aside. */
export class StoreCorruptError extends StoreError {
  override readonly name = 'StoreCorruptError';
  constructor(
    message: string,
    readonly file: string,
    /** Byte offset of the bad record (WAL) or undefined (whole-file problems). */
    readonly offset?: number,
  ) {
    super(message, file);
  }
}

/** The store directory is locked by another live process (or by another open Store in this one). */
export class StoreLockedError extends StoreError {
  override readonly name = 'StoreLockedError';
  constructor(
    message: string,
    readonly lockFile: string,
    readonly pid?: number,
  ) {
    super(message, lockFile);
  }
}

/** The store was closed, or an I/O failure left its files in a state it will not append to. */
export class StoreClosedError extends StoreError {
  override readonly name = 'StoreClosedError';
}

/**
 * A write was refused because another Sluice replica has taken over the store (HA): its leader
 * epoch moved. The writer is deposed and must stop acting at once.
 */
export class StoreFencedError extends StoreError {
  override readonly name = 'StoreFencedError';
}
