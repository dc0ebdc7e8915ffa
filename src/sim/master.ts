/**
 * The leading master's state and behaviour: frameworks, offers, the hierarchical allocator,
 * inverse offers, task tracking, reconciliation and maintenance. One instance per leadership term;
 * a master failover builds a fresh one (from the Registry), exactly as a new Mesos leader starts
 * with an empty memory.
 *
 * Behaviour follows apache/mesos src/master/master.cpp, validation.cpp, http.cpp, maintenance.cpp
 * and allocator/mesos/hierarchical.cpp (snapshot c1b42f7, as the contract), with the contract's
 * section numbers noted where relevant.
 */
import type {
  Event,
  FrameworkInfo,
  MachineID,
  MasterInfo,
  Offer as MesosOffer,
  Operation,
  Schedule,
  TaskInfo,
  TaskState,
  TaskStatus,
  TimeInfo,
  Unavailability,
  Filters,
  ClusterStatus,
} from '../mesos/types.js';
import { encodeJsonText } from '../mesos/codec.js';
import type { Logger } from '../util/logger.js';
import type { Clock } from '../util/clock.js';
import { AgentRuntime, type MasterLink, type TaskTransition } from './agent.js';
import {
  Agent,
  AgentM,
  Conn,
  Framework,
  InverseOffer,
  type Machine,
  type MachineInfoRec,
  Offer,
  type StatusLite,
  Task,
  type TaskBehaviour,
  capsOf,
  isTerminalState,
  machineKey,
  rolesOf,
} from './model.js';
import type { Registry } from './registry.js';
import {
  type Res,
  addInto,
  addRes,
  allocatable,
  cloneRes,
  containsRes,
  emptyRes,
  fromMesos,
  isEmptyRes,
  subInto,
  subRes,
  toMesos,
  resourcesText,
} from './resources.js';
import type { SimTimer, TimerQueue } from './timers.js';
import { type Rng, bytesEqual, cppDouble, isIPv4, nanos, newUuid, secs } from './util.js';

export const HEARTBEAT_INTERVAL_SECONDS = 15;
export const MAX_COMPLETED_FRAMEWORKS = 50;
export const MAX_COMPLETED_TASKS_PER_FRAMEWORK = 1000;
export const AGENT_PING_TIMEOUT_MS = 15_000;
export const MAX_AGENT_PING_TIMEOUTS = 5;
export const AGENT_REREGISTER_TIMEOUT_MS = 600_000;
const DAYS_365_S = 365 * 86400;

export type SimEvent =
  | ({ kind: 'task' } & TaskTransition)
  | { kind: 'event'; at: number; frameworkId: string; type: string; event: Event }
  | { kind: 'call'; at: number; frameworkId?: string; type: string; status: number; /** Mesos-Stream-Id the call carried (SUBSCRIBE: the stream it opened). */ streamId?: string }
  | { kind: 'agent'; at: number; agentId: string; hostname: string; what: string; message?: string }
  | { kind: 'framework'; at: number; frameworkId: string; what: string; message?: string }
  | { kind: 'maintenance'; at: number; what: string; machines?: MachineID[] }
  | { kind: 'leader'; at: number; masterId: string | undefined; url: string | undefined };

export interface MasterContext {
  clock: Clock;
  timers: TimerQueue;
  rng: Rng;
  log: Logger;
  runtime: AgentRuntime;
  registry: Registry;
  agents: readonly Agent[];
  allocationIntervalMs: number;
  emit(e: SimEvent): void;
  behaviour(info: TaskInfo, fwId: string, agent: Agent): TaskBehaviour;
}

interface CallResult {
  status: number;
  body?: string;
}

function id(value: string): { value: string } {
  return { value };
}

/** common::validation::validateID */
export function validateId(s: string): string | undefined {
  if (s.length === 0) return 'ID must not be empty';
  if (s.length > 255) return 'ID must not be greater than 255 characters';
  if (s === '.' || s === '..') return `'${s}' is disallowed`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f/\\]/.test(s)) return `'${s}' contains invalid characters`;
  return undefined;
}

/** src/common/roles.cpp validate */
export function validateRole(role: string): string | undefined {
  if (role === '*') return undefined;
  if (role.startsWith('/')) return `Role '${role}' cannot start with a slash`;
  if (role.endsWith('/')) return `Role '${role}' cannot end with a slash`;
  if (role.includes('//')) return `Role '${role}' cannot contain two adjacent slashes`;
  const comps = role.split('/').filter((c) => c.length > 0);
  if (comps.length === 0) return 'Role names cannot be the empty string';
  for (const c of comps) {
    if (c === '.') return `Role '${role}' cannot include '.' as a component`;
    if (c === '..') return `Role '${role}' cannot include '..' as a component`;
    if (c === '*') return `Role '${role}' cannot include '*' as a component`;
    if (c.startsWith('-')) return `Role component '${c}' is invalid because it starts with a dash`;
    if (/[\t\n\u000b\f\r \u007f]/.test(c)) return `Role component '${c}' is invalid because it contains backspace or whitespace`;
  }
  return undefined;
}

function stringifySet(items: Iterable<string>): string {
  const arr = [...new Set(items)].sort();
  return '{ ' + arr.join(', ') + ' }';
}

/** Filters.refuse_seconds -> effective seconds (hierarchical.cpp recoverResources / updateInverseOffer). */
export function refuseSeconds(f: Filters | undefined): number {
  const r = f?.refuse_seconds ?? 5;
  if (Number.isNaN(r)) return 5;
  if (r > DAYS_365_S) return DAYS_365_S;
  if (r < 0) return 5;
  return r;
}

export function machineJson(m: MachineID): string {
  return encodeJsonText('mesos.v1.MachineID', m);
}

/** maintenance::validation::machine */
export function validateMachine(m: MachineID): string | undefined {
  if (!m.hostname && !m.ip) return "Both 'hostname' and 'ip' for a machine are empty";
  if (m.ip && !isIPv4(m.ip)) return `Failed to parse IPv4: ${m.ip}`;
  return undefined;
}

/** maintenance::validation::machines (for /machine/down and /machine/up) */
export function validateMachines(ids: MachineID[]): string | undefined {
  if (ids.length === 0) return 'List of machines is empty';
  const seen = new Set<string>();
  for (const m of ids) {
    const e = validateMachine(m);
    if (e) return e;
    const k = machineKey(m);
    if (seen.has(k)) return `Machine '${machineJson(m)}' appears more than once in the schedule`;
    seen.add(k);
  }
  return undefined;
}

export class Master implements MasterLink {
  readonly frameworks = new Map<string, Framework>();
  /** Completed (removed) frameworks, oldest first, bounded. */
  readonly completed: Framework[] = [];
  readonly completedIds = new Set<string>();
  /** Registered agents by agent id. */
  readonly agentsById = new Map<string, Agent>();
  /** Agents admitted in the registry that have not re-registered since this master was elected. */
  readonly recovered = new Map<string, Agent>();
  readonly unreachable = new Map<string, TimeInfo>();
  readonly machines = new Map<string, Machine>();
  readonly offers = new Map<string, Offer>();
  readonly inverseOffers = new Map<string, InverseOffer>();
  readonly total: Res = emptyRes();
  private readonly roleAlloc = new Map<string, { cpus: number; mem: number; disk: number }>();
  private nextOffer = 0;
  private nextFramework = 0;
  private nextAgent = 0;
  private dirty = new Set<Agent>();
  /** Registered agents with allocatable free resources. */
  private readonly freeAgents = new Set<Agent>();
  /** Registered agents whose machine has an unavailability. */
  readonly maintAgents = new Set<Agent>();
  private allocTimer: SimTimer | undefined;
  private allocSoon = false;
  private timers = new Set<SimTimer>();
  recovering = false;
  closed = false;
  readonly startTime: number;
  electedTime: number;
  /** Statistics of the last allocation runs (for the benchmark). */
  readonly allocStats = { runs: 0, lastMs: 0, lastAgents: 0 };

  constructor(
    readonly ctx: MasterContext,
    readonly masterId: string,
    readonly epoch: number,
    readonly info: MasterInfo,
  ) {
    this.startTime = ctx.clock.now();
    this.electedTime = this.startTime;
    // Machines known from the registry (scheduled / down), keyed as persisted.
    for (const [key, rec] of ctx.registry.machines) {
      this.machines.set(key, { key, id: rec.id, info: { ...rec }, agents: new Set() });
    }
    for (const [aid, time] of ctx.registry.unreachable) this.unreachable.set(aid, time);
    this.allocTimer = ctx.timers.every(ctx.allocationIntervalMs, () => this.allocate());
  }

  private get now(): number {
    return this.ctx.clock.now();
  }

  /** Stops every timer of this master (failover / shutdown). Streams are closed by the caller. */
  close(): void {
    this.closed = true;
    this.ctx.timers.cancel(this.allocTimer);
    for (const t of this.timers) this.ctx.timers.cancel(t);
    this.timers.clear();
    for (const fw of this.frameworks.values()) {
      this.ctx.timers.cancel(fw.heartbeat);
      this.ctx.timers.cancel(fw.failoverTimer);
    }
    for (const a of this.agentsById.values()) this.dropAgentM(a);
    for (const a of this.ctx.agents) if (a.m) this.dropAgentM(a);
  }

  private dropAgentM(a: Agent): void {
    const m = a.m;
    if (!m) return;
    this.ctx.timers.cancel(m.pingTimer);
    for (const f of m.filters ?? []) this.ctx.timers.cancel(f.timer);
    for (const t of m.invFilters?.values() ?? []) this.ctx.timers.cancel(t);
    a.m = undefined;
  }

  private after(ms: number, fn: () => void): SimTimer {
    const t = this.ctx.timers.after(ms, () => {
      this.timers.delete(t);
      if (!this.closed) fn();
    });
    this.timers.add(t);
    return t;
  }

  private cancel(t: SimTimer | undefined): void {
    if (!t) return;
    this.timers.delete(t);
    this.ctx.timers.cancel(t);
  }

  private emit(e: SimEvent): void {
    this.ctx.emit(e);
  }

  // ============================================================================================
  // Frameworks

  getFramework(fid: string | undefined): Framework | undefined {
    return fid === undefined ? undefined : this.frameworks.get(fid);
  }

