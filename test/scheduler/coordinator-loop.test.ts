/**
 * Coordinator policies, loop side: the real scheduler reducer (one approval book for drains and
 * rolling updates) and the maintenance loop's reducer in a closed loop; the scheduler steps'
 * coordinator I/O requests run by the real I/O edge (src/coordinator/edge.ts, the real
 * CoordinatorClient) against a real loopback HTTP coordinator, and the answers fed back as the
 * `coordinator_answer` command — as the runtime and src/app/coordinator.ts do. The coordinator says
 * yes, no, times out or answers garbage; nothing of the job is killed without a yes, by a drain or
 * by a rolling update. (Over Sluice's HTTP API and the simulator: test/e2e/coordinator.test.ts.)
 */
import { expect } from 'chai';
import type { Call, Event } from '../../src/mesos/types.js';
import { applyCommand, jobView, onEvent, onTick, type SchedulerCommand, type StepResult } from '../../src/scheduler/reducer.js';
import { createState, type SchedulerState } from '../../src/scheduler/state.js';
import { workloadRows } from '../../src/scheduler/workload-rows.js';
import { startMaintenance } from '../../src/maintenance/core/host-state.js';
import { reduce } from '../../src/maintenance/core/loop.js';
import { initialState, type MaintenanceState, type MaintenanceStep } from '../../src/maintenance/core/loop-state.js';
import { CoordinatorEdge, type CoordinatorFeedback } from '../../src/coordinator/index.js';
import type { AnySlaPolicy } from '../../src/sla/index.js';
import { offer, offersEvent, spec, subscribed, update } from './helpers.js';
import { LoopbackCoordinator } from '../helpers/coordinator-server.js';

class Loop {
  s: SchedulerState = createState();
  now = Date.UTC(2026, 0, 1);
  m: MaintenanceState = initialState({ drain: { make_before_break: false } });
  killed: string[] = [];
  /** Fewest instances of the job RUNNING without a kill requested, seen after each step. */
  minRunning = Infinity;
  /** Kills requested by the scheduler (KILL calls), in order. */
  kills: string[] = [];
  private readonly inbox: CoordinatorFeedback[] = [];
  readonly edge = new CoordinatorEdge();

  constructor(readonly hosts: string[]) {
    this.edge.attach(async (a) => void this.inbox.push(a));
    this.apply(onEvent(this.s, subscribed(), this.now));
  }

  /** A scheduler step's calls (launches run at once) and I/O (the edge asks the coordinator). */
  private apply(r: StepResult): void {
    for (const c of r.calls as Call[]) {
      if (c.type === 'ACCEPT') for (const op of c.accept!.operations ?? []) for (const t of op.launch?.task_infos ?? []) this.ev(update(t.task_id.value, 'TASK_RUNNING', { agent: t.agent_id.value }));
      if (c.type === 'KILL') this.kills.push(c.kill!.task_id.value);
    }
    if (r.io) this.edge.run(r.io);
    const running = new Set(workloadRows(this.s).filter((x) => x.state === 'TASK_RUNNING' && x.kill_requested_ms === undefined).map((x) => x.index));
    this.minRunning = Math.min(this.minRunning, running.size);
  }
  cmd(c: SchedulerCommand): void {
    this.apply(applyCommand(this.s, c, this.now));
  }
  ev(e: Event): void {
    this.apply(onEvent(this.s, e, this.now));
  }
  step(ms: number): void {
    this.now += ms;
    this.apply(onTick(this.s, this.now));
    this.ev(offersEvent(this.hosts.map((h) => offer(`agent-${h}`, h, { cpus: 8, mem: 8192 }))));
  }
  take(step: MaintenanceStep): void {
    for (const c of step.commands) {
      if (c.type === 'kill_tasks') this.killed.push(...c.task_ids);
      this.cmd(c);
    }
  }
  /** Every coordinator answer so far fed back into the scheduler (as the runtime does). */
  async answers(): Promise<void> {
    await this.edge.settled();
    for (const a of this.inbox.splice(0)) this.cmd({ type: 'coordinator_answer', question: a.question, allow: a.allow, ...(a.reason !== undefined ? { reason: a.reason } : {}) });
  }
  /** A maintenance tick (its questions go through the scheduler), the answers, and a tick that uses them. */
  async tick(): Promise<void> {
    this.take(reduce(this.m, { kind: 'tick', sched: this.s }, this.now));
    await this.answers();
    this.take(reduce(this.m, { kind: 'tick', sched: this.s }, this.now));
  }
  /** Kill reports: every task with a kill requested ends KILLED. */
  killedDone(): void {
    for (const t of [...this.s.tasks.values()]) if (t.kill) this.ev(update(t.task_id, 'TASK_KILLED', { agent: t.agent_id }));
  }
}

