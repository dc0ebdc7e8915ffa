/**
 * The one writer of the master's maintenance state for this Sluice process.
 *
 * The master keeps ONE schedule and a POST replaces it whole, with no compare-and-swap. Two
 * read-modify-writes of the same process running at once lose each other's windows (the second
 * POST is computed from a schedule read before the first one landed). So every write Sluice makes
 * to the master's maintenance state goes through this queue, one at a time:
 *
 * - `edit`: a pure edit of the schedule (add our window, remove our machines). Edits queued while
 *   a write is in flight are coalesced into the next POST: one GET of the latest schedule and
 *   status, every edit applied in arrival order (an edit that throws — e.g. a conflict with
 *   someone else's window — fails alone, the others still go), Mesos's validation, a re-read just
 *   before the POST (start over if anyone changed the schedule meanwhile), POST
 *   (MaintenanceOperatorClient.updateSchedule).
 * - `exclusive`: anything else that must not overlap a schedule write — /machine/down,
 *   /machine/up, and the reads of a reconciliation (so it never sees a half-done write of ours).
 *
 * Reconciliation must also not mistake our own recent writes for someone else's: `generation`
 * counts completed writes and `changedSince(host, g)` says whether a write touching the host
 * finished after generation g; `busy(host)` whether one is queued or in flight. The comparison is
 * therefore always against what Sluice last wrote.
 */
import type { ClusterStatus, Schedule } from '../../mesos/types.js';
import { nullLogger, type Logger } from '../../util/logger.js';
import type { MaintenanceOperatorClient } from './operator-client.js';
import { validateSchedule } from '../core/schedule.js';

export interface ScheduleEdit {
  /** Host keys the edit concerns (for busy / changedSince). */
  hosts: readonly string[];
  /** Pure edit of the latest schedule; may throw to refuse (then only this edit fails). */
  apply(s: Schedule, status: ClusterStatus): Schedule;
}

type Item =
  | { kind: 'edit'; edit: ScheduleEdit; resolve: () => void; reject: (e: Error) => void }
  | { kind: 'exclusive'; hosts: readonly string[]; run: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: Error) => void };

/** Most edits coalesced into one POST. */
const MAX_COALESCE = 64;

class NothingToWrite extends Error {}

export class ScheduleWriter {
  private readonly queue: Item[] = [];
  private running = false;
  private gen = 0;
  private readonly touched = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  /** Writes that went out as one POST (coalescing), for logs and tests. */
  posts = 0;

  constructor(
    private readonly client: Pick<MaintenanceOperatorClient, 'updateSchedule'>,
    private readonly log: Logger = nullLogger(),
  ) {}

  /** Completed writes so far. */
  get generation(): number {
    return this.gen;
  }

  /** Queue an edit; resolves once a POST carrying it was accepted by the master. */
  edit(edit: ScheduleEdit): Promise<void> {
    return new Promise<void>((resolve, reject) => this.push({ kind: 'edit', edit, resolve, reject }));
  }

  /** Run `fn` alone (no schedule write overlaps it). */
  exclusive<T>(hosts: readonly string[], fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.push({ kind: 'exclusive', hosts, run: fn, resolve: resolve as (v: unknown) => void, reject }));
  }

  /** A write concerning the host is queued or in flight. */
  busy(host: string): boolean {
    return (this.pending.get(host) ?? 0) > 0;
  }

  /** A write concerning the host completed after generation `g`. */
  changedSince(host: string, g: number): boolean {
    return (this.touched.get(host) ?? -1) > g;
  }

  private hostsOf(it: Item): readonly string[] {
    return it.kind === 'edit' ? it.edit.hosts : it.hosts;
  }

  private push(it: Item): void {
    for (const h of this.hostsOf(it)) this.pending.set(h, (this.pending.get(h) ?? 0) + 1);
    this.queue.push(it);
    if (!this.running) void this.drain();
  }

  private done(items: readonly Item[]): void {
    this.gen++;
    for (const it of items) {
      for (const h of this.hostsOf(it)) {
        this.touched.set(h, this.gen);
        const n = (this.pending.get(h) ?? 1) - 1;
        if (n > 0) this.pending.set(h, n);
        else this.pending.delete(h);
      }
    }
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const head = this.queue[0]!;
        if (head.kind === 'exclusive') {
          this.queue.shift();
          try {
            const v = await head.run();
            this.done([head]);
            head.resolve(v);
          } catch (e) {
            this.done([head]);
            head.reject(e as Error);
          }
          continue;
        }
        let n = 0;
        while (n < this.queue.length && n < MAX_COALESCE && this.queue[n]!.kind === 'edit') n++;
        const batch = this.queue.splice(0, n) as Array<Extract<Item, { kind: 'edit' }>>;
        await this.write(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async write(batch: Array<Extract<Item, { kind: 'edit' }>>): Promise<void> {
    // Recomputed on every attempt of updateSchedule (each one starts from a fresh read).
    let failed = new Map<Item, Error>();
    const compose = (s: Schedule, status: ClusterStatus): Schedule => {
      failed = new Map();
      let cur = s;
      for (const it of batch) {
        try {
          const next = it.edit.apply(cur, status);
          validateSchedule(next, status.down_machines ?? []);
          cur = next;
        } catch (e) {
          failed.set(it, e as Error);
        }
      }
      if (failed.size === batch.length) throw new NothingToWrite();
      return cur;
    };
    let error: Error | undefined;
    try {
      await this.client.updateSchedule(compose);
      this.posts++;
      if (batch.length > 1) this.log.debug('maintenance_schedule_coalesced', { event: 'maintenance_schedule_coalesced', edits: batch.length, refused: failed.size });
    } catch (e) {
      if (!(e instanceof NothingToWrite)) error = e as Error;
    }
    this.done(batch);
    for (const it of batch) {
      const f = failed.get(it) ?? error;
      if (f) it.reject(f);
      else it.resolve();
    }
  }
}
