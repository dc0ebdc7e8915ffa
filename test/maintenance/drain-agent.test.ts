/**
 * others_at_deadline=drain_agent in the maintenance reducer (src/maintenance/core/drain-agent.ts),
 * pure: inputs in, steps out, the scheduler state built by the real scheduler reducer. Every step is
 * a durable intent: the test keeps what each step writes (its store operations) in a table, and
 * "restarts" by loading a fresh loop from that table after any step, checking the flow resumes at
 * the step it was at. The master's refusals are those of Mesos 1.12 (src/master/http.cpp).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { onEvent } from '../../src/scheduler/reducer.js';
import { createState, type SchedulerState } from '../../src/scheduler/state.js';
import { reduce } from '../../src/maintenance/core/loop.js';
import { HOSTS_COLLECTION, initialState, type IoRequest, type IoResult, type MaintenanceInput, type MaintenanceState, type MaintenanceStep } from '../../src/maintenance/core/loop-state.js';
import { PENDING_COLLECTION, type PendingOp } from '../../src/maintenance/core/pending.js';
import { hostsView } from '../../src/maintenance/core/views.js';
import type { HostRecord } from '../../src/maintenance/core/host-state.js';
import type { MasterAgent, MasterStateView } from '../../src/maintenance/core/master.js';
import type { DrainAgentRequest, DrainAgentStep } from '../../src/maintenance/core/drain-agent-types.js';
import type { Failure } from '../../src/maintenance/core/outcome.js';
import { subscribed } from '../scheduler/helpers.js';

const T0 = Date.UTC(2026, 0, 1);
const AGENTS: MasterAgent[] = [1, 2].map((i) => ({ agent_id: `a${i}`, hostname: `h${i}`, ip: `10.0.0.${i}` }));
type In = MaintenanceInput extends infer I ? (I extends unknown ? Omit<I, 'sched'> : never) : never;
const LEGACY = { framework_id: 'fw-legacy', framework_name: 'legacy', task_id: 'legacy-1', state: 'TASK_RUNNING' };

/** The store as the steps wrote it (collection -> key -> value). */
type Table = Map<string, Map<string, unknown>>;

class Loop {
  m: MaintenanceState;
  readonly s: SchedulerState = createState();
  private n = 0;

  constructor(
    readonly table: Table = new Map(),
    public now = T0,
  ) {
    this.m = initialState({ others: { deadlineMs: 0, atDeadline: 'drain_agent', drainAgentMaxGraceS: 10 } }, `op-${Math.round(now)}`);
    onEvent(this.s, subscribed(), this.now);
    const coll = <T>(c: string) => [...(table.get(c) ?? new Map()).values()].map((v) => structuredClone(v) as T);
    this.in({ kind: 'loaded', records: coll<HostRecord>(HOSTS_COLLECTION), pending: coll<PendingOp>(PENDING_COLLECTION) });
    this.in({ kind: 'event', event: subscribed() });
  }

  in(input: In): MaintenanceStep {
    const st = reduce(this.m, { ...input, sched: this.s } as MaintenanceInput, this.now);
    for (const o of st.storeOps) {
      const c = this.table.get(o.collection) ?? new Map<string, unknown>();
      this.table.set(o.collection, c);
      if (o.op === 'put') c.set(o.key, structuredClone(o.value));
      else c.delete(o.key);
    }
    return st;
  }

  start(hosts: string[]): void {
    const st = this.in({ kind: 'start', request: { hosts }, request_id: 'mnt-1', agents: AGENTS, schedule: {}, reply: `t${++this.n}`, actor: 'alice', reason: 'kernel' });
    this.now += 10;
    this.in({ kind: 'io', result: { kind: 'done', request: st.io[0] as Extract<IoRequest, { kind: 'schedule-add' }> } });
  }

  /** A tick; its down checks answered with `state` (the legacy task on h1 unless told otherwise). */
  tick(ms = 6000, state: MasterStateView = masterState(true)): MaintenanceStep {
    this.now += ms;
    const st = this.in({ kind: 'tick' });
    for (const r of [...st.io]) {
      if (r.kind !== 'down-check') continue;
      const res = this.in({ kind: 'io', result: { kind: 'down-check', request: r, status: {}, state } });
      st.io.push(...res.io);
      st.logs.push(...res.logs);
      st.audit.push(...res.audit);
    }
    return st;
  }

