/**
 * The drain planner with coordinator policies and guardrails (pure): which kills wait for a
 * coordinator's yes, what is asked, what a "no" does, and the policy the planner applies under the
 * cluster default and upper bound.
 */
import { expect } from 'chai';
import { planDrain, type CoordinatorView, type DrainView, type JobView } from '../../src/maintenance/core/drainer.js';
import type { HostRecord } from '../../src/maintenance/core/host-state.js';
import type { SlaInstance } from '../../src/maintenance/core/sla.js';
import type { AnySlaPolicy } from '../../src/sla/index.js';
import { HOUR, T0, draining, inventory, runningRows } from './helpers.js';

const inv = inventory(6, 2);
const HOSTS = inv.map((h) => h.hostname);
const COORD = { url: 'http://127.0.0.1:9/may-i', timeout_seconds: 2 };

function job(name: string, instances: number, sla?: AnySlaPolicy): JobView<AnySlaPolicy> {
  const j: JobView<AnySlaPolicy> = { name, instances, resources: { cpus: 1, mem: 64 } };
  if (sla) j.sla = sla;
  return j;
}

function view(records: HostRecord[], jobs: JobView<AnySlaPolicy>[], rows: SlaInstance[], extra: Partial<DrainView> = {}): DrainView {
  return { hosts: records, jobs, instances: rows, ...extra };
}

function cv(approved: string[] = [], refused: Array<[string, string, number]> = []): CoordinatorView {
  return { approved: new Set(approved), refused: new Map(refused.map(([t, reason, retry_ms]) => [t, { reason, at_ms: retry_ms - 15_000, retry_ms }])), asking: new Set(), asked_ms: new Map() };
}

