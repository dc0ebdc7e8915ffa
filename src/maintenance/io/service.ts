/**
 * Host maintenance as a running Sluice sees it: the loop's state and reducer (src/maintenance/core/
 * loop.ts) behind the runtime's extension interface, the I/O executor, and the operator requests
 * the API makes (start, complete, abort; reads of hosts, requests, probe and safe list).
 *
 * This class keeps no maintenance state of its own beyond the loop's (`state`), which only the
 * reducer changes, only inside the runtime's loop. An operator request reads what it needs from the
 * master first (outside the loop), then enters the loop as an input carrying that read; its answer
 * is a reply token the reducer answers, delivered once the step that answers it is durable.
 *
 * The runtime is not imported (layers: src/runtime sits above src/maintenance): `attach` takes
 * anything with `run` and `read`, and this class satisfies RuntimeExtension structurally.
 */
import { randomUUID } from 'node:crypto';
import type { Call, Event } from '../../mesos/types.js';
import type { Effect, SchedulerCommand, SchedulerState } from '../../scheduler/index.js';
import type { BatchOp } from '../../store/index.js';
import type { AuditInput } from '../../audit/types.js';
import type { LeaderDetector } from '../../client/detector.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { SluiceMetrics } from '../../metrics/metrics.js';
import { concerns, reduce } from '../core/loop.js';
import { CONTROL_COLLECTION, HOSTS_COLLECTION, initialState, PAUSE_KEY, type PauseInput, type IoRequest, type MaintenanceConfig, type MaintenanceInput, type MaintenanceState, type MaintenanceStep, type OperatorMeta } from '../core/loop-state.js';
import { PENDING_COLLECTION, type PendingOp } from '../core/pending.js';
import type { HostRecord, HostState, PauseMark, StartRequest } from '../core/host-state.js';
import type { HostSelector } from '../core/select.js';
import { MaintenanceError } from '../core/errors.js';
import { resolveSelection } from '../core/loop-requests.js';
import { controlView, hostGauges, hostsView, probeView, requestsView, safeView, type HostGauge } from '../core/views.js';
import type { Reply } from '../core/outcome.js';
import { failureOf } from '../core/errors.js';
import type { DrainOptions } from '../core/drain-types.js';
import type { InverseOfferOptions } from '../core/inverse-offers.js';
import type { OthersPolicy } from '../core/others.js';
import type { MasterAgent } from '../core/master.js';
import { MaintenanceOperatorClient } from './operator-client.js';
import { ScheduleWriter } from './schedule-writer.js';
import { MaintenanceExecutor } from './executor.js';
import { failureFromError } from './failure.js';
import type { SlaGuardrails } from '../../sla/index.js';

export { HOSTS_COLLECTION };

export interface MaintenanceOptions {
  leadMs?: number;
  /** Least time between two plans triggered by task updates (ticks always plan). */
  planIntervalMs?: number;
  /** Reconciliation with the master's schedule/status. */
  reconcileIntervalMs?: number;
  /** Least time between two machine-down checks of a host. */
  downCheckIntervalMs?: number;
  /** Post-drain command timeout (real time). */
  postDrainTimeoutMs?: number;
  /** Environment variable names passed through to post_drain hooks (src/maintenance/io/post-drain.ts). */
  postDrainEnv?: readonly string[];
  /** Secret values: never in a hook's environment, masked in its output. */
  secrets?: readonly string[];
  drain?: Partial<DrainOptions>;
  inverseOffers?: Partial<InverseOfferOptions>;
  rackAttribute?: string;
  /** Cluster default SLA and upper bound (setting sla_guardrails). */
  slaGuardrails?: SlaGuardrails;
  /** Most hosts DRAINING at once cluster-wide (setting max_draining_hosts). */
  maxDrainingHosts?: number;
}