  result(r: IoResult): MaintenanceStep {
    this.now += 10;
    return this.in({ kind: 'io', result: r });
  }

  rec(h: string): HostRecord {
    return this.m.records.get(h)!;
  }

  stored(): Extract<PendingOp, { kind: 'drain-agent' }>[] {
    return [...(this.table.get(PENDING_COLLECTION)?.values() ?? [])].filter((o) => (o as PendingOp).kind === 'drain-agent') as never;
  }
}

function masterState(legacy: boolean, drain?: { state?: string; deactivated: boolean }): MasterStateView {
  return {
    agents: AGENTS,
    frameworksOnAgent: new Map(legacy ? [['a1', ['fw-legacy']]] : []),
    tasksOnAgent: new Map(legacy ? [['a1', [LEGACY]]] : []),
    ...(drain ? { drainOnAgent: new Map([['a1', drain]]) } : {}),
  };
}

const drainIo = (st: MaintenanceStep): DrainAgentRequest[] => st.io.filter((r): r is DrainAgentRequest => r.kind === 'drain-agent');
const done = (request: DrainAgentRequest, extra: Partial<Extract<IoResult, { kind: 'drain-agent' }>> = {}): IoResult => ({ kind: 'drain-agent', request, ...extra });
const refused = (request: DrainAgentRequest, body: string): IoResult => ({ kind: 'failed', request, failure: { outcome: 'upstream_error', error: `the Mesos master refused: ${body}`, details: { status: 400, body, url: 'http://m/api/v1' } } as Failure });
const steps = (st: MaintenanceStep): string[] => st.audit.filter((a) => a.kind === 'drain_agent').map((a) => a.action!);

/** h1 DRAINED, its window started, the legacy task still there: the first check starts the flow. */
function drainedWithLegacy(table?: Table): { l: Loop; first: DrainAgentRequest } {
  const l = new Loop(table);
  l.start(['h1']);
  let st = l.tick();
  for (let i = 0; i < 5 && !drainIo(st).length; i++) st = l.tick();
  expect(l.rec('h1').state).to.equal('DRAINED');
  const io = drainIo(st);
  expect(io, 'the flow started').to.have.length(1);
  return { l, first: io[0]! };
}

/** Runs the flow from `first` to the end, the agent draining for one watch then DRAINED. */
function runFlow(l: Loop, first: DrainAgentRequest, onStep: (step: DrainAgentStep) => void = () => {}): string[] {
  const seen: string[] = [];
  let req: DrainAgentRequest | undefined = first;
  let watched = 0;
  while (req) {
    seen.push(req.step);
    onStep(req.step);
    let st: MaintenanceStep;
    if (req.step === 'watch') st = l.result(done(req, { agent: watched++ ? { registered: true, drain_state: 'DRAINED', deactivated: true, tasks: 0 } : { registered: true, drain_state: 'DRAINING', deactivated: true, tasks: 1 } }));
    else st = l.result(done(req));
    req = drainIo(st)[0] ?? (l.stored().length ? drainIo(l.tick(6000, masterState(false, { state: 'DRAINED', deactivated: true })))[0] : undefined);
  }
  return seen;
}

