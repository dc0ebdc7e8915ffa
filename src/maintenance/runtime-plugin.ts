/**
 * Host maintenance wired into the running scheduler (Phase 2 of src/maintenance/README.md).
 *
 * `MaintenanceService` is a RuntimeExtension (it runs inside the runtime's single decision loop, so
 * its steps are written to the store in the same atomic batch as the scheduler's) plus the async
 * edge towards the master's maintenance endpoints (MaintenanceOperatorClient). Records are kept in
 * memory and persisted in the store collection `hosts` (key: hostKey(hostname)); a restart loads
 * them and the stateless planner resumes exactly where the store says.
 *
 * Inside the loop (sync):
 * - every transition: store op + log `host_transition` + `sluice_host_transitions_total{from,to}`;
 * - `set_blocked_hosts` with every host not UP, whenever that set changes;
 * - `planDrain` on every tick and on task updates (at most once per `planIntervalMs`):
 *   transitions, kills → `kill_tasks`, make-before-break → `surge_instances`, timeouts logged once;
 * - offers / inverse offers carrying `unavailability` for hosts not held → external drain flow;
 * - inverse offers answered by `decideInverseOffer`: ACCEPT only with none of our tasks on the agent
 *   (asserted where the call is built), DECLINE logged with its reason, HOLD re-decided after plans.
 * Outside the loop (async, results applied through runtime.run). Every write to the master goes
 * through ONE ScheduleWriter (schedule-writer.ts: queued, coalesced, re-read before each POST) and
 * is announced by a durable intent record (core/pending.ts, pending-ops.ts) resolved after it:
 * - operator requests start / complete / abort (schedule edits; machine up);
 * - machine down for DRAINED hosts Sluice put in maintenance (downDecision), then `post_drain`
 *   (post-drain.ts: minimal environment, masked and bounded output, never re-run after a crash);
 * - periodic reconciliation with the master's schedule and status (reconcileSchedule), after
 *   resolving the intents a previous process left; hosts with a write of ours pending are skipped.
 */
import { randomUUID } from 'node:crypto';
import type { Call, Event, InverseOffer, MachineID, Offer } from '../mesos/types.js';
import { agentCapacity, workloadJobs, workloadRows } from '../scheduler/workload-rows.js';
import type { SchedulerState } from '../scheduler/state.js';
import type { Store } from '../store/index.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { LeaderDetector } from '../client/detector.js';
import type { HostSnapshot, SluiceMetrics } from '../metrics/metrics.js';
import type { ExtensionContext, ExtensionStep, RuntimeExtension, SluiceRuntime } from '../runtime/runtime.js';
import {
  DEFAULT_LEAD_MS,
  abortMaintenance,
  blockedHosts,
  completeMaintenance,
  hostKey,
  scheduledReason,
  startMaintenance,
  transition,
  type HostRecord,
  type HostState,
  type HostTransition,
  type InventoryHost,
  type StartRequest,
} from './core/host-state.js';
import { hostProgress, planDrain, type DrainOptions, type DrainPlan, type DrainView, type HostProgress } from './core/drainer.js';
import { decideInverseOffer, enterFromUnavailability, windowFromUnavailability, downDecision, type InverseOfferOptions } from './core/inverse-offers.js';
import { addWindow, machineEquals, machineIdOf, reconcileSchedule, removeMachines } from './core/schedule.js';
import { dryRunStart, slaProbe, probeText } from './core/probe.js';
import { listSafe } from './core/list-safe.js';
import { hasSelector, selectHosts, type HostSelector, type Selection } from './core/select.js';
import type { MasterAgent } from './io/operator-client.js';
import { MaintenanceOperatorClient } from './io/operator-client.js';
import { ScheduleWriter } from './io/schedule-writer.js';
import { PendingOps } from './pending-ops.js';
import { Step } from './step.js';
import { cleanText, countBy, hostView, tasksOnAgent, tasksPerHost } from './core/host-view.js';
import { runPostDrain } from './io/post-drain.js';
import { PENDING_COLLECTION, interruptedPostDrain, resolvePending, type PendingOp } from './core/pending.js';
import { MaintenanceRequestError, type HostProblem } from './core/errors.js';
import { attributeText } from '../mesos/types.js';
import { redactText } from '../util/redact.js';

export const HOSTS_COLLECTION = 'hosts';

export interface MaintenancePluginOptions {
  leadMs?: number;
  /** Least time between two plans triggered by task updates (ticks always plan). */
  planIntervalMs?: number;
  /** Reconciliation with the master's schedule/status. */
  reconcileIntervalMs?: number;
  /** Least time between two machine-down checks of a host. */
  downCheckIntervalMs?: number;
  /** Post-drain command timeout (real time). */
  postDrainTimeoutMs?: number;
  /** Environment variable names passed through to post_drain hooks (src/maintenance/post-drain.ts). */
  postDrainEnv?: readonly string[];
  /** Secret values: never in a hook's environment, masked in its output. */
  secrets?: readonly string[];
  drain?: Partial<DrainOptions>;
  inverseOffers?: Partial<InverseOfferOptions>;
  rackAttribute?: string;
}

