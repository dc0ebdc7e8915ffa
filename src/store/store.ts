/**
 * Crash-safe embedded store: named collections of JSON records, kept entirely in memory, made
 * durable by a write-ahead log (wal.log) and periodic atomic snapshots (snapshot.json).
 *
 * Files in the store directory:
 *   LOCK            "<pid>\n<hostname>\n", created O_EXCL (see lock.ts)
 *   wal.log         header + one length-prefixed, CRC-32-checked record per committed batch (wal.ts)
 *   snapshot.json   {"format":"sluice-store-snapshot","version":1,"generation":G,"seq":S,
 *                    "crc32":C,"collections":{"<name>":[["<key>",<value>],...],...}}
 *                   C = CRC-32 of the UTF-8 of JSON.stringify(collections); pairs in list() order.
 *   *.tmp           in-flight snapshot / log being created; deleted on open
 *   *.corrupt-<ts>  copies of damaged files set aside by { repair: true }
 *
 * WAL record payload: {"s":<seq>,"o":[["p",<collection>,<key>,<value>] | ["d",<collection>,<key>], ...]}
 * seq numbers are consecutive across the whole life of the store; the snapshot stores the last seq
 * it contains, so the first record of the log that continues it must carry seq S+1.
 *
 * Generations: a snapshot of generation G holds everything written to logs of generation < G, and
 * wal.log of generation G continues it. Compaction writes snapshot G+1 (tmp, fsync, rename, fsync
 * dir) and then a fresh wal.log G+1 (tmp with header, fsync, rename, fsync dir). A crash between
 * the two leaves snapshot G+1 with wal.log G, which open recognises as already contained in the
 * snapshot and replaces. A log NEWER than the snapshot means lost data and is an error.
 */
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from './crc32.js';
import { StoreClosedError, StoreCorruptError, StoreError } from './errors.js';
import { fsyncDir, prepareStoreDir } from './dir.js';
import { acquireLock, type LockHandle } from './lock.js';
import { bootTag } from './boot.js';
import {
  COMMIT_BLOCK_OFFSET,
  WAL_HEADER_BYTES,
  decodeWalHeader,
  encodeCommitBlock,
  encodeRecord,
  encodeWalHeader,
  MAX_RECORD_BYTES,
  type CommitInfo,
} from './wal.js';
import { isUint, replayWal, type WalReplay } from './recover-wal.js';
import { CollectionsReader, applyOp, deepFreeze, prepareOp, type BatchOp, type MemOp } from './collections.js';
import { createLogger } from '../util/logger.js';
import type { StoreLogger } from './logger.js';

export type { StoreLogger, BatchOp };

export interface StoreOptions {
  /** fsync/fdatasync every commit, snapshot and directory change (default true). With false the
   *  store survives a process crash but not a power loss or kernel crash. */
  fsync?: boolean;
  /** Compact (snapshot + new log) once wal.log holds this many record bytes (default 32 MiB). */
  compactAfterBytes?: number;
  logger?: StoreLogger;
  /** On corruption, keep what is good, copy the bad file aside (<file>.corrupt-<timestamp>), log an
   *  error and compact, instead of throwing StoreCorruptError. */
  repair?: boolean;
  /** Called once per committed batch: seconds from the batch()/put()/delete() call until it was
   *  durable, and the bytes of its log record. Exceptions thrown by the hook are logged and ignored. */
  onWrite?: (seconds: number, bytes: number) => void;
}

export interface StoreStats {
  /** Generation of the current snapshot and log. */
  generation: number;
  /** Sequence number of the last committed batch. */
  seq: number;
  /** Current size of wal.log in bytes (header included). */
  walBytes: number;
  /** Number of group commits (writes + fsyncs) and batches committed since open. */
  commits: number;
  batches: number;
  compactions: number;
  collections: Record<string, number>;
}

export const SNAPSHOT_FILE = 'snapshot.json';
export const WAL_FILE = 'wal.log';
const SNAPSHOT_FORMAT = 'sluice-store-snapshot';
const SNAPSHOT_VERSION = 1;
const DEFAULT_COMPACT_AFTER = 32 * 1024 * 1024;
/** A group commit takes queued batches until their payloads reach this size. */
const MAX_GROUP_BYTES = 8 * 1024 * 1024;

