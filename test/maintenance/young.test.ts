/**
 * Issue 12, first section: young instances (RUNNING for less than the SLA duration) are protected.
 * The invariant (src/sla/kill.ts): no voluntary kill may leave fewer than the required instances
 * up, and a job below its SLA loses no running instance — it moves only by make-before-break.
 */
import { expect } from 'chai';
import { planDrain, estimateDrain, type DrainOptions, type DrainPlan, type DrainView, type JobView, type AgentCapacity } from '../../src/maintenance/core/drainer.js';
import { decideInverseOffer } from '../../src/maintenance/core/inverse-offers.js';
import { slaProbe } from '../../src/maintenance/core/probe.js';
import { startMaintenance, type HostRecord } from '../../src/maintenance/core/host-state.js';
import { simulateDrain } from '../../src/maintenance/core/simulate.js';
import { JobKillLedger, killAllowed, killCost, requiredUp, slaStatus, type SlaInstance } from '../../src/sla/index.js';
import { MIN, T0, count, inventory, pct, runningRows, simHosts } from './helpers.js';

const SEC = 1000;

function view(records: HostRecord[], jobs: JobView[], rows: SlaInstance[], capacity?: AgentCapacity[]): DrainView {
  const v: DrainView = { hosts: records, jobs, instances: rows };
  if (capacity) v.capacity = capacity;
  return v;
}

/** The answer to the inverse offer for `host`, as the runtime computes it: from the plan's progress. */
function answer(plan: DrainPlan, host: string, window: { start_ms: number }, now: number): ReturnType<typeof decideInverseOffer> {
  const p = plan.progress.find((x) => x.hostname === host)!;
  const ctx: Parameters<typeof decideInverseOffer>[1] = { tasks_on_agent: p.tasks_left };
  if (p.estimated_empty_ms !== undefined) ctx.estimated_empty_ms = p.estimated_empty_ms;
  return decideInverseOffer(window, ctx, now);
}

describe('SLA invariant: the cost of a voluntary kill', () => {
  const job = count('db', 4, 4, 600);

  it('classifies rows: not running → free; young → serving; the only up row → up; up elsewhere → free', () => {
    const old: SlaInstance = { job: 'db', index: 0, task_id: 'a', state: 'TASK_RUNNING', running_since_ms: T0 - 11 * MIN };
    const young: SlaInstance = { ...old, task_id: 'b', running_since_ms: T0 - MIN };
    expect(killCost(old, 600 * SEC, T0, 0)).to.equal('up');
    expect(killCost(old, 600 * SEC, T0, 1)).to.equal('free');
    expect(killCost(young, 600 * SEC, T0, 0)).to.equal('serving');
    expect(killCost(young, 600 * SEC, T0, 1)).to.equal('free');
    expect(killCost({ ...young, state: 'TASK_STAGING' }, 600 * SEC, T0, 0)).to.equal('free');
    expect(killCost({ ...young, state: 'TASK_FAILED' }, 600 * SEC, T0, 0)).to.equal('free');
    expect(killCost(young, 600 * SEC, T0, 0, false)).to.equal('free');
  });

  it('allows a kill only if the up count stays ≥ required after it', () => {
    expect(killAllowed('free', 0, 4)).to.equal(true);
    expect(killAllowed('serving', 3, 4)).to.equal(false);
    expect(killAllowed('serving', 4, 4)).to.equal(true);
    expect(killAllowed('up', 4, 4)).to.equal(false);
    expect(killAllowed('up', 5, 4)).to.equal(true);
    const l = new JobKillLedger({ up: 10, required: 9 });
    expect(l.allows('up')).to.equal(true);
    l.take('up');
    expect([l.allows('up'), l.allows('serving'), l.budget, l.margin]).to.deep.equal([false, true, 0, 0]);
  });

  it('a freshly deployed job is below its SLA: budget 0, never negative; margin says by how much', () => {
    const rows = runningRows('db', 4, ['h0', 'h1', 'h2', 'h3'], T0 - MIN);
    const st = slaStatus(job, rows, T0);
    expect([st.up, st.required, st.margin, st.budget, st.aging]).to.deep.equal([0, 4, -4, 0, 4]);
    expect(requiredUp(job)).to.equal(4);
  });
});

