/**
 * ZooKeeper master detection (`--master zk://host:2181,host2:2181/mesos`), behind the client's
 * LeaderDetector seam (plugged in by the runtime): the leading master is the `json.info_` znode with the lowest sequence under
 * the path (see master-info.ts); its MasterInfo gives the address. The children are watched, so a
 * leader change is known as soon as ZooKeeper announces it, and listeners (the scheduler client)
 * are told at once so they re-subscribe to the new leader.
 *
 * Failure handling, each with a message an operator can act on (`state$`, logs, NoLeaderError):
 * - ensemble unreachable → "ZooKeeper zk://… unreachable: …", retried with backoff (1 s → 10 s);
 * - path missing or no json.info_ child → "no master has registered under /mesos yet", watched
 *   (the detector notices the first master as soon as it registers);
 * - credentials refused / NO_AUTH on the path → said so, retried;
 * - session expired → a new session, the leader is read again.
 */
import { BehaviorSubject, type Subscription } from 'rxjs';
import type { Logger } from '../util/logger.js';
import { nullLogger } from '../util/logger.js';
import { ZkNoLeaderError, ZkOperationError, ZkSessionExpiredError, ZkUnreachableError, ZkUrlError } from './errors.js';
import { leaderNode, masterOrigin, parseMasterInfo, type ZkMasterInfo } from './master-info.js';
import { ZkSession } from './session.js';
import { isZkUrl, parseZkUrl, type ZkUrl } from './url.js';

export type ZkDetectionStateName = 'connecting' | 'unreachable' | 'no_master' | 'leader' | 'error' | 'closed';

export interface ZkDetectionState {
  state: ZkDetectionStateName;
  /** Human-readable reason (never contains credentials). */
  message: string;
  leader?: { origin: string; node: string; info: ZkMasterInfo };
}

export interface ZkMasterDetectorOptions {
  /** Scheme of the masters' HTTP API (default http; https when the masters serve TLS). */
  scheme?: 'http' | 'https';
  logger?: Logger;
  connectTimeoutMs?: number;
  /** Session timeout to ask for (default 10 s, as Mesos's detector). */
  sessionTimeoutMs?: number;
  /** First retry delay after an unreachable ensemble or a refused read (doubles to 10 s; default 1 s). */
  retryDelayMs?: number;
  /** How long detect() waits for a leader before rejecting with NoLeaderError (default 5 s). */
  detectWaitMs?: number;
}

/**
 * Implements the scheduler client's LeaderDetector interface (src/client/detector.ts) structurally:
 * src/zk does not import the client (layering), the runtime plugs it in.
 */
export class ZkMasterDetector {
  readonly url: ZkUrl;
  /** Detection state (current first). */
  readonly state$: BehaviorSubject<ZkDetectionState>;
  private readonly log: Logger;
  private readonly scheme: 'http' | 'https';
  private readonly listeners = new Set<(origin: string | undefined) => void>();
  private running: Promise<void> | undefined;
  private closed = false;
  private session: ZkSession | undefined;
  private redirectedTo: string | undefined;
  private wake: (() => void) | undefined;

  constructor(
    url: string | ZkUrl,
    private readonly opts: ZkMasterDetectorOptions = {},
  ) {
    this.url = typeof url === 'string' ? parseZkUrl(url) : url;
    this.log = opts.logger ?? nullLogger();
    this.scheme = opts.scheme ?? 'http';
    this.state$ = new BehaviorSubject<ZkDetectionState>({ state: 'connecting', message: `connecting to ZooKeeper ${this.url.redacted}` });
  }

  /** The leading master's origin as ZooKeeper names it, if known. */
  get currentLeader(): string | undefined {
    return this.state$.value.leader?.origin;
  }

  /** Starts watching (detect() does it on first use). */
  start(): void {
    this.running ??= this.run();
  }

  async detect(signal?: AbortSignal): Promise<string> {
    this.start();
    if (this.redirectedTo) return this.redirectedTo;
    const now = this.state$.value;
    if (now.leader) return now.leader.origin;
    const waitMs = this.opts.detectWaitMs ?? 5_000;
    return new Promise<string>((resolve, reject) => {
      let sub: Subscription | undefined;
      const finish = (origin?: string): void => {
        clearTimeout(t);
        sub?.unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        if (origin) resolve(origin);
        else reject(new ZkNoLeaderError(`No leading master found via ZooKeeper: ${this.state$.value.message}`));
      };
      const onAbort = (): void => finish();
      const t = setTimeout(() => finish(), waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      sub = this.state$.subscribe((s) => {
        if (s.leader) finish(s.leader.origin);
        else if (s.state === 'closed') finish();
      });
    });
  }

  redirected(leaderOrigin: string): void {
    // a master's 307 is at least as fresh as our last read; ZooKeeper's next change overrides it
    if (leaderOrigin !== this.currentLeader) this.redirectedTo = leaderOrigin;
  }

  failed(origin: string): void {
    if (this.redirectedTo === origin) this.redirectedTo = undefined;
    // the ZooKeeper leader stays the answer until ZooKeeper says otherwise (as Mesos's detector)
  }

  /** Called with the new leader's origin (undefined: no leader) whenever ZooKeeper announces a change. */
  onLeaderChange(listener: (origin: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await this.session?.close();
    await this.running?.catch(() => undefined);
    this.setState({ state: 'closed', message: 'detector closed' });
    this.state$.complete();
    this.listeners.clear();
  }

  // ---- the loop -----------------------------------------------------------------------------------

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      let session: ZkSession;
      try {
        session = await ZkSession.connect(this.url, {
          connectTimeoutMs: this.opts.connectTimeoutMs,
          sessionTimeoutMs: this.opts.sessionTimeoutMs,
          logger: this.log,
        });
      } catch (e) {
        const reason = e instanceof ZkUnreachableError ? `ZooKeeper ${this.url.redacted} unreachable: ${e.message}` : zkProblem(e, this.url);
        this.setState({ state: e instanceof ZkUnreachableError ? 'unreachable' : 'error', message: reason });
        this.log.warn('zk_detector_retry', { event: 'zk_detector_retry', zk: this.url.redacted, reason, attempt: failures + 1 });
        await this.pause(failures++);
        continue;
      }
      if (this.closed) {
        await session.close();
        break;
      }
      this.session = session;
      const outcome = await this.follow(session);
      await session.close();
      if (outcome === 'retry') await this.pause(failures++);
      else failures = 0;
    }
  }

