/**
 * The maintenance loop's reducer (src/maintenance/core/loop.ts) in a closed loop with the real
 * scheduler reducer (src/scheduler), with Mesos played at the event level: offers from every agent
 * each step, KILL → TASK_KILLED, launch → TASK_RUNNING. No HTTP, no runtime: this checks the
 * contract between the two pure cores — the maintenance loop's ticks read the scheduler's state
 * (workloadRows / workloadJobs / agentCapacity feed planDrain) and its kills, make-before-break
 * orders and blocked hosts go back as the scheduler commands `kill_tasks` / `surge_instances` /
 * `set_blocked_hosts`, exactly as the runtime applies them.
 */
import { expect } from 'chai';
import type { Call, Event } from '../../src/mesos/types.js';
import { applyCommand, onEvent, onTick, type SchedulerCommand } from '../../src/scheduler/reducer.js';
import { createState, type SchedulerState } from '../../src/scheduler/state.js';
import { agentCapacity, workloadJobs, workloadRows } from '../../src/scheduler/workload-rows.js';
import { hostKey, startMaintenance, type HostRecord } from '../../src/maintenance/core/host-state.js';
import { requiredUp } from '../../src/maintenance/core/sla.js';
import { durationMs } from '../../src/sla/index.js';
import { reduce } from '../../src/maintenance/core/loop.js';
import { initialState, type MaintenanceState } from '../../src/maintenance/core/loop-state.js';
import { decideInverseOffer } from '../../src/maintenance/core/inverse-offers.js';
import { offer, offersEvent, spec, subscribed, update } from '../scheduler/helpers.js';

const T0 = Date.UTC(2026, 0, 1);

class Loop {
  s: SchedulerState = createState();
  now = T0;
  m: MaintenanceState | undefined;
  /** Mesos-side: what each launched task will do next. */
  private running = new Map<string, number>(); // task id -> time it reports RUNNING
  private killing = new Map<string, number>(); // task id -> time it reports KILLED
  readonly hosts: string[];
  minUp = new Map<string, number>();
  surges = 0;
  kills = 0;
  acceptedWithTasks = 0;

  constructor(nHosts: number) {
    this.hosts = Array.from({ length: nHosts }, (_, i) => `h${i}`);
    this.apply(onEvent(this.s, subscribed(), this.now).calls);
  }

  cmd(c: SchedulerCommand): void {
    this.apply(applyCommand(this.s, c, this.now).calls);
  }

  ev(e: Event): void {
    this.apply(onEvent(this.s, e, this.now).calls);
  }

  private apply(calls: Call[]): void {
    for (const c of calls) {
      if (c.type === 'ACCEPT') {
        for (const op of c.accept!.operations ?? []) for (const t of op.launch?.task_infos ?? []) this.running.set(t.task_id.value, this.now + 20_000);
      } else if (c.type === 'KILL') {
        this.killing.set(c.kill!.task_id.value, this.now + 3_000);
      }
    }
  }

  /** Advance `ms`, delivering due task updates and fresh offers from hosts that are UP. */
  step(ms: number): void {
    this.now += ms;
    for (const [id, at] of [...this.running]) {
      if (at > this.now) continue;
      this.running.delete(id);
      const t = this.s.tasks.get(id);
      if (t && !this.killing.has(id)) this.ev(update(id, 'TASK_RUNNING', { agent: t.agent_id }));
    }
    for (const [id, at] of [...this.killing]) {
      if (at > this.now) continue;
      this.killing.delete(id);
      const t = this.s.tasks.get(id);
      if (t) this.ev(update(id, 'TASK_KILLED', { agent: t.agent_id }));
    }
    this.apply(onTick(this.s, this.now).calls);
    this.ev(offersEvent(this.hosts.map((h) => offer(`agent-${h}`, h, { cpus: 8, mem: 8192, rack: `r${Number(h.slice(1)) % 3}` }))));
  }

  /** Puts hosts in maintenance (their window taken by the master) and starts the maintenance loop. */
  maintain(records: HostRecord[], mbb: boolean): void {
    this.m = initialState({ drain: { startup_estimate_ms: 20_000, kill_estimate_ms: 3_000, make_before_break: mbb } });
    const posted = records.map((r) => ({ ...r, schedule_posted_ms: this.now }));
    for (const c of reduce(this.m, { kind: 'loaded', records: posted, pending: [], sched: this.s }, this.now).commands) this.cmd(c);
  }

  get records(): Map<string, HostRecord> {
    return this.m!.records;
  }

