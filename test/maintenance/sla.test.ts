import { expect } from 'chai';
import {
  budget,
  budgetRefillAt,
  canTakeDown,
  describeSla,
  requiredFor,
  requiredUp,
  slaStatus,
  type SlaInstance,
  type SlaJob,
} from '../../src/sla/index.js';
import { slaBlockerText } from '../../src/maintenance/core/format.js';
import { HOUR, MIN, T0, runningRows } from './helpers.js';

const web: SlaJob = { name: 'web', instances: 100, sla: { kind: 'percentage', percentage: 95, duration_seconds: 1800 } };

describe('SLA accounting', () => {
  it('required: ceil(pct/100 × instances) or count; no minimum job size', () => {
    expect(requiredUp(web)).to.equal(95);
    expect(requiredUp({ name: 'a', instances: 1, sla: { kind: 'percentage', percentage: 95, duration_seconds: 1 } })).to.equal(1);
    expect(requiredUp({ name: 'a', instances: 10, sla: { kind: 'percentage', percentage: 90, duration_seconds: 1 } })).to.equal(9);
    expect(requiredUp({ name: 'a', instances: 1000, sla: { kind: 'percentage', percentage: 99.9, duration_seconds: 1 } })).to.equal(999);
    expect(requiredUp({ name: 'a', instances: 7, sla: { kind: 'percentage', percentage: 50, duration_seconds: 1 } })).to.equal(4);
    expect(requiredUp({ name: 'a', instances: 10, sla: { kind: 'count', count: 8, duration_seconds: 1 } })).to.equal(8);
    expect(requiredUp({ name: 'a', instances: 3, sla: { kind: 'count', count: 5, duration_seconds: 1 } })).to.equal(3);
    expect(requiredUp({ name: 'a', instances: 3 })).to.equal(0);
    // one rounding rule, up (Aurora's), with a slack for binary floating point: 7% of 100 is 7, not 8
    expect(requiredUp({ name: 'a', instances: 100, sla: { kind: 'percentage', percentage: 7, duration_seconds: 1 } })).to.equal(7);
    expect(requiredUp({ name: 'a', instances: 10, sla: { kind: 'percentage', percentage: 95, duration_seconds: 1 } })).to.equal(10);
    expect(requiredFor(10, { kind: 'percentage', percentage: 33.3, duration_seconds: 1 })).to.equal(4);
    expect(describeSla(web.sla)).to.equal('SLA 95% over 1800s');
  });

  it('an instance is up only after RUNNING for the whole duration', () => {
    const rows = runningRows('web', 100, ['h1'], T0 - HOUR);
    rows[0]!.running_since_ms = T0 - 10 * MIN; // up at T0+20min
    rows[1]!.state = 'TASK_STAGING';
    delete rows[1]!.running_since_ms;
    const st = slaStatus(web, rows, T0);
    expect(st.up).to.equal(98);
    expect(st.budget).to.equal(3);
    expect(st.aging).to.equal(1);
    expect(st.starting).to.equal(1);
    expect(slaStatus(web, rows, T0 + 20 * MIN).up).to.equal(99);
  });

  it('counts a kill in flight as down at once, and KILLING/UNREACHABLE as down', () => {
    const rows = runningRows('web', 100, ['h1']);
    rows[0]!.kill_requested_ms = T0;
    rows[1]!.state = 'TASK_KILLING';
    rows[2]!.state = 'TASK_UNREACHABLE';
    const st = slaStatus(web, rows, T0);
    expect(st.up).to.equal(97);
    expect(st.killing).to.equal(2);
    expect(budget(web, rows, T0)).to.equal(2);
  });

  it('ignores terminal rows and rows of removed instances; one up row per instance counts once', () => {
    const rows: SlaInstance[] = runningRows('web', 100, ['h1']);
    rows.push({ job: 'web', index: 0, task_id: 'dup', hostname: 'h2', state: 'TASK_RUNNING', running_since_ms: T0 - HOUR }); // surge
    rows.push({ job: 'web', index: 150, task_id: 'x', hostname: 'h2', state: 'TASK_RUNNING', running_since_ms: T0 - HOUR });
    rows.push({ job: 'web', index: 3, task_id: 'old', hostname: 'h2', state: 'TASK_KILLED', running_since_ms: T0 - HOUR });
    expect(slaStatus(web, rows, T0).up).to.equal(100);
  });

  it('canTakeDown / refill time when the budget is spent (the seeds’ example: 100 instances, 95% over 30 min)', () => {
    const rows = runningRows('web', 100, ['h1']);
    // 5 instances were just replaced: running since T0 (+0..4 min)
    for (let i = 0; i < 5; i++) rows[i]!.running_since_ms = T0 + i * MIN;
    expect(slaStatus(web, rows, T0 + 5 * MIN).budget).to.equal(0);
    expect(canTakeDown(web, rows, T0 + 5 * MIN)).to.equal(false);
    const st = slaStatus(web, rows, T0 + 5 * MIN);
    expect(st.refill_at_ms).to.equal(T0 + 30 * MIN);
    expect(budgetRefillAt(web, rows, T0 + 5 * MIN, 3)).to.equal(T0 + 32 * MIN);
    expect(canTakeDown(web, rows, T0 + 30 * MIN)).to.equal(true);
    expect(slaBlockerText(st, T0)).to.equal('job web: SLA 95% over 1800s allows 0 more down until 12:30:00Z (5 of 100 down: 5 running < 1800s)');
  });

  it('refill needs replacements to start when too few are running', () => {
    const rows = runningRows('web', 100, ['h1']);
    for (let i = 0; i < 6; i++) {
      rows[i]!.state = 'PENDING';
      delete rows[i]!.running_since_ms;
      delete rows[i]!.task_id;
      delete rows[i]!.hostname;
    }
    const st = slaStatus(web, rows, T0);
    expect(st.margin).to.equal(-1);
    expect(st.budget).to.equal(0);
    expect(st.refill_at_ms).to.equal(undefined);
    expect(st.refill_needs_starts).to.equal(2);
    expect(slaBlockerText(st, T0)).to.match(/allows 0 more down until 2 replacements start and run 1800s \(6 of 100 down: 6 pending\)/);
  });

  it('jobs without SLA may lose everything; 100% SLAs allow nothing', () => {
    const free: SlaJob = { name: 'batch', instances: 4 };
    expect(budget(free, runningRows('batch', 4, ['h1']), T0)).to.equal(4);
    const all: SlaJob = { name: 'db', instances: 3, sla: { kind: 'count', count: 3, duration_seconds: 60 } };
    const st = slaStatus(all, runningRows('db', 3, ['h1']), T0);
    expect(st.budget).to.equal(0);
    expect(st.max_budget).to.equal(0);
    expect(slaBlockerText(st, T0)).to.match(/allows 0 more down ever \(only make-before-break/);
  });
});