describe('drainer: coordinator policies', () => {
  // kafka: 6 instances, one per host; h0 and h1 drain (2 instances there)
  const rows = runningRows('kafka', 6, HOSTS);
  const recs = draining(['h0', 'h1'], inv);

  it('kills nothing of a coordinator job before a yes; asks about one instance only', () => {
    const plan = planDrain(view(recs, [job('kafka', 6, { kind: 'coordinator', ...COORD })], rows), T0);
    expect(plan.kills).to.deep.equal([]);
    expect(plan.questions).to.have.length(1);
    const q = plan.questions[0]!;
    expect(q.ref).to.deep.equal(COORD);
    expect(q.question).to.deep.equal({ job: 'kafka', instance: 0, host: 'h0', task_id: 'kafka-0', reason: 'drain' });
    const h0 = plan.progress.find((p) => p.hostname === 'h0')!;
    expect(h0.blockers.map((b) => b.reason)).to.deep.equal(['job kafka: asking its coordinator about instance 0']);
    const h1 = plan.progress.find((p) => p.hostname === 'h1')!;
    expect(h1.blockers[0]!.reason).to.match(/one instance at a time/);
  });

  it('kills the instance the coordinator said yes to, and asks nothing more while that kill is in flight', () => {
    const plan = planDrain(view(recs, [job('kafka', 6, { kind: 'coordinator', ...COORD })], rows, { coordinator: cv(['kafka-0']) }), T0);
    expect(plan.kills.map((k) => [k.task_id, k.reason])).to.deep.equal([['kafka-0', 'sla-budget']]);
    expect(plan.kills[0]!.detail).to.match(/coordinator said yes/);
    expect(plan.questions).to.deep.equal([]);
    // next plan: the kill is in flight → no question, no kill
    const after = rows.map((r) => (r.task_id === 'kafka-0' ? { ...r, kill_requested_ms: T0 } : r));
    const p2 = planDrain(view(recs, [job('kafka', 6, { kind: 'coordinator', ...COORD })], after, { coordinator: cv(['kafka-0']) }), T0 + 1000);
    expect(p2.kills).to.deep.equal([]);
    expect(p2.questions).to.deep.equal([]);
  });

  it('after a no: nothing killed, not asked again before the retry time, and the reason is shown', () => {
    const plan = planDrain(view(recs, [job('kafka', 6, { kind: 'coordinator', ...COORD })], rows, { coordinator: cv([], [['kafka-0', 'coordinator said no: under-replicated partitions', T0 + 15_000]]) }), T0);
    expect(plan.kills).to.deep.equal([]);
    expect(plan.questions).to.deep.equal([]);
    expect(plan.next_wakeup_ms).to.equal(T0 + 15_000);
    const h0 = plan.progress.find((p) => p.hostname === 'h0')!;
    expect(h0.blockers[0]!.reason).to.contain('under-replicated partitions');
    expect(h0.blockers[0]!.until_ms).to.equal(T0 + 15_000);
    // once the retry time has come the question is wanted again
    const later = planDrain(view(recs, [job('kafka', 6, { kind: 'coordinator', ...COORD })], rows, { coordinator: cv([], [['kafka-0', 'no', T0 + 15_000]]) }), T0 + 15_000);
    expect(later.questions.map((q) => q.question.task_id)).to.deep.equal(['kafka-0']);
  });

  it('a combined policy asks only when the count rule allows the kill', () => {
    // 6 instances, all 6 required: the count rule allows no kill, so the coordinator is not asked
    const full = job('kafka', 6, { kind: 'count', count: 6, duration_seconds: 60, coordinator: COORD });
    const plan = planDrain(view(recs, [full], rows), T0);
    expect(plan.kills).to.deep.equal([]);
    expect(plan.questions).to.deep.equal([]);
    // 5 required: one may go, the coordinator is asked about it; with a yes it is killed, the other waits
    const five = job('kafka', 6, { kind: 'count', count: 5, duration_seconds: 60, coordinator: COORD });
    expect(planDrain(view(recs, [five], rows), T0).questions).to.have.length(1);
    const yes = planDrain(view(recs, [five], rows, { coordinator: cv(['kafka-0', 'kafka-1']) }), T0);
    expect(yes.kills.map((k) => k.task_id)).to.deep.equal(['kafka-0']);
  });

  it('rows not running at all go without a question; --force after the timeout kills without asking', () => {
    const staging = rows.map((r) => (r.index === 0 ? { ...r, state: 'TASK_STAGING' as const } : r));
    const plan = planDrain(view(recs, [job('kafka', 6, { kind: 'coordinator', ...COORD })], staging), T0);
    expect(plan.kills.map((k) => [k.task_id, k.reason])).to.deep.equal([['kafka-0', 'not-up']]);
    const forced = draining(['h0'], inv, T0, { timeout_ms: 1000, force: true } as never);
    const started = forced.map((r) => ({ ...r, state: 'DRAINING' as const, drain_started_ms: T0 }));
    const p2 = planDrain(view(started, [job('kafka', 6, { kind: 'coordinator', ...COORD })], rows), T0 + 2000);
    expect(p2.kills.map((k) => [k.task_id, k.reason])).to.deep.equal([['kafka-0', 'forced']]);
    expect(p2.questions).to.deep.equal([]);
  });
});

describe('drainer: guardrails', () => {
  const rows = runningRows('db', 10, HOSTS);
  const recs = draining(['h0'], inv); // h0 runs db-0 and db-6

  it('a 100%-over-7-days job blocks the drain without a bound, and is capped by max_percentage', () => {
    const old = runningRows('db', 10, HOSTS, T0 - 8 * 24 * HOUR);
    const strict = job('db', 10, { kind: 'percentage', percentage: 100, duration_seconds: 7 * 24 * 3600 });
    const blocked = planDrain(view(recs, [strict], old), T0, { make_before_break: false });
    expect(blocked.kills).to.deep.equal([]);
    const capped = planDrain(view(recs, [strict], old, { guardrails: { max_percentage: 80 } }), T0, { make_before_break: false });
    expect(capped.kills.map((k) => k.task_id).sort()).to.deep.equal(['db-0', 'db-6']);
    expect(capped.kills.every((k) => k.reason === 'sla-budget')).to.equal(true);
    // the younger instances (10 h) never count up under a 7-day duration: the bound on duration frees them
    const bounded = planDrain(view(recs, [strict], rows, { guardrails: { max_percentage: 80, max_duration_seconds: 3600 } }), T0, { make_before_break: false });
    expect(bounded.kills).to.have.length(2);
    expect(planDrain(view(recs, [strict], rows, { guardrails: { max_percentage: 80 } }), T0, { make_before_break: false }).kills).to.deep.equal([]);
  });

  it('max_duration_seconds shortens what counts as up', () => {
    // instances up for 2 h; a 1-day duration counts none of them up: nothing may go
    const young = runningRows('db', 10, HOSTS, T0 - 2 * HOUR);
    const day = job('db', 10, { kind: 'count', count: 9, duration_seconds: 86_400 });
    expect(planDrain(view(recs, [day], young), T0, { make_before_break: false }).kills).to.deep.equal([]);
    const p = planDrain(view(recs, [day], young, { guardrails: { max_duration_seconds: 3600 } }), T0, { make_before_break: false });
    expect(p.kills.map((k) => k.task_id)).to.deep.equal(['db-0']);
  });

  it('the cluster default applies to a job without an SLA', () => {
    const none = job('db', 10);
    expect(planDrain(view(recs, [none], rows), T0, { make_before_break: false }).kills).to.have.length(2);
    const p = planDrain(view(recs, [none], rows, { guardrails: { default_sla: { kind: 'count', count: 9, duration_seconds: 60 } } }), T0, { make_before_break: false });
    expect(p.kills.map((k) => k.task_id)).to.deep.equal(['db-0']);
    expect(p.waits[0]!.reason).to.match(/^job db: SLA/);
  });
});