describe('maintenance reducer: others_at_deadline=drain_agent (pure)', () => {
  it('after the deadline: window-out, DRAIN_AGENT, watch until DRAINED, window-back, then machine down; each step durable and audited', () => {
    const { l, first } = drainedWithLegacy();
    expect(first).to.deep.include({ step: 'window-out', agent_id: 'a1', host: 'h1', max_grace_s: 10, machine: { hostname: 'h1', ip: '10.0.0.1' } });
    expect(first.window).to.deep.equal(l.rec('h1').window);
    const [intent] = l.stored();
    expect(intent).to.deep.include({ kind: 'drain-agent', step: 'window-out', agent_id: 'a1', request_id: 'mnt-1' });
    expect(intent!.others).to.deep.equal([{ framework_id: 'fw-legacy', framework_name: 'legacy', answer: 'NONE', task_count: 1, task_ids: ['legacy-1'] }]);
    const view = () => hostsView(l.m, l.s, l.now, undefined).hosts.find((h) => h['hostname'] === 'h1')!;
    expect(view()['drain_agent']).to.deep.include({ step: 'window-out', agent_id: 'a1' });

    const out = l.result(done(first));
    expect(steps(out)).to.deep.equal(['window_out']);
    const drain = drainIo(out)[0]!;
    expect(drain).to.deep.include({ step: 'drain', agent_id: 'a1', max_grace_s: 10 });
    expect(l.stored()[0]!.step).to.equal('drain');

    const sent = l.result(done(drain));
    expect(steps(sent)).to.deep.equal(['drain_sent']);
    expect(sent.logs.find((e) => e.event === 'drain_agent_draining')).to.deep.include({ level: 'warn' });
    expect(l.rec('h1').agent_drained).to.deep.include({ agent_id: 'a1' });
    expect(drainIo(sent), 'watch waits for the next tick').to.deep.equal([]);
    // no machine down while the flow is under way, however many ticks
    for (let i = 0; i < 3; i++) {
      const t = l.tick(6000, masterState(false, { state: 'DRAINING', deactivated: true }));
      expect(t.io.filter((x) => x.kind === 'machine-down' || x.kind === 'down-check')).to.deep.equal([]);
      const w = drainIo(t);
      expect(w.map((x) => x.step)).to.deep.equal(['watch']);
      expect(drainIo(l.result(done(w[0]!, { agent: { registered: true, drain_state: 'DRAINING', deactivated: true, tasks: 1 } })))).to.deep.equal([]);
    }
    expect(view()['waiting']).to.match(/agent drain .*step watch/);
    const w = drainIo(l.tick())[0]!;
    const drained = l.result(done(w, { agent: { registered: true, drain_state: 'DRAINED', deactivated: true, tasks: 0 } }));
    expect(steps(drained)).to.deep.equal(['drained']);
    const back = drainIo(drained)[0]!;
    expect(back).to.deep.include({ step: 'window-back', window: l.rec('h1').window });
    const fin = l.result(done(back));
    expect(steps(fin)).to.deep.equal(['window_back']);
    expect(l.stored()).to.deep.equal([]);
    // the tasks are gone: the next check posts machine down
    const t = l.tick(6000, masterState(false, { state: 'DRAINED', deactivated: true }));
    const down = t.io.find((x) => x.kind === 'machine-down');
    expect(down, 'machine down').to.not.equal(undefined);
    l.result({ kind: 'done', request: down as Extract<IoRequest, { kind: 'machine-down' }> });
    expect(l.rec('h1').state).to.equal('DOWN');
  });

  it('a restart after any step resumes the flow at that step (the step is run again), and it ends the same way', () => {
    const order = ['window-out', 'drain', 'watch', 'watch', 'window-back'];
    expect(runFlow(drainedWithLegacy().l, drainedWithLegacy().first)).to.deep.equal(order);
    for (let crashAt = 0; crashAt < order.length; crashAt++) {
      const table: Table = new Map();
      const { l, first } = drainedWithLegacy(table);
      let i = 0;
      // run until step `crashAt` was asked for, then "kill -9": a new loop from the table alone
      let req: DrainAgentRequest | undefined = first;
      let watched = 0;
      while (req && i < crashAt) {
        const st: MaintenanceStep = req.step === 'watch' ? l.result(done(req, { agent: watched++ ? { registered: true, drain_state: 'DRAINED', deactivated: true, tasks: 0 } : { registered: true, drain_state: 'DRAINING', deactivated: true, tasks: 1 } })) : l.result(done(req));
        i++;
        req = drainIo(st)[0] ?? drainIo(l.tick(6000, masterState(false, { state: 'DRAINING', deactivated: true })))[0];
      }
      const at = l.stored()[0]!.step;
      const resumed = new Loop(table, l.now + 1000);
      expect(resumed.m.pending.get(l.stored()[0]!.id)?.live, 'resumed intents are this process\'s').to.equal(true);
      const again = drainIo(resumed.tick(1000, masterState(false, { state: 'DRAINING', deactivated: true })));
      expect(again.map((r) => r.step), `crash at ${crashAt}`).to.deep.equal([at]);
      const rest = runFlow(resumed, again[0]!);
      expect(rest[rest.length - 1]).to.equal('window-back');
      expect(resumed.stored()).to.deep.equal([]);
      const down = resumed.tick(6000, masterState(false, { state: 'DRAINED', deactivated: true })).io.find((x) => x.kind === 'machine-down');
      expect(down, `machine down after a crash at ${crashAt}`).to.not.equal(undefined);
    }
  });

  it('DRAIN_AGENT refused because the machine is scheduled: out of the schedule again, then DRAIN_AGENT', () => {
    const { l, first } = drainedWithLegacy();
    const drain = drainIo(l.result(done(first)))[0]!;
    const r = l.result(refused(drain, 'Agent a1 is part of a maintenance schedule under Machine h1 (10.0.0.1)'));
    expect(l.stored()[0]!.step).to.equal('window-out');
    expect(r.logs.find((e) => e.event === 'drain_agent_refused_scheduled')).to.deep.include({ level: 'warn' });
    const again = drainIo(l.tick());
    expect(again.map((x) => x.step)).to.deep.equal(['window-out']);
    expect(drainIo(l.result(done(again[0]!))).map((x) => x.step)).to.deep.equal(['drain']);
  });

  it('any other 400 (agent not capable of draining): window back, gives up for this maintenance, waits as with wait; never machine down over their task', () => {
    const { l, first } = drainedWithLegacy();
    const drain = drainIo(l.result(done(first)))[0]!;
    const r = l.result(refused(drain, 'Agent a1 is not capable of draining'));
    expect(steps(r)).to.deep.equal(['failed']);
    const back = drainIo(r)[0]!;
    expect(back.step).to.equal('window-back');
    l.result(done(back));
    expect(l.rec('h1').agent_drained).to.deep.include({ never: true });
    expect(l.rec('h1').agent_drained!.failed).to.match(/not capable of draining/);
    for (let i = 0; i < 4; i++) {
      const t = l.tick();
      expect(t.io.filter((x) => x.kind === 'machine-down' || x.kind === 'drain-agent')).to.deep.equal([]);
    }
    // abort: UP; DRAIN_AGENT was never accepted, so nothing to reactivate
    const a = l.in({ kind: 'end', verb: 'abort', hosts: ['h1'], reply: 'r', actor: 'bob' } as In);
    l.result({ kind: 'done', request: a.io[0] as Extract<IoRequest, { kind: 'schedule-end' }> });
    expect(l.rec('h1').state).to.equal('UP');
    expect(drainIo(l.tick(6000, masterState(false)))).to.deep.equal([]);
    expect(l.rec('h1').agent_drained).to.equal(undefined);
  });

  it('watch: DRAINING past max_grace_period + 60 s warns once; drain info gone sends DRAIN_AGENT again; an agent no longer registered counts as drained', () => {
    const { l, first } = drainedWithLegacy();
    l.result(done(drainIo(l.result(done(first)))[0]!));
    const draining = { registered: true, drain_state: 'DRAINING', deactivated: true, tasks: 1 };
    const slow: string[] = [];
    for (let i = 0; i < 15; i++) {
      const w = drainIo(l.tick(6000))[0]!;
      expect(w.step).to.equal('watch');
      slow.push(...l.result(done(w, { agent: draining })).logs.filter((e) => e.event === 'drain_agent_slow').map((e) => e.level));
    }
    expect(slow, 'one warning, 70 s after the start').to.deep.equal(['warn']);
    // someone reactivated the agent (no drain info): DRAIN_AGENT again
    const lost = l.result(done(drainIo(l.tick(6000))[0]!, { agent: { registered: true, deactivated: false, tasks: 1 } }));
    expect(lost.logs.find((e) => e.event === 'drain_agent_lost')).to.deep.include({ level: 'warn' });
    const again = drainIo(l.tick(6000))[0]!;
    expect(again.step).to.equal('drain');
    l.result(done(again));
    // the agent left the master (removed or unreachable): its tasks went with it, the window goes back
    const gone = l.result(done(drainIo(l.tick(6000))[0]!, { agent: { registered: false, tasks: 0 } }));
    expect(steps(gone)).to.deep.equal(['drained']);
    expect(drainIo(gone).map((x) => x.step)).to.deep.equal(['window-back']);
  });

  it('DRAIN_AGENT 403 (not authorized) or 501 (a master before 1.9) gives up like a 400; REACTIVATE_AGENT 403 ends loudly, the mark cleared', () => {
    for (const status of [403, 501]) {
      const { l, first } = drainedWithLegacy();
      const drain = drainIo(l.result(done(first)))[0]!;
      const r = l.result({ kind: 'failed', request: drain, failure: { outcome: 'upstream_error', error: `the Mesos master refused: ${status}`, details: { status, body: '' } } });
      expect(drainIo(r).map((x) => x.step), String(status)).to.deep.equal(['window-back']);
    }
    const { l, first } = drainedWithLegacy();
    runFlow(l, first);
    const down = l.tick(6000, masterState(false)).io.find((x) => x.kind === 'machine-down')!;
    l.result({ kind: 'done', request: down as Extract<IoRequest, { kind: 'machine-down' }> });
    const c = l.in({ kind: 'end', verb: 'complete', hosts: ['h1'], reply: 'r', actor: 'bob' } as In);
    l.result({ kind: 'done', request: c.io[0] as Extract<IoRequest, { kind: 'schedule-end' }> });
    const re = drainIo(l.tick(6000, masterState(false)))[0]!;
    const transient = l.result({ kind: 'failed', request: re, failure: { outcome: 'unavailable', error: 'no Mesos master reachable' } });
    expect(transient.logs.find((e) => e.event === 'drain_agent_step_failed')).to.not.equal(undefined);
    const re2 = drainIo(l.tick(6000, masterState(false)))[0]!;
    expect(re2.step).to.equal('reactivate');
    const no = l.result({ kind: 'failed', request: re2, failure: { outcome: 'upstream_error', error: 'the Mesos master refused: 403', details: { status: 403, body: '' } } });
    expect(no.logs.find((e) => e.event === 'drain_agent_reactivate_refused')).to.deep.include({ level: 'error' });
    expect(steps(no)).to.deep.equal(['failed']);
    expect(l.rec('h1').agent_drained).to.equal(undefined);
    expect(drainIo(l.tick(60_000, masterState(false)))).to.deep.equal([]);
  });

  it('transient failures are retried after the check interval, without a new intent', () => {
    const { l, first } = drainedWithLegacy();
    const r = l.result({ kind: 'failed', request: first, failure: { outcome: 'unavailable', error: 'no Mesos master reachable' } });
    expect(r.logs.find((e) => e.event === 'drain_agent_step_failed')).to.deep.include({ level: 'warn' });
    expect(drainIo(l.tick(1000))).to.deep.equal([]);
    expect(drainIo(l.tick(5000)).map((x) => [x.step, x.op])).to.deep.equal([['window-out', first.op]]);
    expect(l.stored()).to.have.length(1);
  });

  it('window back refused (someone else put the machine in their window): the flow ends, loudly', () => {
    const { l, first } = drainedWithLegacy();
    const drain = drainIo(l.result(done(first)))[0]!;
    l.result(done(drain));
    const w = drainIo(l.tick())[0]!;
    expect(w.step).to.equal('watch');
    const back = drainIo(l.result(done(w, { agent: { registered: true, drain_state: 'DRAINED', deactivated: true, tasks: 0 } })))[0]!;
    expect(back.step).to.equal('window-back');
    const r = l.result({ kind: 'failed', request: back, failure: { outcome: 'conflict', code: 'window-conflict', error: 'cannot schedule: h1: already in a maintenance window posted by someone else' } });
    expect(r.logs.find((e) => e.event === 'drain_agent_window_taken')).to.deep.include({ level: 'error' });
    expect(steps(r)).to.deep.equal(['failed']);
    expect(l.stored()).to.deep.equal([]);
  });

  it('host UP again after a drain: REACTIVATE_AGENT; "not deactivated" (machine down removed the agent) counts as done', () => {
    const { l, first } = drainedWithLegacy();
    runFlow(l, first);
    const down = l.tick(6000, masterState(false)).io.find((x) => x.kind === 'machine-down')!;
    l.result({ kind: 'done', request: down as Extract<IoRequest, { kind: 'machine-down' }> });
    const c = l.in({ kind: 'end', verb: 'complete', hosts: ['h1'], reply: 'r', actor: 'bob' } as In);
    l.result({ kind: 'done', request: c.io[0] as Extract<IoRequest, { kind: 'schedule-end' }> });
    expect(l.rec('h1').state).to.equal('UP');
    const t = drainIo(l.tick(6000, masterState(false)));
    expect(t.map((x) => [x.step, x.agent_id])).to.deep.equal([['reactivate', 'a1']]);
    expect(l.stored().map((o) => o.step)).to.deep.equal(['reactivate']);
    // a restart before the answer: asked again
    const resumed = new Loop(l.table, l.now + 1000);
    const again = drainIo(resumed.tick(1000, masterState(false)));
    expect(again.map((x) => x.step)).to.deep.equal(['reactivate']);
    const r = resumed.result(done(again[0]!, { not_deactivated: true }));
    expect(r.audit.find((a) => a.kind === 'drain_agent')).to.deep.include({ action: 'reactivated', detail: { step: 'reactivated', not_deactivated: true } });
    expect(resumed.rec('h1').agent_drained).to.equal(undefined);
    expect(resumed.stored()).to.deep.equal([]);
    expect(drainIo(resumed.tick(60_000, masterState(false)))).to.deep.equal([]);
  });

  it('others_at_deadline=wait and down are unchanged: no agent drain', () => {
    for (const atDeadline of ['wait', 'down'] as const) {
      const l = new Loop();
      (l.m.config as { others: unknown }).others = { deadlineMs: 0, atDeadline };
      l.start(['h1']);
      for (let i = 0; i < 5; i++) expect(drainIo(l.tick())).to.deep.equal([]);
    }
  });

  it('settings: others_at_deadline=drain_agent and drain_agent_max_grace_period from flag, environment or file; bad values refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-drain-agent-cfg-'));
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ others_at_deadline: 'drain_agent', drain_agent_max_grace_period: '2m' }));
    const d = loadConfig({}, {}, dir);
    expect([d.othersAtDeadline, d.drainAgentMaxGraceSeconds]).to.deep.equal(['wait', 300]);
    const f = loadConfig({ config: 'c.json' }, {}, dir);
    expect([f.othersAtDeadline, f.drainAgentMaxGraceSeconds, f.sources['drainAgentMaxGraceSeconds']]).to.deep.equal(['drain_agent', 120, 'file']);
    const e = loadConfig({ config: 'c.json' }, { SLUICE_DRAIN_AGENT_MAX_GRACE_PERIOD: '45' }, dir);
    expect([e.drainAgentMaxGraceSeconds, e.sources['drainAgentMaxGraceSeconds']]).to.deep.equal([45, 'env']);
    expect(loadConfig({ config: 'c.json', 'drain-agent-max-grace-period': '1500ms' }, { SLUICE_DRAIN_AGENT_MAX_GRACE_PERIOD: '45' }, dir).drainAgentMaxGraceSeconds).to.equal(2);
    expect(() => loadConfig({ 'drain-agent-max-grace-period': '0' }, {}, dir)).to.throw('--drain-agent-max-grace-period: DRAIN_AGENT\'s max grace period must be from 1s to 1d');
    expect(() => loadConfig({ 'drain-agent-max-grace-period': '2d' }, {}, dir)).to.throw('from 1s to 1d');
    expect(() => loadConfig({ 'drain-agent-max-grace-period': 'later' }, {}, dir)).to.throw('--drain-agent-max-grace-period');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
