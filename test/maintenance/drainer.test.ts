import { expect } from 'chai';
import { planDrain, hostProgress, estimateDrain, planSummary, type DrainView, type JobView, type AgentCapacity } from '../../src/maintenance/core/drainer.js';
import { startMaintenance, transition, type HostRecord } from '../../src/maintenance/core/host-state.js';
import type { SlaInstance } from '../../src/maintenance/core/sla.js';
import { simulateDrain } from '../../src/maintenance/core/simulate.js';
import { HOUR, MIN, T0, count, draining, inventory, pct, runningRows, simHosts } from './helpers.js';

const inv = inventory(20, 4);
const OTHERS = inv.slice(2).map((h) => h.hostname);
const lots: AgentCapacity[] = OTHERS.map((h) => ({ hostname: h, cpus: 100, mem: 100_000 }));

/** web: 100 instances, 95% over 1800 s; 20 of them on h0 (draining), the rest elsewhere. */
function webScenario(): { job: JobView; rows: SlaInstance[] } {
  const job = pct('web', 100, 95, 1800);
  const rows = runningRows('web', 100, OTHERS);
  for (let i = 0; i < 20; i++) rows[i]!.hostname = 'h0';
  return { job, rows };
}

function view(records: HostRecord[], jobs: JobView[], rows: SlaInstance[], capacity?: AgentCapacity[]): DrainView {
  const v: DrainView = { hosts: records, jobs, instances: rows };
  if (capacity) v.capacity = capacity;
  return v;
}

