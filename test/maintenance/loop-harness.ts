/**
 * A maintenance loop driven input by input over a real scheduler state (built by the scheduler's
 * own reducer): the harness of the pure pause / resume / edit / cap tests. The scheduler state is
 * NOT told of the blocked hosts (no runtime applies the loop's commands to it), so an offer may put
 * a task on a host in maintenance: how a DRAINED host gets tasks of ours again in these tests.
 */
import { expect } from 'chai';
import type { ClusterStatus, Schedule } from '../../src/mesos/types.js';
import { applyCommand, onEvent } from '../../src/scheduler/reducer.js';
import { createState, type SchedulerState } from '../../src/scheduler/state.js';
import { reduce } from '../../src/maintenance/core/loop.js';
import { CONTROL_COLLECTION, HOSTS_COLLECTION, initialState, PAUSE_KEY, type IoRequest, type MaintenanceConfig, type MaintenanceInput, type MaintenanceState, type MaintenanceStep } from '../../src/maintenance/core/loop-state.js';
import type { HostRecord, PauseMark } from '../../src/maintenance/core/host-state.js';
import { PENDING_COLLECTION, type PendingOp } from '../../src/maintenance/core/pending.js';
import type { MasterAgent, MasterStateView } from '../../src/maintenance/core/master.js';
import { offer, offersEvent, spec, subscribed, update } from '../scheduler/helpers.js';

export const T0 = Date.UTC(2026, 0, 1);
export const AGENTS: MasterAgent[] = [1, 2, 3].map((i) => ({ agent_id: `a${i}`, hostname: `h${i}`, ip: `10.0.0.${i}` }));
const EMPTY: Schedule = {};
export type In = MaintenanceInput extends infer I ? (I extends unknown ? Omit<I, 'sched'> : never) : never;

export class Loop {
  m: MaintenanceState;
  readonly s: SchedulerState = createState();
  now = T0;
  private n = 0;
  private placed = 0;
  private restarts = 0;
  /** What the steps wrote (their store ops applied in order, values copied): the "disk" a restart loads. */
  readonly disk = new Map<string, Map<string, unknown>>();

  constructor(readonly config: Partial<MaintenanceConfig> = {}, readonly agents: MasterAgent[] = AGENTS) {
    this.m = initialState(config, 'op-p');
    onEvent(this.s, subscribed(), this.now);
    this.in({ kind: 'loaded', records: [], pending: [] });
    this.in({ kind: 'event', event: subscribed() });
  }

  in(input: In): MaintenanceStep {
    const st = reduce(this.m, { ...input, sched: this.s } as MaintenanceInput, this.now);
    for (const op of st.storeOps) {
      let c = this.disk.get(op.collection);
      if (!c) this.disk.set(op.collection, (c = new Map()));
      if (op.op === 'put') c.set(op.key, structuredClone(op.value));
      else c.delete(op.key);
    }
    return st;
  }

  /** A restart: a fresh loop state loaded from what the steps wrote (the scheduler's state is kept). */
  restart(): MaintenanceStep {
    this.m = initialState(this.config, `op-r${++this.restarts}`);
    const list = <T>(c: string): T[] => [...(this.disk.get(c)?.values() ?? [])].map((v) => structuredClone(v) as T);
    const pausedAll = this.disk.get(CONTROL_COLLECTION)?.get(PAUSE_KEY) as PauseMark | undefined;
    const st = this.in({ kind: 'loaded', records: list<HostRecord>(HOSTS_COLLECTION), pending: list<PendingOp>(PENDING_COLLECTION), ...(pausedAll ? { pausedAll: structuredClone(pausedAll) } : {}) });
    this.in({ kind: 'event', event: subscribed() });
    return st;
  }

  /**
   * A new one-instance job, then an offer of room for one task on `agent`: a task lands there
   * (RUNNING at once) — the new job's, or a replacement the scheduler had waiting. Its task id.
   */
  place(agent: string): string {
    const name = `p${++this.placed}`;
    applyCommand(this.s, { type: 'create_job', spec: spec(name, 1) }, this.now);
    const before = new Set(this.s.tasks.keys());
    onEvent(this.s, offersEvent([offer(agent, this.agents.find((a) => a.agent_id === agent)!.hostname, { cpus: 1, mem: 128 })]), this.now);
    const id = [...this.s.tasks.keys()].find((k) => !before.has(k));
    expect(id, `a task on ${agent}`).to.be.a('string');
    onEvent(this.s, update(id!, 'TASK_RUNNING', { agent }), this.now);
    return id!;
  }

  /** The executor's side of kill_tasks: each task ends TASK_KILLED. */
  killed(ids: readonly string[]): void {
    for (const id of ids) {
      const t = this.s.tasks.get(id);
      if (t) onEvent(this.s, update(id, 'TASK_KILLED', { ...(t.agent_id ? { agent: t.agent_id } : {}) }), this.now);
    }
  }

  /** One task of job `name` per given agent, RUNNING for over an hour. */
  tasks(name: string, agents: string[], sla = false): string[] {
    applyCommand(this.s, { type: 'create_job', spec: spec(name, agents.length, sla ? { sla: { kind: 'count', count: agents.length, duration_seconds: 60 } } : {}) }, this.now);
    const ids: string[] = [];
    for (const a of agents) {
      const before = new Set(this.s.tasks.keys());
      onEvent(this.s, offersEvent([offer(a, `h${a.slice(1)}`, { cpus: 1, mem: 128 })]), this.now);
      const id = [...this.s.tasks.keys()].find((k) => !before.has(k))!;
      onEvent(this.s, update(id, 'TASK_RUNNING', { agent: a }), this.now);
      ids.push(id);
    }
    this.now += 3_700_000;
    return ids;
  }

  /** A start request whose window the master took. */
  start(hosts: string[], request_id: string, extra: Record<string, unknown> = {}): MaintenanceStep {
    const st = this.in({ kind: 'start', request: { hosts, ...extra }, request_id, agents: this.agents, schedule: EMPTY, reply: `t${++this.n}`, actor: 'alice', reason: 'kernel' });
    expect(st.io, JSON.stringify(st.replies)).to.have.length(1);
    this.now += 10;
    return this.in({ kind: 'io', result: { kind: 'done', request: st.io[0] as Extract<IoRequest, { kind: 'schedule-add' }> } });
  }

  op(input: Record<string, unknown>): MaintenanceStep {
    return this.in({ reply: `t${++this.n}`, actor: 'bob', reason: 'incident', ...input } as In);
  }

  /**
   * A tick; the master reads it asks for are answered at once — by `master` (what /maintenance/status
   * and /master/state say), else with no other framework anywhere — their I/O, commands, logs and
   * audit entries added to its own.
   */
  tick(ms = 2000, master?: { status: ClusterStatus; state: MasterStateView }): MaintenanceStep {
    this.now += ms;
    const st = this.in({ kind: 'tick' });
    for (const r of [...st.io]) {
      if (r.kind !== 'down-check') continue;
      const res = this.in({ kind: 'io', result: { kind: 'down-check', request: r, ...(master ?? { status: {}, state: { agents: this.agents, frameworksOnAgent: new Map() } }) } });
      st.io.push(...res.io);
      st.commands.push(...res.commands);
      st.logs.push(...res.logs);
      st.audit.push(...res.audit);
      st.storeOps.push(...res.storeOps);
    }
    return st;
  }

  rec(h: string): HostRecord {
    return this.m.records.get(h)!;
  }
}

export const kills = (st: MaintenanceStep): string[] => st.commands.flatMap((c) => (c.type === 'kill_tasks' ? c.task_ids : []));