interface HeldInverseOffer {
  id: string;
  agent_id: string;
  key: string;
  window: { start_ms: number; duration_ms?: number };
}

export class MaintenanceService implements RuntimeExtension {
  readonly name = 'maintenance';
  readonly records = new Map<string, HostRecord>();
  readonly client: MaintenanceOperatorClient;
  private runtime: SluiceRuntime | undefined;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: SluiceMetrics | undefined;
  private readonly opts: Required<Omit<MaintenancePluginOptions, 'drain' | 'inverseOffers'>> & Pick<MaintenancePluginOptions, 'drain' | 'inverseOffers'>;
  private readonly held = new Map<string, HeldInverseOffer>();
  /** Agents by id: hostname, ip, rack (from /master/state, offers and inverse offers). */
  private readonly agents = new Map<string, InventoryHost>();
  private blockedKey: string | undefined;
  private lastPlan: DrainPlan | undefined;
  private lastPlanMs = -Infinity;
  private nextReconcileMs = 0;
  private reconciling = false;
  /** The one writer of the master's maintenance state (serialized, coalescing). */
  readonly writer: ScheduleWriter;
  /** Pending two-phase operations: this process's and those a previous one left (intents in the store). */
  private readonly ops = new PendingOps();
  private readonly downInflight = new Set<string>();
  private readonly lastDownCheck = new Map<string, number>();

  constructor(
    ctx: { store: Store; clock: Clock; logger: Logger; metrics?: SluiceMetrics; masters: readonly string[]; secrets?: readonly string[]; postDrainEnv?: readonly string[]; auth?: { principal: string; secret: string }; rackAttribute?: string; detector?: LeaderDetector },
    options: MaintenancePluginOptions = {}) {
    this.store = ctx.store;
    this.clock = ctx.clock;
    this.log = ctx.logger;
    this.metrics = ctx.metrics;
    this.opts = {
      leadMs: options.leadMs ?? DEFAULT_LEAD_MS,
      planIntervalMs: options.planIntervalMs ?? 1000,
      reconcileIntervalMs: options.reconcileIntervalMs ?? 30_000,
      downCheckIntervalMs: options.downCheckIntervalMs ?? 5_000,
      postDrainTimeoutMs: options.postDrainTimeoutMs ?? 10 * 60_000,
      postDrainEnv: options.postDrainEnv ?? ctx.postDrainEnv ?? [],
      secrets: options.secrets ?? ctx.secrets ?? [],
      rackAttribute: options.rackAttribute ?? ctx.rackAttribute ?? 'rack',
      drain: options.drain,
      inverseOffers: options.inverseOffers,
    };
    this.client = new MaintenanceOperatorClient({
      masters: ctx.masters,
      clock: ctx.clock,
      logger: ctx.logger,
      rackAttribute: this.opts.rackAttribute,
      auth: ctx.auth,
      detector: ctx.detector,
      onAuthRefused: (call) => ctx.metrics?.masterAuthFailures.inc({ call }),
    });
    this.writer = new ScheduleWriter(this.client, ctx.logger);
  }

  now(): number {
    return this.clock.now();
  }

  attach(runtime: SluiceRuntime): void {
    this.runtime = runtime;
  }

  private get rt(): SluiceRuntime {
    if (!this.runtime) throw new Error('maintenance: runtime not attached');
    return this.runtime;
  }

  private drainOptions(): Partial<DrainOptions> {
    return { lead_ms: this.opts.leadMs, ...this.opts.drain };
  }

  // ------------------------------------------------------------------------------------------
  // RuntimeExtension

  onStart(ctx: ExtensionContext): ExtensionStep {
    const st = new Step();
    for (const [key, v] of ctx.store.list<HostRecord>(HOSTS_COLLECTION)) this.records.set(key, structuredClone(v) as HostRecord);
    this.ops.load(ctx.store.list<PendingOp>(PENDING_COLLECTION).map(([, op]) => structuredClone(op) as PendingOp));
    // a hook that was running when Sluice stopped is not run again (it may not be idempotent)
    for (const op of [...this.ops.orphans.values()].filter((o) => o.kind === 'post-drain')) {
      for (const rec of interruptedPostDrain(op, this.records, ctx.now)) {
        this.put(st, rec, []);
        st.log('warn', 'post_drain_interrupted', {
          host: rec.hostname,
          agent_id: rec.agent_id,
          pending_op: op.id,
          reason: 'Sluice stopped while the post_drain hook ran; it is NOT run again automatically — check the host and run the hook by hand if needed',
        });
      }
      this.ops.drop(st.storeOps, op.id);
    }
    const active = [...this.records.values()].filter((r) => r.state !== 'UP');
    if (this.records.size) {
      st.log('info', 'maintenance_restored', {
        hosts: active.length,
        states: Object.fromEntries(countBy(active.map((r) => r.state))),
        reason: 'host maintenance records loaded from the store; the drain resumes where it was',
      });
    }
    this.syncBlocked(st, true);
    return st.out();
  }

