/** What a plugin is handed and what it may add (registered in ./plugins.ts). */
import type { SlaGuardrails } from '../sla/index.js';
import type { Router } from '../api/router.js';
import type { LeaderDetector } from '../client/detector.js';
import type { Logger } from '../util/logger.js';
import type { Clock } from '../util/clock.js';
import type { SluiceMetrics } from '../metrics/metrics.js';
import type { Store } from '../store/index.js';
import type { RuntimeExtension, SluiceRuntime } from '../runtime/runtime.js';

export interface PluginContext {
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics: SluiceMetrics;
  /** Mesos master URLs Sluice uses (the embedded simulator's when there is no --master). */
  masters: readonly string[];
  /** Secret values (framework secret, API token, master URL passwords): never passed to hooks, masked in their output. */
  secrets?: readonly string[];
  /** Environment variable names the operator passes through to post_drain hooks. */
  postDrainEnv?: readonly string[];
  /** The framework's HTTP Basic credentials (--principal / SLUICE_SECRET), for the master's operator endpoints. */
  auth?: { principal: string; secret: string };
  /** Leader detection for `--master zk://…` (the scheduler client's, one ZooKeeper session for both). */
  detector?: LeaderDetector;
  /** Agent attribute naming the rack (--rack-attribute; default 'rack'). */
  rackAttribute?: string;
  /** Other frameworks on a host Sluice takes down (--others-deadline, --others-at-deadline). */
  others?: { deadlineMs: number; atDeadline: 'wait' | 'down' | 'drain_agent'; drainAgentMaxGraceS?: number };
  /** Cluster default SLA and upper bound (--sla-guardrails; default off). */
  slaGuardrails?: SlaGuardrails;
  /** Most hosts DRAINING at once cluster-wide (--max-draining-hosts; undefined: no cap). */
  maxDrainingHosts?: number;
}

export interface AppPlugin {
  readonly name: string;
  /** Built before the runtime starts (it is handed to the runtime's loop). */
  extension?(ctx: PluginContext): RuntimeExtension;
  /** Called once the runtime exists: register operator API routes. */
  routes?(router: Router, runtime: SluiceRuntime, ctx: PluginContext): void;
}