/** What the service is built from (src/app's PluginContext has these). */
export interface MaintenanceDeps {
  clock: Clock;
  logger: Logger;
  metrics?: SluiceMetrics;
  masters: readonly string[];
  secrets?: readonly string[];
  postDrainEnv?: readonly string[];
  auth?: { principal: string; secret: string };
  rackAttribute?: string;
  detector?: LeaderDetector;
  others?: OthersPolicy;
  /** Cluster default SLA and upper bound (setting sla_guardrails). */
  slaGuardrails?: SlaGuardrails;
  /** Most hosts DRAINING at once cluster-wide (setting max_draining_hosts; options win). */
  maxDrainingHosts?: number;
}

/** What the loop hands an extension (the runtime's ExtensionContext has this shape). */
export interface LoopContext {
  readonly state: SchedulerState;
  readonly now: number;
  readonly store: { list<T>(collection: string): Array<[string, T]> };
}

/** A step as the runtime takes it (ExtensionStep). */
export interface LoopStep {
  calls?: Call[];
  commands?: SchedulerCommand[];
  storeOps?: BatchOp[];
  logs?: Effect[];
  audit?: AuditInput[];
  afterDurable?: () => void;
}

/** The runtime, as the service uses it. */
export interface LoopHandle {
  run<T>(fn: (ctx: LoopContext) => LoopStep & { result?: T }, issuer?: object): Promise<T>;
  read<T>(fn: (ctx: LoopContext) => T): Promise<T>;
}

type Waiter = { resolve: (r: Reply) => void; reject: (e: Error) => void };
type Submitted = MaintenanceInput extends infer I ? (I extends unknown ? Omit<I, 'sched'> : never) : never;

export class MaintenanceService {
  readonly name = 'maintenance';
  readonly client: MaintenanceOperatorClient;
  /** The one writer of the master's maintenance state (serialized, coalescing). */
  readonly writer: ScheduleWriter;
  readonly executor: MaintenanceExecutor;
  /** The loop's state: changed only by `reduce`, inside the runtime's loop. */
  readonly state: MaintenanceState;
  private loop: LoopHandle | undefined;
  private readonly clock: Clock;
  private readonly metrics: SluiceMetrics | undefined;
  private readonly waiting = new Map<string, Waiter>();
  private nextReply = 1;

  constructor(d: MaintenanceDeps, options: MaintenanceOptions = {}) {
    this.clock = d.clock;
    this.metrics = d.metrics;
    const rackAttribute = options.rackAttribute ?? d.rackAttribute ?? 'rack';
    const secrets = options.secrets ?? d.secrets ?? [];
    const config: Partial<MaintenanceConfig> = { rackAttribute, secrets };
    if (options.leadMs !== undefined) config.leadMs = options.leadMs;
    if (options.planIntervalMs !== undefined) config.planIntervalMs = options.planIntervalMs;
    if (options.reconcileIntervalMs !== undefined) config.reconcileIntervalMs = options.reconcileIntervalMs;
    if (options.downCheckIntervalMs !== undefined) config.downCheckIntervalMs = options.downCheckIntervalMs;
    if (options.drain) config.drain = options.drain;
    const cap = options.maxDrainingHosts ?? d.maxDrainingHosts;
    if (cap !== undefined) config.drain = { ...config.drain, max_draining_hosts: cap };
    if (options.inverseOffers) config.inverseOffers = options.inverseOffers;
    if (d.others) config.others = d.others;
    const guardrails = options.slaGuardrails ?? d.slaGuardrails;
    if (guardrails) config.slaGuardrails = guardrails;
    this.state = initialState(config, `op-${randomUUID()}`);
    this.client = new MaintenanceOperatorClient({
      masters: d.masters,
      clock: d.clock,
      logger: d.logger,
      rackAttribute,
      auth: d.auth,
      detector: d.detector,
      onAuthRefused: (call) => d.metrics?.masterAuthFailures.inc({ call }),
    });
    this.writer = new ScheduleWriter(this.client, d.logger);
    this.executor = new MaintenanceExecutor({
      client: this.client,
      writer: this.writer,
      hook: { passEnv: options.postDrainEnv ?? d.postDrainEnv ?? [], secrets, timeoutMs: options.postDrainTimeoutMs ?? 10 * 60_000 },
      log: d.logger,
      feed: (result) => this.submit({ kind: 'io', result }),
      lost: (req, e) => this.lost(req, e),
    });
  }