interface PendingBatch {
  kind: 'batch';
  opsJson: string[];
  ops: MemOp[];
  jsonBytes: number;
  startedAt: number;
  resolve(): void;
  reject(err: unknown): void;
}
interface PendingCompact {
  kind: 'compact';
  resolve(): void;
  reject(err: unknown): void;
}
type Pending = PendingBatch | PendingCompact;

export class Store extends CollectionsReader {
  private readonly fsyncEnabled: boolean;
  private readonly compactAfter: number;
  private readonly logger: StoreLogger;
  private readonly onWrite?: (seconds: number, bytes: number) => void;

  private generation = 0;
  private seq = 0;
  private wal: FileHandle | undefined;
  private walSize = 0;
  /** What the commit block on disk says (ackedEnd < end until the latest group is sealed). */
  private commitBlock: CommitInfo = { end: WAL_HEADER_BYTES, ackedEnd: WAL_HEADER_BYTES, seq: 0, bootTag: bootTag() };
  /** Compaction is attempted when walSize reaches this (raised after a failed attempt). */
  private compactAt: number;

  private queue: Pending[] = [];
  private writing = false;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Set when an I/O failure left the files in a state the store will not append to. */
  private failed: Error | undefined;

  private commits = 0;
  private batches = 0;
  private compactions = 0;

  private constructor(
    readonly dir: string,
    private readonly lock: LockHandle,
    opts: StoreOptions,
    logger: StoreLogger,
  ) {
    super();
    this.fsyncEnabled = opts.fsync ?? true;
    this.compactAfter = Math.max(1, opts.compactAfterBytes ?? DEFAULT_COMPACT_AFTER);
    this.compactAt = WAL_HEADER_BYTES + this.compactAfter;
    this.logger = logger;
    this.onWrite = opts.onWrite;
  }

