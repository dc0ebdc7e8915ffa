/**
 * The maintenance loop's reducer (src/maintenance/core/loop.ts), pure: inputs in, steps out — no
 * HTTP, no runtime, no timers. The scheduler state it reads is built by the real scheduler reducer.
 * Each test follows one flow through its inputs (an operator request, the I/O result that answers
 * it, ticks, the master's events) and checks what each step writes, asks for and answers.
 */
import { expect } from 'chai';
import type { Call, Schedule } from '../../src/mesos/types.js';
import { applyCommand, onEvent } from '../../src/scheduler/reducer.js';
import { createState, type SchedulerState } from '../../src/scheduler/state.js';
import { reduce } from '../../src/maintenance/core/loop.js';
import { HOSTS_COLLECTION, initialState, type IoRequest, type MaintenanceInput, type MaintenanceState, type MaintenanceStep } from '../../src/maintenance/core/loop-state.js';
import { PENDING_COLLECTION, type PendingOp } from '../../src/maintenance/core/pending.js';
import { hostsView, requestsView } from '../../src/maintenance/core/views.js';
import { startMaintenance, transition, type HostRecord } from '../../src/maintenance/core/host-state.js';
import type { MasterAgent, MasterStateView } from '../../src/maintenance/core/master.js';
import { offer, offersEvent, spec, subscribed, update } from '../scheduler/helpers.js';

const T0 = Date.UTC(2026, 0, 1);
const AGENTS: MasterAgent[] = [1, 2, 3].map((i) => ({ agent_id: `a${i}`, hostname: `h${i}`, ip: `10.0.0.${i}`, rack: `r${i % 2}` }));
const EMPTY: Schedule = {};

type In = MaintenanceInput extends infer I ? (I extends unknown ? Omit<I, 'sched'> : never) : never;

/** A maintenance loop and the scheduler state it reads, fed one input at a time. */
class Harness {
  readonly m: MaintenanceState = initialState({ reconcileIntervalMs: 30_000, downCheckIntervalMs: 5_000 }, 'op-t');
  readonly s: SchedulerState = createState();
  now = T0;
  private replies = 0;

  constructor() {
    onEvent(this.s, subscribed(), this.now);
    onEvent(this.s, offersEvent(AGENTS.map((a) => offer(a.agent_id, a.hostname, { cpus: 8, mem: 8192 }))), this.now);
    this.in({ kind: 'loaded', records: [], pending: [] });
    this.in({ kind: 'event', event: subscribed() });
  }

  in(input: In): MaintenanceStep {
    return reduce(this.m, { ...input, sched: this.s } as MaintenanceInput, this.now);
  }

  token(): string {
    return `t${++this.replies}`;
  }

  start(hosts: string[], extra: Partial<Extract<In, { kind: 'start' }>> = {}, schedule: Schedule = EMPTY): MaintenanceStep {
    return this.in({ kind: 'start', request: { hosts }, request_id: 'mnt-1', agents: AGENTS, schedule, reply: this.token(), actor: 'alice', reason: 'kernel upgrade', ...extra });
  }

  done(req: IoRequest): MaintenanceStep {
    return this.in({ kind: 'io', result: { kind: 'done', request: req as Extract<IoRequest, { kind: 'schedule-add' }> } });
  }

  rec(host: string): HostRecord | undefined {
    return this.m.records.get(host);
  }
}

const kinds = (st: MaintenanceStep) => st.io.map((r) => r.kind);
const puts = (st: MaintenanceStep, collection: string) => st.storeOps.filter((o) => o.op === 'put' && o.collection === collection).map((o) => o.key);
const deletes = (st: MaintenanceStep, collection: string) => st.storeOps.filter((o) => o.op === 'delete' && o.collection === collection).map((o) => o.key);
const masterState = (frameworks: Record<string, string[]> = {}): MasterStateView => ({ agents: AGENTS, frameworksOnAgent: new Map(Object.entries(frameworks)) });

