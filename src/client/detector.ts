/**
 * Leader detection. The client asks a LeaderDetector which master to talk to and tells it what it
 * learned (redirects, failures). StaticListDetector works from a fixed list of master URLs using
 * each master's `/master/redirect` endpoint; ZkMasterDetector (src/zk) reads the leader from
 * ZooKeeper for a `zk://` master URL (the runtime passes it as the client's `detector`).
 */
import { request, type Dispatcher } from 'undici';
import type { Clock } from '../util/clock.js';
import { RealClock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { nullLogger } from '../util/logger.js';
import { NoLeaderError } from './errors.js';
import { REDIRECT_PATH, createDispatcher, describeError, parseMasterUrls, resolveLocation, type TlsOptions } from './http.js';

export interface LeaderDetector {
  /**
   * Origin (`scheme://host:port`) of the master to send SUBSCRIBE to. Rejects with NoLeaderError
   * when no master can be reached or none knows a leader; the client then backs off and asks again.
   */
  detect(signal?: AbortSignal): Promise<string>;
  /** A master answered 307: `leaderOrigin` leads now. */
  redirected(leaderOrigin: string): void;
  /** Talking to `origin` failed (refused, reset, 503, 404, dead stream): do not prefer it next time. */
  failed(origin: string): void;
  close(): Promise<void>;
  /**
   * Optional push of leader changes (ZooKeeper): the listener gets the new leader's origin
   * (undefined = none known) so a client connected elsewhere re-subscribes at once. Returns an
   * unsubscribe function.
   */
  onLeaderChange?(listener: (origin: string | undefined) => void): () => void;
}

export interface StaticListDetectorOptions {
  tls?: TlsOptions;
  clock?: Clock;
  logger?: Logger;
  /** Per-probe timeout of GET /master/redirect (default 5 s). */
  probeTimeoutMs?: number;
  /** Dispatcher to use (default: a private undici Agent, closed by close()). */
  dispatcher?: Dispatcher;
}

interface ProbeResult {
  origin: string;
  outcome: string;
}

/**
 * Detection over a static list of masters:
 *  1. a leader learned from a 307 (or the last detection) is returned as is until it fails;
 *  2. otherwise each master, starting after the one that failed last, is asked
 *     `GET /master/redirect`; any master (the leader too) answers 307 `Location: //host:port`
 *     naming the leader (protocol-relative: the scheme of the configured URL is kept);
 *     503 (no leader known) or a connection error moves on to the next master;
 *  3. if no master answers 307 but one answered HTTP at all (e.g. a server without the redirect
 *     endpoint), that master is returned: SUBSCRIBE will then follow its 307 or back off on 503;
 *  4. otherwise NoLeaderError.
 */
export class StaticListDetector implements LeaderDetector {
  readonly masters: readonly string[];
  private leader: string | undefined;
  private next = 0;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly probeTimeoutMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;

  constructor(masters: readonly string[], opts: StaticListDetectorOptions = {}) {
    this.masters = parseMasterUrls(masters);
    this.clock = opts.clock ?? new RealClock();
    this.logger = opts.logger ?? nullLogger();
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 5_000;
    this.ownsDispatcher = !opts.dispatcher;
    this.dispatcher = opts.dispatcher ?? createDispatcher(opts.tls, { keepAlive: false });
  }

  /** The leader currently believed in, if any. */
  get currentLeader(): string | undefined {
    return this.leader;
  }

  async detect(signal?: AbortSignal): Promise<string> {
    if (this.leader) return this.leader;
    const n = this.masters.length;
    const start = this.next;
    const tried: ProbeResult[] = [];
    let answeredWithoutRedirect: string | undefined;
    for (let i = 0; i < n; i++) {
      if (signal?.aborted) throw new NoLeaderError('Leader detection aborted');
      const origin = this.masters[(start + i) % n]!;
      const probe = await this.probe(origin, signal);
      tried.push({ origin, outcome: probe.outcome });
      if (probe.leader) {
        this.leader = probe.leader;
        this.next = (start + i) % n;
        this.logger.debug('leader_detected', { event: 'leader_detected', leader: probe.leader, via: origin });
        return probe.leader;
      }
      if (probe.answered && answeredWithoutRedirect === undefined) answeredWithoutRedirect = origin;
    }
    this.next = (start + 1) % n;
    if (answeredWithoutRedirect !== undefined) return answeredWithoutRedirect;
    throw new NoLeaderError(`No leading master found: ${tried.map((t) => `${t.origin} → ${t.outcome}`).join('; ')}`);
  }

  redirected(leaderOrigin: string): void {
    this.leader = leaderOrigin;
  }

  failed(origin: string): void {
    if (this.leader === origin) this.leader = undefined;
    const idx = this.masters.indexOf(origin);
    if (idx >= 0) this.next = (idx + 1) % this.masters.length;
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.destroy().catch(() => undefined);
  }

  private async probe(origin: string, signal?: AbortSignal): Promise<{ leader?: string; answered: boolean; outcome: string }> {
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = this.clock.setTimeout(() => ac.abort(), this.probeTimeoutMs);
    try {
      const res = await request(origin + REDIRECT_PATH, {
        method: 'GET',
        dispatcher: this.dispatcher,
        signal: ac.signal,
      });
      const location = res.headers['location'];
      await res.body.dump().catch(() => undefined);
      if (res.statusCode === 307 && typeof location === 'string' && location) {
        const u = resolveLocation(location, origin + REDIRECT_PATH);
        return { leader: u.origin, answered: true, outcome: `307 ${location}` };
      }
      // 503 = this master knows no leader; anything else: it answers HTTP, but not the redirect
      return { answered: res.statusCode !== 503, outcome: `HTTP ${res.statusCode}` };
    } catch (e) {
      return { answered: false, outcome: ac.signal.aborted ? `no answer within ${this.probeTimeoutMs} ms` : describeError(e) };
    } finally {
      this.clock.clearTimer(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