  onEvent(event: Event, ctx: ExtensionContext): ExtensionStep | void {
    switch (event.type) {
      case 'SUBSCRIBED':
        this.held.clear();
        this.nextReconcileMs = 0;
        return;
      case 'OFFERS': {
        const st = new Step();
        for (const o of event.offers?.offers ?? []) this.onOffer(o, ctx, st);
        return st.out();
      }
      case 'INVERSE_OFFERS': {
        const st = new Step();
        for (const io of event.inverse_offers?.inverse_offers ?? []) this.onInverseOffer(io, ctx, st);
        this.syncBlocked(st);
        return st.out();
      }
      case 'RESCIND_INVERSE_OFFER': {
        const id = event.rescind_inverse_offer?.inverse_offer_id?.value;
        if (id) this.held.delete(id);
        return;
      }
      case 'UPDATE': {
        if (ctx.now - this.lastPlanMs < this.opts.planIntervalMs) return;
        const st = new Step();
        this.plan(ctx, st);
        return st.out();
      }
      default:
        return;
    }
  }

  onDisconnected(): void {
    this.held.clear();
  }

  onTick(ctx: ExtensionContext): ExtensionStep {
    const st = new Step();
    this.plan(ctx, st);
    this.machineWork(ctx);
    if (ctx.now >= this.nextReconcileMs && !this.reconciling && this.runtime) {
      this.nextReconcileMs = ctx.now + this.opts.reconcileIntervalMs;
      void this.reconcile();
    }
    return st.out();
  }