describe('coordinator policies through the maintenance loop and a real loopback coordinator', function () {
  this.timeout(30_000);
  const coord = new LoopbackCoordinator(30);
  before(() => coord.start());
  after(() => coord.stop());

  async function setup(policy: (url: string) => AnySlaPolicy): Promise<Loop> {
    const L = new Loop(['h0', 'h1', 'h2', 'h3']);
    L.cmd({ type: 'create_job', spec: spec('kafka', 4, { constraints: { host_unique: true } }) });
    for (let i = 0; i < 5; i++) L.step(10_000);
    L.s.jobs.get('kafka')!.spec.sla = policy(coord.url) as never;
    expect(workloadRows(L.s).filter((r) => r.state === 'TASK_RUNNING')).to.have.length(4);
    const inv = L.hosts.map((h, i) => ({ hostname: h, ip: `10.0.0.${i}`, agent_id: `agent-${h}`, rack: 'r0' }));
    const recs = startMaintenance(new Map(), { hosts: ['h0', 'h1'] }, inv, L.now, 'req').records.map((r) => ({ ...r, schedule_posted_ms: L.now }));
    for (const c of reduce(L.m, { kind: 'loaded', records: recs, pending: [], sched: L.s }, L.now).commands) L.cmd(c);
    coord.questions.length = 0;
    L.minRunning = Infinity;
    return L;
  }

  for (const mode of ['no', 'timeout', 'garbage'] as const) {
    it(`coordinator ${mode === 'no' ? 'says no' : mode === 'timeout' ? 'times out' : 'answers garbage'} → nothing of the job is killed`, async () => {
      coord.mode = mode;
      const L = await setup((url) => ({ kind: 'coordinator', url, timeout_seconds: 0.3 }));
      for (let i = 0; i < 4; i++) {
        await L.tick();
        L.step(20_000);
      }
      expect(L.killed).to.deep.equal([]);
      expect(coord.questions.length).to.be.at.least(2); // asked again after the retry time
      expect(coord.questions[0]!.body).to.include({ job: 'kafka', host: 'h0', reason: 'drain' });
      const blockers = L.m.lastProgress.find((p) => p.hostname === 'h0')!.blockers.map((b) => b.reason).join(' | ');
      expect(blockers).to.match(/coordinator (said no|did not answer|answer is not valid JSON)/);
      expect(workloadRows(L.s).filter((r) => r.state === 'TASK_RUNNING')).to.have.length(4);
    });
  }

  it('coordinator says yes → the hosts drain, one instance at a time, each asked about first', async () => {
    coord.mode = 'yes';
    const L = await setup((url) => ({ kind: 'count', count: 3, duration_seconds: 0, coordinator: { url, timeout_seconds: 2 } }));
    L.hosts.push('h4', 'h5'); // room for the replacements
    for (let i = 0; i < 20 && [...L.m.records.values()].some((r) => r.state !== 'DRAINED'); i++) {
      await L.tick();
      L.step(5_000);
      // the scheduler reports the kill as done at the next step
      L.killedDone();
    }
    expect([...L.m.records.values()].map((r) => r.state)).to.deep.equal(['DRAINED', 'DRAINED']);
    expect(L.killed).to.have.length(2);
    // never two of them down at once: the second was asked about once the first one's replacement ran
    expect(L.minRunning).to.be.at.least(3);
    const asked = coord.questions.map((q) => q.body['task_id']);
    for (const id of L.killed) expect(asked).to.include(id);
  });

  /** kafka, 4 instances one per host, RUNNING; then its command changes (a rolling update, batch 4). */
  async function rolling(policy: (url: string) => AnySlaPolicy, hosts = ['h0', 'h1', 'h2', 'h3'], before?: (L: Loop) => void): Promise<Loop> {
    const L = new Loop(hosts);
    const sla = policy(coord.url);
    L.cmd({ type: 'create_job', spec: spec('kafka', 4, { constraints: { host_unique: true }, sla: sla as never, update_batch_size: 4 }) });
    for (let i = 0; i < 5; i++) L.step(10_000);
    expect(workloadRows(L.s).filter((r) => r.state === 'TASK_RUNNING')).to.have.length(4);
    expect(L.kills).to.deep.equal([]);
    coord.questions.length = 0;
    coord.maxOpen = 0;
    L.minRunning = Infinity;
    before?.(L);
    L.cmd({ type: 'update_job', spec: spec('kafka', 4, { constraints: { host_unique: true }, sla: sla as never, update_batch_size: 4, command: { value: 'sleep 2000', shell: true } }) });
    return L;
  }

  for (const mode of ['no', 'timeout', 'garbage'] as const) {
    it(`rolling update: coordinator ${mode === 'no' ? 'says no' : mode === 'timeout' ? 'times out' : 'answers garbage'} → no instance is replaced, and job get says why`, async () => {
      coord.mode = mode;
      const L = await rolling((url) => ({ kind: 'coordinator', url, timeout_seconds: 0.3 }));
      for (let i = 0; i < 4; i++) {
        await L.answers();
        L.step(20_000);
      }
      await L.answers();
      expect(L.kills).to.deep.equal([]);
      expect(coord.questions.length).to.be.at.least(2);
      expect(Object.keys(coord.questions[0]!.body).sort()).to.deep.equal(['host', 'instance', 'job', 'reason', 'task_id']);
      expect(coord.questions[0]!.body).to.include({ job: 'kafka', instance: 0, reason: 'update' });
      const v = jobView(L.s, 'kafka', L.now)!;
      expect(v.outdated).to.equal(4);
      expect(v.update_wait).to.match(/job kafka: (coordinator (said no|did not answer|answer is not valid JSON)|asking its coordinator)/);
      const noted = v.instances.filter((i) => i.coordinator);
      expect(noted).to.have.length(1); // one instance asked about at a time
    });
  }

  it('rolling update: coordinator says yes → instances are replaced one at a time, each asked about first, though the batch is 4', async () => {
    coord.mode = 'yes';
    const L = await rolling((url) => ({ kind: 'coordinator', url, timeout_seconds: 2 }), ['h0', 'h1', 'h2', 'h3']);
    for (let i = 0; i < 30 && jobView(L.s, 'kafka', L.now)!.outdated > 0; i++) {
      await L.answers();
      L.killedDone();
      L.step(5_000);
    }
    const v = jobView(L.s, 'kafka', L.now)!;
    expect(v.outdated).to.equal(0);
    expect(v.counts).to.deep.equal({ TASK_RUNNING: 4 });
    expect(L.kills).to.have.length(4);
    expect(L.minRunning).to.equal(3);
    const asked = coord.questions.map((q) => q.body['task_id']);
    for (const id of L.kills) expect(asked).to.include(id);
    expect(coord.questions.every((q) => q.body['reason'] === 'update')).to.equal(true);
    expect(coord.maxOpen).to.equal(1);
  });

  it('a drain and a rolling update of the same job at once: one question at a time for both, never two instances down', async () => {
    coord.mode = 'yes';
    // the drain of h2 and h3 starts first and asks about instance 2; the update (instances 0 to 3 in
    // order) wants instance 0 at once: it must wait for the drain's question, and the other way round
    const L = await rolling((url) => ({ kind: 'coordinator', url, timeout_seconds: 2 }), ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'], (L) => {
      const inv = L.hosts.map((h, i) => ({ hostname: h, ip: `10.0.0.${i}`, agent_id: `agent-${h}`, rack: 'r0' }));
      const recs = startMaintenance(new Map(), { hosts: ['h2', 'h3'] }, inv, L.now, 'req').records.map((r) => ({ ...r, schedule_posted_ms: L.now }));
      for (const c of reduce(L.m, { kind: 'loaded', records: recs, pending: [], sched: L.s }, L.now).commands) L.cmd(c);
      L.take(reduce(L.m, { kind: 'tick', sched: L.s }, L.now));
      expect([...L.s.coordinator.asked.keys()]).to.deep.equal([L.s.instances.get('kafka')!.get(2)!.task_id]); // the drain's question is out
    });
    for (let i = 0; i < 40 && (jobView(L.s, 'kafka', L.now)!.outdated > 0 || [...L.m.records.values()].some((r) => r.state !== 'DRAINED')); i++) {
      await L.tick();
      await L.answers();
      L.killedDone();
      L.step(5_000);
    }
    expect(jobView(L.s, 'kafka', L.now)!.outdated).to.equal(0);
    expect([...L.m.records.values()].map((r) => r.state)).to.deep.equal(['DRAINED', 'DRAINED']);
    expect(L.minRunning).to.equal(3);
    expect(coord.maxOpen).to.equal(1);
    const causes = new Set(coord.questions.map((q) => q.body['reason']));
    expect(causes).to.deep.equal(new Set(['drain', 'update']));
    const asked = coord.questions.map((q) => q.body['task_id']);
    for (const id of L.kills) expect(asked).to.include(id);
  });
});
