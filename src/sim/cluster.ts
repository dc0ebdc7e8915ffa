/**
 * The simulated cluster: N master processes (one HTTP server each, one leader), the agents and
 * their tasks, the registry, fault injection, and the ground-truth observers.
 */
import { Subject, type Observable } from 'rxjs';
import type { Attribute, Event, FrameworkInfo, TaskInfo } from '../mesos/types.js';
import { RealClock, type Clock } from '../util/clock.js';
import { nullLogger, type Logger } from '../util/logger.js';
import { AgentRuntime, type TaskTransition, behaviourFromTaskInfo } from './agent.js';
import { MasterNode, type NodeHost } from './http.js';
import { AGENT_REREGISTER_TIMEOUT_MS, Master, type MasterContext, type SimEvent } from './master.js';
import { Agent, Conn, Task, type TaskBehaviour, isTerminalState } from './model.js';
import { Registry } from './registry.js';
import { SimAuth } from './auth.js';
import { OffsetClock } from './clock-offset.js';
import { type Res, containsRes, res, subInto } from './resources.js';
import { TimerQueue } from './timers.js';
import { Rng, newUuid } from './util.js';
import { ZkMasterGroup } from '../zk/master-registrar.js';
import { parseZkUrl } from '../zk/url.js';
import type { StateContext } from './views.js';
import { CallFaults, type Faults, makeFaults } from './faults.js';
import type { AgentSpec, AgentView, FailoverOptions, GroundTruthTask, SimOptions } from './options.js';
import { OtherFrameworks, otherFrameworkSpecs } from './others.js';

export type { AgentSpec, AgentView, FailoverOptions, Faults, GroundTruthTask, SimOptions };

export class Sim {
  readonly clock: Clock;
  readonly log: Logger;
  readonly timers: TimerQueue;
  readonly rng: Rng;
  readonly registry = new Registry();
  readonly agentList: Agent[] = [];
  readonly runtime: AgentRuntime;
  readonly nodes: MasterNode[] = [];
  readonly events$: Observable<SimEvent>;
  private readonly subject = new Subject<SimEvent>();
  private readonly transitionListeners = new Set<(t: TaskTransition) => void>();
  private readonly callFaults = new CallFaults();
  private leaderIndex: number | undefined;
  /** The masters' ZooKeeper registrations (with SimOptions.zk). */
  zkGroup: ZkMasterGroup | undefined;
  /** The leading master's state. */
  master: Master | undefined;
  private epoch = 0;
  private readonly allocationIntervalMs: number;
  private readonly cluster: string;
  private readonly buildTime: number;
  private readonly behaviourDefaults: TaskBehaviour;
  private readonly behaviourHook: SimOptions['taskBehaviour'];
  private readonly racks: Array<string | undefined> = [];
  private internalFwSeq = 0;
  /** Shared (frozen) resource vectors of populated tasks. */
  private readonly resCache = new Map<string, Res>();
  private closed = false;
  readonly faults: Faults;
  /** The simulated other frameworks (SimOptions.otherFrameworks). */
  readonly others: OtherFrameworks;
  private readonly auth: SimAuth | undefined;

