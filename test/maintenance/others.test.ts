/**
 * Other frameworks on a host (src/maintenance/core/others.ts) and the machine-down gating in the
 * maintenance loop's reducer (core/loop-master.ts), pure: what the master answers goes in as an io
 * result, the decision comes out as io requests, logs and audit entries.
 */
import { expect } from 'chai';
import type { ClusterStatus } from '../../src/mesos/types.js';
import { onEvent } from '../../src/scheduler/reducer.js';
import { createState, type SchedulerState } from '../../src/scheduler/state.js';
import { reduce } from '../../src/maintenance/core/loop.js';
import { initialState, type IoRequest, type MaintenanceInput, type MaintenanceState, type MaintenanceStep } from '../../src/maintenance/core/loop-state.js';
import { hostsView } from '../../src/maintenance/core/views.js';
import type { MasterAgent, MasterStateView, OtherTaskSeen } from '../../src/maintenance/core/master.js';
import { MAX_FRAMEWORKS, MAX_TASKS_LISTED, MAX_TEXT, othersGate, othersOnHost, type OthersPolicy } from '../../src/maintenance/core/others.js';
import { offer, offersEvent, subscribed } from '../scheduler/helpers.js';
import { MIN, T0 } from './helpers.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';

const AGENT: MasterAgent = { agent_id: 'a1', hostname: 'h1', ip: '10.0.0.1' };
type In = MaintenanceInput extends infer I ? (I extends unknown ? Omit<I, 'sched'> : never) : never;
type DownCheck = Extract<IoRequest, { kind: 'down-check' }>;

const legacyTask = (id: string, state = 'TASK_RUNNING'): OtherTaskSeen => ({ framework_id: 'fw-legacy', framework_name: 'legacy', task_id: id, state });
const status = (answers: Record<string, string>): ClusterStatus =>
  ({ draining_machines: [{ id: { hostname: 'h1', ip: '10.0.0.1' }, statuses: Object.entries(answers).map(([f, s]) => ({ framework_id: { value: f }, status: s })) }] }) as ClusterStatus;

/** The loop with one agent h1, Sluice's maintenance on it (window at T0 + 10 min), nothing of ours there. */
class Loop {
  readonly m: MaintenanceState;
  readonly s: SchedulerState = createState();
  now = T0;

  constructor(policy: OthersPolicy) {
    this.m = initialState({ downCheckIntervalMs: 5_000, others: policy }, 'op-o');
    onEvent(this.s, subscribed(), this.now);
    onEvent(this.s, offersEvent([offer('a1', 'h1', { cpus: 8, mem: 8192 })]), this.now);
    this.in({ kind: 'loaded', records: [], pending: [] });
    this.in({ kind: 'event', event: subscribed() });
    const st = this.in({ kind: 'start', request: { hosts: ['h1'], window: { start_ms: T0 + 10 * MIN } }, request_id: 'mnt-1', agents: [AGENT], schedule: {}, reply: 'r1', actor: 'alice' });
    this.in({ kind: 'io', result: { kind: 'done', request: st.io[0] as Extract<IoRequest, { kind: 'schedule-add' }> } });
  }

  in(input: In): MaintenanceStep {
    return reduce(this.m, { ...input, sched: this.s } as MaintenanceInput, this.now);
  }

  /** Advance to `at`, tick, and answer the down check with these tasks and answers. */
  check(at: number, tasks: OtherTaskSeen[], answers: Record<string, string> = {}): MaintenanceStep {
    this.now = at;
    const tick = this.in({ kind: 'tick' });
    const req = tick.io.find((r) => r.kind === 'down-check') as DownCheck | undefined;
    expect(req, 'a down check is asked for').to.not.equal(undefined);
    const state: MasterStateView = { agents: [AGENT], frameworksOnAgent: new Map([['a1', ['fw-legacy']]]), tasksOnAgent: new Map([['a1', tasks]]) };
    return this.in({ kind: 'io', result: { kind: 'down-check', request: req!, status: status(answers), state } });
  }

  view(): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    return hostsView(this.m, this.s, this.now, undefined).hosts[0]!;
  }
}

const downs = (st: MaintenanceStep) => st.io.filter((r): r is Extract<IoRequest, { kind: 'machine-down' }> => r.kind === 'machine-down');
const logs = (st: MaintenanceStep, event: string) => st.logs.filter((l) => l.event === event);