  /** Master::validateFramework + validation::framework::validate */
  validateFrameworkInfo(info: FrameworkInfo): string | undefined {
    const multiRole = capsOf(info).multiRole;
    if (multiRole) {
      if (info.role !== undefined) return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable";
    } else if ((info.roles ?? []).length > 0) {
      return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable";
    }
    if (multiRole) {
      const seen = new Set<string>();
      const dups = new Set<string>();
      for (const r of info.roles ?? []) (seen.has(r) ? dups : seen).add(r);
      if (dups.size) return "'FrameworkInfo.roles' contains duplicate items: " + stringifySet(dups);
      for (const r of info.roles ?? []) {
        const e = validateRole(r);
        if (e) return "'FrameworkInfo.roles' contains invalid role: " + e;
      }
    } else {
      const e = validateRole(info.role ?? '*');
      if (e) return "'FrameworkInfo.role' is not a valid role: " + e;
    }
    if (info.id && info.id.value !== '') {
      const e = validateId(info.id.value);
      if (e) return e;
    }
    const ft = info.failover_timeout ?? 0;
    if (Number.isNaN(ft) || ft * 1e9 > 9223372036854775807 || ft * 1e9 < -9223372036854775808) {
      return `The framework failover_timeout (${cppDouble(ft)}) is invalid`;
    }
    // No --roles whitelist and --root_submissions=true (as the recorded master's flags).
    if (info.id && info.id.value !== '' && this.completedIds.has(info.id.value)) return 'Framework has been removed';
    return undefined;
  }

  private allocatorOptionsError(info: FrameworkInfo, suppressed: string[] | undefined, constraints: unknown): string | undefined {
    const roles = new Set(rolesOf(info));
    const bad = (suppressed ?? []).filter((r) => !roles.has(r));
    if (bad.length) return 'Suppressed roles ' + stringifySet(bad) + ' are not contained in the set of roles';
    const rc = (constraints as { role_constraints?: Record<string, unknown> } | undefined)?.role_constraints;
    for (const role of Object.keys(rc ?? {})) {
      if (!roles.has(role)) return "Offer constraints specify `role_constraints` for a role '" + role + "'not contained in the set of roles";
    }
    return undefined;
  }

  /** SUBSCRIBE on an HTTP stream (Master::subscribe / _subscribe). The 200 headers are already out. */
  subscribe(conn: Conn, sub: { framework_info: FrameworkInfo; suppressed_roles?: string[]; offer_constraints?: unknown }): void {
    const info = sub.framework_info;
    const refuse = (message: string): void => {
      this.emit({ kind: 'framework', at: this.now, frameworkId: info.id?.value ?? '', what: 'refused', message });
      conn.write({ type: 'ERROR', error: { message } });
      conn.close();
    };
    const err = this.validateFrameworkInfo(info);
    if (err) return refuse(err);
    const optErr = this.allocatorOptionsError(info, sub.suppressed_roles, sub.offer_constraints);
    if (optErr) return refuse(optErr);

    if (!info.id || info.id.value === '') {
      const fid = `${this.masterId}-${String(this.nextFramework++).padStart(4, '0')}`;
      const fw = new Framework(fid, { ...info, id: id(fid) }, this.now);
      fw.offerConstraints = sub.offer_constraints;
      this.frameworks.set(fid, fw);
      this.setSuppressed(fw, sub.suppressed_roles);
      this.connect(fw, conn);
      fw.active = true;
      this.emit({ kind: 'framework', at: this.now, frameworkId: fid, what: 'subscribed' });
      this.sendSubscribed(fw);
      this.markAllFreeDirty();
      this.allocateSoon();
      return;
    }

    const fid = info.id.value;
    let fw = this.frameworks.get(fid);
    if (!fw) {
      // Not yet re-registered after master failover, no agent reported its tasks: recover it.
      fw = new Framework(fid, info, this.now);
      fw.recovered = true;
      this.frameworks.set(fid, fw);
    }
    // preserveImmutableFields, then validateUpdate (principal).
    const newInfo: FrameworkInfo = { ...info, user: fw.info.user, checkpoint: fw.info.checkpoint ?? false };
    if ((fw.info.principal ?? undefined) !== (newInfo.principal ?? undefined)) {
      conn.write({ type: 'ERROR', error: { message: "Changing framework's principal is not allowed." } });
      conn.close();
      this.emit({ kind: 'framework', at: this.now, frameworkId: fid, what: 'refused', message: 'principal change' });
      return;
    }
    this.applyFrameworkUpdate(fw, newInfo, sub.suppressed_roles, sub.offer_constraints);
    if (!fw.recovered) {
      fw.reregisteredTime = this.now;
      this.failoverFramework(fw, conn);
    } else {
      fw.recovered = false;
      fw.reregisteredTime = this.now;
      this.connect(fw, conn);
      fw.active = true;
      this.emit({ kind: 'framework', at: this.now, frameworkId: fid, what: 'subscribed' });
      this.sendSubscribed(fw);
    }
    this.markAllFreeDirty();
    this.allocateSoon();
  }

  private setSuppressed(fw: Framework, suppressed: string[] | undefined): void {
    fw.suppressed = new Set(suppressed ?? []);
  }

  /** Master::updateFramework(framework, info, constraints, options) */
  private applyFrameworkUpdate(fw: Framework, info: FrameworkInfo, suppressed: string[] | undefined, constraints: unknown): void {
    const wasSuppressed = fw.suppressed;
    fw.update(info);
    fw.offerConstraints = constraints;
    this.setSuppressed(fw, suppressed);
    const roles = new Set(fw.roles);
    for (const o of [...fw.offers]) if (!roles.has(o.role)) this.rescindOffer(o);
    void wasSuppressed;
    this.markAllFreeDirty();
  }

  private connect(fw: Framework, conn: Conn): void {
    fw.conn = conn;
    conn.fw = fw;
    this.cancel(fw.failoverTimer);
    fw.failoverTimer = undefined;
  }

  private failoverFramework(fw: Framework, conn: Conn): void {
    const old = fw.conn;
    if (old && !old.closed) {
      old.write({ type: 'ERROR', error: { message: 'Framework failed over' } });
    }
    if (old) {
      old.fw = undefined;
      old.close();
    }
    this.cancel(fw.heartbeat);
    fw.heartbeat = undefined;
    this.connect(fw, conn);
    // _failoverFramework: discard offers and inverse offers without RESCIND.
    for (const o of [...fw.offers]) this.discardOffer(o);
    for (const io of [...fw.inverseOffers]) {
      this.updateInverseOffer(io.agent, fw, undefined, undefined);
      this.removeInverseOffer(io, false);
    }
    fw.active = true;
    this.emit({ kind: 'framework', at: this.now, frameworkId: fw.id, what: 'failed-over' });
    this.sendSubscribed(fw);
  }

  private sendSubscribed(fw: Framework): void {
    fw.send({
      type: 'SUBSCRIBED',
      subscribed: { framework_id: id(fw.id), heartbeat_interval_seconds: HEARTBEAT_INTERVAL_SECONDS, master_info: this.info },
    });
    // Framework::heartbeat(): first HEARTBEAT immediately, then every 15 s.
    this.cancel(fw.heartbeat);
    const beat = (): void => {
      if (!fw.heartbeatsStopped) fw.send({ type: 'HEARTBEAT' });
    };
    beat();
    const t = this.ctx.timers.every(HEARTBEAT_INTERVAL_SECONDS * 1000, () => {
      if (this.closed || fw.conn === undefined || fw.conn.closed) {
        this.cancel(t);
        return;
      }
      beat();
    });
    this.timers.add(t);
    fw.heartbeat = t;
  }

  /** The subscription connection closed (client went away or the socket broke). */
  exited(conn: Conn): void {
    const fw = conn.fw;
    conn.closed = true;
    if (!fw || fw.conn !== conn || this.closed) return;
    this.emit({ kind: 'framework', at: this.now, frameworkId: fw.id, what: 'disconnected' });
    this.disconnect(fw);
    const ms = Math.max(0, (fw.info.failover_timeout ?? 0) * 1000);
    const reregisteredTime = fw.reregisteredTime;
    fw.failoverTimer = this.after(ms, () => {
      fw.failoverTimer = undefined;
      if (this.frameworks.get(fw.id) === fw && !fw.connected && fw.reregisteredTime === reregisteredTime) {
        this.removeFramework(fw);
      }
    });
  }

  private disconnect(fw: Framework): void {
    if (fw.active) this.deactivateFramework(fw, true);
    this.cancel(fw.heartbeat);
    fw.heartbeat = undefined;
    if (fw.conn) {
      fw.conn.fw = undefined;
      fw.conn.close();
    }
    fw.conn = undefined;
  }

  /** Master::deactivate(Framework*, rescind) + allocator deactivateFramework (filters cleared). */
  private deactivateFramework(fw: Framework, rescind: boolean): void {
    fw.active = false;
    this.clearFilters(fw, undefined);
    this.clearInverseFilters(fw);
    for (const o of [...fw.offers]) (rescind ? this.rescindOffer(o) : this.discardOffer(o));
    for (const io of [...fw.inverseOffers]) {
      this.updateInverseOffer(io.agent, fw, undefined, undefined);
      this.removeInverseOffer(io, rescind);
    }
  }

  /** Master::removeFramework: TEARDOWN, failover timeout, operator teardown. */
  removeFramework(fw: Framework): void {
    if (this.frameworks.get(fw.id) !== fw) return;
    if (fw.active) this.deactivateFramework(fw, false);
    this.ctx.runtime.shutdownFramework(fw.id);
    for (const task of [...fw.tasks.values()]) {
      this.updateTaskMaster(task, 'TASK_KILLED', this.now);
      this.removeTask(task);
    }
    for (const [tid, u] of fw.unreachable) {
      fw.completed.push({ task: u.task, state: 'TASK_KILLED', statuses: u.statuses });
      fw.unreachable.delete(tid);
    }
    for (const a of this.agentsById.values()) a.m?.executors.delete(fw.id);
    this.cancel(fw.heartbeat);
    this.cancel(fw.failoverTimer);
    fw.heartbeat = undefined;
    fw.failoverTimer = undefined;
    if (fw.conn) {
      fw.conn.fw = undefined;
      fw.conn.close();
    }
    fw.conn = undefined;
    fw.unregisteredTime = this.now;
    this.clearFilters(fw, undefined);
    this.clearInverseFilters(fw);
    for (const a of this.maintAgents) {
      a.m?.maint?.outstanding.delete(fw);
    }
    this.frameworks.delete(fw.id);
    this.completed.push(fw);
    this.completedIds.add(fw.id);
    while (this.completed.length > MAX_COMPLETED_FRAMEWORKS) {
      const old = this.completed.shift()!;
      this.completedIds.delete(old.id);
    }
    this.emit({ kind: 'framework', at: this.now, frameworkId: fw.id, what: 'removed' });
  }