  /** One tick of the maintenance loop, its scheduler commands applied as the runtime applies them. */
  drain(mbb: boolean): void {
    const step = reduce(this.m!, { kind: 'tick', sched: this.s }, this.now);
    for (const c of step.commands) {
      if (c.type === 'kill_tasks') this.kills += c.task_ids.length;
      if (c.type === 'surge_instances') this.surges += c.orders.length;
      this.cmd(c);
    }
    if (!mbb) expect(step.commands.filter((c) => c.type === 'surge_instances')).to.deep.equal([]);
    // ground truth from the scheduler's own rows: SLA after this step's kills
    const rows = workloadRows(this.s);
    for (const j of workloadJobs(this.s)) {
      const D = durationMs(j);
      const up = new Set(rows.filter((r) => r.job === j.name && r.state === 'TASK_RUNNING' && r.kill_requested_ms === undefined && r.running_since_ms! <= this.now - D).map((r) => r.index)).size;
      this.minUp.set(j.name, Math.min(this.minUp.get(j.name) ?? Infinity, up - requiredUp(j)));
    }
    // inverse offers: the policy never accepts with a task of ours on the agent
    for (const rec of this.records.values()) {
      const n = rows.filter((r) => r.hostname !== undefined && hostKey(r.hostname) === hostKey(rec.hostname) && r.state !== 'PENDING').length;
      const d = decideInverseOffer(rec.window!, { tasks_on_agent: n }, this.now);
      if (d.action === 'accept' && n > 0) this.acceptedWithTasks++;
    }
  }
}

describe('maintenance core in a closed loop with the scheduler reducer', () => {
  for (const mbb of [true, false]) {
    it(`drains a rack without breaking SLAs (${mbb ? 'make-before-break' : 'break-before-make only'})`, () => {
      const L = new Loop(9);
      L.cmd({ type: 'create_job', spec: spec('web', 12, { sla: { kind: 'percentage', percentage: 75, duration_seconds: 60 } }) });
      // db: all 3 must stay up — only make-before-break can move it; without it, 2 of 3
      L.cmd({ type: 'create_job', spec: spec('db', 3, { sla: { kind: 'count', count: mbb ? 3 : 2, duration_seconds: 30 }, constraints: { host_unique: true } }) });
      L.cmd({ type: 'create_job', spec: spec('batch', 6) });
      for (let i = 0; i < 10; i++) L.step(10_000);
      expect(workloadRows(L.s).every((r) => r.state === 'TASK_RUNNING')).to.equal(true);
      // rack r0 = h0, h3, h6
      const inventory = L.hosts.map((h, i) => ({ hostname: h, ip: `10.0.0.${i}`, agent_id: `agent-${h}`, rack: `r${i % 3}` }));
      const rack = ['h0', 'h3', 'h6'];
      L.maintain(startMaintenance(new Map(), { hosts: rack, group_by: 'rack' }, inventory, L.now, 'req').records, mbb);
      const onRack = () => workloadRows(L.s).filter((r) => r.hostname !== undefined && rack.includes(r.hostname) && r.state !== 'TASK_KILLED').length;
      expect(onRack()).to.be.greaterThan(0);
      for (let i = 0; i < 200 && [...L.records.values()].some((r) => r.state !== 'DRAINED'); i++) {
        L.drain(mbb);
        L.step(5_000);
      }
      expect([...L.records.values()].map((r) => r.state)).to.deep.equal(['DRAINED', 'DRAINED', 'DRAINED']);
      expect(onRack()).to.equal(0);
      for (const [job, b] of L.minUp) expect(b, job).to.be.at.least(0);
      expect(L.acceptedWithTasks).to.equal(0);
      // every instance runs elsewhere
      for (let i = 0; i < 10; i++) L.step(10_000);
      const rows = workloadRows(L.s);
      expect(rows.every((r) => r.state === 'TASK_RUNNING' && !rack.includes(r.hostname!))).to.equal(true);
      expect(rows.length).to.equal(21);
      expect(L.kills).to.be.at.least(7); // every task that was on the rack
      expect([...L.minUp.keys()].sort()).to.deep.equal(['batch', 'db', 'web']);
      if (mbb) expect(L.surges).to.be.at.least(1); // db (3 of 3 required) can only move this way
      else expect(L.surges).to.equal(0);
      if (process.env.SLUICE_TEST_VERBOSE) console.log({ kills: L.kills, surges: L.surges, minUp: [...L.minUp], t: (L.now - T0) / 1000 });
    });
  }
});
