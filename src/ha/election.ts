/**
 * Leader election among Sluice replicas on ZooKeeper (the classic recipe, no herd effect):
 *
 *   <root>/election/member_<seq>   ephemeral sequential, data = {"id","api","pid"} of the replica
 *
 * The replica with the lowest sequence leads. Every other replica watches only its predecessor
 * (exists + watch); when that node goes it re-reads the children and either leads or watches the
 * next lower one.
 *
 * Leadership is a LEASE on top of the session. The library has no read timeout: a frozen or
 * partitioned server, or this process being frozen (SIGSTOP), leaves the session looking
 * "connected". So the leader confirms its own node every `probeMs` (an `exists` round trip), and
 * holds the lead only until `sentAt(last confirmed probe) + leaseMs`, with leaseMs = 2/3 of the
 * negotiated session timeout. The server cannot expire the session (and so no other replica can
 * take over) before `sentAt + sessionTimeout`: the lease always ends first. `canAct()` checks the
 * lease synchronously on the monotonic clock, so code that wakes up after a freeze sees it expired
 * before it does anything, even before a timer had a chance to run.
 *
 * Roles: standby → leader → lost. `lost` is final (session ended, lease expired, own node gone,
 * close()): the owner stops acting at once and starts again as a fresh replica.
 */
import { performance } from 'node:perf_hooks';
import { BehaviorSubject, type Observable, type Subscription } from 'rxjs';
import type { ZkSession } from '../zk/session.js';
import { ZkOperationError } from '../zk/errors.js';
import { nullLogger, type Logger } from '../util/logger.js';

export type LeaderRole = 'standby' | 'leader' | 'lost';

export interface ReplicaInfo {
  /** Stable name of the replica (e.g. host:port of its API). */
  id: string;
  /** Its operator API base URL (standbys redirect writes there). */
  api: string;
  pid: number;
}

export interface ElectionOptions {
  logger?: Logger;
  /** Lease length (default 2/3 of the negotiated session timeout). */
  leaseMs?: number;
  /** Probe period (default 1/6 of the session timeout). */
  probeMs?: number;
}

const MEMBER_RE = /^member_(\d{10})$/;

export class LeaderElection {
  private readonly roleSubject = new BehaviorSubject<LeaderRole>('standby');
  readonly role$: Observable<LeaderRole> = this.roleSubject.asObservable();
  /** Why leadership was lost (set with role 'lost'). */
  lostReason: string | undefined;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly probeMs: number;
  private leaseUntil = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private stateSub: Subscription | undefined;
  private checking = false;
  private checkAgain = false;
  /** Full path of our member node. */
  memberPath = '';

  private constructor(
    readonly session: ZkSession,
    readonly root: string,
    readonly info: ReplicaInfo,
    opts: ElectionOptions,
  ) {
    this.log = opts.logger ?? nullLogger();
    const t = session.sessionTimeoutMs;
    this.leaseMs = opts.leaseMs ?? Math.floor((t * 2) / 3);
    this.probeMs = opts.probeMs ?? Math.max(50, Math.floor(t / 6));
  }

  get electionPath(): string {
    return `${this.root}/election`;
  }

  /** Joins the election (creates our member node) and starts following it. */
  static async join(session: ZkSession, root: string, info: ReplicaInfo, opts: ElectionOptions = {}): Promise<LeaderElection> {
    const e = new LeaderElection(session, root.replace(/\/+$/, ''), info, opts);
    await session.mkdirp(e.electionPath);
    e.memberPath = await session.create(`${e.electionPath}/member_`, JSON.stringify(info), { mode: 'ephemeral_sequential' });
    e.log.info('election_joined', { event: 'election_joined', node: e.memberPath, replica: info.id, lease_ms: e.leaseMs, probe_ms: e.probeMs });
    e.stateSub = session.state$.subscribe({
      next: (st) => {
        if (st === 'expired' || st === 'auth_failed' || st === 'closed') e.lose(`ZooKeeper session ${st}`);
      },
      complete: () => e.lose(`ZooKeeper session ${session.state}`),
    });
    e.probeTimer = setInterval(() => void e.probe(), e.probeMs);
    void e.check();
    return e;
  }

  get role(): LeaderRole {
    return this.roleSubject.value;
  }