  metricsHosts(ctx: ExtensionContext): HostSnapshot[] {
    const onHost = tasksPerHost(ctx.state);
    const out: HostSnapshot[] = [];
    for (const r of this.records.values()) {
      out.push({
        hostname: r.hostname,
        state: r.state,
        tasks_left: onHost.get(hostKey(r.hostname)) ?? 0,
        draining_seconds: r.state === 'DRAINING' && r.drain_started_ms !== undefined ? Math.max(0, (ctx.now - r.drain_started_ms) / 1000) : 0,
        drain_timeout_seconds: r.options.timeout_ms !== undefined ? r.options.timeout_ms / 1000 : 0,
      });
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // records

  /** Write a record (store op in this step), logging and counting its transitions. */
  private put(st: Step, rec: HostRecord, transitions: ReadonlyArray<HostTransition>, extra: Record<string, unknown> = {}): void {
    const key = hostKey(rec.hostname);
    this.records.set(key, rec);
    st.storeOps.push({ op: 'put', collection: HOSTS_COLLECTION, key, value: rec });
    for (const t of transitions) {
      st.log('info', 'host_transition', {
        host: rec.hostname,
        agent_id: rec.agent_id,
        state_from: t.from,
        state_to: t.to,
        reason: t.reason,
        origin: rec.origin,
        request_id: rec.request_id,
        rack: rec.rack,
        ...extra,
      });
      this.metrics?.hostTransitions.inc({ from: t.from, to: t.to });
      st.audit.push({
        kind: 'host_transition',
        ts_ms: t.at_ms,
        actor: 'sluice',
        host: rec.hostname,
        agent_id: rec.agent_id,
        request_id: rec.request_id,
        from: t.from,
        to: t.to,
        reason: t.reason,
        detail: { origin: rec.origin, ...(rec.rack ? { rack: rec.rack } : {}) },
      });
    }
  }

  private move(st: Step, rec: HostRecord, to: HostState, now: number, reason: string, patch: Partial<HostRecord> = {}): HostRecord {
    const next = { ...transition(rec, to, now, reason), ...patch };
    this.put(st, next, [next.history[next.history.length - 1]!]);
    return next;
  }

  private syncBlocked(st: Step, force = false): void {
    const hosts = [...blockedHosts(this.records.values())].map((h) => h.toLowerCase()).sort();
    const key = hosts.join(',');
    if (!force && key === this.blockedKey) return;
    this.blockedKey = key;
    st.commands.push({ type: 'set_blocked_hosts', hosts });
  }

  /** Hosts the planner works on: not UP, and (Sluice-origin) with the window accepted by the master. */
  private planHosts(): HostRecord[] {
    return [...this.records.values()].filter((r) => r.state !== 'UP' && !(r.origin === 'sluice' && r.schedule_posted_ms === undefined));
  }

  private view(s: SchedulerState, hosts: HostRecord[] = [...this.records.values()]): DrainView {
    return { hosts, jobs: workloadJobs(s), instances: workloadRows(s), capacity: agentCapacity(s) };
  }

  inventory(s: SchedulerState): InventoryHost[] {
    const byKey = new Map<string, InventoryHost>();
    for (const a of s.agents.values()) {
      const h: InventoryHost = { hostname: a.host, agent_id: a.agent_id };
      const rack = a.attributes[this.opts.rackAttribute];
      if (rack !== undefined) h.rack = rack;
      byKey.set(hostKey(a.host), h);
    }
    for (const a of this.agents.values()) {
      const prev = byKey.get(hostKey(a.hostname));
      byKey.set(hostKey(a.hostname), { ...prev, ...a });
    }
    return [...byKey.values()];
  }

  private learnAgent(a: InventoryHost & { agent_id: string }): void {
    const prev = this.agents.get(a.agent_id);
    const next: InventoryHost = { ...prev, ...a };
    if (!a.ip && prev?.ip) next.ip = prev.ip;
    if (!a.rack && prev?.rack) next.rack = prev.rack;
    this.agents.set(a.agent_id, next);
  }

  // ------------------------------------------------------------------------------------------
  // planning

  private plan(ctx: ExtensionContext, st: Step): void {
    const now = ctx.now;
    this.lastPlanMs = now;
    const hosts = this.planHosts();
    if (!hosts.length) {
      this.lastPlan = undefined;
      this.syncBlocked(st);
      return;
    }
    const plan = planDrain(this.view(ctx.state, hosts), now, this.drainOptions());
    this.lastPlan = plan;
    for (const t of plan.transitions) {
      const rec = this.records.get(hostKey(t.hostname));
      if (!rec || rec.state !== t.from) continue;
      this.move(st, rec, t.to, now, t.reason);
    }
    if (plan.kills.length) {
      const forced = plan.kills.filter((k) => k.reason === 'forced');
      for (const k of forced) {
        st.log('warn', 'drain_forced_kill', {
          host: k.hostname,
          agent_id: k.agent_id,
          job: k.job,
          instance: k.instance,
          task_id: k.task_id,
          reason: `FORCED: drain timeout passed, killing regardless of the SLA (${k.detail})`,
        });
      }
      for (const k of plan.kills) {
        if (k.reason !== 'forced') st.log('info', 'drain_kill', { host: k.hostname, job: k.job, instance: k.instance, task_id: k.task_id, reason: `${k.reason}: ${k.detail}` });
      }
      st.commands.push({ type: 'kill_tasks', task_ids: plan.kills.map((k) => k.task_id), reason: 'drain' });
    }
    if (plan.makeBeforeBreak.length) {
      for (const o of plan.makeBeforeBreak) st.log('info', 'drain_surge', { host: o.hostname, job: o.job, instance: o.instance, task_id: o.task_id, reason: o.reason });
      st.commands.push({ type: 'surge_instances', orders: plan.makeBeforeBreak.map((o) => ({ job: o.job, instance: o.instance, task_id: o.task_id })) });
    }
    for (const t of plan.timeouts) {
      const rec = this.records.get(hostKey(t.hostname));
      if (!rec || rec.timed_out_ms !== undefined) continue;
      this.put(st, { ...rec, timed_out_ms: now }, []);
      st.log('warn', 'drain_timeout', {
        host: rec.hostname,
        agent_id: rec.agent_id,
        tasks_left: t.tasks_left,
        deadline_ms: t.deadline_ms,
        forced: t.forced,
        reason: t.forced
          ? `drain timeout passed with ${t.tasks_left} task(s) left: --force given, killing them regardless of the SLAs`
          : `drain timeout passed with ${t.tasks_left} task(s) left: no --force, the drain continues within the SLAs`,
      });
    }
    this.syncBlocked(st);
    this.redecideHeld(ctx, st);
  }

  // ------------------------------------------------------------------------------------------
  // offers and inverse offers

  private onOffer(o: Offer, ctx: ExtensionContext, st: Step): void {
    const agent: InventoryHost & { agent_id: string } = { hostname: o.hostname, agent_id: o.agent_id.value };
    const ip = o.url?.address?.ip;
    if (ip) agent.ip = ip;
    const rack = attributeText(o.attributes, this.opts.rackAttribute);
    if (rack !== undefined) agent.rack = rack;
    this.learnAgent(agent);
    if (!o.unavailability) return;
    this.enterExternal(this.agents.get(agent.agent_id)!, windowFromUnavailability(o.unavailability), ctx.now, st);
  }

  private enterExternal(agent: InventoryHost, window: { start_ms: number; duration_ms?: number }, now: number, st: Step): void {
    const key = hostKey(agent.hostname);
    if (this.ops.busy(key)) return;
    const existing = this.records.get(key);
    if (existing && existing.state !== 'UP') {
      if (existing.origin !== 'external') return;
    }
    const r = enterFromUnavailability(existing, agent, window, now, this.opts.leadMs);
    if (r.changed === 'none') return;
    this.put(st, r.record, r.transitions, r.changed === 'window-updated' ? { reason: 'external window changed' } : {});
    this.syncBlocked(st);
  }

  private onInverseOffer(io: InverseOffer, ctx: ExtensionContext, st: Step): void {
    const id = io.id.value;
    const agentId = io.agent_id?.value;
    if (!agentId) return;
    const known = this.agents.get(agentId);
    const hostname = io.url?.address?.hostname ?? known?.hostname ?? ctx.state.agents.get(agentId)?.host;
    if (!hostname) {
      st.log('warn', 'inverse_offer_held', { agent_id: agentId, reason: 'agent unknown (no hostname): holding the inverse offer' });
      return;
    }
    const agent: InventoryHost & { agent_id: string } = { hostname, agent_id: agentId };
    const ip = io.url?.address?.ip;
    if (ip) agent.ip = ip;
    this.learnAgent(agent);
    const window = windowFromUnavailability(io.unavailability);
    this.enterExternal(this.agents.get(agentId)!, window, ctx.now, st);
    this.held.set(id, { id, agent_id: agentId, key: hostKey(hostname), window });
    this.decideHeld(this.held.get(id)!, ctx, st);
  }

  private redecideHeld(ctx: ExtensionContext, st: Step): void {
    for (const h of [...this.held.values()]) this.decideHeld(h, ctx, st);
  }

  private decideHeld(h: HeldInverseOffer, ctx: ExtensionContext, st: Step): void {
    const rec = this.records.get(h.key);
    const n = tasksOnAgent(ctx.state, h.agent_id, h.key);
    const progress = this.lastPlan?.progress.find((p) => hostKey(p.hostname) === h.key);
    const d = decideInverseOffer(rec?.window ?? h.window, { tasks_on_agent: n, host: rec, estimated_empty_ms: progress?.estimated_empty_ms }, ctx.now, this.opts.inverseOffers);
    if (d.action === 'hold') return;
    this.held.delete(h.id);
    if (d.action === 'accept') {
      // The invariant, checked where the call is built: no task of ours on the agent.
      const left = tasksOnAgent(ctx.state, h.agent_id, h.key);
      if (left !== 0) {
        st.log('error', 'inverse_offer_accept_refused', { host: rec?.hostname, agent_id: h.agent_id, tasks_left: left, reason: 'BUG: policy said accept with tasks of ours on the agent; not sent' });
        this.held.set(h.id, h);
        return;
      }
      st.calls.push({ type: 'ACCEPT_INVERSE_OFFERS', accept_inverse_offers: { inverse_offer_ids: [{ value: h.id }], filters: { refuse_seconds: d.refuse_seconds } } } as Call);
      st.log('info', 'inverse_offer_accepted', { host: rec?.hostname, agent_id: h.agent_id, inverse_offer_id: h.id, reason: d.reason });
    } else {
      st.calls.push({ type: 'DECLINE_INVERSE_OFFERS', decline_inverse_offers: { inverse_offer_ids: [{ value: h.id }], filters: { refuse_seconds: d.refuse_seconds } } } as Call);
      st.log('warn', 'inverse_offer_declined', { host: rec?.hostname, agent_id: h.agent_id, inverse_offer_id: h.id, tasks_left: n, reason: d.reason });
    }
  }

  // ------------------------------------------------------------------------------------------
  // machine down and post-drain (async). Every write to the master goes through `writer` (one at
  // a time) and is preceded by a durable intent record (core/pending.ts), resolved after.

  /** Intent written (durably) on its own, before the request it announces. */
  private async persistOp(op: PendingOp): Promise<void> {
    try {
      await this.rt.run(() => {
        const st = new Step();
        this.ops.put(st.storeOps, op);
        return st.out();
      });
    } catch (e) {
      this.ops.live.delete(op.id);
      throw e;
    }
  }

  private machineWork(ctx: ExtensionContext): void {
    if (!this.runtime) return;
    for (const [key, r] of this.records) {
      if (r.origin === 'sluice' && r.state === 'DRAINED' && r.down_posted_ms === undefined && r.schedule_posted_ms !== undefined) {
        if (this.downInflight.has(key) || this.ops.busy(key)) continue;
        if (ctx.now - (this.lastDownCheck.get(key) ?? -Infinity) < this.opts.downCheckIntervalMs) continue;
        this.lastDownCheck.set(key, ctx.now);
        this.downInflight.add(key);
        void this.checkDown(key).finally(() => this.downInflight.delete(key));
      }
      if (r.state === 'DOWN' && r.options.post_drain && r.down_posted_ms !== undefined && !r.post_drain_result && !this.ops.busy(key)) {
        const op = this.ops.create('post-drain', [key], ctx.now, { command: r.options.post_drain, request_id: r.request_id });
        void this.postDrain(r, op);
      }
    }
  }

  private async checkDown(key: string): Promise<void> {
    try {
      const [status, state] = await Promise.all([this.client.getStatus(), this.client.getState()]);
      for (const a of state.agents) this.learnAgent(a);
      const go = await this.rt.run<{ reason: string; op: PendingOp; machine: MachineID }>((ctx) => {
        const rec = this.records.get(key);
        if (!rec || this.ops.busy(key)) return {};
        const m = rec.ip ? machineIdOf(rec) : undefined;
        const statuses = m ? (status.draining_machines ?? []).find((d) => machineEquals(d.id, m))?.statuses : undefined;
        const agent = state.agents.find((a) => hostKey(a.hostname) === key);
        const frameworks = agent ? (state.frameworksOnAgent.get(agent.agent_id) ?? []) : [];
        const d = downDecision(rec, { statuses: statuses ?? [], frameworks_on_agent: frameworks }, ctx.now);
        const st = new Step();
        st.log('debug', 'machine_down_decision', { host: rec.hostname, down: d.down, reason: d.reason });
        if (!d.down) return st.out();
        const op = this.ops.create('machine-down', [key], ctx.now, { request_id: rec.request_id });
        this.ops.put(st.storeOps, op); // durable before the POST below
        return st.out({ reason: d.reason, op, machine: machineIdOf(rec) });
      });
      if (!go) return;
      try {
        await this.writer.exclusive([key], () => this.client.machineDown([go.machine]));
      } catch (e) {
        await this.rt.run(() => {
          const st = new Step();
          this.ops.drop(st.storeOps, go.op.id);
          return st.out();
        });
        throw e;
      }
      await this.rt.run((ctx) => {
        const st = new Step();
        const cur = this.records.get(key);
        if (cur && cur.state !== 'DOWN' && cur.state !== 'UP') this.move(st, cur, 'DOWN', ctx.now, `machine down posted: ${go.reason}`, { down_posted_ms: ctx.now });
        this.ops.drop(st.storeOps, go.op.id);
        return st.out();
      });
    } catch (e) {
      this.log.warn('machine_down_failed', { event: 'machine_down_failed', host: key, error: redactText((e as Error).message) });
    }
  }

  /** Runs a host's post_drain hook once: start and end recorded durably (a restart never re-runs it). */
  private async postDrain(rec: HostRecord, op: PendingOp): Promise<void> {
    const key = hostKey(rec.hostname);
    try {
      await this.persistOp(op);
    } catch {
      return; // Sluice is stopping: the hook has not started
    }
    const cmd = rec.options.post_drain!;
    const cfg = { passEnv: this.opts.postDrainEnv, secrets: this.opts.secrets, timeoutMs: this.opts.postDrainTimeoutMs };
    this.log.info('post_drain_started', { event: 'post_drain_started', host: rec.hostname, agent_id: rec.agent_id, command: cleanText(cmd, this.opts.secrets) });
    const result = await runPostDrain(cmd, rec, cfg, (stream, line) => this.log.info('post_drain_output', { event: 'post_drain_output', host: rec.hostname, stream, line }));
    this.log.log(result.exit_code === 0 ? 'info' : 'warn', 'post_drain_finished', {
      event: 'post_drain_finished',
      host: rec.hostname,
      exit_code: result.exit_code,
      signal: result.signal,
      timed_out: result.timed_out,
    });
    await this.rt
      .run((ctx) => {
        const st = new Step();
        const cur = this.records.get(key);
        if (cur && cur.state === 'DOWN') this.put(st, { ...cur, post_drain_result: { ...result, at_ms: ctx.now } }, []);
        this.ops.drop(st.storeOps, op.id);
        return st.out();
      })
      .catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------------
  // reconciliation with the master (async)

  private async reconcile(): Promise<void> {
    this.reconciling = true;
    try {
      // Read inside the writer's queue: no write of ours is half done while we read.
      const read = await this.writer.exclusive([], async () => {
        const [schedule, status, state] = await Promise.all([this.client.getSchedule(), this.client.getStatus(), this.client.getState()]);
        return { schedule, status, state, gen: this.writer.generation };
      });
      for (const a of read.state.agents) this.learnAgent(a);
      const reposts = await this.rt.run((ctx) => {
        const st = new Step();
        const table = new Map(this.records);
        const repost: string[] = [];
        // 1. intents left by a previous process: recognise what the master already took
        for (const op of [...this.ops.orphans.values()]) {
          const r = resolvePending(op, table, read, ctx.now);
          for (const { record, transitions } of r.records) {
            table.set(hostKey(record.hostname), record);
            this.put(st, record, transitions, { reconcile: 'pending-op', pending_op: op.id });
          }
          for (const l of r.logs) st.log(l.level, l.event, l.fields);
          repost.push(...r.repost);
          this.ops.drop(st.storeOps, op.id);
        }
        // 2. what changed outside Sluice, leaving alone every host we are writing (or just wrote
        //    after this read): the comparison is against what Sluice last wrote
        const settled = new Map([...table].filter(([k]) => !this.ops.busy(k) && !this.writer.busy(k) && !this.writer.changedSince(k, read.gen) && !repost.includes(k)));
        const actions = reconcileSchedule(settled, read.schedule, read.status, this.inventory(ctx.state), ctx.now, this.opts.leadMs);
        for (const a of actions) {
          if (a.kind === 'repost') repost.push(hostKey(a.hostname));
          else if (a.record && !this.ops.busy(hostKey(a.hostname))) this.put(st, a.record, a.transitions, { reconcile: a.kind });
        }
        this.syncBlocked(st);
        return st.out(repost);
      });
      for (const key of reposts ?? []) await this.repost(key);
    } catch (e) {
      this.log.warn('maintenance_reconcile_failed', { event: 'maintenance_reconcile_failed', error: redactText((e as Error).message) });
    } finally {
      this.reconciling = false;
    }
  }

  private async repost(key: string): Promise<void> {
    const pre = await this.rt.run<{ rec: HostRecord; op: PendingOp }>((ctx) => {
      const rec = this.records.get(key);
      if (!rec || rec.state === 'UP' || !rec.window || !rec.ip || rec.schedule_posted_ms !== undefined || this.ops.busy(key)) return {};
      const st = new Step();
      const op = this.ops.create('schedule-add', [key], ctx.now, { window: rec.window, request_id: rec.request_id });
      this.ops.put(st.storeOps, op);
      return st.out({ rec, op });
    });
    if (!pre) return;
    const { rec, op } = pre;
    try {
      const m = machineIdOf(rec);
      await this.writer.edit({ hosts: [key], apply: (s) => addWindow(s, [m], rec.window!, [m]) });
      await this.rt.run((ctx) => {
        const st = new Step();
        const cur = this.records.get(key);
        if (cur && cur.state !== 'UP') this.put(st, { ...cur, schedule_posted_ms: ctx.now }, []);
        this.ops.drop(st.storeOps, op.id);
        st.log('info', 'maintenance_window_reposted', { host: rec.hostname, reason: 'window was not on the master (Sluice stopped before the master took it)' });
        return st.out();
      });
    } catch (e) {
      this.log.warn('maintenance_repost_failed', { event: 'maintenance_repost_failed', host: rec.hostname, error: redactText((e as Error).message) });
      await this.rt.run(() => {
        const st = new Step();
        this.ops.drop(st.storeOps, op.id);
        return st.out();
      }).catch(() => undefined);
    }
  }

  // ------------------------------------------------------------------------------------------
  // operator requests (used by src/api/host-routes.ts)

  /** Resolves `--rack`/`--attribute` against the agents the master reports (400 when nothing matches). */
  private select(verb: string, hosts: readonly string[], sel: HostSelector | undefined, agents: readonly MasterAgent[]): { hosts: string[]; selection?: Selection } {
    if (!hasSelector(sel)) return { hosts: [...hosts] };
    const problems: HostProblem[] = [];
    const selection = selectHosts(hosts, sel, agents, problems);
    if (problems.length) throw new MaintenanceRequestError(verb, problems);
    return { hosts: selection.hosts, selection };
  }

  async start(input: StartRequest & { select?: HostSelector }): Promise<unknown> {
    const [state, schedule] = await Promise.all([this.client.getState(), this.client.getSchedule()]);
    for (const a of state.agents) this.learnAgent(a);
    const { select: sel, ...rest } = input;
    const picked = this.select('host maintenance start', rest.hosts, sel, state.agents);
    const req: StartRequest = { ...rest, hosts: picked.hosts };
    const selection = picked.selection ? { selection: picked.selection } : {};
    const requestId = `mnt-${randomUUID().slice(0, 8)}`;
    if (req.dry_run) {
      return this.rt.run((ctx) => {
        const r = dryRunStart(this.records, req, this.inventory(ctx.state), this.view(ctx.state), ctx.now, requestId, this.drainOptions());
        return { result: { ...r, ...selection } };
      });
    }
    const lead = { lead_ms: this.opts.leadMs };
    const prev = new Map<string, HostRecord | undefined>();
    const res = await this.rt.run((ctx) => {
      const r = startMaintenance(this.records, req, this.inventory(ctx.state), ctx.now, requestId, lead);
      // someone else's window on one of these machines: refuse before writing anything
      addWindow(schedule, r.records.map(machineIdOf), r.window);
      const st = new Step();
      const keys = r.records.map((rec) => hostKey(rec.hostname));
      for (const rec of r.records) {
        const key = hostKey(rec.hostname);
        prev.set(key, this.records.get(key));
        this.put(st, rec, r.transitions.filter((t) => hostKey(t.hostname) === key));
      }
      // the intent, in the same batch as the records: durable before the POST
      const op = this.ops.create('schedule-add', keys, ctx.now, { window: r.window, request_id: requestId });
      this.ops.put(st.storeOps, op);
      this.syncBlocked(st);
      return st.out({ ...r, keys, op });
    });
    const { keys, op } = res!;
    const machines = res!.records.map(machineIdOf);
    try {
      await this.writer.edit({ hosts: keys, apply: (s) => addWindow(s, machines, res!.window) });
    } catch (e) {
      await this.rt.run(() => {
        const st = new Step();
        for (const key of keys) {
          const p = prev.get(key);
          if (p) {
            this.records.set(key, p);
            st.storeOps.push({ op: 'put', collection: HOSTS_COLLECTION, key, value: p });
          } else {
            this.records.delete(key);
            st.storeOps.push({ op: 'delete', collection: HOSTS_COLLECTION, key });
          }
        }
        this.ops.drop(st.storeOps, op.id);
        st.log('warn', 'maintenance_start_rolled_back', { request_id: requestId, hosts: keys, reason: `the master did not take the window: ${redactText((e as Error).message)}` });
        this.syncBlocked(st);
        return st.out();
      });
      throw e;
    }
    return this.rt.run((ctx) => {
      const st = new Step();
      const hosts: unknown[] = [];
      for (const key of keys) {
        const cur = this.records.get(key);
        if (!cur) continue;
        const next = { ...cur, schedule_posted_ms: ctx.now };
        this.put(st, next, []);
        hosts.push({ hostname: next.hostname, state: next.state, group: next.group, rack: next.rack, agent_id: next.agent_id });
      }
      this.ops.drop(st.storeOps, op.id);
      st.log('info', 'maintenance_started', { request_id: requestId, hosts: keys, reason: 'window posted to the master' });
      return st.out({ request_id: requestId, window: res!.window, options: res!.options, hosts, ...selection });
    });
  }

  async end(verb: 'complete' | 'abort', hosts: readonly string[]): Promise<unknown> {
    const fn = verb === 'complete' ? completeMaintenance : abortMaintenance;
    const pre = await this.rt.run((ctx) => {
      const r = fn(this.records, hosts, ctx.now);
      const keys = r.records.map((rec) => hostKey(rec.hostname));
      const busy = r.records.filter((rec) => this.ops.busy(hostKey(rec.hostname)));
      if (busy.length) {
        throw new MaintenanceRequestError(`host maintenance ${verb}`, busy.map((rec) => ({
          hostname: rec.hostname,
          code: 'wrong-state' as const,
          message: 'an operation of Sluice on this host is still in progress with the master; retry in a moment',
        })));
      }
      const st = new Step();
      const op = this.ops.create('schedule-remove', keys, ctx.now, { verb });
      this.ops.put(st.storeOps, op);
      return st.out({ ...r, keys, op });
    });
    const { keys, op } = pre!;
    try {
      if (pre!.machines_up.length) {
        const up = pre!.machines_up.map(machineIdOf);
        await this.writer.exclusive(keys, () => this.client.machineUp(up));
      }
      if (pre!.machines_unscheduled.length) {
        const ids = pre!.machines_unscheduled.map(machineIdOf);
        await this.writer.edit({ hosts: keys, apply: (s, status) => removeMachines(s, ids, status.down_machines ?? []) });
      }
    } catch (e) {
      await this.rt.run(() => {
        const st = new Step();
        this.ops.drop(st.storeOps, op.id);
        return st.out();
      });
      throw e;
    }
    return this.rt.run((ctx) => {
      const st = new Step();
      const out: unknown[] = [];
      for (const key of keys) {
        const cur = this.records.get(key);
        if (!cur || cur.state === 'UP') continue;
        const next = this.move(st, cur, 'UP', ctx.now, verb === 'complete' ? 'maintenance complete' : 'maintenance aborted');
        this.lastDownCheck.delete(key);
        out.push({ hostname: next.hostname, state: next.state });
      }
      this.ops.drop(st.storeOps, op.id);
      this.syncBlocked(st);
      return st.out({ [verb === 'complete' ? 'completed' : 'aborted']: out });
    });
  }
  async query(states: readonly HostState[] | undefined): Promise<unknown> {
    return this.rt.run((ctx) => {
      const recs = [...this.records.values()].filter((r) => !states || states.includes(r.state));
      const active = [...this.records.values()].filter((r) => r.state !== 'UP');
      const progress = new Map<string, HostProgress>();
      if (active.length) for (const p of hostProgress(this.view(ctx.state, active), ctx.now, this.drainOptions())) progress.set(hostKey(p.hostname), p);
      const onHost = tasksPerHost(ctx.state);
      const hosts = recs
        .sort((a, b) => a.hostname.localeCompare(b.hostname))
        .map((r) => {
          const k = hostKey(r.hostname);
          const waiting = r.state === 'SCHEDULED' ? scheduledReason(r, this.records.values(), ctx.now, { lead_ms: this.opts.leadMs }) : undefined;
          return hostView(r, { progress: progress.get(k), tasks_left: onHost.get(k) ?? 0, busy: this.ops.busy(k), waiting, secrets: this.opts.secrets });
        });
      return { result: { now_ms: ctx.now, hosts } };
    });
  }

  async probe(hosts: readonly string[], sel?: HostSelector): Promise<unknown> {
    let picked: { hosts: string[]; selection?: Selection } = { hosts: [...hosts] };
    if (hasSelector(sel)) {
      const state = await this.client.getState();
      for (const a of state.agents) this.learnAgent(a);
      picked = this.select('sla probe', hosts, sel, state.agents);
    }
    return this.rt.run((ctx) => {
      const r = slaProbe(picked.hosts, this.view(ctx.state), this.inventory(ctx.state), ctx.now, this.drainOptions());
      return { result: { ...r, text: probeText(r), ...(picked.selection ? { selection: picked.selection } : {}) } };
    });
  }

  /** `sla list-safe`: hosts (or racks) safe to drain alone now, from the agents the master reports. */
  async listSafe(q: { racks?: string[]; group_by: 'host' | 'rack' }): Promise<unknown> {
    const state = await this.client.getState();
    for (const a of state.agents) this.learnAgent(a);
    if (q.racks?.length) this.select('sla list-safe', [], { racks: q.racks }, state.agents);
    return this.rt.run((ctx) => {
      const known = new Set(state.agents.map((a) => hostKey(a.hostname)));
      const inventory = this.inventory(ctx.state).filter((h) => known.has(hostKey(h.hostname)));
      return { result: listSafe(this.view(ctx.state), inventory, ctx.now, q, this.drainOptions()) };
    });
  }
}

