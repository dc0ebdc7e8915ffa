/**
 * The composition root of a single Sluice process (src/app/ha.ts is the other way Sluice runs). A whole Sluice process, composed: store, (embedded simulator,) scheduler runtime, plugins,
 * operator API, metrics, demo workload. `sluice start` is a thin shell around `startSluice`; tests
 * start it in-process too.
 */
import { registerMetricsRoute, registerWorkloadRoutes } from '../api/workload-routes.js';
import { Router } from '../api/router.js';
import { ApiConfigError, checkApiExposure } from '../util/api-address.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../api/server.js';
import { ConfigError, DEFAULT_API_URL, configSecrets, type SluiceConfig } from '../config.js';
import { SluiceMetrics } from '../metrics/metrics.js';
import { startSim } from '../sim/index.js';
import { Store, StoreCorruptError, StoreLockedError } from '../store/index.js';
import { RealClock, type Clock } from '../util/clock.js';
import { nullLogger, type Logger } from '../util/logger.js';
import { hasUserInfo, redactUrl } from '../util/redact.js';
import { DEMO_JOBS } from '../scheduler/demo.js';
import { auditPlugin } from '../api/audit-routes.js';
import { APP_PLUGINS, type AppPlugin, type PluginContext } from './plugins.js';
import { SluiceRuntime, type RuntimeOptions } from '../runtime/runtime.js';
import { zkMasterDetectorFor } from '../zk/master-detector.js';
import type { LeaderDetector } from '../client/detector.js';
import type { Journal } from '../audit/types.js';
import { registerConsole } from '../console/routes.js';

export interface EmbeddedSim {
  /** Base URL of the simulated master, e.g. http://127.0.0.1:5050 */
  url: string;
  agents: number;
  racks: number;
  stop(): Promise<void>;
}

export type SimStarter = (opts: { agents: number; racks: number; clock: Clock; logger: Logger }) => Promise<EmbeddedSim>;

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** How to start the embedded simulator when no master is configured (default: src/sim). */
  startSim?: SimStarter;
  plugins?: AppPlugin[];
  /** Extra runtime options (tests: tick period, client backoff, scheduler timings). */
  runtime?: Partial<Omit<RuntimeOptions, 'store' | 'masters' | 'framework'>>;
  version?: string;
}

export interface SluiceApp {
  config: SluiceConfig;
  runtime: SluiceRuntime;
  api: ApiServer;
  router: Router;
  metrics: SluiceMetrics;
  store: Store;
  /** The audit journal: entries already durable, in seq order (the API's audit and event feeds read it). */
  journal: Journal;
  sim?: EmbeddedSim;
  masters: string[];
  /** Demo jobs submitted at start (embedded simulator only). */
  demoJobs: string[];
  stop(): Promise<void>;
}