describe('maintenance loop reducer (pure)', () => {
  it('start: records and intent in one step, the window as an I/O request; the answer only once the master took it', () => {
    const h = new Harness();
    const st = h.start(['h1']);
    expect(st.replies, 'no answer before the master took the window').to.deep.equal([]);
    expect(puts(st, HOSTS_COLLECTION)).to.deep.equal(['h1']);
    expect(puts(st, PENDING_COLLECTION)).to.have.length(1);
    expect(kinds(st)).to.deep.equal(['schedule-add']);
    const req = st.io[0] as Extract<IoRequest, { kind: 'schedule-add' }>;
    expect(req.machines).to.deep.equal([{ hostname: 'h1', ip: '10.0.0.1' }]);
    expect(h.rec('h1')).to.include({ state: 'DRAINING', actor: 'alice', reason: 'kernel upgrade' });
    expect(h.rec('h1')!.schedule_posted_ms).to.equal(undefined);
    expect(st.commands).to.deep.equal([{ type: 'set_blocked_hosts', hosts: ['h1'] }]);

    h.now += 50;
    const done = h.done(req);
    expect(h.rec('h1')!.schedule_posted_ms).to.equal(h.now);
    expect(deletes(done, PENDING_COLLECTION)).to.deep.equal([req.op]);
    expect(done.replies).to.have.length(1);
    const reply = done.replies[0]!;
    expect(reply.to).to.equal(req.reply);
    expect(reply.reply.outcome).to.equal('accepted');
    expect((reply.reply as { body: { request_id: string; hosts: unknown[] } }).body).to.include({ request_id: 'mnt-1' });
    const request = done.audit.find((a) => a.kind === 'request')!;
    expect(request).to.include({ actor: 'alice', action: 'start', reason: 'kernel upgrade', request_id: 'mnt-1' });
    expect(requestsView(h.m)).to.deep.equal([{ request_id: 'mnt-1', actor: 'alice', reason: 'kernel upgrade', hosts: [{ hostname: 'h1', state: 'DRAINING' }], states: { DRAINING: 1 }, pending: false, paused_hosts: 0, paused: false, max_parallel: null, timeout_ms: null }]);
  });

  it('refusals are domain outcomes and write nothing: invalid names, someone else\'s window (conflict)', () => {
    const h = new Harness();
    const bad = h.start(['h1', 'nosuch']);
    expect(bad.storeOps).to.deep.equal([]);
    expect(bad.io).to.deep.equal([]);
    expect(bad.replies[0]!.reply).to.include({ outcome: 'invalid', code: 'unknown-host' });
    const foreign: Schedule = { windows: [{ machine_ids: [{ hostname: 'h2', ip: '10.0.0.2' }], unavailability: { start: { nanoseconds: BigInt(T0 + 86_400_000) * 1_000_000n } } }] };
    const conflict = h.start(['h2'], {}, foreign);
    expect(conflict.storeOps).to.deep.equal([]);
    expect(conflict.replies[0]!.reply).to.include({ outcome: 'conflict', code: 'window-conflict' });
    expect(h.m.records.size).to.equal(0);
  });

  it('the master refuses the window: the records are rolled back in the step that hears it, and the request fails with its outcome', () => {
    const h = new Harness();
    const st = h.start(['h1', 'h2']);
    const req = st.io[0]!;
    const back = h.in({ kind: 'io', result: { kind: 'failed', request: req, failure: { outcome: 'upstream_error', error: 'the Mesos master refused: 400' } } });
    expect(deletes(back, HOSTS_COLLECTION).sort()).to.deep.equal(['h1', 'h2']);
    expect(deletes(back, PENDING_COLLECTION)).to.have.length(1);
    expect(h.m.records.size).to.equal(0);
    expect(back.commands).to.deep.equal([{ type: 'set_blocked_hosts', hosts: [] }]);
    expect(back.replies[0]!.reply).to.deep.equal({ outcome: 'upstream_error', error: 'the Mesos master refused: 400' });
    expect(back.audit.filter((a) => a.kind === 'request')).to.deep.equal([]);
  });

  it('complete / abort while Sluice\'s own write on the host is pending is a conflict; afterwards machine up, UP, and who/why on the record', () => {
    const h = new Harness();
    const st = h.start(['h1']);
    const early = h.in({ kind: 'end', verb: 'abort', hosts: ['h1'], reply: h.token(), actor: 'bob' });
    expect(early.replies[0]!.reply).to.include({ outcome: 'conflict', code: 'wrong-state' });
    expect(early.storeOps).to.deep.equal([]);
    h.done(st.io[0]!);
    const abort = h.in({ kind: 'end', verb: 'abort', hosts: ['h1'], reply: h.token(), actor: 'bob', reason: 'wrong host' });
    expect(abort.replies).to.deep.equal([]);
    expect(kinds(abort)).to.deep.equal(['schedule-end']);
    const end = abort.io[0] as Extract<IoRequest, { kind: 'schedule-end' }>;
    expect(end.unschedule).to.deep.equal([{ hostname: 'h1', ip: '10.0.0.1' }]);
    expect(end.up).to.deep.equal([]);
    expect(h.rec('h1')!.state, 'UP only once the master took it').to.equal('DRAINING');
    h.now += 10;
    const ok = h.done(end);
    expect(h.rec('h1')).to.include({ state: 'UP' });
    expect(h.rec('h1')!.ended).to.deep.equal({ verb: 'abort', actor: 'bob', reason: 'wrong host', at_ms: h.now });
    expect(ok.replies[0]!.reply).to.deep.equal({ outcome: 'ok', body: { aborted: [{ hostname: 'h1', state: 'UP' }] } });
    expect(ok.audit.find((a) => a.kind === 'request')).to.include({ action: 'abort', actor: 'bob', reason: 'wrong host' });
  });

  it('DRAINED → machine down → DOWN → post_drain: each step asks for its I/O and the next comes from the result, with audit entries', () => {
    const h = new Harness();
    const st = h.start(['h3'], { request: { hosts: ['h3'], post_drain: 'echo done' } });
    h.done(st.io[0]!);
    // h3 runs none of our tasks: the first plan drains it at once
    h.now += 1000;
    const t1 = h.in({ kind: 'tick' });
    expect(h.rec('h3')!.state).to.equal('DRAINED');
    expect(kinds(t1)).to.include('down-check');
    expect(kinds(h.in({ kind: 'tick' })), 'one check at a time').to.not.include('down-check');
    const check = t1.io.find((r) => r.kind === 'down-check') as Extract<IoRequest, { kind: 'down-check' }>;
    const decided = h.in({ kind: 'io', result: { kind: 'down-check', request: check, status: {}, state: masterState() } });
    expect(kinds(decided)).to.deep.equal(['machine-down']);
    expect(puts(decided, PENDING_COLLECTION), 'the machine-down intent is written before the POST').to.have.length(1);
    const down = decided.io[0]!;
    h.now += 100;
    const downed = h.done(down);
    expect(h.rec('h3')).to.include({ state: 'DOWN', down_posted_ms: h.now });
    expect(downed.audit.map((a) => a.kind)).to.deep.equal(['host_transition', 'machine_down']);
    const t2 = h.in({ kind: 'tick' });
    const hook = t2.io.find((r) => r.kind === 'post-drain') as Extract<IoRequest, { kind: 'post-drain' }>;
    expect(hook).to.include({ command: 'echo done', host: 'h3' });
    expect(hook.target).to.deep.equal({ hostname: 'h3', ip: '10.0.0.3', agent_id: 'a3' });
    expect(kinds(h.in({ kind: 'tick' })), 'never twice').to.not.include('post-drain');
    const ran = h.in({ kind: 'io', result: { kind: 'post-drain', request: hook, result: { exit_code: 3, timed_out: false, output_tail: 'x' } } });
    expect(h.rec('h3')!.post_drain_result).to.include({ exit_code: 3 });
    expect(ran.audit[0]).to.include({ kind: 'hook', host: 'h3' });
    expect(ran.audit[0]!.detail).to.include({ outcome: 'failed', exit_code: 3 });
  });

  it('a forced drain timeout: the kill and timed_out are decided in one step, and the later DOWN record (built from a result) keeps them', () => {
    const h = new Harness();
    // pinned: 1 of 1 must stay up; its task has run for over an hour (up), so the SLA allows no kill
    applyCommand(h.s, { type: 'create_job', spec: spec('pinned', 1, { sla: { kind: 'count', count: 1, duration_seconds: 3600 } }) }, h.now);
    onEvent(h.s, offersEvent([offer('a1', 'h1', { cpus: 8, mem: 8192 })]), h.now);
    const task = [...h.s.tasks.keys()][0]!;
    onEvent(h.s, update(task, 'TASK_RUNNING', { agent: 'a1' }), h.now);
    h.now += 3601_000;
    const st = h.start(['h1'], { request: { hosts: ['h1'], timeout_ms: 120_000, force: true } });
    const posted = h.done(st.io[0]!);
    h.now += 60_000;
    const before = h.in({ kind: 'tick' });
    expect(before.commands.filter((c) => c.type === 'kill_tasks'), 'within the SLA: no kill before the timeout').to.deep.equal([]);
    // a DRAINING host is read too (other frameworks on it, shown by host query): answered here
    const watch = [...posted.io, ...before.io].find((r) => r.kind === 'down-check') as Extract<IoRequest, { kind: 'down-check' }>;
    expect(h.in({ kind: 'io', result: { kind: 'down-check', request: watch, status: {}, state: masterState() } }).io).to.deep.equal([]);
    h.now += 61_000;
    const t = h.in({ kind: 'tick' });
    expect(t.commands.find((c) => c.type === 'kill_tasks')).to.deep.include({ task_ids: [task] });
    expect(t.audit.find((a) => a.kind === 'drain_kill')).to.include({ job: 'pinned', task_id: task, host: 'h1', request_id: 'mnt-1' });
    expect(t.audit.find((a) => a.kind === 'drain_kill')!.detail).to.include({ kill_reason: 'forced' });
    expect(h.rec('h1')!.timed_out_ms).to.equal(h.now);
    for (const r of t.io.filter((x) => x.kind === 'down-check')) h.in({ kind: 'io', result: { kind: 'down-check', request: r as Extract<IoRequest, { kind: 'down-check' }>, status: {}, state: masterState() } });
    // the task is gone: DRAINED, a down check, machine down; every record is built from the current one
    onEvent(h.s, update(task, 'TASK_KILLED', { agent: 'a1' }), h.now);
    h.now += 6000;
    const t2 = h.in({ kind: 'tick' });
    expect(h.rec('h1')!.state).to.equal('DRAINED');
    const check = t2.io.find((r) => r.kind === 'down-check') as Extract<IoRequest, { kind: 'down-check' }>;
    const d = h.in({ kind: 'io', result: { kind: 'down-check', request: check, status: {}, state: masterState() } });
    h.now += 1;
    h.done(d.io[0]!);
    expect(h.rec('h1')).to.include({ state: 'DOWN' });
    expect(h.rec('h1')!.timed_out_ms).to.be.a('number');
    expect(hostsView(h.m, h.s, h.now, undefined).hosts[0]).to.include({ hostname: 'h1', state: 'DOWN', timed_out: true, actor: 'alice' });
  });

  it('inverse offers: ACCEPT only for an empty agent, with an audit entry; a failed answer comes back and is answered again once', () => {
    const h = new Harness();
    const io = { id: { value: 'io-1' }, agent_id: { value: 'a2' }, framework_id: { value: 'fw' }, unavailability: { start: { nanoseconds: BigInt(T0 + 3600_000) * 1_000_000n } } };
    const st = h.in({ kind: 'event', event: { type: 'INVERSE_OFFERS', inverse_offers: { inverse_offers: [io] } } as never });
    expect(h.rec('h2')).to.include({ origin: 'external', state: 'DRAINING' });
    const accept = st.calls.find((c) => c.type === 'ACCEPT_INVERSE_OFFERS') as Call;
    expect(accept.accept_inverse_offers!.inverse_offer_ids).to.deep.equal([{ value: 'io-1' }]);
    expect(st.audit.find((a) => a.kind === 'inverse_offer')!.detail).to.include({ answer: 'ACCEPT', inverse_offer_id: 'io-1' });
    expect(h.m.held.size).to.equal(0);
    // the call failed: routed back here, held again, answered at the next plan
    const failed = h.in({ kind: 'call_failed', call: accept, error: 'HTTP 503' });
    expect(failed.audit[0]!.detail).to.include({ answer: 'ACCEPT', failed: true, held_again: true });
    expect([...h.m.held.keys()]).to.deep.equal(['io-1']);
    h.now += 1000;
    const again = h.in({ kind: 'tick' });
    expect(again.calls.map((c) => c.type)).to.deep.equal(['ACCEPT_INVERSE_OFFERS']);
    const twice = h.in({ kind: 'call_failed', call: again.calls[0]!, error: 'HTTP 503' });
    expect(twice.audit[0]!.detail).to.include({ held_again: false });
    expect(h.m.held.size).to.equal(0);
  });

  it('reconciliation: one read at a time; a window posted by someone else makes the host external; a host written since the read was asked for is left alone', () => {
    const h = new Harness();
    const t = h.in({ kind: 'tick' });
    expect(kinds(t)).to.deep.equal(['reconcile-read']);
    expect(kinds(h.in({ kind: 'tick' }))).to.deep.equal([]);
    // meanwhile Sluice's own start on h1 is written to the master
    const st = h.start(['h1']);
    h.done(st.io[0]!);
    const w = { start: { nanoseconds: BigInt(T0 + 7200_000) * 1_000_000n } };
    // the read ran after that write (our window on h1) and someone else's on h2; h1 was written
    // after the read was asked for, so it is left alone (not taken for an external window)
    const ours = { start: { nanoseconds: BigInt(h.rec('h1')!.window!.start_ms) * 1_000_000n } };
    const schedule: Schedule = { windows: [{ machine_ids: [{ hostname: 'h1', ip: '10.0.0.1' }], unavailability: ours }, { machine_ids: [{ hostname: 'h2', ip: '10.0.0.2' }], unavailability: w }] };
    const r = h.in({ kind: 'io', result: { kind: 'reconcile-read', request: t.io[0] as Extract<IoRequest, { kind: 'reconcile-read' }>, schedule, status: {}, state: masterState() } });
    expect(h.rec('h2')).to.include({ origin: 'external', state: 'SCHEDULED' });
    expect(h.rec('h1')).to.include({ origin: 'sluice', state: 'DRAINING' });
    expect(puts(r, HOSTS_COLLECTION)).to.deep.equal(['h2']);
    expect(r.io).to.deep.equal([]);
  });

  it('start-up: a hook that was running is not run again; the records and blocked hosts are restored', () => {
    const m = initialState({}, 'op-x');
    const s = createState();
    const inv = AGENTS.map((a) => ({ hostname: a.hostname, ip: a.ip!, agent_id: a.agent_id }));
    const [rec] = startMaintenance(new Map(), { hosts: ['h1'], post_drain: 'reboot' }, inv, T0, 'mnt-9').records;
    const down: HostRecord = { ...transition(transition(rec!, 'DRAINED', T0, 'x'), 'DOWN', T0, 'y'), schedule_posted_ms: T0, down_posted_ms: T0 };
    const op: PendingOp = { id: 'op-old-1', kind: 'post-drain', hosts: ['h1'], created_ms: T0, command: 'reboot' };
    const st = reduce(m, { kind: 'loaded', records: [down], pending: [op], sched: s }, T0 + 5);
    expect(m.records.get('h1')!.post_drain_result).to.include({ interrupted: true, exit_code: null });
    expect(deletes(st, PENDING_COLLECTION)).to.deep.equal(['op-old-1']);
    expect(st.audit[0]).to.include({ kind: 'hook' });
    expect(st.commands).to.deep.equal([{ type: 'set_blocked_hosts', hosts: ['h1'] }]);
    expect(st.io, 'nothing runs before the first tick').to.deep.equal([]);
    const tick = reduce(m, { kind: 'tick', sched: s }, T0 + 10);
    expect(tick.io.map((r) => r.kind), 'not run again').to.deep.equal(['reconcile-read']);
  });
});