  teardown(fw: Framework): void {
    this.removeFramework(fw);
  }

  /** UPDATE_FRAMEWORK (Master::updateFramework(call)). */
  updateFrameworkCall(fw: Framework, uf: { framework_info: FrameworkInfo; suppressed_roles?: string[]; offer_constraints?: unknown }): CallResult {
    const info = uf.framework_info;
    const err = this.validateFrameworkInfo(info);
    if (err) return { status: 400, body: 'Supplied FrameworkInfo is not valid: ' + err };
    if ((fw.info.principal ?? undefined) !== (info.principal ?? undefined)) {
      return { status: 400, body: "FrameworkInfo update is not valid: Changing framework's principal is not allowed." };
    }
    if (info.user !== fw.info.user) {
      return {
        status: 400,
        body: `FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; attempted to update from '${fw.info.user}' to '${info.user}'`,
      };
    }
    const oc = fw.info.checkpoint ?? false;
    const nc = info.checkpoint ?? false;
    if (oc !== nc) {
      return {
        status: 400,
        body: `FrameworkInfo update is not valid: Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '${oc}' to '${nc}'`,
      };
    }
    const optErr = this.allocatorOptionsError(info, uf.suppressed_roles, uf.offer_constraints);
    if (optErr) return { status: 400, body: "'UpdateFramework' call is not valid: " + optErr };
    this.applyFrameworkUpdate(fw, info, uf.suppressed_roles, uf.offer_constraints);
    this.allocateSoon();
    return { status: 200 };
  }

  // ============================================================================================
  // Offers and the allocator

  private roleShare(role: string): number {
    const a = this.roleAlloc.get(role);
    return a ? this.share(a) : 0;
  }

  private share(a: { cpus: number; mem: number; disk: number }): number {
    const t = this.total;
    return Math.max(t.cpus ? a.cpus / t.cpus : 0, t.mem ? a.mem / t.mem : 0, t.disk ? a.disk / t.disk : 0);
  }

  private account(fw: Framework, role: string, r: Res, sign: 1 | -1): void {
    fw.alloc.cpus += sign * r.cpus;
    fw.alloc.mem += sign * r.mem;
    fw.alloc.disk += sign * r.disk;
    let ra = this.roleAlloc.get(role);
    if (!ra) this.roleAlloc.set(role, (ra = { cpus: 0, mem: 0, disk: 0 }));
    ra.cpus += sign * r.cpus;
    ra.mem += sign * r.mem;
    ra.disk += sign * r.disk;
  }

  private use(m: AgentM, fw: Framework, delta: number): void {
    const n = (m.fwUse.get(fw) ?? 0) + delta;
    if (n <= 0) m.fwUse.delete(fw);
    else m.fwUse.set(fw, n);
  }

  private touchFree(a: Agent): void {
    const m = a.m;
    if (!m) return;
    if (m.active && allocatable(m.free)) {
      this.freeAgents.add(a);
      this.dirty.add(a);
    } else {
      this.freeAgents.delete(a);
    }
  }

  markAllFreeDirty(): void {
    for (const a of this.freeAgents) this.dirty.add(a);
  }

  /** An allocation run as soon as possible (event-triggered, like allocator->allocate()). */
  allocateSoon(): void {
    if (this.allocSoon || this.closed) return;
    this.allocSoon = true;
    this.ctx.timers.soon(() => {
      this.allocSoon = false;
      if (!this.closed) this.allocate();
    });
  }

  private isFiltered(fw: Framework, role: string, a: Agent, r: Res): boolean {
    const fs = a.m!.filters;
    if (!fs) return false;
    for (const f of fs) if (f.fw === fw && f.role === role && containsRes(f.res, r)) return true;
    return false;
  }

  /**
   * One allocation run over the agents whose free resources or filters changed since the last run
   * (the incremental equivalent of the hierarchical allocator's full pass), then inverse offers.
   */
  allocate(): void {
    if (this.closed || this.recovering) return;
    const t0 = performance.now();
    const cands: Array<{ fw: Framework; role: string }> = [];
    for (const fw of this.frameworks.values()) {
      if (!fw.active || !fw.connected) continue;
      for (const role of fw.roles) if (!fw.suppressed.has(role)) cands.push({ fw, role });
    }
    const dirty = this.dirty;
    this.dirty = new Set();
    const out = new Map<Framework, Offer[]>();
    let visited = 0;
    if (cands.length > 0) {
      for (const a of dirty) {
        const m = a.m;
        if (!m || !m.active || !allocatable(m.free)) continue;
        visited++;
        // DRF: the (role, framework) with the lowest shares that does not filter these resources.
        let best: { fw: Framework; role: string } | undefined;
        let bestRole = Infinity;
        let bestFw = Infinity;
        for (const c of cands) {
          const rs = this.roleShare(c.role);
          if (rs > bestRole) continue;
          const fs = this.share(c.fw.alloc);
          if (rs === bestRole && fs >= bestFw) continue;
          if (this.isFiltered(c.fw, c.role, a, m.free)) continue;
          best = c;
          bestRole = rs;
          bestFw = fs;
        }
        if (!best) continue;
        const offer = this.createOffer(best.fw, a, best.role);
        let list = out.get(best.fw);
        if (!list) out.set(best.fw, (list = []));
        list.push(offer);
      }
    }
    for (const [fw, list] of out) {
      fw.send({ type: 'OFFERS', offers: { offers: list.map((o) => this.offerJson(o)) } });
    }
    this.generateInverseOffers();
    this.allocStats.runs++;
    this.allocStats.lastMs = performance.now() - t0;
    this.allocStats.lastAgents = visited;
  }

  private createOffer(fw: Framework, a: Agent, role: string): Offer {
    const m = a.m!;
    const r = m.free;
    m.free = emptyRes();
    const offer = new Offer(`${this.masterId}-O${this.nextOffer++}`, fw, a, r, role);
    this.offers.set(offer.id, offer);
    fw.offers.add(offer);
    m.offers.add(offer);
    this.account(fw, role, r, 1);
    this.use(m, fw, 1);
    this.freeAgents.delete(a);
    return offer;
  }

  offerJson(o: Offer): MesosOffer {
    const a = o.agent;
    const fw = o.fw;
    const out: MesosOffer = {
      id: id(o.id),
      framework_id: id(fw.id),
      agent_id: id(a.id),
      hostname: a.hostname,
      url: agentUrl(a),
      resources: toMesos(o.res, {
        allocationRole: fw.caps.multiRole ? o.role : undefined,
        legacyRole: !fw.caps.reservationRefinement,
      }),
    };
    if (a.attributes.length) out.attributes = a.attributes;
    const ex = a.m?.executors.get(fw.id);
    if (ex && ex.size) out.executor_ids = [...ex].map(id);
    const un = a.m?.machine.info.unavailability;
    if (un) out.unavailability = un;
    if (fw.caps.multiRole) out.allocation_info = { role: o.role };
    return out;
  }

  /** Removes an offer from the books without returning its resources. */
  private dropOffer(o: Offer): void {
    this.offers.delete(o.id);
    o.fw.offers.delete(o);
    const m = o.agent.m;
    if (m) {
      m.offers.delete(o);
      this.use(m, o.fw, -1);
    }
  }

  /** allocator->recoverResources */
  private recover(fw: Framework, a: Agent, r: Res, role: string, filters: Filters | undefined | null): void {
    const m = a.m;
    this.account(fw, role, r, -1);
    if (!m) return;
    addInto(m.free, r);
    this.touchFree(a);
    if (filters === undefined || filters === null || !this.frameworks.has(fw.id)) return;
    const seconds = refuseSeconds(filters);
    if (seconds === 0) return;
    const ms = Math.max(this.ctx.allocationIntervalMs, seconds * 1000);
    const filter = { fw, role, res: cloneRes(r), timer: undefined as unknown as SimTimer };
    filter.timer = this.after(ms, () => {
      const fs = a.m?.filters;
      if (!fs) return;
      const i = fs.indexOf(filter);
      if (i >= 0) fs.splice(i, 1);
      if (!fs.some((f) => f.fw === fw)) fw.filteredAgents.delete(a);
      if (fs.length === 0 && a.m) a.m.filters = undefined;
      this.dirty.add(a);
    });
    (m.filters ??= []).push(filter);
    fw.filteredAgents.add(a);
  }

  /** Master::rescindOffer */
  rescindOffer(o: Offer, filters?: Filters): void {
    o.fw.send({ type: 'RESCIND', rescind: { offer_id: id(o.id) } });
    this.dropOffer(o);
    this.recover(o.fw, o.agent, o.res, o.role, filters ?? null);
  }

  /** Master::discardOffer */
  discardOffer(o: Offer, filters?: Filters | null): void {
    this.dropOffer(o);
    this.recover(o.fw, o.agent, o.res, o.role, filters ?? null);
  }

  private clearFilters(fw: Framework, roles: Set<string> | undefined): void {
    for (const a of [...fw.filteredAgents]) {
      const fs = a.m?.filters;
      if (!fs) {
        fw.filteredAgents.delete(a);
        continue;
      }
      const keep = [];
      for (const f of fs) {
        if (f.fw === fw && (roles === undefined || roles.has(f.role))) this.cancel(f.timer);
        else keep.push(f);
      }
      a.m!.filters = keep.length ? keep : undefined;
      if (!keep.some((f) => f.fw === fw)) fw.filteredAgents.delete(a);
      this.dirty.add(a);
    }
  }

  private clearInverseFilters(fw: Framework): void {
    for (const a of fw.invFilteredAgents) {
      const t = a.m?.invFilters?.get(fw);
      if (t) this.cancel(t);
      a.m?.invFilters?.delete(fw);
    }
    fw.invFilteredAgents.clear();
  }

  private isInverseFiltered(fw: Framework, a: Agent): boolean {
    return a.m?.invFilters?.has(fw) ?? false;
  }

