/**
 * A standby's read-only copy of the leader's state in ZooKeeper, for answering reads (possibly a
 * little stale, and marked as such by the caller). Nothing is taken over: no epoch bump, no write.
 *
 * `read()` refreshes the copy when it is older than `maxAgeMs` (only the log entries since the last
 * read; everything again after a compaction) and waits for that at most `catchUpMs` before
 * answering with what it has. The very first read waits up to `firstLoadMs` for the load (undefined
 * when that is not enough, e.g. the ensemble is unreachable: the caller then sends the client to
 * the leader).
 */
import { performance } from 'node:perf_hooks';
import type { ZkSession } from '../zk/session.js';
import type { Logger } from '../util/logger.js';
import { nullLogger } from '../util/logger.js';
import { CollectionsReader, type StoreReader } from '../store/collections.js';
import { loadLiveState, type Loaded } from './zk-layout.js';

export interface MirrorSnapshot {
  store: StoreReader;
  /** The last log entry the copy holds. */
  seq: number;
  /** Wall-clock time (ms) of the read from ZooKeeper that produced the copy. */
  readAtMs: number;
}

export class ZkStateMirror {
  private loaded: Loaded | undefined;
  private readAtMs = 0;
  private readAtMono = -Infinity;
  private refreshing: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly session: ZkSession,
    private readonly root: string,
    private readonly opts: { maxAgeMs?: number; firstLoadMs?: number; catchUpMs?: number; logger?: Logger; now?: () => number } = {},
  ) {
    this.log = opts.logger ?? nullLogger();
  }

  async read(): Promise<MirrorSnapshot | undefined> {
    const maxAge = this.opts.maxAgeMs ?? 1_000;
    if (performance.now() - this.readAtMono > maxAge && this.session.state === 'connected') this.refresh();
    if (this.refreshing) {
      // catch up with the log, but never wait on ZooKeeper for long: the copy we have is the answer
      let t: NodeJS.Timeout | undefined;
      const wait = this.loaded ? (this.opts.catchUpMs ?? 500) : (this.opts.firstLoadMs ?? 5_000);
      await Promise.race([this.refreshing, new Promise((r) => (t = setTimeout(r, wait)))]).finally(() => clearTimeout(t));
    }
    const l = this.loaded;
    if (!l) return undefined;
    return { seq: l.seq, readAtMs: this.readAtMs, store: new CollectionsReader(l.data) };
  }

  private refresh(): void {
    if (this.refreshing) return;
    const startedMono = performance.now();
    const startedAt = (this.opts.now ?? Date.now)();
    // a refresh works on a copy when it has to start over, and applies entries to the current maps
    // only after every read succeeded: a reader never sees half a refresh
    this.refreshing = loadLiveState(this.session, this.root, this.loaded)
      .then((l) => {
        this.loaded = l;
        this.readAtMs = startedAt;
        this.readAtMono = startedMono;
      })
      .catch((e: unknown) => {
        this.log.warn('standby_state_read_failed', { event: 'standby_state_read_failed', error: (e as Error).message });
      })
      .finally(() => (this.refreshing = undefined));
  }
}
