/**
 * One Sluice replica of an HA deployment (`sluice start --ha zk://…/sluice`).
 *
 * A replica starts only its ZooKeeper session, the operator API and the election. As a standby it
 * answers /api/v1/status and /health itself and sends every other request to the leader's API (307;
 * 503 while no leader is known). When it wins the election it takes the ZooKeeper store over (bumps
 * the leader epoch: writes of any earlier leader fail from then on), loads the state and starts the
 * runtime, whose every SUBSCRIBE, call and event is gated on the election's lease; maintenance calls
 * to the master's operator API go through the process's undici global dispatcher, gated the same way.
 *
 * Losing the leadership (session expired, lease not confirmed in time, ERROR "Framework failed
 * over", a fenced store write) is final for the process: it stops acting at once and `lost`
 * resolves; `sluice start` then exits with EXIT_LEADERSHIP_LOST so the supervisor restarts it as a
 * fresh standby (simplest safe choice: no state of the old term survives in memory).
 */
import { Agent, setGlobalDispatcher, type Dispatcher } from 'undici';
import os from 'node:os';
import { Router, type ApiRequest, type ApiResult, type RouteMatch } from '../api/router.js';
import { startApiServer, type ApiServer } from '../api/server.js';
import { registerMetricsRoute } from '../api/workload-routes.js';
import type { SluiceConfig } from '../config.js';
import { LeaderElection, type LeaderRole, type ReplicaInfo } from '../ha/election.js';
import { ZkStore } from '../ha/zk-store.js';
import { ZkStateMirror } from '../ha/zk-mirror.js';
import { standbyReads, type StandbyReads } from './ha-standby.js';
import { SluiceMetrics } from '../metrics/metrics.js';
import { StartupError, apiServerOptions, appPlugins, masterDetector, pluginContext, registerApiRoutes, runtimeOptions, secretsOf, type StartOptions } from './app.js';
import type { LeaderDetector } from '../client/detector.js';
import { SluiceRuntime } from '../runtime/runtime.js';
import { RealClock } from '../util/clock.js';
import { nullLogger } from '../util/logger.js';
import { ZkSession } from '../zk/session.js';
import { parseZkUrl } from '../zk/url.js';

/** `sluice start --ha` exits with this when the replica lost the leadership (restart it). */
export const EXIT_LEADERSHIP_LOST = 75;
/** Longest an API request waits for ZooKeeper to name the leader before using the last known one. */
const LEADER_READ_MS = 500;

export interface HaReplica {
  config: SluiceConfig;
  api: ApiServer;
  election: LeaderElection;
  session: ZkSession;
  metrics: SluiceMetrics;
  readonly role: LeaderRole;
  /** The runtime, once leading. */
  readonly runtime: SluiceRuntime | undefined;
  /** Resolves with the reason when this replica has lost (or could not take) the leadership. */
  lost: Promise<string>;
  stop(): Promise<void>;
}

/** Routes to the standby's answers until the replica leads, then to the full API. */
class ReplicaRouter extends Router {
  target: Router | undefined;
  constructor(
    private readonly status: () => Promise<ApiResult>,
    private readonly elsewhere: (req: ApiRequest) => Promise<ApiResult>,
  ) {
    super();
  }
  override match(method: string, path: string): RouteMatch {
    const isStatus = (method === 'GET' || method === 'HEAD') && (path === '/api/v1/status' || path === '/health' || path === '/api/v1/health');
    if (this.target) {
      const m = this.target.match(method, path);
      if (m.kind !== 'found' || path !== '/api/v1/status') return m;
      const inner = m.handler;
      return { kind: 'found', params: m.params, handler: async (req) => withHa(await inner(req), (await this.status()).body) };
    }
    if (isStatus) return { kind: 'found', params: {}, handler: () => this.status() };
    if (path === '/metrics' && this.base) return this.base.match(method, path);
    const read = this.reads?.match(method, path);
    if (read?.kind === 'found') return read;
    return { kind: 'found', params: {}, handler: (req) => this.elsewhere(req), role: 'viewer' }; // a redirect: the leader checks the role
  }
  base: Router | undefined;
  /** What a standby answers from its copy of the state (stale reads). */
  reads: Router | undefined;
  override routes(): ReturnType<Router['routes']> {
    return this.target ? this.target.routes() : [{ method: 'GET', path: '/api/v1/status', summary: 'Replica role (standby)' }, ...(this.reads?.routes() ?? [])];
  }
}