  /** The scheduler's clock (relative window starts like "+10m" use it). */
  now(): number {
    return this.clock.now();
  }

  attach(loop: LoopHandle): void {
    this.loop = loop;
  }

  private get rt(): LoopHandle {
    if (!this.loop) throw new Error('maintenance: runtime not attached');
    return this.loop;
  }

  // ------------------------------------------------------------------------------------------
  // the runtime extension: every input goes through reduce()

  onStart(ctx: LoopContext): LoopStep {
    const records = ctx.store.list<HostRecord>(HOSTS_COLLECTION).map(([, v]) => structuredClone(v) as HostRecord);
    const pending = ctx.store.list<PendingOp>(PENDING_COLLECTION).map(([, v]) => structuredClone(v) as PendingOp);
    const control = new Map(ctx.store.list<PauseMark>(CONTROL_COLLECTION));
    const pausedAll = control.get(PAUSE_KEY);
    return this.step({ kind: 'loaded', records, pending, ...(pausedAll ? { pausedAll: structuredClone(pausedAll) } : {}) }, ctx);
  }

  onEvent(event: Event, ctx: LoopContext): LoopStep | void {
    if (!concerns(this.state, event, ctx.now)) return;
    return this.step({ kind: 'event', event }, ctx);
  }

  onDisconnected(ctx: LoopContext): LoopStep {
    return this.step({ kind: 'disconnected' }, ctx);
  }

  onTick(ctx: LoopContext): LoopStep {
    return this.step({ kind: 'tick' }, ctx);
  }

  onCallFailed(call: Call, error: string, ctx: LoopContext): LoopStep {
    return this.step({ kind: 'call_failed', call, error }, ctx);
  }

  metricsHosts(ctx: LoopContext): HostGauge[] {
    return hostGauges(this.state, ctx.state, ctx.now);
  }

  /** One input through the reducer, as a runtime step; its I/O and replies wait until it is durable. */
  private step(input: Submitted, ctx: LoopContext): LoopStep {
    return this.toLoop(reduce(this.state, { ...input, sched: ctx.state } as MaintenanceInput, ctx.now));
  }

  private toLoop(step: MaintenanceStep): LoopStep {
    const out: LoopStep = { calls: step.calls, commands: step.commands, storeOps: step.storeOps, logs: step.logs, audit: step.audit };
    const transitions = step.audit.filter((a) => a.kind === 'host_transition');
    const overrides = step.audit.filter((a) => a.kind === 'sla_override').length;
    const drains = step.audit.filter((a) => a.kind === 'drain_agent');
    if (step.io.length || step.replies.length || transitions.length || overrides || drains.length) {
      out.afterDurable = () => {
        for (const t of transitions) this.metrics?.hostTransitions.inc({ from: t.from ?? '', to: t.to ?? '' });
        if (overrides) this.metrics?.slaOverrides.inc(overrides);
        for (const d of drains) this.metrics?.drainAgentSteps.inc({ step: d.action ?? '' });
        for (const { to, reply } of step.replies) {
          const w = this.waiting.get(to);
          this.waiting.delete(to);
          w?.resolve(reply);
        }
        if (step.io.length) this.executor.run(step.io);
      };
    }
    return out;
  }

  /** An input from outside the runtime's callbacks (I/O results, operator requests). */
  private submit(input: Submitted): Promise<void> {
    return this.rt.run<void>((ctx) => this.step(input, ctx), this);
  }

  private lost(req: IoRequest, e: Error): void {
    const reply = 'reply' in req ? req.reply : undefined;
    if (reply === undefined) return;
    const w = this.waiting.get(reply);
    this.waiting.delete(reply);
    w?.reject(e);
  }

  /** Enters an operator request into the loop and waits for its reply (durable by then). */
  private async request(make: (reply: string) => Submitted): Promise<Reply> {
    const token = `r${this.nextReply++}`;
    const answer = new Promise<Reply>((resolve, reject) => this.waiting.set(token, { resolve, reject }));
    try {
      await this.submit(make(token));
    } catch (e) {
      this.waiting.delete(token);
      throw e;
    }
    return answer;
  }