describe('other frameworks on a host (pure)', () => {
  it('othersOnHost: ours and terminal tasks left out, answers joined, everything bounded', () => {
    const tasks: OtherTaskSeen[] = [
      legacyTask('t1'),
      legacyTask('t2', 'TASK_FINISHED'),
      { framework_id: 'ours', task_id: 'mine', state: 'TASK_RUNNING' },
      { framework_id: 'fw-x', framework_name: 'x\u0000\u001b[31m' + 'n'.repeat(1000), task_id: 'k'.repeat(1000), state: 'TASK_KILLING' },
    ];
    const o = othersOnHost(tasks, [{ framework_id: { value: 'fw-legacy' }, status: 'DECLINE' }, { framework_id: { value: 'fw-gone' }, status: 'ACCEPT' }], 'ours', T0);
    expect(o.frameworks.map((f) => [f.framework_id, f.answer, f.task_count])).to.deep.equal([
      ['fw-gone', 'ACCEPT', 0],
      ['fw-legacy', 'DECLINE', 1],
      ['fw-x', 'NONE', 1],
    ]);
    const x = o.frameworks[2]!;
    expect(x.name!.length).to.equal(MAX_TEXT);
    expect(x.name).to.not.match(/[\x00-\x1f]/);
    expect(x.tasks[0]!.task_id.length).to.equal(MAX_TEXT);

    const flood: OtherTaskSeen[] = [];
    for (let f = 0; f < 100; f++) for (let t = 0; t < 50; t++) flood.push({ framework_id: `f${String(f).padStart(3, '0')}`, task_id: `t${t}`, state: 'TASK_RUNNING' });
    const b = othersOnHost(flood, [], undefined, T0);
    expect(b.frameworks).to.have.length(MAX_FRAMEWORKS);
    expect(b.truncated).to.equal(true);
    expect(b.frameworks[0]!.task_count, 'counts stay exact').to.equal(50);
    expect(b.frameworks[0]!.tasks).to.have.length(MAX_TASKS_LISTED);
  });

  it('othersGate: clear when gone or accepted; wait before the deadline; at it, take only with policy down', () => {
    const l = new Loop({ deadlineMs: 0, atDeadline: 'wait' });
    const rec = l.m.records.get('h1')!;
    const deadline = T0 + 10 * MIN + 2 * MIN;
    const run = othersOnHost([legacyTask('t1')], [], undefined, T0);
    const acc = othersOnHost([legacyTask('t1')], [{ framework_id: { value: 'fw-legacy' }, status: 'ACCEPT' }], undefined, T0);
    const down: OthersPolicy = { deadlineMs: 2 * MIN, atDeadline: 'down' };
    const wait: OthersPolicy = { deadlineMs: 2 * MIN, atDeadline: 'wait' };
    expect(othersGate(rec, othersOnHost([], [], undefined, T0), down, deadline).verdict).to.equal('clear');
    expect(othersGate(rec, acc, down, T0).verdict).to.equal('clear');
    expect(othersGate(rec, run, down, deadline - 1)).to.include({ verdict: 'wait', deadline_ms: deadline });
    expect(othersGate(rec, run, down, deadline).verdict).to.equal('take');
    expect(othersGate(rec, run, down, deadline).reason).to.include('fw-legacy (legacy) answered NONE: 1 task(s) [t1 TASK_RUNNING]');
    expect(othersGate(rec, run, wait, deadline + 60 * MIN).verdict).to.equal('wait');
  });

  it('loop, policy down: no machine down before the deadline even past the window start; at it, down with the tasks it takes (warn + audit)', () => {
    const l = new Loop({ deadlineMs: 2 * MIN, atDeadline: 'down' });
    const first = l.check(T0 + 1000, [legacyTask('t1')]);
    expect(l.m.records.get('h1')!.state).to.equal('DRAINED');
    expect(downs(first)).to.deep.equal([]);
    const v = l.view();
    expect(v['other_frameworks'].frameworks).to.deep.equal([{ framework_id: 'fw-legacy', name: 'legacy', answer: 'NONE', task_count: 1, tasks: [{ task_id: 't1', state: 'TASK_RUNNING' }] }]);
    expect(v['waiting']).to.match(/waiting for other frameworks until/);
    // past the window start, before the deadline: still nothing (before, downDecision downed at the start)
    expect(downs(l.check(T0 + 11 * MIN, [legacyTask('t1')]))).to.deep.equal([]);
    const at = l.check(T0 + 12 * MIN, [legacyTask('t1')]);
    const [d] = downs(at);
    expect(d, 'machine down at the deadline').to.not.equal(undefined);
    expect(d!.others_taken!.map((f) => f.framework_id)).to.deep.equal(['fw-legacy']);
    const warn = logs(at, 'machine_down_takes_other_tasks');
    expect(warn.map((w) => w.level)).to.deep.equal(['warn']);
    expect(warn[0]!.fields['frameworks']).to.deep.equal([{ framework_id: 'fw-legacy', framework_name: 'legacy', answer: 'NONE', task_count: 1, task_ids: ['t1'] }]);
    const done = l.in({ kind: 'io', result: { kind: 'done', request: d! } });
    expect(l.m.records.get('h1')!.state).to.equal('DOWN');
    const audit = done.audit.find((a) => a.kind === 'machine_down')!;
    expect(audit.detail).to.deep.equal({ others_taken: [{ framework_id: 'fw-legacy', framework_name: 'legacy', answer: 'NONE', task_count: 1, task_ids: ['t1'] }] });
  });

  it('loop, policy wait: never down over their running task (warned once); down once it is gone, or once they ACCEPT', () => {
    const l = new Loop({ deadlineMs: 0, atDeadline: 'wait' });
    l.check(T0 + 1000, [legacyTask('t1')]);
    const a = l.check(T0 + 10 * MIN, [legacyTask('t1')]);
    const b = l.check(T0 + 30 * MIN, [legacyTask('t1')]);
    expect([...downs(a), ...downs(b)]).to.deep.equal([]);
    expect([...logs(a, 'machine_down_waits_for_other_frameworks'), ...logs(b, 'machine_down_waits_for_other_frameworks')].map((w) => w.level)).to.deep.equal(['warn']);
    expect(l.view()['waiting']).to.match(/others_at_deadline=wait/);
    // their task finished: down, taking nothing
    const gone = l.check(T0 + 31 * MIN, [legacyTask('t1', 'TASK_FINISHED')]);
    expect(downs(gone)).to.have.length(1);
    expect(downs(gone)[0]!.others_taken).to.equal(undefined);

    // another loop: they ACCEPT (their task still there) -> down before the window even starts
    const k = new Loop({ deadlineMs: 0, atDeadline: 'wait' });
    const acc = k.check(T0 + 1000, [legacyTask('t1')], { 'fw-legacy': 'ACCEPT' });
    expect(downs(acc)).to.have.length(1);
    expect(acc.audit.filter((e) => e.kind === 'inverse_offer').map((e) => [e.actor, e.detail!['framework_id'], e.detail!['answer']])).to.deep.equal([['master', 'fw-legacy', 'ACCEPT']]);
  });

  it('answers of other frameworks are audited once per change (host history)', () => {
    const l = new Loop({ deadlineMs: 0, atDeadline: 'wait' });
    const one = l.check(T0 + 1000, [legacyTask('t1')], { 'fw-legacy': 'DECLINE' });
    const two = l.check(T0 + 2 * MIN, [legacyTask('t1')], { 'fw-legacy': 'DECLINE' });
    const three = l.check(T0 + 4 * MIN, [legacyTask('t1')], { 'fw-legacy': 'ACCEPT' });
    const answers = (st: MaintenanceStep) => st.audit.filter((e) => e.kind === 'inverse_offer').map((e) => e.detail!['answer']);
    expect([answers(one), answers(two), answers(three)]).to.deep.equal([['DECLINE'], [], ['ACCEPT']]);
    expect(one.audit[0]!.reason).to.include('other framework fw-legacy (legacy) answered DECLINE');
  });

  it('settings: others_deadline and others_at_deadline from flag, environment or file; bad values refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-others-cfg-'));
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ others_deadline: '45m', others_at_deadline: 'down' }));
    const d = loadConfig({}, {}, dir);
    expect([d.othersDeadlineSeconds, d.othersAtDeadline]).to.deep.equal([0, 'wait']);
    const f = loadConfig({ config: 'c.json' }, {}, dir);
    expect([f.othersDeadlineSeconds, f.othersAtDeadline, f.sources['othersAtDeadline']]).to.deep.equal([2700, 'down', 'file']);
    const e = loadConfig({ config: 'c.json' }, { SLUICE_OTHERS_DEADLINE: '10m', SLUICE_OTHERS_AT_DEADLINE: 'wait' }, dir);
    expect([e.othersDeadlineSeconds, e.othersAtDeadline]).to.deep.equal([600, 'wait']);
    expect(loadConfig({ 'others-deadline': '90s' }, {}, dir).othersDeadlineSeconds).to.equal(90);
    expect(() => loadConfig({ 'others-at-deadline': 'kill' }, {}, dir)).to.throw('others at deadline must be wait, down or drain_agent; got "kill"');
    expect(() => loadConfig({ 'others-deadline': 'soon' }, {}, dir)).to.throw('--others-deadline');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