describe('drainer: planDrain', () => {
  it('kills no more than the SLA budget and says until when the job waits (break before make)', () => {
    const { job, rows } = webScenario();
    const plan = planDrain(view(draining(['h0'], inv), [job], rows), T0, { make_before_break: false });
    expect(plan.kills).to.have.length(5);
    expect(plan.kills.every((k) => k.reason === 'sla-budget' && k.hostname === 'h0' && k.job === 'web')).to.equal(true);
    expect(plan.makeBeforeBreak).to.deep.equal([]);
    expect(plan.waits).to.have.length(1);
    expect(plan.waits[0]!.tasks).to.equal(15);
    expect(plan.waits[0]!.reason).to.equal(
      'job web: SLA 95% over 1800s allows 0 more down until 1 replacement starts and runs 1800s (5 of 100 down: 5 killing)',
    );
    const p = plan.progress.find((x) => x.hostname === 'h0')!;
    expect(p.tasks_left).to.equal(20);
    expect(p.killing).to.equal(5);
    expect(p.blockers[0]!.job).to.equal('web');
    expect(p.blockers[0]!.tasks).to.equal(15);
    expect(plan.next_wakeup_ms).to.equal(undefined); // the next step comes with task updates
  });

  it('counts kills in flight: the next plan kills nothing until replacements have aged', () => {
    const { job, rows } = webScenario();
    const recs = draining(['h0'], inv);
    const first = planDrain(view(recs, [job], rows), T0, { make_before_break: false });
    const killed = new Set(first.kills.map((k) => k.task_id));
    for (const r of rows) if (killed.has(r.task_id!)) r.kill_requested_ms = T0;
    const again = planDrain(view(recs, [job], rows), T0 + 1000, { make_before_break: false });
    expect(again.kills).to.deep.equal([]);
    expect(again.next_wakeup_ms).to.equal(T0 + 60_000); // kill retry check
    // replacements run elsewhere: budget refills when they have aged 1800 s
    for (const r of rows) {
      if (!killed.has(r.task_id!)) continue;
      r.state = 'TASK_KILLED';
      rows.push({ job: 'web', index: r.index, task_id: `${r.task_id}-b`, hostname: 'h5', state: 'TASK_RUNNING', running_since_ms: T0 + MIN });
    }
    const waiting = planDrain(view(recs, [job], rows), T0 + 2 * MIN, { make_before_break: false });
    expect(waiting.kills).to.deep.equal([]);
    expect(waiting.waits[0]!.until_ms).to.equal(T0 + 31 * MIN);
    expect(waiting.waits[0]!.reason).to.equal('job web: SLA 95% over 1800s allows 0 more down until 12:31:00Z (5 of 100 down: 5 running < 1800s)');
    expect(waiting.next_wakeup_ms).to.equal(T0 + 31 * MIN);
    expect(planDrain(view(recs, [job], rows), T0 + 31 * MIN, { make_before_break: false }).kills).to.have.length(5);
  });

  it('re-sends a kill that stayed pending longer than kill_retry_ms, without spending budget', () => {
    const { job, rows } = webScenario();
    rows[0]!.kill_requested_ms = T0 - 2 * MIN;
    const plan = planDrain(view(draining(['h0'], inv), [job], rows), T0, { make_before_break: false });
    const retry = plan.kills.filter((k) => k.reason === 'retry');
    expect(retry.map((k) => k.task_id)).to.deep.equal(['web-0']);
    expect(plan.kills.filter((k) => k.reason === 'sla-budget')).to.have.length(4); // 1 already down
  });

  it('kills tasks that are not running for free; a young running task only while the job keeps its SLA', () => {
    const { job, rows } = webScenario();
    for (let i = 20; i < 23; i++) rows[i]!.running_since_ms = T0 - MIN; // 3 young tasks elsewhere
    rows[0]!.running_since_ms = T0 - MIN; // a young task on the draining host
    rows[1]!.state = 'TASK_STARTING'; // 95 up: the job is at its SLA, budget 0
    const plan = planDrain(view(draining(['h0'], inv), [job], rows), T0, { make_before_break: false });
    expect(plan.kills.map((k) => `${k.task_id}:${k.reason}`)).to.have.members(['web-0:not-up', 'web-1:not-up']);
    // one more young task elsewhere: 94 up < 95 required — the young task on h0 must stay
    rows[23]!.running_since_ms = T0 - MIN;
    const below = planDrain(view(draining(['h0'], inv), [job], rows), T0, { make_before_break: false });
    expect(below.kills.map((k) => `${k.task_id}:${k.reason}`)).to.deep.equal(['web-1:not-up']);
    const w = below.waits.find((x) => x.job === 'web')!;
    expect(w.tasks).to.equal(19);
    expect(w.reason).to.match(/below its SLA \(94 up < 95 required\)/);
    expect(w.reason).to.match(/1 task\(s\) here running < 1800s may go once the job is back at its SLA \(12:29:00Z\)/);
    expect(w.until_ms).to.equal(T0 + 29 * MIN);
  });

  it('fast path: when the budget covers every task left, kills them all at once', () => {
    const job = pct('web', 100, 80, 1800);
    const rows = runningRows('web', 100, OTHERS);
    for (let i = 0; i < 20; i++) rows[i]!.hostname = 'h0';
    const plan = planDrain(view(draining(['h0'], inv), [job], rows, lots), T0);
    expect(plan.kills).to.have.length(20);
    expect(plan.makeBeforeBreak).to.deep.equal([]);
  });

  it('make before break: with spare capacity, replaces first instead of spending the budget', () => {
    const { job, rows } = webScenario();
    const plan = planDrain(view(draining(['h0'], inv), [job], rows, lots), T0);
    expect(plan.kills).to.deep.equal([]);
    expect(plan.makeBeforeBreak).to.have.length(20);
    expect(plan.makeBeforeBreak[0]).to.include({ job: 'web', hostname: 'h0' });
    expect(plan.waits[0]!.reason).to.match(/make-before-break: 20 replacement\(s\) 20 starting/);
    expect(plan.progress.find((p) => p.hostname === 'h0')!.replacing).to.equal(20);
  });

  it('make before break: kills the old task once its replacement is up, waits while it ages', () => {
    const { job, rows } = webScenario();
    const recs = draining(['h0'], inv);
    for (let i = 0; i < 20; i++) {
      rows.push({ job: 'web', index: i, task_id: `web-${i}-s`, hostname: 'h7', state: 'TASK_RUNNING', running_since_ms: T0 + MIN, surge: true });
    }
    const mid = planDrain(view(recs, [job], rows, lots), T0 + 10 * MIN);
    expect(mid.kills).to.deep.equal([]);
    expect(mid.makeBeforeBreak).to.deep.equal([]); // no second surge
    expect(mid.waits[0]!.until_ms).to.equal(T0 + 31 * MIN);
    expect(mid.next_wakeup_ms).to.equal(T0 + 31 * MIN);
    const done = planDrain(view(recs, [job], rows, lots), T0 + 31 * MIN);
    expect(done.kills).to.have.length(20);
    expect(done.kills.every((k) => k.reason === 'replacement-up')).to.equal(true);
  });

  it('make before break with little capacity: surges what fits, spends the budget on the rest', () => {
    const { job, rows } = webScenario();
    const cap: AgentCapacity[] = [{ hostname: 'h5', cpus: 10, mem: 100_000 }];
    const plan = planDrain(view(draining(['h0'], inv), [job], rows, cap), T0);
    expect(plan.makeBeforeBreak).to.have.length(10);
    expect(plan.kills).to.have.length(5);
    expect(new Set([...plan.makeBeforeBreak.map((s) => s.instance), ...plan.kills.map((k) => k.instance)]).size).to.equal(15);
  });

  it('reserves capacity for pending replacements, ignores capacity on hosts in maintenance, honours host_unique', () => {
    const { job, rows } = webScenario();
    const recs = draining(['h0', 'h1'], inv);
    for (let i = 0; i < 8; i++) rows.push({ job: 'other', index: i, state: 'PENDING' });
    const other: JobView = { name: 'other', instances: 8, resources: { cpus: 1, mem: 128 } };
    const cap: AgentCapacity[] = [{ hostname: 'h5', cpus: 10, mem: 100_000 }, { hostname: 'h1', cpus: 100, mem: 100_000 }];
    const plan = planDrain(view(recs, [job, other], rows, cap), T0);
    expect(plan.makeBeforeBreak).to.have.length(2);
    const uniq: JobView = { ...pct('u', 4, 100, 60), host_unique: true };
    const urows = runningRows('u', 4, ['h0', 'h5', 'h6', 'h7']);
    const up = planDrain(view(recs, [uniq], urows, [{ hostname: 'h5', cpus: 8, mem: 8192 }, { hostname: 'h6', cpus: 8, mem: 8192 }]), T0);
    expect(up.makeBeforeBreak).to.deep.equal([]); // every host with room already runs an instance of u
    expect(up.waits[0]!.reason).to.match(/no spare capacity for make-before-break/);
    const ok = planDrain(view(recs, [uniq], urows, [{ hostname: 'h9', cpus: 8, mem: 8192 }]), T0);
    expect(ok.makeBeforeBreak).to.have.length(1);
  });

  it('a 100% SLA never breaks: without capacity the job waits forever and says why', () => {
    const job = count('db', 3, 3, 600);
    const rows = runningRows('db', 3, ['h0', 'h5', 'h6']);
    const plan = planDrain(view(draining(['h0'], inv), [job], rows), T0);
    expect(plan.kills).to.deep.equal([]);
    expect(plan.waits[0]!.reason).to.match(/SLA 3 up over 600s allows 0 more down ever/);
    const est = estimateDrain(view(draining(['h0'], inv), [job], rows), T0);
    expect(est.get('h0')).to.equal(Infinity);
  });

  it('kills everything of jobs without SLA', () => {
    const job: JobView = { name: 'batch', instances: 5 };
    const rows = runningRows('batch', 5, ['h0']);
    const plan = planDrain(view(draining(['h0'], inv), [job], rows), T0);
    expect(plan.kills.map((k) => k.reason)).to.deep.equal(['no-sla', 'no-sla', 'no-sla', 'no-sla', 'no-sla']);
  });

  it('only touches tasks on DRAINING hosts (not SCHEDULED, not UP)', () => {
    const job: JobView = { name: 'batch', instances: 6 };
    const rows = runningRows('batch', 6, ['h0', 'h1', 'h2']);
    const recs = startMaintenance(new Map(), { hosts: ['h0', 'h1'], max_parallel: 1 }, inv, T0, 'r').records;
    const plan = planDrain(view(recs, [job], rows), T0);
    expect(new Set(plan.kills.map((k) => k.hostname))).to.deep.equal(new Set(['h0']));
    const p1 = plan.progress.find((p) => p.hostname === 'h1')!;
    expect(p1.state).to.equal('SCHEDULED');
    expect(p1.blockers[0]!.reason).to.match(/queued: 1 of max 1 hosts of request r draining/);
  });

  it('marks empty hosts DRAINED, admits the next queued host, and sends a drained host with tasks back to DRAINING', () => {
    const recs = startMaintenance(new Map(), { hosts: ['h0', 'h1'], max_parallel: 1 }, inv, T0, 'r').records;
    const plan = planDrain(view(recs, [], []), T0);
    // h0 is empty → DRAINED, which frees the slot for h1 in the same step
    expect(plan.transitions.map((t) => `${t.hostname}:${t.from}>${t.to}`)).to.deep.equal(['h0:DRAINING>DRAINED', 'h1:SCHEDULED>DRAINING', 'h1:DRAINING>DRAINED']);
    const after = recs.map((r) => (r.hostname === 'h0' ? transition(r, 'DRAINED', T0, 'empty') : r));
    const rows = runningRows('batch', 1, ['h0']);
    const back = planDrain(view(after, [{ name: 'batch', instances: 1 }], rows), T0 + 2);
    expect(back.transitions.map((t) => `${t.hostname}:${t.from}>${t.to}`)).to.include('h0:DRAINED>DRAINING');
    // re-entry goes through admission: h0 takes the request's one slot again (h1 still waits)
    expect(back.transitions.find((t) => t.hostname === 'h0')!.reason).to.equal('1 task(s) of ours found on the drained host; slot 1 of 1');
    expect(back.kills).to.have.length(1);
  });

  it('timeout without --force: notice only; with --force: kills what is left, SLA or not', () => {
    const { job, rows } = webScenario();
    const soft = draining(['h0'], inv, T0, { timeout_ms: 10 * MIN });
    const before = planDrain(view(soft, [job], rows), T0 + 5 * MIN, { make_before_break: false });
    expect(before.timeouts).to.deep.equal([]);
    expect(before.next_wakeup_ms).to.equal(T0 + 10 * MIN);
    const p1 = planDrain(view(soft, [job], rows), T0 + 10 * MIN, { make_before_break: false });
    expect(p1.timeouts).to.deep.equal([{ hostname: 'h0', deadline_ms: T0 + 10 * MIN, forced: false, tasks_left: 20 }]);
    expect(p1.kills).to.have.length(5);
    const hard = draining(['h0'], inv, T0, { timeout_ms: 10 * MIN, force: true });
    const p2 = planDrain(view(hard, [job], rows), T0 + 10 * MIN, { make_before_break: false });
    expect(p2.timeouts[0]!.forced).to.equal(true);
    expect(p2.kills).to.have.length(20);
    expect(p2.kills.every((k) => k.reason === 'forced')).to.equal(true);
    expect(p2.kills[19]!.detail).to.match(/breaks SLA 95% over 1800s/);
  });

  it('a kill cap limits kills per step and asks to be called again', () => {
    const job: JobView = { name: 'batch', instances: 10 };
    const plan = planDrain(view(draining(['h0'], inv), [job], runningRows('batch', 10, ['h0'])), T0, { max_kills: 3 });
    expect(plan.kills).to.have.length(3);
    expect(plan.waits[0]!.reason).to.match(/kill cap/);
    expect(plan.next_wakeup_ms).to.equal(T0);
  });

  it('spends a job budget on hosts earlier in the request first (racks in order), fewest tasks first', () => {
    const job = pct('web', 100, 97, 600);
    const rows = runningRows('web', 100, inv.slice(3).map((h) => h.hostname));
    rows[0]!.hostname = 'h1';
    for (let i = 1; i < 4; i++) rows[i]!.hostname = 'h0';
    for (let i = 4; i < 6; i++) rows[i]!.hostname = 'h2';
    // h0 (rack r0) first in the request, then h1 (r1), h2 (r2); budget 3
    const recs = startMaintenance(new Map(), { hosts: ['h2', 'h0', 'h1'], group_by: 'rack' }, inv, T0, 'r').records;
    const plan = planDrain(view(recs, [job], rows), T0, { make_before_break: false });
    expect(plan.kills.map((k) => k.hostname)).to.deep.equal(['h2', 'h2', 'h0']);
  });

  it('visits the job with the longest drain first (capacity goes to the critical path)', () => {
    const slow = pct('slow', 100, 99, 3600);
    const fast = pct('fast', 100, 99, 60);
    const rows = [...runningRows('slow', 100, OTHERS), ...runningRows('fast', 100, OTHERS)];
    for (const r of rows) if (r.index < 10) r.hostname = 'h0';
    const plan = planDrain(view(draining(['h0'], inv), [fast, slow], rows, [{ hostname: 'h9', cpus: 10, mem: 10_000 }]), T0);
    expect(plan.makeBeforeBreak.every((s) => s.job === 'slow')).to.equal(true);
    expect(plan.makeBeforeBreak).to.have.length(10); // all of slow's fit; fast gets what its budget allows
    expect(plan.kills.map((k) => k.job)).to.deep.equal(['fast']);
  });

  it('hostProgress and planSummary describe the drain', () => {
    const { job, rows } = webScenario();
    const v = view(draining(['h0'], inv), [job], rows);
    const prog = hostProgress(v, T0, { make_before_break: false });
    expect(prog).to.have.length(1);
    expect(prog[0]!.estimated_empty_ms).to.be.greaterThan(T0 + HOUR);
    expect(planSummary(planDrain(v, T0, { make_before_break: false }))).to.match(/^1 host\(s\) draining, 20 task\(s\) left: 5 kill\(s\), 0 make-before-break, 1 job\(s\) waiting/);
  });

  it('is pure: the same view and time give the same plan, and the view is not mutated', () => {
    const { job, rows } = webScenario();
    const recs = draining(['h0'], inv);
    const snap = JSON.stringify({ recs, rows });
    const a = planDrain(view(recs, [job], rows, lots), T0);
    const b = planDrain(view(recs, [job], rows, lots), T0);
    expect(a).to.deep.equal(b);
    expect(JSON.stringify({ recs, rows })).to.equal(snap);
  });
});