describe('drainer: young instances are protected (issue 12)', () => {
  const inv = inventory(4);
  const HOSTS = ['h0', 'h1', 'h2', 'h3'];

  it('real-Mesos scenario: count 4 of 4 over 600 s, deployed 60 s ago, window 60 s ahead → no kill, DECLINE', () => {
    const job = count('db', 4, 4, 600);
    const rows = runningRows('db', 4, HOSTS, T0 - MIN);
    const window = { start_ms: T0 + MIN, duration_ms: 3_600_000 };
    const records = startMaintenance(new Map(), { hosts: ['h0'], window }, inv, T0, 'req-1').records;
    // no room for a replacement anywhere (each agent full)
    const full: AgentCapacity[] = HOSTS.slice(1).map((h) => ({ hostname: h, cpus: 0, mem: 0 }));
    const plan = planDrain(view(records, [job], rows, full), T0);
    expect(records.map((r) => `${r.hostname}:${r.state}`)).to.deep.equal(['h0:DRAINING']); // window within the lead time
    expect(plan.kills).to.deep.equal([]);
    const d = answer(plan, 'h0', window, T0);
    expect(d.action).to.equal('decline');
    expect(d.reason).to.match(/do not allow emptying it at all/);
    // a second later (the bug answered ACCEPT here, the task killed): still nothing killed, still DECLINE
    const drainingNow = records.map((r) => ({ ...r, state: 'DRAINING' as const, drain_started_ms: T0 }));
    const later = planDrain(view(drainingNow, [job], rows, full), T0 + SEC);
    expect(later.kills).to.deep.equal([]);
    expect(answer(later, 'h0', window, T0 + SEC).action).to.equal('decline');
  });

  it('same scenario with room elsewhere: replace first (no kill), and still DECLINE a window the replacement cannot meet', () => {
    const job = count('db', 4, 4, 600);
    const rows = runningRows('db', 4, HOSTS, T0 - MIN);
    const window = { start_ms: T0 + MIN };
    const inv5 = inventory(5);
    const records = startMaintenance(new Map(), { hosts: ['h0'], window }, inv5, T0, 'req-1').records;
    const plan = planDrain(view(records, [job], rows, [{ hostname: 'h4', cpus: 10, mem: 10_000 }]), T0);
    expect(plan.kills).to.deep.equal([]);
    expect(plan.makeBeforeBreak.map((s) => `${s.job}[${s.instance}] ${s.task_id}`)).to.deep.equal(['db[0] db-0']);
    const d = answer(plan, 'h0', window, T0);
    expect(d.action).to.equal('decline');
    // the replacement has to run 600 s after starting: the host cannot be empty before ≈ T0 + 635 s
    expect(plan.progress.find((p) => p.hostname === 'h0')!.estimated_empty_ms).to.be.at.least(T0 + 600 * SEC);
  });

  it('a young instance whose job is at its SLA may go; the estimate and the inverse offer agree', () => {
    const job = count('web', 5, 4, 600); // 4 old instances up, the 5th young on h0
    const rows = runningRows('web', 5, ['h0', 'h1', 'h2', 'h3', 'h1']);
    rows[0]!.running_since_ms = T0 - MIN;
    const window = { start_ms: T0 + MIN };
    const records = startMaintenance(new Map(), { hosts: ['h0'], window }, inv, T0, 'req-1').records;
    const plan = planDrain(view(records, [job], rows), T0);
    expect(plan.kills.map((k) => `${k.task_id}:${k.reason}`)).to.deep.equal(['web-0:not-up']);
    expect(plan.kills[0]!.detail).to.match(/the job keeps its SLA \(4 up ≥ 4 required\)/);
    expect(answer(plan, 'h0', window, T0).action).to.equal('hold');
  });

  it('young instances aging only after the window start are counted: DECLINE; aging before it: HOLD', () => {
    const job = count('db', 4, 4, 600);
    const rows = runningRows('db', 4, HOSTS, T0 - 11 * MIN);
    rows[1]!.running_since_ms = T0 - 9 * MIN; // h1's instance ages at T0 + 1 min: the job is below its SLA until then
    const records = startMaintenance(new Map(), { hosts: ['h0'] }, inv, T0, 'req-1').records;
    const est = estimateDrain(view(records, [job], rows), T0);
    expect(est.get('h0')).to.equal(Infinity); // 4 of 4: h0's instance can only move by make-before-break
    const job3 = count('db', 4, 3, 600); // 3 of 4: h0's up instance may go once h1's has aged
    const plan = planDrain(view(records, [job3], rows), T0);
    expect(plan.kills).to.deep.equal([]);
    const e = plan.progress.find((p) => p.hostname === 'h0')!.estimated_empty_ms!;
    expect(e).to.be.greaterThan(T0 + MIN - 1);
    expect(decideInverseOffer({ start_ms: T0 + 30 * SEC }, { tasks_on_agent: 1, estimated_empty_ms: e }, T0).action).to.equal('decline');
    expect(decideInverseOffer({ start_ms: T0 + 5 * MIN }, { tasks_on_agent: 1, estimated_empty_ms: e }, T0).action).to.equal('hold');
    expect(planDrain(view(records.map((r) => ({ ...r, state: 'DRAINING' as const, drain_started_ms: T0 })), [job3], rows), T0 + MIN).kills.map((k) => k.task_id)).to.deep.equal(['db-0']);
  });

  it('sla probe: a host running a young instance of a job below its SLA is not drainable now, and says why', () => {
    const job = pct('web', 10, 80, 600);
    const rows = runningRows('web', 10, ['h0', 'h1', 'h2', 'h3'], T0 - MIN);
    const p = slaProbe(['h0'], view([], [job], rows), inv, T0);
    expect(p.blocked).to.deep.equal(['h0']);
    expect(p.hosts[0]!.reasons.join('\n')).to.match(/3 instance\(s\) here running < 600s and the job is below its SLA \(0 up < 8 required\): none may go before 12:09:00Z/);
  });

  it('a multi-host drain of a freshly deployed job kills nothing until instances age, then only within budget', () => {
    // 10 instances, 80% over 600 s, deployed 60 s ago, one per host on h0..h9; drain h0..h4 at once
    const job = pct('web', 10, 80, 600);
    const hosts = simHosts(15, 3);
    const names = hosts.map((h) => h.hostname);
    const rows = runningRows('web', 10, names.slice(0, 10), T0 - MIN);
    const inv15 = inventory(15, 3);
    const records = startMaintenance(new Map(), { hosts: names.slice(0, 5) }, inv15, T0, 'req-1').records;
    // first plan: every drained host DRAINING, nothing killed
    const first = planDrain(view(records, [job], rows), T0, { make_before_break: false });
    expect(records.filter((r) => r.state === 'DRAINING')).to.have.length(5);
    expect(first.kills).to.deep.equal([]);
    expect(first.next_wakeup_ms).to.equal(T0 + 9 * MIN);
    // the whole drain, break-before-make: every kill happens after the instances aged, ≤ 2 at a time
    const killsAt: Array<{ t: number; up: number; n: number }> = [];
    const res = simulateDrain({
      hosts,
      jobs: [job],
      rows,
      records,
      start_ms: T0,
      startup_ms: 30 * SEC,
      kill_ms: 5 * SEC,
      drain_options: { make_before_break: false },
      check_all_jobs: true,
      planner: (v: DrainView, now: number, o: Partial<DrainOptions>) => {
        const p = planDrain(v, now, o);
        if (p.kills.length) killsAt.push({ t: now, up: slaStatus(job, [...v.instances], now).up, n: p.kills.length });
        return p;
      },
    });
    expect(res.violations).to.deep.equal([]);
    expect(res.unfinished).to.deep.equal([]);
    expect(killsAt.length).to.be.greaterThan(0);
    for (const k of killsAt) {
      expect(k.t, 'no kill before the instances aged').to.be.at.least(T0 + 9 * MIN);
      expect(k.up - k.n, `kills at +${(k.t - T0) / 1000}s leave ≥ 8 up`).to.be.at.least(8);
    }
  });
});