  /** Opens (creating if needed) the store in `dir`: takes the lock, loads the snapshot, replays the
   *  log (recovering a torn tail), and is then ready. Throws StoreLockedError / StoreCorruptError. */
  static async open(dir: string, opts: StoreOptions & { repair?: boolean } = {}): Promise<Store> {
    const abs = path.resolve(dir);
    const logger = opts.logger ?? createLogger({ defaultMeta: { component: 'store' } });
    await prepareStoreDir(abs, opts.fsync ?? true);
    const lock = await acquireLock(abs, logger).catch((err: unknown) => {
      throw err instanceof StoreError ? err : new StoreError(`cannot lock the store directory ${abs}: ${(err as Error).message}`, abs);
    });
    const store = new Store(abs, lock, opts, logger);
    try {
      await store.recover(opts.repair ?? false);
    } catch (err) {
      await store.wal?.close().catch(() => undefined);
      lock.release();
      if (err instanceof StoreError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new StoreError(`cannot open the store in ${abs}: ${e.message}`, e.path ?? abs);
    }
    return store;
  }

  // reads (memory only): get, list, collections — CollectionsReader (collections.ts); the order
  // of list() survives reopen and compaction

  stats(): StoreStats {
    const collections = this.counts();
    return {
      generation: this.generation,
      seq: this.seq,
      walBytes: this.walSize,
      commits: this.commits,
      batches: this.batches,
      compactions: this.compactions,
      collections,
    };
  }

  // ---------------------------------------------------------------- writes

  /** Stores `value` under `key`; resolves once durable. Reads see it only after that. */
  put(collection: string, key: string, value: unknown): Promise<void> {
    return this.batch([{ op: 'put', collection, key, value }]);
  }

  /** Removes `key` (a no-op if absent, but still logged); resolves once durable. */
  delete(collection: string, key: string): Promise<void> {
    return this.batch([{ op: 'delete', collection, key }]);
  }

  /**
   * Applies the operations atomically (one log record: after a crash either all or none are
   * present) and in order. Resolves once durable; concurrent calls are queued and committed in call
   * order, several per fsync when they pile up. Invalid operations reject the whole batch before
   * anything is written.
   */
  async batch(ops: BatchOp[]): Promise<void> {
    this.assertWritable();
    if (!Array.isArray(ops)) throw new TypeError('batch(ops): ops must be an array');
    if (ops.length === 0) return;
    const startedAt = performance.now();
    const opsJson: string[] = [];
    const memOps: MemOp[] = [];
    let jsonBytes = 0;
    ops.forEach((o, i) => {
      const [m, j] = prepareOp(o, i);
      memOps.push(m);
      opsJson.push(j);
      jsonBytes += Buffer.byteLength(j, 'utf8') + 1;
    });
    if (jsonBytes > MAX_RECORD_BYTES - 64) throw new RangeError(`batch of ~${jsonBytes} bytes exceeds the ${MAX_RECORD_BYTES}-byte record limit`);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'batch', opsJson, ops: memOps, jsonBytes, startedAt, resolve, reject });
      this.kick();
    });
  }

  /** Writes a snapshot of the current state and starts a new log (after the queued writes). */
  compact(): Promise<void> {
    try {
      this.assertWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'compact', resolve, reject });
      this.kick();
    });
  }

  /** Waits for queued writes, closes the log and releases the lock. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        await this.idle();
        try {
          if (this.wal && !this.failed) await this.sealCommitBlock().catch(() => undefined);
          await this.wal?.close();
        } finally {
          this.wal = undefined;
          this.lock.release();
        }
      })();
    }
    return this.closing;
  }

  // ---------------------------------------------------------------- writer

  protected override assertOpen(): void {
    if (this.closed) throw new StoreClosedError(`store ${this.dir} is closed`);
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.failed) throw this.failed;
  }

  private idle(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = true;
    void this.writeLoop();
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'compact') {
          this.queue.shift();
          if (this.failed) {
            head.reject(this.failed);
            continue;
          }
          try {
            await this.compactNow('requested');
            head.resolve();
          } catch (err) {
            head.reject(err);
          }
          continue;
        }
        const group: PendingBatch[] = [];
        let bytes = 0;
        while (this.queue.length > 0 && this.queue[0]!.kind === 'batch' && (group.length === 0 || bytes < MAX_GROUP_BYTES)) {
          const b = this.queue.shift() as PendingBatch;
          group.push(b);
          bytes += b.jsonBytes;
        }
        try {
          await this.commitGroup(group);
        } catch (err) {
          // Not expected (commitGroup handles I/O errors); never leave a caller hanging.
          this.logger.error(`store commit failed unexpectedly: ${(err as Error).message}`, { event: 'store_write_failed' });
          for (const b of group) b.reject(err);
        }
        if (!this.failed && this.walSize >= this.compactAt) {
          try {
            await this.compactNow(`wal.log reached ${this.walSize} bytes`);
          } catch {
            // logged by compactNow; the log is still the source of truth (or the store has failed)
          }
        }
      }
    } finally {
      this.writing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async commitGroup(group: PendingBatch[]): Promise<void> {
    if (this.failed || !this.wal) {
      const err = this.failed ?? new StoreClosedError(`store ${this.dir} is closed`);
      for (const b of group) b.reject(err);
      return;
    }
    const wal = this.wal;
    const start = this.walSize;
    let seq = this.seq;
    const records = group.map((b) => {
      seq++;
      return encodeRecord(this.generation, Buffer.from(`{"s":${seq},"o":[${b.opsJson.join(',')}]}`, 'utf8'));
    });
    const buf = records.length === 1 ? records[0]! : Buffer.concat(records);
    const block: CommitInfo = { end: start + buf.length, ackedEnd: start, seq, bootTag: bootTag() };
    try {
      // Records first, then the block claiming them: a process killed in between leaves only an
      // unclaimed (unacknowledged) tail. One fdatasync makes both durable. Page-cache copies are
      // cheaper inline than a threadpool hop.
      writeFullySync(wal.fd, buf, start);
      writeFullySync(wal.fd, encodeCommitBlock(this.generation, block), COMMIT_BLOCK_OFFSET);
      this.commitBlock = block;
      if (this.fsyncEnabled) await wal.datasync();
    } catch (err) {
      // Put the file back to its last durable length so a rejected batch can never reappear.
      let rolledBack = false;
      try {
        await wal.truncate(start);
        const back: CommitInfo = { end: start, ackedEnd: start, seq: this.seq, bootTag: bootTag() };
        writeFullySync(wal.fd, encodeCommitBlock(this.generation, back), COMMIT_BLOCK_OFFSET);
        this.commitBlock = back;
        if (this.fsyncEnabled) await wal.datasync();
        rolledBack = true;
      } catch {
        /* handled below */
      }
      const e = err as Error;
      if (!rolledBack) {
        this.failed = new StoreClosedError(
          `store ${this.dir}: writing ${WAL_FILE} failed (${e.message}) and it could not be truncated back; ` +
            `no further writes are accepted, reopen the store to recover`,
        );
      }
      this.logger.error(`store write of ${group.length} batch(es) failed: ${e.message}`, {
        event: 'store_write_failed',
        file: path.join(this.dir, WAL_FILE),
        offset: start,
        rolled_back: rolledBack,
      });
      const rejection = rolledBack
        ? err
        : new StoreClosedError(
            `store ${this.dir}: writing ${WAL_FILE} failed (${e.message}) and could not be undone: whether this ` +
              `batch is durable is unknown (it may be present after a reopen)`,
          );
      for (const b of group) b.reject(rejection);
      return;
    }
    this.walSize = start + buf.length;
    this.seq = seq;
    this.commits++;
    this.batches += group.length;
    const now = performance.now();
    group.forEach((b, i) => {
      for (const op of b.ops) applyOp(this.data, op);
      if (this.onWrite) {
        try {
          this.onWrite((now - b.startedAt) / 1000, records[i]!.length);
        } catch (err) {
          this.logger.warn(`store onWrite hook threw: ${(err as Error).message}`);
        }
      }
      b.resolve();
    });
  }

  /** Marks the latest group as acknowledged in the commit block (its records are already durable). */
  private async sealCommitBlock(): Promise<void> {
    const c = this.commitBlock;
    if (!this.wal || (c.ackedEnd === c.end && c.end === this.walSize && c.bootTag === bootTag())) return;
    const block: CommitInfo = { end: this.walSize, ackedEnd: this.walSize, seq: this.seq, bootTag: bootTag() };
    if (this.fsyncEnabled) await this.wal.datasync();
    writeFullySync(this.wal.fd, encodeCommitBlock(this.generation, block), COMMIT_BLOCK_OFFSET);
    if (this.fsyncEnabled) await this.wal.datasync();
    this.commitBlock = block;
  }

  // ---------------------------------------------------------------- compaction

  private serializeCollections(): string {
    const obj: Record<string, Array<[string, unknown]>> = {};
    for (const [name, m] of this.data) obj[name] = Array.from(m);
    return JSON.stringify(obj);
  }

  /**
   * Snapshot + new log. Failure before the snapshot rename leaves the old files in charge (logged,
   * retried later); failure after it fails the store (reopening recovers: the snapshot holds all).
   */
  private async compactNow(reason: string): Promise<void> {
    const snap = path.join(this.dir, SNAPSHOT_FILE);
    const snapTmp = snap + '.tmp';
    const newGen = this.generation + 1;
    const t0 = performance.now();
    let renamed = false;
    try {
      const body = this.serializeCollections();
      const text =
        `{"format":"${SNAPSHOT_FORMAT}","version":${SNAPSHOT_VERSION},"generation":${newGen},"seq":${this.seq},` +
        `"crc32":${crc32(Buffer.from(body, 'utf8'))},"collections":${body}}\n`;
      await writeFileDurably(snapTmp, text, this.fsyncEnabled);
      await fsp.rename(snapTmp, snap);
      renamed = true;
      if (this.fsyncEnabled) await fsyncDir(this.dir);
      const newWal = await this.createWal(newGen);
      const old = this.wal;
      this.wal = newWal;
      this.walSize = WAL_HEADER_BYTES;
      this.generation = newGen;
      this.compactAt = WAL_HEADER_BYTES + this.compactAfter;
      this.compactions++;
      await old?.close().catch(() => undefined);
      this.logger.info(`store compacted to generation ${newGen} (${reason})`, {
        event: 'store_compacted',
        generation: newGen,
        snapshot_bytes: Buffer.byteLength(text),
        seconds: (performance.now() - t0) / 1000,
      });
    } catch (err) {
      const e = err as Error;
      if (renamed) {
        this.failed = new StoreClosedError(
          `store ${this.dir}: compaction to generation ${newGen} failed after ${SNAPSHOT_FILE} was replaced (${e.message}); ` +
            `no further writes are accepted, reopen the store to recover`,
        );
      } else {
        await fsp.rm(snapTmp, { force: true }).catch(() => undefined);
        this.compactAt = this.walSize + Math.ceil(this.compactAfter / 4);
      }
      this.logger.error(`store compaction failed: ${e.message}`, {
        event: 'store_compaction_failed',
        dir: this.dir,
        store_failed: renamed,
      });
      throw err;
    }
  }

  /** Creates wal.log of `generation` atomically (tmp + rename) and returns an open handle on it. */
  private async createWal(generation: number): Promise<FileHandle> {
    const file = path.join(this.dir, WAL_FILE);
    const tmp = file + '.tmp';
    const h = await fsp.open(tmp, 'w+');
    try {
      const block: CommitInfo = { end: WAL_HEADER_BYTES, ackedEnd: WAL_HEADER_BYTES, seq: this.seq, bootTag: bootTag() };
      await writeFully(h, encodeWalHeader(generation, block), 0);
      this.commitBlock = block;
      if (this.fsyncEnabled) await h.sync();
      await fsp.rename(tmp, file);
      if (this.fsyncEnabled) await fsyncDir(this.dir);
    } catch (err) {
      await h.close().catch(() => undefined);
      throw err;
    }
    return h;
  }

  // ---------------------------------------------------------------- recovery

  private corrupt(repair: boolean, err: StoreCorruptError): void {
    if (!repair) throw err;
    this.logger.error(`STORE CORRUPTION, repairing: ${err.message}`, {
      event: 'store_corrupt_repair',
      file: err.file,
      offset: err.offset,
    });
  }

  private async setAside(file: string): Promise<string> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    let target = `${file}.corrupt-${stamp}`;
    for (let i = 1; fs.existsSync(target); i++) target = `${file}.corrupt-${stamp}-${i}`;
    await fsp.copyFile(file, target, fs.constants.COPYFILE_EXCL);
    if (this.fsyncEnabled) {
      const h = await fsp.open(target, 'r');
      await h.sync().finally(() => h.close());
      await fsyncDir(this.dir);
    }
    this.logger.error(`STORE CORRUPTION: the damaged ${path.basename(file)} was moved aside to ${target}; ` +
      `the store continues from the good data only`, { event: 'store_corrupt_file_moved', file, moved_to: target });
    return target;
  }

  private async recover(repair: boolean): Promise<void> {
    const snapFile = path.join(this.dir, SNAPSHOT_FILE);
    const walFile = path.join(this.dir, WAL_FILE);
    for (const tmp of [snapFile + '.tmp', walFile + '.tmp']) {
      if (fs.existsSync(tmp)) {
        await fsp.rm(tmp, { force: true });
        this.logger.info(`store removed ${tmp} left by an interrupted compaction`, { event: 'store_tmp_removed', file: tmp });
      }
    }

    // 1. snapshot
    let haveSnapshot = false;
    let snapshotLost = false; // corrupt and repaired: base state unknown
    let snapGen = 0;
    let snapSeq = 0;
    let needCompact = false;
    const toSetAside: string[] = [];
    if (fs.existsSync(snapFile)) {
      try {
        const s = this.loadSnapshot(await readRegularFile(snapFile));
        haveSnapshot = true;
        snapGen = s.generation;
        snapSeq = s.seq;
      } catch (err) {
        if (!(err instanceof SnapshotError)) throw err;
        this.corrupt(repair, new StoreCorruptError(`${snapFile}: ${err.message}; refusing to start from an unknown state`, snapFile));
        this.data.clear();
        snapshotLost = true;
        needCompact = true;
        toSetAside.push(snapFile);
      }
    }

    // 2. log
    if (!fs.existsSync(walFile)) {
      if (!haveSnapshot && !snapshotLost) {
        this.wal = await this.createWal(0);
        this.walSize = WAL_HEADER_BYTES;
        return; // a new store
      }
      if (haveSnapshot) {
        this.corrupt(
          repair,
          new StoreCorruptError(
            `${walFile} is missing but ${snapFile} (generation ${snapGen}) exists: writes made after that snapshot would be lost`,
            walFile,
          ),
        );
      }
      this.generation = snapGen;
      this.seq = snapSeq;
      await this.finishRepair(toSetAside);
      return;
    }

    const buf = await readRegularFile(walFile);
    const header = decodeWalHeader(buf);
    if ('error' in header) {
      this.corrupt(repair, new StoreCorruptError(`${walFile}: ${header.error}`, walFile, 0));
      toSetAside.push(walFile);
      this.generation = snapGen;
      this.seq = snapSeq;
      await this.finishRepair(toSetAside);
      return;
    }
    const walGen = header.generation;
    if (!snapshotLost && walGen < snapGen) {
      // Compaction wrote the snapshot but crashed before replacing the log: the log is contained in it.
      this.logger.info(
        `store ${walFile} is generation ${walGen}, already contained in ${SNAPSHOT_FILE} generation ${snapGen} ` +
          `(compaction was interrupted); starting a new log`,
        { event: 'store_stale_wal', wal_generation: walGen, snapshot_generation: snapGen },
      );
      if (walGen !== snapGen - 1) {
        this.logger.warn(`store ${walFile} generation ${walGen} is older than expected (${snapGen - 1})`, { event: 'store_stale_wal' });
      }
      this.generation = snapGen;
      this.seq = snapSeq;
      this.wal = await this.createWal(snapGen);
      this.walSize = WAL_HEADER_BYTES;
      return;
    }
    if (!snapshotLost && walGen > snapGen) {
      this.corrupt(
        repair,
        new StoreCorruptError(
          `${walFile} is generation ${walGen} but ${haveSnapshot ? `${snapFile} is generation ${snapGen}` : `${snapFile} is missing`}: ` +
            `the snapshot the log continues is gone, so records are missing`,
          walFile,
        ),
      );
      needCompact = true;
      toSetAside.push(walFile);
    }

    const r = replayWal(buf, header, {
      file: walFile,
      baseSeq: snapSeq,
      expectSeq: snapshotLost || needCompact ? undefined : snapSeq + 1,
      bootTag: bootTag(),
    });
    for (const ops of r.batches) for (const op of ops) applyOp(this.data, op);
    this.generation = walGen > snapGen || snapshotLost ? walGen : snapGen;
    this.seq = r.lastSeq;
    if (r.corrupt) {
      this.corrupt(repair, new StoreCorruptError(r.corrupt.message, walFile, r.corrupt.offset));
      if (!toSetAside.includes(walFile)) toSetAside.push(walFile);
      needCompact = true;
    }
    if (!header.commit && !needCompact) {
      if (r.torn) this.logTorn(walFile, r.torn, r.batches.length, buf.length - r.goodEnd);
      this.logger.info(`store ${walFile} is format version 1; rewriting it as version 2`, { event: 'store_upgrade' });
      needCompact = true;
    }
    if (needCompact) {
      await this.finishRepair(toSetAside);
      return;
    }

    const h = await fsp.open(walFile, 'r+');
    try {
      this.wal = h;
      this.walSize = r.goodEnd;
      this.commitBlock = header.commit!;
      if (r.torn) {
        this.logTorn(walFile, r.torn, r.batches.length, buf.length - r.goodEnd);
        await h.truncate(r.goodEnd);
      }
      // Records kept past the old block (written, never acknowledged) are made durable and claimed.
      await this.sealCommitBlock();
    } catch (err) {
      this.wal = undefined;
      await h.close();
      throw err;
    }
  }

  private logTorn(walFile: string, torn: NonNullable<WalReplay['torn']>, kept: number, discarded: number): void {
    const why = torn.afterReboot
      ? 'the latest group commit, interrupted when the machine went down during its fsync (never acknowledged)'
      : 'the tail of a write interrupted by a crash (never acknowledged)';
    this.logger.warn(
      `store ${walFile}: torn record at offset ${torn.offset} (${torn.reason}), ${why}; ` +
        `recovered ${kept} record(s), discarding the last ${discarded} byte(s)`,
      { event: 'store_torn_tail', file: walFile, offset: torn.offset, discarded_bytes: discarded, after_reboot: torn.afterReboot },
    );
  }

  /** After a repair: copy the damaged files aside, then write a clean snapshot and log. */
  private async finishRepair(toSetAside: string[]): Promise<void> {
    for (const f of toSetAside) await this.setAside(f);
    await this.compactNow('repair');
  }

  private loadSnapshot(buf: Buffer): { generation: number; seq: number } {
    let doc: unknown;
    try {
      doc = JSON.parse(buf.toString('utf8'));
    } catch (err) {
      throw new SnapshotError(`not valid JSON (${(err as Error).message}; ${buf.length} bytes)`);
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new SnapshotError('not a JSON object');
    const d = doc as Record<string, unknown>;
    if (d.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`format is ${JSON.stringify(d.format)}, expected "${SNAPSHOT_FORMAT}"`);
    if (d.version !== SNAPSHOT_VERSION) throw new SnapshotError(`unsupported version ${JSON.stringify(d.version)}`);
    if (!isUint(d.generation)) throw new SnapshotError(`bad generation ${JSON.stringify(d.generation)}`);
    if (!isUint(d.seq)) throw new SnapshotError(`bad seq ${JSON.stringify(d.seq)}`);
    const cols = d.collections;
    if (cols === null || typeof cols !== 'object' || Array.isArray(cols)) throw new SnapshotError('"collections" is not an object');
    const computed = crc32(Buffer.from(JSON.stringify(cols), 'utf8'));
    if (computed !== d.crc32) {
      throw new SnapshotError(`CRC mismatch over "collections" (stored ${JSON.stringify(d.crc32)}, computed ${computed})`);
    }
    for (const [name, pairs] of Object.entries(cols as Record<string, unknown>)) {
      if (!Array.isArray(pairs)) throw new SnapshotError(`collection ${JSON.stringify(name)} is not an array`);
      const m = new Map<string, unknown>();
      for (const p of pairs) {
        if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string') {
          throw new SnapshotError(`collection ${JSON.stringify(name)} has an entry that is not a [key, value] pair`);
        }
        if (m.has(p[0])) throw new SnapshotError(`collection ${JSON.stringify(name)} has key ${JSON.stringify(p[0])} twice`);
        m.set(p[0], deepFreeze(p[1]));
      }
      if (m.size > 0) this.data.set(name, m);
    }
    return { generation: d.generation, seq: d.seq };
  }
}

class SnapshotError extends Error {}

async function writeFully(h: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await h.write(buf, off, buf.length - off, position + off);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten}`);
    off += bytesWritten;
  }
}

async function writeFileDurably(file: string, text: string, sync: boolean): Promise<void> {
  const h = await fsp.open(file, 'w');
  try {
    await writeFully(h, Buffer.from(text, 'utf8'), 0);
    if (sync) await h.sync();
  } finally {
    await h.close();
  }
}

function writeFullySync(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.writeSync(fd, buf, off, buf.length - off, position + off);
    if (n <= 0) throw new Error(`write returned ${n}`);
    off += n;
  }
}

/**
 * Reads a store file that must be a regular file: a FIFO, device or directory put in its place is a
 * clear StoreError instead of a read that never ends (a FIFO blocks its reader forever).
 */
async function readRegularFile(file: string): Promise<Buffer> {
  const st = await fsp.stat(file);
  if (!st.isFile()) throw new StoreError(`${file} is not a regular file (${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : 'a special file'}): move it away`, file);
  return fsp.readFile(file);
}