describe('drainer in the simulator: the seeds’ example', () => {
  // 100 instances with 95% over 30 min; 20 of them on the drained rack. Replacements start in 30 s,
  // kills take 5 s. Break before make: 4 waves of 5, each wave waits 5 s + 30 s + 1800 s.
  const hosts = simHosts(10, 5);
  const job = pct('web', 100, 95, 1800);
  const rows = runningRows('web', 100, hosts.map((h) => h.hostname));
  const drained = ['h0', 'h5'];
  const R = 5_000 + 30_000 + 1_800_000;

  it('break before make: exactly the SLA-wave bound, never below 95 up', () => {
    const res = simulateDrain({
      hosts, jobs: [job], rows, records: draining(drained, inventory(10, 5)), start_ms: T0, startup_ms: 30_000, kill_ms: 5_000,
      drain_options: { make_before_break: false }, check_all_jobs: true, check_inverse_offers: true,
    });
    expect(res.violations).to.deep.equal([]);
    expect(res.makespan_ms).to.equal(3 * R + 5_000);
    expect(res.min_budget_seen.get('web')).to.equal(0);
    expect(res.kills).to.equal(20);
  });

  it('make before break: one startup + duration, and the budget is never touched', () => {
    const res = simulateDrain({
      hosts, jobs: [job], rows, records: draining(drained, inventory(10, 5)), start_ms: T0, startup_ms: 30_000, kill_ms: 5_000,
      check_all_jobs: true, check_inverse_offers: true,
    });
    expect(res.violations).to.deep.equal([]);
    expect(res.makespan_ms).to.equal(R);
    expect(res.surges).to.equal(20);
    expect(res.min_budget_seen.get('web')).to.equal(5);
  });
});