/** A startup problem with a message meant for the operator. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export async function openStore(cfg: SluiceConfig, logger: Logger, metrics?: SluiceMetrics): Promise<Store> {
  try {
    return await Store.open(cfg.storePath, {
      repair: cfg.repairStore,
      logger,
      onWrite: metrics ? (s) => metrics.observeStoreWrite(s) : undefined,
    });
  } catch (e) {
    if (e instanceof StoreLockedError) {
      throw new StartupError(`The store ${cfg.storePath} is in use by another process${e.pid ? ` (pid ${e.pid})` : ''}: ${e.message}. Only one Sluice may use a store.`);
    }
    if (e instanceof StoreCorruptError) {
      throw new StartupError(
        `The store ${cfg.storePath} is damaged: ${e.message} (file ${e.file}${e.offset !== undefined ? `, byte ${e.offset}` : ''}). ` +
          `Nothing was changed. Restart with --repair-store to keep everything up to the last good write ` +
          `(the damaged file is set aside, not deleted).`,
      );
    }
    throw new StartupError(`Cannot open the store ${cfg.storePath}: ${(e as Error).message}`);
  }
}

async function defaultStartSim(opts: { agents: number; racks: number; clock: Clock; logger: Logger }): Promise<EmbeddedSim> {
  const sim = await startSim({ agents: opts.agents, racks: opts.racks, clock: opts.clock, logger: opts.logger, port: 0, taskStartupDelayMs: 1000 });
  return { url: sim.url, agents: opts.agents, racks: opts.racks, stop: () => sim.close() };
}

export async function startSluice(cfg: SluiceConfig, opts: StartOptions = {}): Promise<SluiceApp> {
  // Before anything starts (store, simulator, runtime): an API exposed beyond loopback needs a token.
  try {
    checkApiExposure(cfg.apiListen, cfg.apiToken ?? cfg.apiAccess.tokensFile);
  } catch (e) {
    if (e instanceof ApiConfigError) throw new ConfigError(e.message);
    throw e;
  }
  const clock = opts.clock ?? new RealClock();
  const logger = opts.logger ?? nullLogger();
  const metrics = new SluiceMetrics(() => clock.now());
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
  };
  try {
    const store = await openStore(cfg, logger.child({ component: 'store' }), metrics);
    cleanups.push(() => store.close());

    let sim: EmbeddedSim | undefined;
    let masters = cfg.masters;
    if (!masters.length) {
      sim = await (opts.startSim ?? defaultStartSim)({ agents: cfg.simAgents, racks: cfg.simRacks, clock, logger: logger.child({ component: 'sim' }) });
      cleanups.push(() => sim!.stop());
      masters = [sim.url];
    }

    const detector = masterDetector(masters, opts, logger);
    if (detector && !opts.runtime?.client?.detector) cleanups.push(() => detector.close());

    const plugins = appPlugins(cfg, opts);
    const pctx = pluginContext(cfg, { store, clock, logger, metrics, masters, detector });
    const runtime = SluiceRuntime.start(runtimeOptions(cfg, opts, pctx, plugins));
    cleanups.push(() => runtime.stop());

    const router = new Router();
    registerApiRoutes(router, runtime, pctx, plugins, opts.version);

    let api: ApiServer;
    try {
      api = await startApiServer(apiServerOptions(cfg, router, logger));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new StartupError(`The operator API address ${cfg.apiListen} is in use (another Sluice?). Choose another with --api-listen.`);
      throw new StartupError((e as Error).message);
    }
    cleanups.push(() => api.close());

    const demoJobs: string[] = [];
    if (sim && cfg.demo) {
      for (const spec of DEMO_JOBS) {
        if (runtime.state.jobs.has(spec.name)) continue;
        const r = await runtime.submit({ type: 'create_job', spec });
        if (r.ok) demoJobs.push(spec.name);
      }
    }

    let stopped: Promise<void> | undefined;
    return {
      config: cfg,
      runtime,
      api,
      router,
      metrics,
      store,
      journal: runtime.journal,
      sim,
      masters,
      demoJobs,
      stop: () => (stopped ??= cleanup()),
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** What `sluice start` prints once running: how to talk to it. */
export function banner(app: SluiceApp): string {
  const api = app.api.url;
  const defaultApi = api === DEFAULT_API_URL;
  const cli = (args: string) => `  sluice ${args}${defaultApi ? '' : ` --api ${api}`}`;
  const lines = [
    '',
    'Sluice is running.',
    `  Mesos master:  ${app.masters.map(redactUrl).join(', ')}${app.sim ? `  (embedded simulator: ${app.sim.agents} agents, ${app.sim.racks} racks)` : ''}`,
    `  console:       ${api}/${app.config.apiToken || app.config.apiAccess.tokensFile ? '  (enter your API token in the page)' : ''}`,
    `  operator API:  ${api}${app.config.apiToken || app.config.apiAccess.tokensFile ? '  (token required: export SLUICE_API_TOKEN=...)' : ''}`,
    `  status:        ${api}/api/v1/status`,
    `  jobs:          ${api}/api/v1/jobs`,
    `  metrics:       ${api}/metrics`,
    `  store:         ${app.config.storePath}`,
  ];
  if (app.demoJobs.length) lines.push(`  demo jobs:     ${app.demoJobs.join(', ')}`);
  lines.push(
    '',
    'Talk to it (sluice = node dist/src/cli/main.js; `npm link` puts it on your PATH):',
    cli('job list'),
    cli(`job get ${app.demoJobs[0] ?? 'NAME'}`),
    '  sluice job example > job.json',
    cli('job create -f job.json'),
    cli('job delete hello'),
    `  curl -s ${api}/api/v1/status`,
    '',
    'Drain a host for maintenance (try a dry run first):',
    cli('host query'),
    cli('sla probe <host>'),
    cli('host maintenance start <host> --dry-run'),
    cli('host maintenance start <host>'),
    cli('host maintenance complete <host>'),
    cli('host maintenance abort <host>'),
  );
  if (!defaultApi) lines.push(`  (or: export SLUICE_API=${api})`);
  lines.push('', 'Ctrl-C stops Sluice; the framework stays registered and a restart resumes it.', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Built from the configuration in ONE place for both ways Sluice runs (a single process, and an HA
// replica: its standby answers and, once it leads, the same runtime and routes as a single process).

/**
 * Every secret of the configuration in one list, for every edge that masks: API answers and error
 * messages, a standby's host views, post_drain hooks' environment and output. configSecrets (the
 * framework secret, the API token, the user info and password of each master URL and of the
 * ZooKeeper URL of --ha), the same settings given by environment, and each URL carrying credentials
 * as a whole (the API server then masks its user info even when the password is too short to be
 * masked by value). URLs without credentials are not secret: they stay readable.
 */
export function secretsOf(cfg: SluiceConfig): string[] {
  const env = ['SLUICE_SECRET', 'SLUICE_API_TOKEN'].flatMap((n) => (process.env[n] ? [process.env[n]!] : []));
  const urls = [...cfg.masters, ...(cfg.ha ? [cfg.ha] : [])].filter(hasUserInfo);
  return [...new Set([...configSecrets(cfg), ...env, ...urls])];
}

/** The operator API server's options: address, tokens, allowed hosts and every secret to mask. */
export function apiServerOptions(cfg: SluiceConfig, router: Router, logger: Logger): ApiServerOptions {
  return {
    listen: cfg.apiListen,
    token: cfg.apiToken,
    access: cfg.apiAccess,
    allowedHosts: cfg.apiAllowedHosts,
    secrets: secretsOf(cfg),
    router,
    logger: logger.child({ component: 'api' }),
  };
}

/** The plugins of a process: the registered ones (or the test's) and the audit trail. */
export function appPlugins(cfg: SluiceConfig, opts: StartOptions): AppPlugin[] {
  return [...(opts.plugins ?? APP_PLUGINS), auditPlugin(cfg.auditRetention)];
}

/**
 * `--master zk://…`: ONE ZooKeeper session finds the leader for the scheduler client and the
 * maintenance operator client alike (the runtime builds none when given this one). The test's own
 * detector when it passes one (the caller does not close that one).
 */
export function masterDetector(masters: readonly string[], opts: StartOptions, logger: Logger): LeaderDetector | undefined {
  return opts.runtime?.client?.detector ?? zkMasterDetectorFor(masters, { scheme: opts.runtime?.client?.tls ? 'https' : 'http', logger: logger.child({ component: 'scheduler' }) });
}

/** Every route of a running runtime: workload, /metrics, the plugins' (maintenance, audit), the console. */
export function registerApiRoutes(router: Router, runtime: SluiceRuntime, pctx: PluginContext, plugins: readonly AppPlugin[], version: string | undefined): void {
  registerWorkloadRoutes(router, runtime, { now: () => pctx.clock.now(), version });
  registerMetricsRoute(router, pctx.metrics);
  for (const p of plugins) p.routes?.(router, runtime, pctx);
  registerConsole(router, runtime, { rackAttribute: pctx.rackAttribute });
}

/**
 * What every plugin is handed: secrets to keep from hooks, the post_drain pass-through list, the
 * master credentials, the rack attribute and the shared leader detector.
 */
export function pluginContext(
  cfg: SluiceConfig,
  base: Pick<PluginContext, 'store' | 'clock' | 'logger' | 'metrics' | 'masters' | 'detector'>,
): PluginContext {
  const secrets = secretsOf(cfg);
  const auth = cfg.principal && cfg.secret ? { principal: cfg.principal, secret: cfg.secret } : undefined;
  const others = { deadlineMs: cfg.othersDeadlineSeconds * 1000, atDeadline: cfg.othersAtDeadline, drainAgentMaxGraceS: cfg.drainAgentMaxGraceSeconds };
  return { ...base, secrets, postDrainEnv: cfg.postDrainEnv, auth, rackAttribute: cfg.rackAttribute, others, ...(cfg.slaGuardrails ? { slaGuardrails: cfg.slaGuardrails } : {}), ...(cfg.maxDrainingHosts !== undefined ? { maxDrainingHosts: cfg.maxDrainingHosts } : {}) };
}

/** The scheduler runtime's options from the configuration (shared by the single process and the HA leader). */
export function runtimeOptions(cfg: SluiceConfig, opts: StartOptions, pctx: PluginContext, plugins: readonly AppPlugin[]): RuntimeOptions {
  const extensions = plugins.flatMap((p) => (p.extension ? [p.extension(pctx)] : []));
  return {
    ...opts.runtime,
    store: pctx.store,
    masters: [...pctx.masters],
    clock: pctx.clock,
    logger: pctx.logger.child({ component: 'scheduler' }),
    metrics: pctx.metrics,
    framework: {
      name: cfg.frameworkName,
      user: cfg.user,
      roles: [cfg.role],
      principal: cfg.principal,
      secret: cfg.secret,
      failoverTimeoutSeconds: cfg.failoverTimeoutSeconds,
    },
    scheduler: { implicitReconcileIntervalMs: cfg.reconcileIntervalSeconds * 1000, rackAttribute: cfg.rackAttribute, ...opts.runtime?.scheduler },
    extensions: [...extensions, ...(opts.runtime?.extensions ?? [])],
    newFramework: cfg.newFramework,
    client: {
      contentType: cfg.codec === 'protobuf' ? 'application/x-protobuf' : 'application/json',
      maxRecordBytes: cfg.maxRecordBytes,
      ...(pctx.detector ? { detector: pctx.detector } : {}),
      ...opts.runtime?.client,
    },
  };
}