function withHa(r: ApiResult, ha: unknown): ApiResult {
  if (r.body && typeof r.body === 'object' && !Array.isArray(r.body)) return { ...r, body: { ...(r.body as object), ...(ha as object) } };
  return r;
}

export async function startHaReplica(cfg: SluiceConfig, opts: StartOptions = {}): Promise<HaReplica> {
  if (!cfg.ha) throw new StartupError('startHaReplica needs --ha zk://…');
  const clock = opts.clock ?? new RealClock();
  const logger = opts.logger ?? nullLogger();
  const metrics = new SluiceMetrics(() => clock.now());
  const url = parseZkUrl(cfg.ha);
  const root = url.path;
  let session: ZkSession;
  try {
    session = await ZkSession.connect(url, { sessionTimeoutMs: cfg.haSessionTimeoutMs, logger: logger.child({ component: 'zk' }) });
  } catch (e) {
    throw new StartupError(`--ha ${url.redacted}: ${(e as Error).message}`);
  }

  let election: LeaderElection | undefined;
  let runtime: SluiceRuntime | undefined;
  let store: ZkStore | undefined;
  let detector: LeaderDetector | undefined;
  let resolveLost!: (why: string) => void;
  const lost = new Promise<string>((r) => (resolveLost = r));
  let lostReason: string | undefined;
  let wasLeader = false;
  const markLost = (why: string): void => {
    if (lostReason) return;
    lostReason = why;
    if (wasLeader) metrics.leadershipChanges.inc();
    logger.error('replica_stepping_down', { event: 'replica_stepping_down', reason: why, exit_code: EXIT_LEADERSHIP_LOST });
    resolveLost(why);
  };

  // The leader as last read from ZooKeeper. A request never waits on ZooKeeper for long: while the
  // session is not connected (the library queues reads until it reconnects) or a read is slow, it
  // answers with the last known leader, marked as such.
  let knownLeader: ReplicaInfo | undefined;
  const leaderInfo = async (): Promise<{ leader: ReplicaInfo | undefined; fresh: boolean }> => {
    if (!election || session.state !== 'connected') return { leader: knownLeader, fresh: false };
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<'slow'>((r) => (timer = setTimeout(() => r('slow'), LEADER_READ_MS)));
    const read = await Promise.race([election.leader(), slow]).finally(() => clearTimeout(timer));
    if (read === 'slow' || read === undefined) return { leader: knownLeader, fresh: false };
    knownLeader = read;
    return { leader: read, fresh: true };
  };

  const status = async (): Promise<ApiResult> => {
    const { leader, fresh } = await leaderInfo();
    const role = lostReason ? 'lost' : (election?.role ?? 'standby');
    return {
      status: 200,
      body: {
        ha: {
          role,
          replica: info.id,
          leader: leader ? { id: leader.id, api: leader.api } : null,
          ...(fresh ? {} : { leader_last_known: true }),
          zk_session: session.state,
          ...(lostReason ? { lost_reason: lostReason } : {}),
          ...(store ? { epoch: store.epoch } : {}),
        },
        ...(role === 'leader' ? {} : { stale: true, ...((await reads?.status()) ?? {}) }),
      },
    };
  };
  const elsewhere = async (req: ApiRequest): Promise<ApiResult> => {
    const { leader } = await leaderInfo();
    if (leader && leader.id !== info.id) {
      // the same request on the leader (as a Mesos master's redirect): path and query kept
      const qs = req.query.toString();
      const location = `${leader.api.replace(/\/+$/, '')}${req.path}${qs ? `?${qs}` : ''}`;
      return { status: 307, headers: { location }, body: { error: 'this Sluice replica is a standby', leader: leader.api } };
    }
    return { status: 503, body: { error: 'this Sluice replica is a standby and no leader is known yet' } };
  };
  // a standby's stale reads, from its copy of the state in ZooKeeper (caught up with the log on a
  // read, at most every 250 ms, waiting for that at most 500 ms)
  const mirror = new ZkStateMirror(session, root, { maxAgeMs: 250, catchUpMs: 500, logger: logger.child({ component: 'standby' }) });
  let reads: StandbyReads | undefined;
  const router = new ReplicaRouter(status, elsewhere);
  const base = new Router();
  registerMetricsRoute(base, metrics);
  router.base = base;
  // never in an answer: the same secrets as a single process (and the API server's)
  reads = standbyReads(mirror, { secrets: secretsOf(cfg), now: () => clock.now(), elsewhere });
  router.reads = reads.router;

  let api: ApiServer;
  try {
    api = await startApiServer(apiServerOptions(cfg, router, logger));
  } catch (e) {
    await session.close();
    throw new StartupError(`operator API ${cfg.apiListen}: ${(e as Error).message}`);
  }
  const info: ReplicaInfo = { id: `${os.hostname()}:${new URL(api.url).port}:${process.pid}`, api: api.url, pid: process.pid };

  try {
    election = await LeaderElection.join(session, root, info, { logger: logger.child({ component: 'election' }) });
  } catch (e) {
    await api.close();
    await session.close();
    throw new StartupError(`--ha ${url.redacted}: cannot join the election: ${(e as Error).message}`);
  }
  const el = election;
  const gate = (): boolean => !lostReason && el.canAct();
  metrics.setHaProvider(() => ({ leader: gate(), zkSessionState: session.state }));

  const lead = async (): Promise<void> => {
    // maintenance calls (undici global dispatcher) obey the same gate as the scheduler's
    setGlobalDispatcher(gatedDispatcher(new Agent(), gate));
    store = await ZkStore.open(session, root, {
      owner: info.id,
      logger: logger.child({ component: 'store' }),
      onWrite: (s) => metrics.observeStoreWrite(s),
    });
    if (!gate()) throw new Error('lost the leadership while loading the store');
    // the same wiring as a single process (secrets kept from hooks, master credentials, rack
    // attribute, one ZooKeeper master detector shared by the scheduler and maintenance clients)
    const plugins = appPlugins(cfg, opts);
    detector ??= masterDetector(cfg.masters, opts, logger);
    const pctx = pluginContext(cfg, { store, clock, logger, metrics, masters: cfg.masters, detector });
    runtime = SluiceRuntime.start({ ...runtimeOptions(cfg, opts, pctx, plugins), gate });
    runtime.onFatal((e) => markLost(`runtime stopped: ${e.message}`));
    const full = new Router();
    registerApiRoutes(full, runtime, pctx, plugins, opts.version);
    router.target = full;
  };

  el.role$.subscribe((r) => {
    if (r === 'leader') {
      wasLeader = true;
      metrics.leadershipChanges.inc();
      lead().catch((e: unknown) => markLost(`could not take over: ${(e as Error).message}`));
    } else if (r === 'lost') markLost(el.lostReason ?? 'leadership lost');
  });

  let stopping: Promise<void> | undefined;
  return {
    config: cfg,
    api,
    election: el,
    session,
    metrics,
    get role() {
      return lostReason ? 'lost' : el.role;
    },
    get runtime() {
      return runtime;
    },
    lost,
    stop: () =>
      (stopping ??= (async () => {
        await runtime?.stop().catch(() => undefined);
        await store?.close().catch(() => undefined);
        if (detector && detector !== opts.runtime?.client?.detector) await detector.close().catch(() => undefined);
        await el.close().catch(() => undefined);
        await api.close().catch(() => undefined);
        await session.close().catch(() => undefined);
      })()),
  };
}

/** A dispatcher that refuses every request while `gate()` says no (checked as each one starts). */
function gatedDispatcher(inner: Dispatcher, gate: () => boolean): Dispatcher {
  return inner.compose((dispatch) => (o, handler) => {
    if (!gate()) throw new Error(`not the leader: ${o.method} ${o.path ?? ''} not sent`);
    return dispatch(o, handler);
  });
}