describe('drainer: --override-sla for one request', () => {
  // db: 10 instances, one per host over 10 hosts, 100% over 60 s: nothing may go without make-before-break
  const inv10 = inventory(10, 2);
  const H = inv10.map((h) => h.hostname);
  const rows = runningRows('db', 10, H);
  const strict = job('db', 10, { kind: 'count', count: 10, duration_seconds: 60 });
  const ov = { kind: 'percentage' as const, value: 80, duration_seconds: 600, reason: 'kernel CVE', text: '80%/10m' };

  it('lowers the requirement for the request\'s hosts only; every kill counts against the lowered policy too', () => {
    const recs = draining(['h0', 'h1', 'h2', 'h3'], inv10);
    expect(planDrain(view(recs, [strict], rows), T0, { make_before_break: false }).kills).to.deep.equal([]);
    // h0..h2 under the override (80% of 10 = 8 required → 2 may go), h3 not
    const overrides = new Map(['h0', 'h1', 'h2'].map((h) => [h, ov]));
    const p = planDrain(view(recs, [strict], rows, { overrides }), T0, { make_before_break: false });
    expect(p.kills.map((k) => k.task_id)).to.deep.equal(['db-0', 'db-1']);
    expect(p.kills[0]!.detail).to.contain('lowered for this request by --override-sla');
    const blockers = (h: string) => p.progress.find((x) => x.hostname === h)!.blockers.map((b) => b.reason).join(' | ');
    expect(blockers('h2')).to.match(/^job db: /);
    expect(blockers('h3')).to.contain('SLA 10 up over 60s');
    expect(blockers('h3')).to.not.contain('override');
    // next plan, the two kills in flight: nothing more goes on either kind of host
    const after = rows.map((r) => (r.index < 2 ? { ...r, kill_requested_ms: T0 } : r));
    const p2 = planDrain(view(recs, [strict], after, { overrides }), T0 + 1000, { make_before_break: false });
    expect(p2.kills).to.deep.equal([]);
  });

  it('the job\'s own budget is spent first on hosts without the override, and counts against the override', () => {
    // 9 of 10 required by the job: 1 may go; h3 (no override) takes it; the override (8 required) allows one more on h0
    const nine = job('db', 10, { kind: 'count', count: 9, duration_seconds: 60 });
    const recs = draining(['h0', 'h3'], inv10);
    const overrides = new Map([['h0', ov]]);
    const p = planDrain(view(recs, [nine], rows, { overrides }), T0, { make_before_break: false });
    expect(p.kills.map((k) => k.task_id).sort()).to.deep.equal(['db-0', 'db-3']);
    const p2 = planDrain(view(draining(['h0', 'h1', 'h3'], inv10), [nine], rows, { overrides: new Map([['h0', ov], ['h1', ov]]) }), T0, { make_before_break: false });
    expect(p2.kills).to.have.length(2); // 1 by the job's own budget (h3), 1 more by the override: never 3
  });
});