  private generateInverseOffers(): void {
    const out = new Map<Framework, InverseOffer[]>();
    for (const a of this.maintAgents) {
      const m = a.m;
      if (!m || !m.maint || !m.active) continue;
      for (const fw of m.fwUse.keys()) {
        if (!fw.active || !fw.connected) continue;
        if (m.maint.outstanding.has(fw)) continue;
        if (this.isInverseFiltered(fw, a)) continue;
        m.maint.outstanding.add(fw);
        const io = new InverseOffer(`${this.masterId}-O${this.nextOffer++}`, fw, a, m.maint.unavailability);
        this.inverseOffers.set(io.id, io);
        fw.inverseOffers.add(io);
        m.inverseOffers.add(io);
        let list = out.get(fw);
        if (!list) out.set(fw, (list = []));
        list.push(io);
      }
    }
    for (const [fw, list] of out) {
      fw.send({
        type: 'INVERSE_OFFERS',
        inverse_offers: {
          inverse_offers: list.map((io) => ({
            id: id(io.id),
            url: agentUrl(io.agent),
            framework_id: id(fw.id),
            agent_id: id(io.agent.id),
            unavailability: io.unavailability,
          })),
        },
      });
    }
  }

  /** allocator->updateInverseOffer */
  private updateInverseOffer(
    a: Agent,
    fw: Framework,
    status: 'ACCEPT' | 'DECLINE' | undefined,
    filters: Filters | undefined,
  ): void {
    const maint = a.m?.maint;
    if (!maint) return;
    if (maint.outstanding.has(fw)) {
      maint.outstanding.delete(fw);
      if (status) {
        maint.statuses.set(fw.id, { status, framework_id: id(fw.id), timestamp: { nanoseconds: nanos(this.now) } });
      }
    }
    if (filters === undefined) return;
    const seconds = refuseSeconds(filters);
    if (seconds === 0) return;
    const m = a.m!;
    const prev = m.invFilters?.get(fw);
    if (prev) this.cancel(prev);
    const t = this.after(seconds * 1000, () => {
      if (a.m?.invFilters?.get(fw) === t) {
        a.m.invFilters.delete(fw);
        fw.invFilteredAgents.delete(a);
      }
    });
    (m.invFilters ??= new Map()).set(fw, t);
    fw.invFilteredAgents.add(a);
  }

  private removeInverseOffer(io: InverseOffer, rescind: boolean): void {
    this.inverseOffers.delete(io.id);
    io.fw.inverseOffers.delete(io);
    io.agent.m?.inverseOffers.delete(io);
    if (rescind) io.fw.send({ type: 'RESCIND_INVERSE_OFFER', rescind_inverse_offer: { inverse_offer_id: id(io.id) } });
  }

  // ============================================================================================
  // Scheduler calls

  decline(fw: Framework, d: { offer_ids?: Array<{ value: string }>; filters?: Filters }): void {
    for (const oid of d.offer_ids ?? []) {
      const o = this.offers.get(oid.value);
      // Master::decline looks the offer up without checking its framework (as the source does).
      if (o) this.discardOffer(o, d.filters ?? {});
    }
  }

  revive(fw: Framework, r: { roles?: string[] }): void {
    const roles = r.roles ?? [];
    for (const role of roles) {
      if (validateRole(role) || !fw.roles.includes(role)) return; // whole call dropped
    }
    const set = new Set(roles.length ? roles : fw.roles);
    this.clearInverseFilters(fw);
    this.clearFilters(fw, set);
    for (const role of set) fw.suppressed.delete(role);
    this.markAllFreeDirty();
    this.allocateSoon();
  }

  suppress(fw: Framework, s: { roles?: string[] }): void {
    const roles = s.roles ?? [];
    for (const role of roles) {
      if (validateRole(role) || !fw.roles.includes(role)) return;
    }
    for (const role of roles.length ? roles : fw.roles) fw.suppressed.add(role);
  }

  acceptInverseOffers(fw: Framework, a: { inverse_offer_ids?: Array<{ value: string }>; filters?: Filters }, decline: boolean): void {
    const ids = a.inverse_offer_ids ?? [];
    if (ids.length === 0) {
      this.ctx.log.warn('sim: ACCEPT_INVERSE_OFFERS/DECLINE_INVERSE_OFFERS without ids', { framework_id: fw.id });
      return;
    }
    for (const oid of ids) {
      const io = this.inverseOffers.get(oid.value);
      if (!io) continue; // "no longer valid": logged only
      this.updateInverseOffer(io.agent, io.fw, decline ? 'DECLINE' : 'ACCEPT', a.filters ?? {});
      this.removeInverseOffer(io, false);
    }
  }

  /** ACCEPT (Master::accept / _accept), contract §2.5. */
  accept(fw: Framework, acc: { offer_ids?: Array<{ value: string }>; operations?: Operation[]; filters?: Filters }): void {
    const offerIds = (acc.offer_ids ?? []).map((o) => o.value);
    const operations = acc.operations ?? [];
    let error: string | undefined;
    if (offerIds.length === 0) error = 'No offers specified';
    else error = this.validateOffers(offerIds, fw);

    if (error !== undefined) {
      for (const oid of offerIds) {
        const o = this.offers.get(oid);
        if (o) this.discardOffer(o);
      }
      const state: TaskState = fw.caps.partitionAware ? 'TASK_DROPPED' : 'TASK_LOST';
      for (const op of operations) {
        for (const t of launchTasks(op)) {
          this.sendMasterUpdate(fw, {
            task_id: t.task_id,
            state,
            message: 'Task launched with invalid offers: ' + error,
            source: 'SOURCE_MASTER',
            reason: 'REASON_INVALID_OFFERS',
            agent_id: t.agent_id,
            timestamp: secs(this.now),
          });
        }
      }
      return;
    }

    const first = this.offers.get(offerIds[0]!)!;
    const agent = first.agent;
    const role = first.role;
    const m = agent.m!;
    let offered = emptyRes();
    for (const oid of offerIds) {
      const o = this.offers.get(oid)!;
      offered = addRes(offered, o.res);
      this.dropOffer(o);
    }
    // From here on the offered resources are "allocated to fw" until recovered below.
    let remaining = offered;
    for (const op of operations) {
      if (op.type === 'LAUNCH') {
        for (const t of op.launch?.task_infos ?? []) {
          if (op['id'] !== undefined) {
            this.taskError(fw, t, 'REASON_TASK_INVALID', 'The `id` field cannot be set on LAUNCH operations');
            continue;
          }
          injectAllocation(t, role);
          const err = this.validateTask(t, fw, agent, remaining, role);
          if (err) {
            this.taskError(fw, t, 'REASON_TASK_INVALID', err.message);
            continue;
          }
          const held = this.taskTotal(t, fw, agent);
          remaining = subRes(remaining, held);
          this.launch(fw, agent, t, role, t.executor as ExecutorInfoLike | undefined, held);
        }
      } else if (op.type === 'LAUNCH_GROUP') {
        const lg = op.launch_group as { executor?: ExecutorInfoLike; task_group?: { tasks?: TaskInfo[] } } | undefined;
        const tasks = lg?.task_group?.tasks ?? [];
        if (op['id'] !== undefined) {
          for (const t of tasks) this.taskError(fw, t, 'REASON_TASK_GROUP_INVALID', 'The `id` field cannot be set on LAUNCH_GROUP operations');
          continue;
        }
        const ex = lg?.executor;
        for (const t of tasks) {
          injectAllocation(t, role);
          if (t.executor === undefined && ex) t.executor = ex;
        }
        if (ex) for (const r of ex.resources ?? []) r.allocation_info ??= { role };
        const err = this.validateGroup(tasks, ex, fw, agent, remaining, role);
        if (err) {
          for (const t of tasks) this.taskError(fw, t, 'REASON_TASK_GROUP_INVALID', err);
          continue;
        }
        const exId = ex!.executor_id.value;
        const known = m.executors.get(fw.id)?.has(exId) ?? false;
        // The executor's resources are held by the group's first task (released with it).
        let exRes = known ? emptyRes() : fromMesos(ex!.resources).res;
        if (!known) {
          let set = m.executors.get(fw.id);
          if (!set) m.executors.set(fw.id, (set = new Set()));
          set.add(exId);
        }
        for (const t of tasks) {
          const held = addRes(fromMesos(t.resources).res, exRes);
          exRes = emptyRes();
          remaining = subRes(remaining, held);
          this.launch(fw, agent, t, role, ex, held, exId);
        }
      } else if ((op.type as string) === 'UNKNOWN' || op.type === undefined) {
        this.ctx.log.warn('sim: ignoring unknown operation', { framework_id: fw.id });
      } else {
        // RESERVE/UNRESERVE/CREATE/DESTROY/...: agents here have only unreserved, non-disk-typed
        // resources; such operations are dropped (OPERATION_ERROR when feedback was requested).
        if (op['id'] !== undefined) {
          fw.send({
            type: 'UPDATE_OPERATION_STATUS',
            update_operation_status: {
              status: {
                operation_id: op['id'],
                state: 'OPERATION_ERROR',
                message: `Operation requested feedback, but agent ${agent.id} does not have the required RESOURCE_PROVIDER capability`,
              },
            },
          });
        }
      }
    }
    // Implicitly declined: the rest goes back with accept.filters (default 5 s).
    if (!isEmptyRes(remaining)) this.recover(fw, agent, remaining, role, acc.filters ?? {});
  }

  private validateOffers(offerIds: string[], fw: Framework): string | undefined {
    const seen = new Set<string>();
    for (const oid of offerIds) {
      if (seen.has(oid)) return `Duplicate offer ${oid} in offer list`;
      seen.add(oid);
    }
    for (const oid of offerIds) if (!this.offers.has(oid)) return `Offer ${oid} is no longer valid`;
    for (const oid of offerIds) {
      const o = this.offers.get(oid)!;
      if (o.fw !== fw) return `Offer ${oid} has invalid framework ${o.fw.id} while framework ${fw.id} is expected`;
    }
    let role: string | undefined;
    for (const oid of offerIds) {
      const r = this.offers.get(oid)!.role;
      if (role === undefined) role = r;
      else if (r !== role) {
        return `Aggregated offers must be allocated to the same role. Offer ${oid} uses role '${r} but another is using role '${role}`;
      }
    }
    let agent: Agent | undefined;
    for (const oid of offerIds) {
      const a = this.offers.get(oid)!.agent;
      if (agent === undefined) agent = a;
      else if (a !== agent) return `Aggregated offers must belong to one single agent. Offer ${oid} uses agent ${a.id} and agent ${agent.id}`;
    }
    return undefined;
  }