  // ------------------------------------------------------------------------------------------
  // operator requests (src/api/host-routes.ts)

  async start(input: StartRequest & { select?: HostSelector }, who: OperatorMeta = { actor: 'local' }): Promise<Reply> {
    let master;
    try {
      master = await Promise.all([this.client.getState(), this.client.getSchedule()]);
    } catch (e) {
      return failureFromError(e);
    }
    const [state, schedule] = master;
    const { select, ...request } = input;
    const request_id = `mnt-${randomUUID().slice(0, 8)}`;
    return this.request((reply) => ({ kind: 'start', request, ...(select ? { select } : {}), request_id, agents: state.agents, schedule, reply, ...who }));
  }

  async end(verb: 'complete' | 'abort', hosts: readonly string[], who: OperatorMeta = { actor: 'local' }): Promise<Reply> {
    return this.request((reply) => ({ kind: 'end', verb, hosts, reply, ...who }));
  }

  /** pause / resume a request's hosts, some hosts, or every drain (`{all: true}`). */
  async pause(verb: 'pause' | 'resume', target: PauseInput['target'], who: OperatorMeta = { actor: 'local' }): Promise<Reply> {
    return this.request((reply) => ({ kind: verb, target, reply, ...who }));
  }

  /** Change a running request's max_parallel / timeout (null removes it). */
  async edit(request_id: string, change: { max_parallel?: number | null; timeout_ms?: number | null; dry_run?: boolean }, who: OperatorMeta = { actor: 'local' }): Promise<Reply> {
    return this.request((reply) => ({ kind: 'edit', request_id, ...change, reply, ...who }));
  }

  /** GET /api/v1/hosts (read from the state as last written). */
  async query(states: readonly HostState[] | undefined): Promise<Reply> {
    return { outcome: 'ok', body: await this.rt.read((ctx) => hostsView(this.state, ctx.state, ctx.now, states)) };
  }

  /** The operator requests behind the hosts in maintenance. */
  async requests(): Promise<Reply> {
    return { outcome: 'ok', body: await this.rt.read(() => ({ ...controlView(this.state), requests: requestsView(this.state) })) };
  }

  async probe(hosts: readonly string[], sel?: HostSelector): Promise<Reply> {
    const agents = sel ? await this.learn() : undefined;
    if (agents && 'outcome' in agents) return agents;
    return this.rt.read((ctx) => this.refusable(() => {
      const picked = agents ? resolveSelection('sla probe', hosts, sel, agents) : { hosts: [...hosts] };
      return probeView(this.state, ctx.state, ctx.now, picked.hosts, picked.selection);
    }));
  }

  /** `sla list-safe`: hosts (or racks) safe to drain alone now, from the agents the master reports. */
  async listSafe(q: { racks?: string[]; group_by: 'host' | 'rack' }): Promise<Reply> {
    const agents = await this.learn();
    if ('outcome' in agents) return agents;
    return this.rt.read((ctx) => this.refusable(() => {
      if (q.racks?.length) resolveSelection('sla list-safe', [], { racks: q.racks }, agents);
      return safeView(this.state, ctx.state, ctx.now, agents, q);
    }));
  }

  /** The master's agents, learned by the loop before a read that uses them. */
  private async learn(): Promise<MasterAgent[] | Reply> {
    let agents: MasterAgent[];
    try {
      agents = (await this.client.getState()).agents;
    } catch (e) {
      return failureFromError(e);
    }
    await this.submit({ kind: 'agents', agents });
    return agents;
  }

  private refusable(fn: () => unknown): Reply {
    try {
      return { outcome: 'ok', body: fn() };
    } catch (e) {
      if (e instanceof MaintenanceError) return failureOf(e);
      throw e;
    }
  }

  /** Resolves once no I/O request of the loop is running (tests). */
  settled(): Promise<void> {
    return this.executor.settled();
  }
}