  /**
   * True only while this replica leads AND its lease is current. Call it right before every action
   * (a Mesos call, a maintenance call): it notices an expired lease synchronously.
   */
  canAct(): boolean {
    if (this.roleSubject.value !== 'leader') return false;
    if (performance.now() >= this.leaseUntil) {
      this.lose(`ZooKeeper did not confirm the session within the ${this.leaseMs} ms lease`);
      return false;
    }
    return true;
  }

  /** The current leader's info (lowest member), or undefined when there is none / unreadable. */
  async leader(): Promise<ReplicaInfo | undefined> {
    try {
      const { children } = await this.session.getChildren(this.electionPath);
      const members = sortMembers(children);
      if (!members.length) return undefined;
      const { data } = await this.session.getData(`${this.electionPath}/${members[0]}`);
      return JSON.parse(data.toString('utf8')) as ReplicaInfo;
    } catch {
      return undefined;
    }
  }

  /** Leaves the election (our node goes with the session's close, or is removed here). */
  async close(): Promise<void> {
    this.lose('closed');
    if (this.session.state === 'connected' && this.memberPath) await this.session.remove(this.memberPath).catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------

  private lose(reason: string): void {
    if (this.roleSubject.value === 'lost') return;
    const was = this.roleSubject.value;
    this.lostReason = reason;
    this.leaseUntil = 0;
    clearInterval(this.probeTimer);
    clearInterval(this.leaseTimer);
    this.stateSub?.unsubscribe();
    if (reason !== 'closed' || was === 'leader') {
      this.log.error('leadership_lost', { event: 'leadership_lost', was, reason, replica: this.info.id });
    }
    this.roleSubject.next('lost');
    this.roleSubject.complete();
  }

  /** Re-reads the members: lead, or watch the predecessor. Serialised; re-runs if asked meanwhile. */
  private async check(): Promise<void> {
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.checkAgain = false;
        await this.checkOnce();
      } while (this.checkAgain && this.role !== 'lost');
    } catch (e) {
      if (e instanceof ZkOperationError && e.code === 'CONNECTION_LOSS') {
        // re-checked on the next probe after reconnection
        this.needCheck = true;
      } else this.lose(`election failed: ${(e as Error).message}`);
    } finally {
      this.checking = false;
    }
  }
  private needCheck = false;

  private async checkOnce(): Promise<void> {
    if (this.role !== 'standby') return;
    const me = this.memberPath.slice(this.electionPath.length + 1);
    const { children } = await this.session.getChildren(this.electionPath);
    const members = sortMembers(children);
    const idx = members.indexOf(me);
    if (idx < 0) {
      this.lose('our election node is gone (session expired?)');
      return;
    }
    if (idx === 0) {
      // confirm the session before leading: the lease starts at this round trip
      const sentAt = performance.now();
      const stat = await this.session.exists(this.memberPath);
      if (!stat) return this.lose('our election node is gone (session expired?)');
      if (this.role !== 'standby') return;
      this.leaseUntil = sentAt + this.leaseMs;
      this.leaseTimer = setInterval(() => this.canAct(), Math.max(20, Math.floor(this.probeMs / 2)));
      this.log.info('leadership_acquired', { event: 'leadership_acquired', replica: this.info.id, node: this.memberPath });
      this.roleSubject.next('leader');
      return;
    }
    const pred = `${this.electionPath}/${members[idx - 1]}`;
    const stat = await this.session.exists(pred, () => void this.check());
    if (!stat) this.checkAgain = true;
    else this.log.info('election_standby', { event: 'election_standby', replica: this.info.id, watching: pred });
  }

  /** Leader: confirms the session and extends the lease. Standby: retries a check lost to a disconnect. */
  private async probe(): Promise<void> {
    if (this.role === 'lost' || this.session.state !== 'connected') return;
    if (this.role === 'standby') {
      if (this.needCheck) {
        this.needCheck = false;
        void this.check();
      }
      return;
    }
    const sentAt = performance.now();
    try {
      const stat = await this.session.exists(this.memberPath);
      if (!stat) return this.lose('our election node is gone (session expired?)');
      if (this.role === 'leader' && this.canAct()) this.leaseUntil = Math.max(this.leaseUntil, sentAt + this.leaseMs);
    } catch {
      /* the lease runs out unless a later probe succeeds */
    }
  }
}

/** Member node names sorted by sequence (other children are ignored). */
export function sortMembers(children: readonly string[]): string[] {
  return children.filter((c) => MEMBER_RE.test(c)).sort((a, b) => Number(MEMBER_RE.exec(a)![1]) - Number(MEMBER_RE.exec(b)![1]));
}