  constructor(private readonly opts: SimOptions) {
    const base = opts.clock ?? new RealClock();
    this.clock = opts.clockOffsetMs ? new OffsetClock(base, opts.clockOffsetMs) : base;
    this.auth = SimAuth.from(opts.credentials, opts.authenticate);
    this.log = opts.logger ?? nullLogger();
    this.timers = new TimerQueue(this.clock);
    this.timers.onError = (e) => this.log.error('sim: timer callback failed', { error: e });
    this.rng = new Rng(opts.seed ?? Math.floor(Math.random() * 2 ** 31));
    this.allocationIntervalMs = opts.allocationIntervalMs ?? 1000;
    this.cluster = opts.cluster ?? 'sluice-sim';
    this.buildTime = this.clock.now();
    this.behaviourDefaults = { startupDelayMs: opts.taskStartupDelayMs ?? 0, exitCode: 1, exitOnSigterm: false };
    this.behaviourHook = opts.taskBehaviour;
    this.events$ = this.subject.asObservable();
    this.runtime = new AgentRuntime({
      clock: this.clock,
      timers: this.timers,
      rng: this.rng,
      log: this.log,
      master: () => this.master,
      agents: () => this.agentList,
      transition: (t) => {
        if (this.log.isDebugEnabled()) {
          this.log.debug('sim: task transition', {
            event: 'sim_task',
            task_id: t.taskId,
            framework_id: t.frameworkId,
            agent_id: t.agentId,
            host: t.hostname,
            state_from: t.from,
            state_to: t.to,
            reason: t.cause,
          });
        }
        for (const l of this.transitionListeners) l(t);
        if (this.subject.observed) this.subject.next({ kind: 'task', ...t });
      },
    });
    this.buildAgents();
    const others = opts.otherFrameworks ?? [];
    this.others = new OtherFrameworks(
      { master: () => this.master, timers: this.timers, log: this.log, findAgent: (ref) => this.findAgent(ref), agents: this.agentList },
      typeof others === 'number' ? otherFrameworkSpecs(others) : others,
    );
    this.faults = makeFaults(
      {
        master: () => this.master,
        timers: this.timers,
        runtime: this.runtime,
        agents: this.agentList,
        findAgent: (ref) => this.findAgent(ref),
        agentConnect: (a) => this.agentConnect(a),
        failover: (o) => this.failover(o),
      },
      this.callFaults.rules,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Setup

  private buildAgents(): void {
    const spec = this.opts.agents ?? 3;
    const racks = Math.max(1, this.opts.racks ?? 1);
    const list: AgentSpec[] = typeof spec === 'number' ? Array.from({ length: spec }, () => ({})) : spec;
    const d = this.opts.agentDefaults ?? {};
    list.forEach((s, i) => {
      const hostname = s.hostname ?? `agent-${i + 1}`;
      const ip = s.ip ?? `127.0.${1 + Math.floor(i / 254)}.${1 + (i % 254)}`;
      const rack = s.rack === null ? undefined : (s.rack ?? `rack-${(i % racks) + 1}`);
      const ports = (s.ports ?? d.ports ?? [[31000, 32000]]).flat();
      const total = res(s.cpus ?? d.cpus ?? 4, s.mem ?? d.mem ?? 4096, s.disk ?? d.disk ?? 10000, ports);
      const attributes: Attribute[] = [];
      if (rack !== undefined) attributes.push({ name: 'rack', type: 'TEXT', text: { value: rack } });
      for (const [k, v] of Object.entries({ ...(d.attributes ?? {}), ...(s.attributes ?? {}) })) {
        attributes.push({ name: k, type: 'TEXT', text: { value: v } });
      }
      const agent = new Agent(i, hostname, ip, s.port ?? d.port ?? 5051, total, attributes);
      this.agentList.push(agent);
      this.racks.push(rack);
    });
  }

  async start(): Promise<void> {
    const n = Math.max(1, this.opts.masters ?? 1);
    for (let i = 0; i < n; i++) {
      const mid = i === 0 && this.opts.masterId ? this.opts.masterId : newUuid(this.rng);
      const node = new MasterNode(this.nodeHost(), i, mid);
      this.nodes.push(node);
    }
    const base = this.opts.port ?? 0;
    for (let i = 0; i < n; i++) await this.nodes[i]!.listen(base === 0 ? 0 : base + i);
    if (this.opts.zk) {
      // in order, so master 0 has the lowest sequence and leads
      this.zkGroup = new ZkMasterGroup(parseZkUrl(this.opts.zk), { logger: this.log });
      for (let i = 0; i < n; i++) await this.zkGroup.register(i, this.nodes[i]!.info);
    }
    // Agents of a fresh cluster register at once.
    this.elect(0, { agentReregisterDelayMs: 0 });
    this.others.start();
  }

  private nodeHost(): NodeHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const sim = this;
    return {
      get timers() {
        return sim.timers;
      },
      get rng() {
        return sim.rng;
      },
      get log() {
        return sim.log;
      },
      leader: () => (this.leaderIndex === undefined ? undefined : this.nodes[this.leaderIndex]),
      masterOf: (node) => (this.leaderIndex === node.index ? this.master : undefined),
      stateContext: (node) => this.stateContext(node),
      callFault: (kind, type) => this.callFaults.take(kind, type),
      emit: (e) => this.emit(e),
      observed: () => this.subject.observed,
      now: () => this.clock.now(),
      auth: this.auth,
    };
  }

  private stateContext(node: MasterNode): StateContext {
    const leader = this.leaderIndex === undefined ? undefined : this.nodes[this.leaderIndex]!.info;
    return {
      info: node.info,
      leader,
      cluster: this.cluster,
      buildTime: this.buildTime,
      allocationIntervalMs: this.allocationIntervalMs,
      port: node.port,
      authFlags: this.auth?.flags(),
    };
  }

  private masterContext(): MasterContext {
    return {
      clock: this.clock,
      timers: this.timers,
      rng: this.rng,
      log: this.log,
      runtime: this.runtime,
      registry: this.registry,
      agents: this.agentList,
      allocationIntervalMs: this.allocationIntervalMs,
      emit: (e) => this.emit(e),
      behaviour: (info, fwId, agent) => this.behaviourFor(info, fwId, agent),
    };
  }

  private behaviourFor(info: TaskInfo, fwId: string, agent: Agent): TaskBehaviour {
    const b = behaviourFromTaskInfo(info, this.behaviourDefaults);
    const extra = this.behaviourHook?.(info, fwId, this.agentView(agent));
    return extra ? { ...b, ...extra } : b;
  }

  private emit(e: SimEvent): void {
    if (this.closed) return;
    this.logEvent(e);
    if (this.subject.observed) this.subject.next(e);
  }

  /** Structured log line per cluster-level event (task transitions and stream events at debug). */
  private logEvent(e: SimEvent): void {
    switch (e.kind) {
      case 'agent':
        this.log.info(`sim: agent ${e.what}`, { event: `sim_agent_${e.what}`, agent_id: e.agentId, host: e.hostname, reason: e.message });
        break;
      case 'framework':
        this.log.info(`sim: framework ${e.what}`, { event: `sim_framework_${e.what}`, framework_id: e.frameworkId, reason: e.message });
        break;
      case 'maintenance':
        this.log.info(`sim: maintenance ${e.what}`, { event: `sim_maintenance_${e.what}`, machines: e.machines });
        break;
      case 'leader':
        this.log.info(e.masterId ? 'sim: leader elected' : 'sim: no leader', { event: 'sim_leader', master_id: e.masterId, url: e.url });
        break;
      case 'call':
        this.log.debug('sim: scheduler call', { event: 'sim_call', framework_id: e.frameworkId, call: e.type, status: e.status });
        break;
      default:
        break;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Leadership

  /** Makes node `index` the leader with a fresh master state (from the registry). */
  private elect(index: number, o: FailoverOptions): void {
    const node = this.nodes[index]!;
    this.leaderIndex = index;
    const master = new Master(this.masterContext(), node.masterId, this.epoch++, node.info);
    this.master = master;
    this.emit({ kind: 'leader', at: this.clock.now(), masterId: node.masterId, url: node.url });
    const admitted = [...this.registry.admitted.entries()];
    for (const [aid, idx] of admitted) {
      const a = this.agentList[idx];
      if (a && a.id === aid && !this.registry.gone.has(aid) && !this.registry.unreachable.has(aid)) master.recovered.set(aid, a);
    }
    const delay = o.agentReregisterDelayMs ?? 1000;
    const recoveryMs = o.recoveryMs ?? 0;
    const afterRecovery = (): void => {
      if (this.master !== master) return;
      master.recovering = false;
      master.electedTime = this.clock.now();
      for (const a of this.agentList) {
        if (!a.up || a.partitioned) continue;
        this.timers.cancel(a.regTimer);
        const d = delay > 0 ? Math.floor(this.rng.next() * delay) : 0;
        if (d === 0) this.agentConnect(a);
        else a.regTimer = this.timers.after(d, () => this.agentConnect(a));
      }
      // The other frameworks notice the new leader and re-subscribe with their ids.
      this.others.subscribeAll();
      if (master.recovered.size > 0) {
        this.timers.after(AGENT_REREGISTER_TIMEOUT_MS, () => {
          if (this.master !== master) return;
          for (const [aid, a] of [...master.recovered]) {
            // Not re-registered within --agent_reregister_timeout: unreachable.
            master.recovered.delete(aid);
            const time = { nanoseconds: BigInt(this.clock.now()) * 1_000_000n };
            master.unreachable.set(aid, time);
            this.registry.unreachable.set(aid, time);
            for (const fw of master.frameworks.values()) if (fw.connected) fw.send({ type: 'FAILURE', failure: { agent_id: { value: aid } } });
            this.emit({ kind: 'agent', at: this.clock.now(), agentId: aid, hostname: a.hostname, what: 'unreachable', message: 'did not re-register after master failover' });
          }
        });
      }
    };
    if (recoveryMs > 0) {
      master.recovering = true;
      this.timers.after(recoveryMs, afterRecovery);
    } else {
      afterRecovery();
    }
  }

  async failover(o: FailoverOptions = {}): Promise<void> {
    const oldIndex = this.leaderIndex;
    if (oldIndex !== undefined) {
      const old = this.nodes[oldIndex]!;
      // The old leader's process dies: its memory and every stream are gone; it restarts as a
      // standby with a new MasterInfo id.
      this.master?.close();
      this.master = undefined;
      old.destroyStreams();
      old.masterId = newUuid(this.rng);
      // its ZooKeeper session ends with the process: the node goes, ZooKeeper announces the next
      await this.zkGroup?.withdraw(oldIndex);
    }
    for (const a of this.agentList) {
      a.m = undefined;
      this.timers.cancel(a.regTimer);
      a.regTimer = undefined;
    }
    this.leaderIndex = undefined;
    this.emit({ kind: 'leader', at: this.clock.now(), masterId: undefined, url: undefined });
    const n = this.nodes.length;
    const to = o.to ?? (oldIndex === undefined ? 0 : (oldIndex + 1) % n);
    // ZooKeeper decides who leads: `to` must hold the lowest sequence
    if (this.zkGroup) {
      if (!this.zkGroup.registration(to)) await this.zkGroup.register(to, this.nodes[to]!.info);
      await this.zkGroup.makeLowest(to, (i) => this.nodes[i]!.info);
    }
    if (o.gapMs && o.gapMs > 0) {
      await new Promise<void>((resolve) =>
        this.timers.after(o.gapMs!, () => {
          this.elect(to, o);
          resolve();
        }),
      );
    } else {
      this.elect(to, o);
    }
    // the old leader's process restarted as a standby with a new id: it joins the group again
    if (this.zkGroup && oldIndex !== undefined && oldIndex !== to) await this.zkGroup.register(oldIndex, this.nodes[oldIndex]!.info);
  }

  // ------------------------------------------------------------------------------------------
  // Agents

  private agentConnect(a: Agent): void {
    this.timers.cancel(a.regTimer);
    a.regTimer = undefined;
    if (!a.up || a.partitioned || this.closed) return;
    const m = this.master;
    if (!m || m.recovering) return;
    if (a.m) {
      if (!a.m.connected) m.reconnectAgent(a);
      m.resendKills(a);
      this.runtime.flush(a);
      return;
    }
    const err = m.registerAgent(a);
    if (err) {
      // ShutdownMessage: the agent process exits.
      this.emit({ kind: 'agent', at: this.clock.now(), agentId: a.id, hostname: a.hostname, what: 'refused', message: err });
      this.runtime.shutdownAgent(a, 'agent-refused');
      return;
    }
    m.resendKills(a);
    this.runtime.flush(a);
  }

  findAgent(ref: string | number): Agent {
    const a =
      typeof ref === 'number'
        ? this.agentList[ref]
        : this.agentList.find((x) => x.id === ref || x.hostname === ref || x.ip === ref);
    if (!a) throw new Error(`sim: no agent ${String(ref)}`);
    return a;
  }

  agentView(a: Agent): AgentView {
    return {
      index: a.index,
      id: a.id,
      hostname: a.hostname,
      ip: a.ip,
      port: a.port,
      rack: this.racks[a.index],
      up: a.up,
      partitioned: a.partitioned,
      registered: a.m !== undefined,
      active: a.m?.active ?? false,
      tasks: a.tasks.size,
    };
  }

  agents(): AgentView[] {
    return this.agentList.map((a) => this.agentView(a));
  }

  // ------------------------------------------------------------------------------------------
  // Ground truth

  /** Every task that exists on an agent right now and is not terminal. */
  groundTruth(): GroundTruthTask[] {
    const out: GroundTruthTask[] = [];
    for (const a of this.agentList) {
      for (const t of a.tasks.values()) {
        if (t.gone || isTerminalState(t.state)) continue;
        out.push({ taskId: t.id, frameworkId: t.fwId, agentId: a.id, hostname: a.hostname, state: t.state, since: t.since });
      }
    }
    return out;
  }

  /** Calls `cb` for every agent-side task state change; returns the unsubscribe function. */
  onTaskTransition(cb: (t: TaskTransition) => void): () => void {
    this.transitionListeners.add(cb);
    return () => this.transitionListeners.delete(cb);
  }

  get leader(): MasterNode | undefined {
    return this.leaderIndex === undefined ? undefined : this.nodes[this.leaderIndex];
  }

  /** Leader URL (the first master's URL while no leader is elected). */
  get url(): string {
    return (this.leader ?? this.nodes[0]!).url;
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  // ------------------------------------------------------------------------------------------
  // In-process API (benchmarks, population of big clusters)

  /**
   * Subscribes an in-process framework (no HTTP): events are handed to `onEvent` as objects.
   * Returns the framework id.
   */
  attachFramework(info: FrameworkInfo, onEvent: (ev: Event) => void = () => {}, o: { suppressedRoles?: string[] } = {}): string {
    const m = this.requireMaster();
    const conn = new Conn({ write: () => {}, end: () => {}, destroy: () => {} }, undefined, `internal-${this.internalFwSeq++}`, onEvent);
    m.subscribe(conn, { framework_info: info, suppressed_roles: o.suppressedRoles });
    if (!conn.fw) throw new Error('sim: framework subscription refused');
    return conn.fw.id;
  }

  /**
   * Places a running task directly on an agent (no offer, no status updates): for populating big
   * clusters. The agent must have the free resources.
   */
  placeTask(frameworkId: string, agent: string | number, t: { id: string; name?: string; cpus: number; mem: number; disk?: number; role?: string }): void {
    const m = this.requireMaster();
    const fw = m.frameworks.get(frameworkId);
    if (!fw) throw new Error(`sim: unknown framework ${frameworkId}`);
    const a = this.findAgent(agent);
    if (!a.m) throw new Error(`sim: agent ${a.hostname} is not registered`);
    const rkey = `${t.cpus}/${t.mem}/${t.disk ?? 0}`;
    let r = this.resCache.get(rkey);
    if (!r) this.resCache.set(rkey, (r = Object.freeze(res(t.cpus, t.mem, t.disk ?? 0)) as Res));
    if (!containsRes(a.m.free, r)) throw new Error(`sim: agent ${a.hostname} lacks free resources for ${t.id}`);
    const role = t.role ?? fw.roles[0] ?? '*';
    const task = new Task(fw.id, t.id, t.name ?? t.id, a, r, role, undefined, this.rng.int(2 ** 32), this.runtime.nextPid(), this.behaviourDefaults, this.clock.now());
    subInto(a.m.free, r);
    m.placeTask(fw, task);
    this.runtime.launch(a, task, fw.info, { immediateRunning: true });
  }

  private requireMaster(): Master {
    if (!this.master) throw new Error('sim: no leading master');
    return this.master;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.master?.close();
    this.master = undefined;
    this.timers.close();
    await this.zkGroup?.close();
    await Promise.all(this.nodes.map((n) => n.close()));
    this.subject.complete();
    this.transitionListeners.clear();
  }
}

export async function startSim(opts: SimOptions = {}): Promise<Sim> {
  const sim = new Sim(opts);
  try {
    await sim.start();
  } catch (e) {
    await sim.close();
    throw e;
  }
  return sim;
}