  private taskError(fw: Framework, t: TaskInfo, reason: string, message: string): void {
    this.sendMasterUpdate(fw, {
      task_id: t.task_id,
      state: 'TASK_ERROR',
      message,
      source: 'SOURCE_MASTER',
      reason,
      agent_id: t.agent_id,
      timestamp: secs(this.now),
    });
  }

  private taskTotal(t: TaskInfo, fw: Framework, a: Agent): Res {
    let total = fromMesos(t.resources).res;
    const ex = t.executor as ExecutorInfoLike | undefined;
    if (ex && !(a.m?.executors.get(fw.id)?.has(ex.executor_id.value) ?? false)) {
      total = addRes(total, fromMesos(ex.resources).res);
    }
    return total;
  }

  /** validation::task::validate (the parts that apply to this simulator's agents). */
  private validateTask(t: TaskInfo, fw: Framework, a: Agent, available: Res, role: string): { message: string } | undefined {
    const e = this.validateTaskCommon(t, fw, a);
    if (e) return { message: e };
    const ex = t.executor as ExecutorInfoLike | undefined;
    if ((ex !== undefined) === (t.command !== undefined)) {
      return { message: 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present' };
    }
    const parsed = fromMesos(t.resources);
    let total = parsed.res;
    let foreign = parsed.foreign || parsed.roles.some((r) => r !== role);
    let totalText = resourcesText(t.resources ?? []);
    if (ex) {
      const eid = ex.executor_id?.value ?? '';
      const idErr = validateId(eid);
      if (idErr) return { message: 'Executor ID must not be empty' === idErr ? idErr : idErr };
      if (ex.type !== undefined && ex.type !== 'CUSTOM') return { message: "'ExecutorInfo.type' must be 'CUSTOM'" };
      if (ex.command === undefined) return { message: "'ExecutorInfo.command' must be set" };
      if (!(a.m?.executors.get(fw.id)?.has(eid) ?? false)) {
        const pe = fromMesos(ex.resources);
        total = addRes(total, pe.res);
        foreign = foreign || pe.foreign || pe.roles.some((r) => r !== role);
        if ((ex.resources ?? []).length) totalText = totalText ? totalText + '; ' + pe.text : pe.text;
      }
    }
    if (foreign || !containsRes(available, total)) {
      const avail = resourcesText(toMesos(available, { allocationRole: role, legacyRole: false }));
      return { message: `Total resources ${totalText} required by task and its executor is more than available ${avail}` };
    }
    return undefined;
  }

  private validateTaskCommon(t: TaskInfo, fw: Framework, a: Agent): string | undefined {
    const tid = t.task_id.value;
    const idErr = validateId(tid);
    if (idErr) return idErr;
    if (fw.tasks.has(tid)) return `Task has duplicate ID: ${tid}`;
    if (fw.unreachable.has(tid)) return `Task reuses the ID of an unreachable task: ${tid}`;
    if (t.agent_id.value !== a.id) return `Task uses invalid agent ${t.agent_id.value} while agent ${a.id} is expected`;
    const gp = t.kill_policy?.grace_period?.nanoseconds;
    if (gp !== undefined && gp < 0n) return "Task's 'kill_policy.grace_period' must be non-negative";
    const mct = (t['max_completion_time'] as { nanoseconds?: bigint } | undefined)?.nanoseconds;
    if (mct !== undefined && mct < 0n) return "Task's `max_completion_time` must be non-negative";
    if ((t.resources ?? []).length === 0) return 'Task uses no resources';
    const parsed = fromMesos(t.resources);
    if (parsed.invalid) return 'Task uses invalid resources: ' + parsed.invalid;
    const roles = parsed.roles;
    if (roles.includes('')) return 'Invalid task resources: The resources are not allocated to a role';
    if (roles.length > 1) {
      return `Invalid task resources: The resources have multiple allocation roles ('${roles[1]}' and '${roles[0]}') but only one allocation role is allowed`;
    }
    return undefined;
  }

  private validateGroup(
    tasks: TaskInfo[],
    ex: ExecutorInfoLike | undefined,
    fw: Framework,
    a: Agent,
    available: Res,
    role: string,
  ): string | undefined {
    for (const t of tasks) {
      const e = this.validateTaskCommon(t, fw, a) ?? (t.executor === undefined ? "'TaskInfo.executor' must be set" : undefined);
      if (e) return `Task '${t.task_id.value}' is invalid: ${e}`;
    }
    if (!ex) return "'ExecutorInfo.type' must be set";
    const eid = ex.executor_id?.value ?? '';
    const idErr = validateId(eid);
    if (idErr) return idErr;
    if (ex.type === undefined) return "'ExecutorInfo.type' must be set";
    if (ex.type === 'UNKNOWN') return 'Unknown executor type';
    const pe = fromMesos(ex.resources);
    if (pe.res.cpus < 10) return `Executor '${eid}' uses less CPUs (${pe.res.cpus ? cppDouble(pe.res.cpus / 1000) : 'None'}) than the minimum required (0.01)`;
    if (pe.res.mem < 32000) return `Executor '${eid}' uses less memory (${pe.res.mem ? cppDouble(pe.res.mem / 1000) + 'MB' : 'None'}) than the minimum required (32MB)`;
    if (!(ex.resources ?? []).some((r) => r.name === 'disk')) return `Executor '${eid}' uses no disk`;
    let total = emptyRes();
    let foreign = false;
    const texts: string[] = [];
    if (!(a.m?.executors.get(fw.id)?.has(eid) ?? false)) {
      total = addRes(total, pe.res);
      foreign = pe.foreign || pe.roles.some((r) => r !== role);
      if (pe.text) texts.push(pe.text);
    }
    for (const t of tasks) {
      const p = fromMesos(t.resources);
      total = addRes(total, p.res);
      foreign = foreign || p.foreign || p.roles.some((r) => r !== role);
      if (p.text) texts.push(p.text);
    }
    if (foreign || !containsRes(available, total)) {
      const avail = resourcesText(toMesos(available, { allocationRole: role, legacyRole: false }));
      return `Total resources ${texts.join('; ')} required by task group and its executor are more than available ${avail}`;
    }
    return undefined;
  }

  /** Adds a validated task to the master and sends it to the agent (RunTaskMessage). */
  private launch(
    fw: Framework,
    a: Agent,
    t: TaskInfo,
    role: string,
    ex: ExecutorInfoLike | undefined,
    r: Res,
    groupExecutorId?: string,
  ): void {
    const commandTask = ex === undefined;
    const task = new Task(
      fw.id,
      t.task_id.value,
      t.name,
      a,
      r,
      role,
      commandTask ? undefined : (groupExecutorId ?? ex!.executor_id.value),
      this.ctx.rng.int(2 ** 32),
      this.ctx.runtime.nextPid(),
      this.ctx.behaviour(t, fw.id, a),
      this.now,
    );
    task.labels = t.labels;
    task.killGraceNs = t.kill_policy?.grace_period?.nanoseconds;
    this.addTask(fw, task, 'TASK_STAGING');
    if (ex && groupExecutorId === undefined) {
      // LAUNCH with a custom executor: the master tracks the executor.
      let set = a.m!.executors.get(fw.id);
      if (!set) a.m!.executors.set(fw.id, (set = new Set()));
      set.add(ex.executor_id.value);
    }
    this.ctx.runtime.launch(a, task, fw.info);
  }

  /** The tasks this master tracks on an agent (slave->tasks). */
  knownTasks(a: Agent): Task[] {
    const out: Task[] = [];
    for (const t of a.tasks.values()) if (t.mEpoch === this.epoch) out.push(t);
    return out;
  }

  /** Master::addTask: the task holds resources on the agent. */
  addTask(fw: Framework, task: Task, state: TaskState, statuses?: StatusLite[]): void {
    const m = task.agent.m!;
    task.mEpoch = this.epoch;
    task.pendingKill = undefined;
    task.mState = state;
    task.mSUState = undefined;
    task.mSUUuid = undefined;
    task.mStatuses = statuses;
    fw.tasks.set(task.id, task);
    if (!isTerminalState(state) && state !== 'TASK_UNREACHABLE') {
      addInto(m.used, task.res);
      this.use(m, fw, 1);
    }
  }

  /** In-process population: a task already running on the agent (resources already taken from free). */
  placeTask(fw: Framework, task: Task): void {
    this.addTask(fw, task, 'TASK_RUNNING');
    this.account(fw, task.role, task.res, 1);
    this.touchFree(task.agent);
  }

  /** forward() of an update without uuid (master-generated). */
  private sendMasterUpdate(fw: Framework, status: TaskStatus): void {
    fw.send({ type: 'UPDATE', update: { status } });
  }

  kill(fw: Framework, k: { task_id: { value: string }; agent_id?: { value: string }; kill_policy?: { grace_period?: { nanoseconds: bigint } } }): void {
    const task = fw.tasks.get(k.task_id.value);
    if (!task || task.mEpoch !== this.epoch) {
      this.reconcile(fw, { tasks: [{ task_id: k.task_id, agent_id: k.agent_id }] });
      return;
    }
    if (k.agent_id && k.agent_id.value !== task.agent.id) return; // silently ignored
    const a = task.agent;
    const grace = k.kill_policy?.grace_period?.nanoseconds;
    if (!a.m || !a.m.connected || !this.ctx.runtime.reachable(a)) {
      // slave->killedTasks: re-sent when the agent re-registers.
      task.pendingKill = grace ?? -1n;
      return;
    }
    this.ctx.runtime.kill(task, grace, fw.caps.taskKilling, a.draining?.maxGracePeriodNs);
  }

  shutdown(fw: Framework, s: { executor_id: { value: string }; agent_id: { value: string } }): void {
    const a = this.agentsById.get(s.agent_id.value);
    if (!a || !a.m?.connected || !this.ctx.runtime.reachable(a)) return;
    this.ctx.runtime.shutdownExecutor(a, fw.id, s.executor_id.value, fw.caps.taskKilling);
  }

  acknowledge(fw: Framework, ack: { agent_id: { value: string }; task_id: { value: string }; uuid: Uint8Array }): void {
    const a = this.agentsById.get(ack.agent_id.value);
    if (!a || !a.m || !a.m.connected) return;
    const task = a.tasks.get(fw.id + '\u0000' + ack.task_id.value);
    if (task && task.mEpoch === this.epoch && task.mSUState !== undefined) {
      if (isTerminalState(task.mSUState) && bytesEqual(task.mSUUuid, ack.uuid)) {
        this.removeTask(task);
      }
    }
    if (this.ctx.runtime.reachable(a)) this.ctx.runtime.acknowledge(a, fw.id, ack.task_id.value, ack.uuid);
    this.checkDrained(a);
  }

  reconcile(fw: Framework, rec: { tasks?: Array<{ task_id: { value: string }; agent_id?: { value: string } }> }): void {
    const list = rec.tasks ?? [];
    if (list.length === 0) {
      for (const task of fw.tasks.values()) fw.send({ type: 'UPDATE', update: { status: this.reconcileStatus(task) } });
      return;
    }
    const pa = fw.caps.partitionAware;
    for (const t of list) {
      const aid = t.agent_id?.value;
      const task = fw.tasks.get(t.task_id.value);
      const base = { task_id: t.task_id, source: 'SOURCE_MASTER' as const, reason: 'REASON_RECONCILIATION', timestamp: secs(this.now) };
      let status: TaskStatus | undefined;
      if (task) {
        status = this.reconcileStatus(task);
      } else if ((aid !== undefined && this.recovered.has(aid)) || (aid === undefined && this.recovered.size > 0)) {
        status = undefined; // agent still recovering: no reply
      } else if (aid !== undefined && this.agentsById.has(aid)) {
        status = { ...base, state: pa ? 'TASK_GONE' : 'TASK_LOST', message: 'Reconciliation: Task is unknown to the agent', agent_id: id(aid) };
      } else if (aid !== undefined && this.unreachable.has(aid)) {
        status = {
          ...base,
          state: pa ? 'TASK_UNREACHABLE' : 'TASK_LOST',
          message: 'Reconciliation: Task is unreachable',
          agent_id: id(aid),
          unreachable_time: this.unreachable.get(aid)!,
        };
      } else if (aid !== undefined && this.ctx.registry.gone.has(aid)) {
        status = { ...base, state: pa ? 'TASK_GONE_BY_OPERATOR' : 'TASK_LOST', message: 'Reconciliation: Task is gone', agent_id: id(aid) };
      } else {
        status = { ...base, state: pa ? 'TASK_UNKNOWN' : 'TASK_LOST', message: 'Reconciliation: Task is unknown' };
        if (aid !== undefined) status.agent_id = id(aid);
      }
      if (status) fw.send({ type: 'UPDATE', update: { status } });
    }
  }

  private reconcileStatus(task: Task): TaskStatus {
    const st: TaskStatus = {
      task_id: id(task.id),
      state: task.mSUState ?? task.mState,
      message: 'Reconciliation: Latest task state',
      source: 'SOURCE_MASTER',
      reason: 'REASON_RECONCILIATION',
      agent_id: id(task.agent.id),
      timestamp: secs(this.now),
    };
    if (task.masterExecutorId !== undefined) st.executor_id = id(task.masterExecutorId);
    const statuses = task.statuses();
    const last = statuses[statuses.length - 1];
    if (last?.healthy !== undefined) st.healthy = last.healthy;
    if (statuses.some((s) => s.state !== 'TASK_STAGING')) {
      st.container_status = {
        container_id: id(task.containerId),
        network_infos: [{ ip_addresses: [{ ip_address: task.agent.ip }] }],
        executor_pid: task.executorPid,
      };
    }
    return st;
  }

  /** RECONCILE_OPERATIONS: these agents never have operations with feedback, so every listed one is unknown. */
  reconcileOperations(fw: Framework, rec: { operations?: Array<{ operation_id: { value: string }; agent_id?: { value: string }; resource_provider_id?: { value: string } }> }): void {
    for (const op of rec.operations ?? []) {
      const aid = op.agent_id?.value;
      let state: string;
      let message: string;
      if (aid !== undefined && this.recovered.has(aid)) {
        state = 'OPERATION_RECOVERING';
        message = 'Reconciliation: Agent is recovered but has not re-registered';
      } else if (aid !== undefined && this.agentsById.has(aid)) {
        state = 'OPERATION_UNKNOWN';
        message = 'Reconciliation: Operation is unknown';
      } else if (aid !== undefined && this.unreachable.has(aid)) {
        state = 'OPERATION_UNREACHABLE';
        message = 'Reconciliation: Agent is unreachable';
      } else if (aid !== undefined && this.ctx.registry.gone.has(aid)) {
        state = 'OPERATION_GONE_BY_OPERATOR';
        message = 'Reconciliation: Agent marked gone by operator';
      } else if (aid !== undefined) {
        state = 'OPERATION_UNKNOWN';
        message = 'Reconciliation: Both operation and agent are unknown';
      } else {
        state = 'OPERATION_UNKNOWN';
        message = "Reconciliation: Operation is unknown and no 'agent_id' was provided";
      }
      const status: Record<string, unknown> = { operation_id: op.operation_id, state, message };
      if (op.agent_id) status['agent_id'] = op.agent_id;
      if (op.resource_provider_id) status['resource_provider_id'] = op.resource_provider_id;
      fw.send({ type: 'UPDATE_OPERATION_STATUS', update_operation_status: { status } });
    }
  }

  message(fw: Framework, msg: { agent_id: { value: string }; executor_id: { value: string } }): void {
    // Best-effort relay to the executor; simulated executors ignore framework messages.
    this.ctx.log.debug('sim: framework message to executor', { framework_id: fw.id, agent_id: msg.agent_id.value });
  }

  // ============================================================================================
  // Status updates from agents

  /** StatusUpdateMessage from an agent (Master::statusUpdate + forward + updateTask). */
  statusUpdate(a: Agent, task: Task, status: TaskStatus): void {
    if (this.closed || !a.m || !a.m.connected) return;
    const fw = this.frameworks.get(task.fwId);
    const known = task.mEpoch === this.epoch;
    if (fw && fw.connected) {
      if (known) {
        task.mSUState = status.state;
        task.mSUUuid = status.uuid;
      }
      fw.send({ type: 'UPDATE', update: { status } });
    }
    if (!known) return;
    // latest_state = the agent's current state of the task.
    this.updateTaskMaster(task, task.state, status.timestamp !== undefined ? status.timestamp * 1000 : this.now, status);
  }

  /** Master::updateTask */
  private updateTaskMaster(task: Task, latest: TaskState, atMs: number, status?: TaskStatus): void {
    const before = task.mState;
    const wasOver = isTerminalState(before) || before === 'TASK_UNREACHABLE';
    if (!isTerminalState(before)) task.mState = latest;
    const st = status?.state ?? latest;
    const lite: StatusLite = { state: st, timestamp: atMs / 1000 };
    if (status?.healthy !== undefined) lite.healthy = status.healthy;
    const list = (task.mStatuses ??= task.statuses());
    if (list.length && list[list.length - 1]!.state === st) list.pop();
    list.push(lite);
    const isOver = isTerminalState(latest) || latest === 'TASK_UNREACHABLE';
    if (!wasOver && isOver) this.releaseTask(task);
  }

  /** Resources of a task that became terminal/unreachable go back to the allocator. */
  private releaseTask(task: Task): void {
    const m = task.agent.m;
    const fw = this.frameworks.get(task.fwId);
    if (fw) this.account(fw, task.role, task.res, -1);
    else {
      const ra = this.roleAlloc.get(task.role);
      if (ra) {
        ra.cpus -= task.res.cpus;
        ra.mem -= task.res.mem;
        ra.disk -= task.res.disk;
      }
    }
    if (!m) return;
    subInto(m.used, task.res);
    addInto(m.free, task.res);
    if (fw) this.use(m, fw, -1);
    if (task.masterExecutorId !== undefined) {
      // The executor goes away with its last task.
      let busy = false;
      for (const t of task.agent.tasks.values()) {
        if (t !== task && t.fwId === task.fwId && t.masterExecutorId === task.masterExecutorId && t.mEpoch === this.epoch && !isTerminalState(t.mState)) busy = true;
      }
      if (!busy) m.executors.get(task.fwId)?.delete(task.masterExecutorId);
    }
    this.touchFree(task.agent);
  }

  /** Master::removeTask: the master forgets the task (moves it to completed). */
  removeTask(task: Task, unreachableTime?: TimeInfo): void {
    const fw = this.frameworks.get(task.fwId);
    const m = task.agent.m;
    if (!isTerminalState(task.mState) && task.mState !== 'TASK_UNREACHABLE') {
      // Not released yet (e.g. removed while STAGING): release now.
      this.releaseTask(task);
      task.mState = 'TASK_LOST';
    }
    if (fw && fw.tasks.get(task.id) === task) {
      fw.tasks.delete(task.id);
      const statuses = task.statuses();
      if (unreachableTime) {
        fw.unreachable.set(task.id, { task, time: unreachableTime, statuses });
      } else {
        fw.completed.push({ task, state: task.mState, statuses });
        if (fw.completed.length > MAX_COMPLETED_TASKS_PER_FRAMEWORK) fw.completed.shift();
      }
    }
    task.mEpoch = -1;
  }

  // ============================================================================================
  // Agents

  private machineFor(a: Agent): Machine {
    const key = machineKey(a.machineId);
    let mach = this.machines.get(key);
    if (!mach) {
      mach = { key, id: a.machineId, info: { id: a.machineId, mode: 'UP' }, agents: new Set() };
      this.machines.set(key, mach);
    }
    return mach;
  }

  /** Whether the agent's machine is DOWN (registration refused with "Machine is `DOWN`"). */
  machineDown(a: Agent): boolean {
    return this.machines.get(machineKey(a.machineId))?.info.mode === 'DOWN';
  }

  /**
   * (Re-)registration of an agent with this master. Returns an error text when refused (the agent
   * gets a ShutdownMessage).
   */
  registerAgent(a: Agent): string | undefined {
    if (this.closed) return 'no master';
    if (this.machineDown(a)) return 'Machine is `DOWN`';
    if (a.id && this.ctx.registry.gone.has(a.id)) return 'Agent has been marked gone';
    const reregister = a.id !== '';
    if (!reregister) a.id = `${this.masterId}-S${this.nextAgent++}`;
    this.ctx.registry.admitted.set(a.id, a.index);
    if (a.m) this.dropAgentM(a);
    const mach = this.machineFor(a);
    let used = emptyRes();
    const m = new AgentM(a, mach, this.now, emptyRes(), emptyRes());
    if (reregister) m.reregisteredTime = this.now;
    a.m = m;
    mach.agents.add(a);
    this.agentsById.set(a.id, a);
    this.recovered.delete(a.id);
    this.unreachable.delete(a.id);
    this.ctx.registry.unreachable.delete(a.id);
    addInto(this.total, a.total);
    // Tasks the agent reports (re-registration).
    for (const task of a.tasks.values()) {
      if (task.gone) continue;
      let fw = this.frameworks.get(task.fwId);
      if (!fw) {
        const info = a.fwInfos.get(task.fwId) ?? { user: 'unknown', name: 'unknown', id: id(task.fwId) };
        fw = new Framework(task.fwId, info, this.now);
        fw.recovered = true;
        this.frameworks.set(task.fwId, fw);
      }
      const known = fw.tasks.get(task.id);
      if (known && known !== task) continue;
      if (fw.unreachable.has(task.id)) fw.unreachable.delete(task.id);
      this.addTask(fw, task, task.state, [{ state: task.state, timestamp: task.since / 1000 }]);
      if (!isTerminalState(task.state)) {
        this.account(fw, task.role, task.res, 1);
        used = addRes(used, task.res);
      }
      if (task.masterExecutorId !== undefined) {
        let set = m.executors.get(fw.id);
        if (!set) m.executors.set(fw.id, (set = new Set()));
        set.add(task.masterExecutorId);
      }
    }
    m.free = subRes(a.total, m.used);
    if (this.ctx.registry.deactivated.has(a.id)) m.active = false;
    const drain = this.ctx.registry.draining.get(a.id);
    if (drain && !a.draining) a.draining = { state: drain.state, maxGracePeriodNs: drain.maxGracePeriodNs, markGone: drain.markGone };
    if (mach.info.unavailability) {
      m.maint = { unavailability: mach.info.unavailability, statuses: new Map(), outstanding: new Set() };
      this.maintAgents.add(a);
    }
    this.touchFree(a);
    this.emit({ kind: 'agent', at: this.now, agentId: a.id, hostname: a.hostname, what: reregister ? 'reregistered' : 'registered' });
    this.allocateSoon();
    return undefined;
  }

  /** Accounting of an agent leaving the master (shared by removal and unreachability). */
  private detachAgent(a: Agent): void {
    const m = a.m;
    if (!m) return;
    subInto(this.total, a.total);
    m.machine.agents.delete(a);
    this.agentsById.delete(a.id);
    this.freeAgents.delete(a);
    this.dirty.delete(a);
    this.maintAgents.delete(a);
    for (const f of m.filters ?? []) {
      this.cancel(f.timer);
      f.fw.filteredAgents.delete(a);
    }
    for (const [fw, t] of m.invFilters ?? []) {
      this.cancel(t);
      fw.invFilteredAgents.delete(a);
    }
    this.cancel(m.pingTimer);
    a.m = undefined;
  }

  /** Master::_removeSlave (machine DOWN, agent unregistered): TASK_LOST, RESCIND, RESCIND_INVERSE_OFFER, FAILURE. */
  removeAgent(a: Agent, cause: string): void {
    const m = a.m;
    if (!m) return;
    for (const task of this.knownTasks(a)) {
      const fw = this.frameworks.get(task.fwId);
      const status: TaskStatus = {
        task_id: id(task.id),
        state: 'TASK_LOST',
        message: `Agent ${a.hostname} removed: ${cause}`,
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REMOVED',
        agent_id: id(a.id),
        timestamp: secs(this.now),
      };
      if (task.masterExecutorId !== undefined) status.executor_id = id(task.masterExecutorId);
      this.updateTaskMaster(task, 'TASK_LOST', this.now, status);
      this.removeTask(task);
      if (fw && fw.connected) fw.send({ type: 'UPDATE', update: { status } });
    }
    for (const o of [...m.offers]) this.rescindOffer(o);
    for (const io of [...m.inverseOffers]) this.removeInverseOffer(io, true);
    this.detachAgent(a);
    this.ctx.registry.admitted.delete(a.id);
    this.ctx.registry.draining.delete(a.id);
    this.ctx.registry.deactivated.delete(a.id);
    this.sendAgentLost(a);
    this.emit({ kind: 'agent', at: this.now, agentId: a.id, hostname: a.hostname, what: 'removed', message: cause });
  }

  private sendAgentLost(a: Agent): void {
    for (const fw of this.frameworks.values()) {
      if (fw.connected) fw.send({ type: 'FAILURE', failure: { agent_id: id(a.id) } });
    }
  }

  /** Master::markUnreachable -> __removeSlave with an unreachable time. */
  markUnreachable(a: Agent, message: string): void {
    const m = a.m;
    if (!m) return;
    const time: TimeInfo = { nanoseconds: nanos(this.now) };
    this.unreachable.set(a.id, time);
    this.ctx.registry.unreachable.set(a.id, time);
    for (const task of this.knownTasks(a)) {
      const fw = this.frameworks.get(task.fwId);
      const pa = fw?.caps.partitionAware ?? false;
      const state: TaskState = pa ? 'TASK_UNREACHABLE' : 'TASK_LOST';
      const status: TaskStatus = {
        task_id: id(task.id),
        state,
        message,
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REMOVED',
        agent_id: id(a.id),
        timestamp: secs(this.now),
        unreachable_time: time,
      };
      if (task.masterExecutorId !== undefined) status.executor_id = id(task.masterExecutorId);
      this.updateTaskMaster(task, state, this.now, status);
      this.removeTask(task, time);
      if (fw && fw.connected) fw.send({ type: 'UPDATE', update: { status } });
    }
    for (const o of [...m.offers]) this.rescindOffer(o);
    for (const io of [...m.inverseOffers]) this.removeInverseOffer(io, true);
    this.detachAgent(a);
    this.sendAgentLost(a);
    this.emit({ kind: 'agent', at: this.now, agentId: a.id, hostname: a.hostname, what: 'unreachable', message });
  }

  /** The agent's connection broke (process exited or partition): offers go, tasks stay. */
  disconnectAgent(a: Agent): void {
    const m = a.m;
    if (!m || !m.connected) return;
    m.connected = false;
    this.deactivateAgentM(a);
    this.emit({ kind: 'agent', at: this.now, agentId: a.id, hostname: a.hostname, what: 'disconnected' });
    // Ping timeouts: unreachable after agent_ping_timeout x max_agent_ping_timeouts.
    m.pingTimer = this.after(AGENT_PING_TIMEOUT_MS * MAX_AGENT_PING_TIMEOUTS, () => {
      if (a.m === m && !m.connected) this.markUnreachable(a, 'health check timed out');
    });
  }

  /** Master::deactivate(Slave*): rescind offers and inverse offers, stop offering. */
  private deactivateAgentM(a: Agent): void {
    const m = a.m!;
    m.active = false;
    for (const o of [...m.offers]) this.rescindOffer(o);
    for (const io of [...m.inverseOffers]) {
      this.updateInverseOffer(a, io.fw, undefined, undefined);
      this.removeInverseOffer(io, true);
    }
    this.freeAgents.delete(a);
  }

  /** Kills recorded while the agent was unreachable are sent now. */
  resendKills(a: Agent): void {
    for (const t of this.knownTasks(a)) {
      if (t.pendingKill === undefined) continue;
      const grace = t.pendingKill < 0n ? undefined : t.pendingKill;
      t.pendingKill = undefined;
      const fw = this.frameworks.get(t.fwId);
      this.ctx.runtime.kill(t, grace, fw?.caps.taskKilling ?? false, a.draining?.maxGracePeriodNs);
    }
  }

  /** An agent that had disconnected came back (same master). */
  reconnectAgent(a: Agent): void {
    const m = a.m;
    if (!m) return;
    m.connected = true;
    this.cancel(m.pingTimer);
    m.pingTimer = undefined;
    m.reregisteredTime = this.now;
    if (!this.ctx.registry.deactivated.has(a.id)) m.active = true;
    this.touchFree(a);
    this.emit({ kind: 'agent', at: this.now, agentId: a.id, hostname: a.hostname, what: 'reregistered' });
    this.allocateSoon();
  }

  /** DEACTIVATE_AGENT. */
  deactivateAgent(agentId: string): CallResult {
    const a = this.agentsById.get(agentId);
    if (!a && !this.recovered.has(agentId) && !this.unreachable.has(agentId)) return { status: 400, body: 'Unknown agent' };
    this.ctx.registry.deactivated.add(agentId);
    if (a?.m) this.deactivateAgentM(a);
    return { status: 200 };
  }

  /** REACTIVATE_AGENT. */
  reactivateAgent(agentId: string): CallResult {
    if (!this.ctx.registry.deactivated.has(agentId)) return { status: 400, body: 'Agent is not deactivated' };
    const d = this.ctx.registry.draining.get(agentId);
    if (d && d.state === 'DRAINING') return { status: 400, body: 'Agent is still in the DRAINING state' };
    this.ctx.registry.draining.delete(agentId);
    this.ctx.registry.deactivated.delete(agentId);
    const a = this.agentsById.get(agentId);
    if (!a || !a.m) return { status: 409, body: 'Agent removed while processing the call' };
    a.draining = undefined;
    if (a.m.connected) {
      a.m.active = true;
      this.touchFree(a);
      this.allocateSoon();
    }
    return { status: 200 };
  }

  /** DRAIN_AGENT (contract §4.10). */
  drainAgent(agentId: string, maxGraceNs: bigint | undefined, markGone: boolean): CallResult {
    const a = this.agentsById.get(agentId);
    if (a) {
      for (const w of this.ctx.registry.schedule.windows ?? []) {
        for (const mid of w.machine_ids ?? []) {
          if (machineKey(mid) === machineKey(a.machineId)) {
            return { status: 400, body: `Agent ${agentId} is part of a maintenance schedule under Machine ${machineText(mid)}` };
          }
        }
      }
    }
    if (!a && !this.recovered.has(agentId) && !this.unreachable.has(agentId)) return { status: 400, body: 'Unknown agent' };
    this.ctx.registry.draining.set(agentId, { state: 'DRAINING', maxGracePeriodNs: maxGraceNs, markGone });
    this.ctx.registry.deactivated.add(agentId);
    if (a && a.m) {
      this.deactivateAgentM(a);
      a.draining = { state: 'DRAINING', maxGracePeriodNs: maxGraceNs, markGone };
      if (this.ctx.runtime.reachable(a)) {
        for (const task of [...a.tasks.values()]) {
          const fw = this.frameworks.get(task.fwId);
          this.ctx.runtime.kill(task, undefined, fw?.caps.taskKilling ?? false, maxGraceNs);
        }
      }
      this.checkDrained(a);
    }
    return { status: 200 };
  }

  /** Master::checkAndTransitionDrainingAgent */
  checkDrained(a: Agent): void {
    const d = this.ctx.registry.draining.get(a.id);
    if (!d || d.state === 'DRAINED' || !a.m) return;
    for (const t of a.tasks.values()) if (t.mEpoch === this.epoch) return;
    if (d.markGone) {
      const time: TimeInfo = { nanoseconds: nanos(this.now) };
      this.ctx.registry.gone.set(a.id, time);
      this.markGone(a);
      return;
    }
    d.state = 'DRAINED';
    if (a.draining) a.draining.state = 'DRAINED';
  }

  private markGone(a: Agent): void {
    const m = a.m;
    if (!m) return;
    for (const task of this.knownTasks(a)) {
      const fw = this.frameworks.get(task.fwId);
      const pa = fw?.caps.partitionAware ?? false;
      const status: TaskStatus = {
        task_id: id(task.id),
        state: pa ? 'TASK_GONE_BY_OPERATOR' : 'TASK_LOST',
        message: 'Agent has been marked gone',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REMOVED_BY_OPERATOR',
        agent_id: id(a.id),
        timestamp: secs(this.now),
      };
      this.updateTaskMaster(task, status.state, this.now, status);
      this.removeTask(task);
      if (fw && fw.connected) fw.send({ type: 'UPDATE', update: { status } });
    }
    for (const o of [...m.offers]) this.rescindOffer(o);
    for (const io of [...m.inverseOffers]) this.removeInverseOffer(io, true);
    this.detachAgent(a);
    this.sendAgentLost(a);
    this.ctx.runtime.shutdownAgent(a, 'agent-gone');
    this.emit({ kind: 'agent', at: this.now, agentId: a.id, hostname: a.hostname, what: 'gone' });
  }

  // ============================================================================================
  // Maintenance (contract §4)

  /** maintenance::validation::schedule; returns the 400 text or undefined. */
  validateSchedule(s: Schedule): string | undefined {
    const updated = new Set<string>();
    for (const w of s.windows ?? []) {
      const ids = w.machine_ids ?? [];
      if (ids.length === 0) return 'List of machines in the maintenance window is empty';
      const d = w.unavailability.duration?.nanoseconds ?? 0n;
      if (d < 0n) return "Unavailability 'duration' is negative";
      for (const mid of ids) {
        const e = validateMachine(mid);
        if (e) return e;
        const k = machineKey(mid);
        if (updated.has(k)) return `Machine '${machineJson(mid)}' appears more than once in the schedule`;
        updated.add(k);
      }
    }
    for (const mach of this.machines.values()) {
      if (mach.info.mode === 'DOWN' && !updated.has(mach.key)) {
        return `Machine '${machineJson(mach.id)}' is deactivated and cannot be removed from the schedule`;
      }
    }
    return undefined;
  }

  /** POST /maintenance/schedule after validation (___updateMaintenanceSchedule). */
  updateSchedule(s: Schedule): void {
    const unav = new Map<string, { id: MachineID; u: Unavailability }>();
    for (const w of s.windows ?? []) for (const mid of w.machine_ids ?? []) unav.set(machineKey(mid), { id: mid, u: w.unavailability });
    for (const mach of [...this.machines.values()]) {
      const n = unav.get(mach.key);
      if (n) {
        if (mach.info.mode === 'UP') continue;
        this.updateUnavailability(mach, n.u);
        continue;
      }
      mach.info.mode = 'UP';
      this.updateUnavailability(mach, undefined);
    }
    for (const [key, n] of unav) {
      let mach = this.machines.get(key);
      if (mach && mach.info.mode !== 'UP') continue;
      if (!mach) {
        mach = { key, id: n.id, info: { id: n.id, mode: 'DRAINING' }, agents: new Set() };
        this.machines.set(key, mach);
      }
      mach.info = { id: n.id, mode: 'DRAINING' };
      this.updateUnavailability(mach, n.u);
    }
    this.ctx.registry.schedule = s;
    this.persistMachines();
    this.emit({ kind: 'maintenance', at: this.now, what: 'schedule' });
    this.allocateSoon();
  }

  private persistMachines(): void {
    const reg = this.ctx.registry.machines;
    reg.clear();
    for (const mach of this.machines.values()) {
      if (mach.info.mode !== 'UP') reg.set(mach.key, { ...mach.info });
    }
  }

  /** Master::updateUnavailability + allocator updateUnavailability */
  private updateUnavailability(mach: Machine, u: Unavailability | undefined): void {
    if (u) mach.info.unavailability = u;
    else delete mach.info.unavailability;
    for (const a of mach.agents) {
      const m = a.m;
      if (!m) continue;
      for (const o of [...m.offers]) this.rescindOffer(o);
      for (const io of [...m.inverseOffers]) {
        this.updateInverseOffer(a, io.fw, undefined, undefined);
        this.removeInverseOffer(io, true);
      }
      for (const [fw, t] of m.invFilters ?? []) {
        this.cancel(t);
        fw.invFilteredAgents.delete(a);
      }
      m.invFilters = undefined;
      if (u) {
        m.maint = { unavailability: u, statuses: new Map(), outstanding: new Set() };
        this.maintAgents.add(a);
      } else {
        m.maint = undefined;
        this.maintAgents.delete(a);
      }
      this.dirty.add(a);
    }
  }

  /** /machine/down and /machine/up validation (master's order and texts): the 400 to answer, if any. */
  private refuseMachines(ids: MachineID[], mode: 'DRAINING' | 'DOWN', action: string): CallResult | undefined {
    const e = validateMachines(ids);
    if (e) return { status: 400, body: e };
    for (const mid of ids) {
      const mach = this.machines.get(machineKey(mid));
      if (!mach) return { status: 400, body: `Machine '${machineJson(mid)}' is not part of a maintenance schedule` };
      if (mach.info.mode !== mode) {
        return { status: 400, body: `Machine '${machineJson(mid)}' is not in ${mode} mode and cannot be ${action}` };
      }
    }
    return undefined;
  }

  /** /machine/down validation + effects (START_MAINTENANCE). */
  startMaintenance(ids: MachineID[]): CallResult {
    const refused = this.refuseMachines(ids, 'DRAINING', 'brought down');
    if (refused) return refused;
    for (const mid of ids) {
      const mach = this.machines.get(machineKey(mid))!;
      for (const a of [...mach.agents]) {
        // ShutdownMessage to the agent, and immediate removal in the master.
        this.removeAgent(a, "Operator initiated 'Machine DOWN'");
        this.ctx.runtime.shutdownAgent(a, 'machine-down');
      }
      mach.info.mode = 'DOWN';
    }
    this.persistMachines();
    this.emit({ kind: 'maintenance', at: this.now, what: 'down', machines: ids });
    return { status: 200 };
  }

  /** /machine/up validation + effects (STOP_MAINTENANCE). */
  stopMaintenance(ids: MachineID[]): CallResult {
    const refused = this.refuseMachines(ids, 'DOWN', 'brought up');
    if (refused) return refused;
    const keys = new Set<string>();
    for (const mid of ids) {
      const mach = this.machines.get(machineKey(mid))!;
      mach.info.mode = 'UP';
      delete mach.info.unavailability;
      keys.add(mach.key);
    }
    const windows = [];
    for (const w of this.ctx.registry.schedule.windows ?? []) {
      const left = (w.machine_ids ?? []).filter((mid) => !keys.has(machineKey(mid)));
      if (left.length) windows.push({ ...w, machine_ids: left });
    }
    this.ctx.registry.schedule = windows.length ? { windows } : {};
    this.persistMachines();
    this.emit({ kind: 'maintenance', at: this.now, what: 'up', machines: ids });
    return { status: 200 };
  }

  maintenanceStatus(): ClusterStatus {
    const out: ClusterStatus = {};
    const draining = [];
    const down = [];
    for (const mach of this.machines.values()) {
      if (mach.info.mode === 'DRAINING') {
        const statuses = [];
        for (const a of mach.agents) for (const s of a.m?.maint?.statuses.values() ?? []) statuses.push(s);
        const dm: { id: MachineID; statuses?: typeof statuses } = { id: mach.id };
        if (statuses.length) dm.statuses = statuses;
        draining.push(dm);
      } else if (mach.info.mode === 'DOWN') {
        down.push(mach.id);
      }
    }
    if (draining.length) out.draining_machines = draining;
    if (down.length) out.down_machines = down;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------

interface ExecutorInfoLike {
  executor_id: { value: string };
  type?: string;
  command?: unknown;
  resources?: import('../mesos/types.js').Resource[];
}

function launchTasks(op: Operation): TaskInfo[] {
  if (op.type === 'LAUNCH') return op.launch?.task_infos ?? [];
  if (op.type === 'LAUNCH_GROUP') return (op.launch_group as { task_group?: { tasks?: TaskInfo[] } } | undefined)?.task_group?.tasks ?? [];
  return [];
}

/** protobuf::injectAllocationInfo: resources without allocation_info get the offer's role. */
function injectAllocation(t: TaskInfo, role: string): void {
  for (const r of t.resources ?? []) r.allocation_info ??= { role };
  const ex = t.executor as ExecutorInfoLike | undefined;
  for (const r of ex?.resources ?? []) r.allocation_info ??= { role };
}

const urlCache = new WeakMap<Agent, { scheme: string; address: { hostname: string; ip: string; port: number }; path: string }>();

/** The agent's libprocess URL as offers carry it (shared, read-only object). */
export function agentUrl(a: Agent): { scheme: string; address: { hostname: string; ip: string; port: number }; path: string } {
  let u = urlCache.get(a);
  if (!u) urlCache.set(a, (u = { scheme: 'http', address: { hostname: a.hostname, ip: a.ip, port: a.port }, path: '/slave(1)' }));
  return u;
}

/** operator<<(ostream, MachineID) */
export function machineText(m: MachineID): string {
  if (m.hostname !== undefined && m.ip !== undefined) return `${m.hostname} (${m.ip})`;
  if (m.hostname !== undefined) return m.hostname;
  return `(${m.ip})`;
}

export type { MachineInfoRec };
