/**
 * The leading master's books for one leadership term (the member fields of Master in
 * src/master/master.hpp and of the hierarchical allocator that the parts of this folder share):
 * frameworks, agents, machines, offers, inverse offers, allocation accounting, and the timers of the
 * term. The behaviour lives in the parts (allocator.ts, frameworks.ts, agents.ts, tasks.ts, ...);
 * src/sim/master.ts composes them.
 */
import type { Event, Filters, MachineID, MasterInfo, TaskInfo, TimeInfo } from '../../mesos/types.js';
import type { Logger } from '../../util/logger.js';
import type { Clock } from '../../util/clock.js';
import type { AgentRuntime, TaskTransition } from '../agent.js';
import { type Agent, type Framework, type InverseOffer, type Machine, type Offer, type Task, type TaskBehaviour } from '../model.js';
import type { Registry } from '../registry.js';
import { type Res, emptyRes } from '../resources.js';
import type { SimTimer, TimerQueue } from '../timers.js';
import type { Rng } from '../util.js';

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

/** What a call answers on the wire (status and, for errors, the plain-text body). */
export interface CallResult {
  status: number;
  body?: string;
}

export function id(value: string): { value: string } {
  return { value };
}

/** Filters.refuse_seconds -> effective seconds (hierarchical.cpp recoverResources / updateInverseOffer). */
export function refuseSeconds(f: Filters | undefined): number {
  const r = f?.refuse_seconds ?? 5;
  if (Number.isNaN(r)) return 5;
  if (r > DAYS_365_S) return DAYS_365_S;
  if (r < 0) return 5;
  return r;
}

export class MasterState {
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
  /** Allocated + offered resources per role (the role sorter's shares). */
  readonly roleAlloc = new Map<string, { cpus: number; mem: number; disk: number }>();
  nextOffer = 0;
  nextFramework = 0;
  nextAgent = 0;
  /** Agents whose free resources or filters changed since the last allocation run. */
  dirty = new Set<Agent>();
  /** Registered agents with allocatable free resources. */
  readonly freeAgents = new Set<Agent>();
  /** Registered agents whose machine has an unavailability. */
  readonly maintAgents = new Set<Agent>();
  allocTimer: SimTimer | undefined;
  allocSoon = false;
  readonly timers = new Set<SimTimer>();
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
  }

  get now(): number {
    return this.ctx.clock.now();
  }

  /** A timer of this term: cancelled when the term ends, never fires after close(). */
  after(ms: number, fn: () => void): SimTimer {
    const t = this.ctx.timers.after(ms, () => {
      this.timers.delete(t);
      if (!this.closed) fn();
    });
    this.timers.add(t);
    return t;
  }

  cancel(t: SimTimer | undefined): void {
    if (!t) return;
    this.timers.delete(t);
    this.ctx.timers.cancel(t);
  }

  emit(e: SimEvent): void {
    this.ctx.emit(e);
  }

  getFramework(fid: string | undefined): Framework | undefined {
    return fid === undefined ? undefined : this.frameworks.get(fid);
  }

  /** The tasks this master tracks on an agent (slave->tasks). */
  knownTasks(a: Agent): Task[] {
    const out: Task[] = [];
    for (const t of a.tasks.values()) if (t.mEpoch === this.epoch) out.push(t);
    return out;
  }

  /** Drops the master's record of an agent and its timers. */
  dropAgentM(a: Agent): void {
    const m = a.m;
    if (!m) return;
    this.ctx.timers.cancel(m.pingTimer);
    for (const f of m.filters ?? []) this.ctx.timers.cancel(f.timer);
    for (const t of m.invFilters?.values() ?? []) this.ctx.timers.cancel(t);
    a.m = undefined;
  }
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