  /** Follows the children of the path until the session ends ('reconnect') or a read is refused ('retry'). */
  private follow(session: ZkSession): Promise<'reconnect' | 'retry'> {
    return new Promise((resolve) => {
      let latest: string[] | null | undefined;
      let busy = false;
      const handle = async (): Promise<void> => {
        if (busy) return;
        busy = true;
        try {
          while (latest !== undefined && !this.closed) {
            const children = latest;
            latest = undefined;
            await this.evaluate(session, children);
          }
        } finally {
          busy = false;
        }
      };
      const sub = session.watchChildren(this.url.path).subscribe({
        next: (children) => {
          latest = children;
          void handle();
        },
        error: (e: unknown) => {
          sub?.unsubscribe();
          if (e instanceof ZkSessionExpiredError) {
            this.setState({ state: 'connecting', message: `ZooKeeper session expired (${this.url.redacted}); reconnecting` });
            resolve('reconnect');
          } else if (this.closed) resolve('reconnect');
          else {
            const message = zkProblem(e, this.url);
            this.setState({ state: 'error', message });
            this.log.warn('zk_detector_retry', { event: 'zk_detector_retry', zk: this.url.redacted, reason: message });
            resolve('retry');
          }
        },
      });
    });
  }

  private async evaluate(session: ZkSession, children: string[] | null): Promise<void> {
    const none = `no master has registered under ${this.url.path} yet (${this.url.redacted})`;
    const node = children ? leaderNode(children) : undefined;
    if (!node) {
      this.setState({ state: 'no_master', message: children ? none : `${none}: the path does not exist` });
      return;
    }
    if (this.state$.value.leader?.node === node) return;
    let data: Buffer;
    try {
      data = (await session.getData(`${this.url.path}/${node}`)).data;
    } catch (e) {
      if (e instanceof ZkOperationError && e.code === 'NO_NODE') return; // gone already: a new children list follows
      if (e instanceof ZkOperationError && e.code === 'CONNECTION_LOSS') return; // re-read on reconnection
      this.setState({ state: 'error', message: zkProblem(e, this.url) });
      return;
    }
    try {
      const info = parseMasterInfo(data);
      this.setState({ state: 'leader', message: `leading master ${info.pid ?? info.id} (${node})`, leader: { origin: masterOrigin(info, this.scheme), node, info } });
    } catch (e) {
      this.setState({ state: 'error', message: `the leading master's znode ${this.url.path}/${node} holds no usable MasterInfo: ${(e as Error).message}` });
    }
  }

  private setState(s: ZkDetectionState): void {
    if (this.state$.isStopped) return;
    const prev = this.state$.value;
    if (prev.state === s.state && prev.message === s.message && prev.leader?.node === s.leader?.node) return;
    this.state$.next(s);
    const before = prev.leader?.origin;
    const after = s.leader?.origin;
    if (s.leader && s.leader.node !== prev.leader?.node) {
      this.log.info('zk_leader_detected', {
        event: 'zk_leader_detected',
        zk: this.url.redacted,
        master: after,
        master_id: s.leader.info.id,
        node: s.leader.node,
        previous: before,
      });
    } else if (!s.leader && s.state !== 'closed') {
      this.log.warn('zk_no_leader', { event: 'zk_no_leader', zk: this.url.redacted, state: s.state, reason: s.message });
    }
    if (before !== after) {
      this.redirectedTo = undefined;
      for (const l of [...this.listeners]) {
        try {
          l(after);
        } catch (e) {
          this.log.error('zk_listener_failed', { event: 'zk_listener_failed', error: (e as Error).message });
        }
      }
    }
  }

  private pause(failures: number): Promise<void> {
    const base = this.opts.retryDelayMs ?? 1_000;
    const ms = Math.min(10_000, base * 2 ** Math.min(failures, 10));
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}

/**
 * The detector for configured masters when they are one `zk://` (or `file://`) URL; undefined for
 * http(s) masters. A zk:// URL mixed with other masters is refused (ZkUrlError).
 */
export function zkMasterDetectorFor(masters: readonly string[], opts: ZkMasterDetectorOptions = {}): ZkMasterDetector | undefined {
  if (!masters.some((m) => typeof m === 'string' && isZkUrl(m))) return undefined;
  if (masters.length !== 1) {
    throw new ZkUrlError('A zk:// master URL must be the only master given (it names the whole ensemble: zk://h1:2181,h2:2181/mesos)');
  }
  return new ZkMasterDetector(masters[0]!, opts);
}

function zkProblem(e: unknown, url: ZkUrl): string {
  if (e instanceof ZkOperationError) {
    if (e.code === 'NO_AUTH') return `ZooKeeper refused to read ${e.path} (NO_AUTH): check the credentials in the zk:// URL (${url.redacted})`;
    if (e.code === 'AUTH_FAILED') return `ZooKeeper refused the credentials of ${url.redacted} (AUTH_FAILED)`;
    return e.message;
  }
  return (e as Error)?.message ?? String(e);
}
