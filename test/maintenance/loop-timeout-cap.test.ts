/**
 * Issue #13 follow-up, pure (the maintenance reducer over a real scheduler state, loop-harness.ts):
 * - the drain timeout does not count while a host is paused (its own pause, pause --all, both
 *   overlapping), persisted across a restart, shown in `host query`;
 * - `host maintenance edit --dry-run` says what would change and writes nothing;
 * - a DRAINED host with tasks of ours again goes back to draining only through admission (the
 *   cluster cap holds: queued SCHEDULED when no slot is free);
 * - other frameworks' answers and the start of the wait for them survive a restart.
 */
import { expect } from 'chai';
import type { ClusterStatus } from '../../src/mesos/types.js';
import type { IoRequest, MaintenanceStep } from '../../src/maintenance/core/loop-state.js';
import type { MasterAgent, MasterStateView } from '../../src/maintenance/core/master.js';
import { hostsView } from '../../src/maintenance/core/views.js';
import { kills, Loop } from './loop-harness.js';

const MIN = 60_000;
const AGENTS4: MasterAgent[] = [1, 2, 3, 4].map((i) => ({ agent_id: `a${i}`, hostname: `h${i}`, ip: `10.0.0.${i}` }));

/** The drain_timeout log lines of a step. */
const timeouts = (st: MaintenanceStep): Array<Record<string, unknown>> =>
  st.logs.filter((l) => l.kind === 'log' && l.event === 'drain_timeout').map((l) => (l as { fields: Record<string, unknown> }).fields);

function hostView(l: Loop, h: string): Record<string, unknown> {
  return hostsView(l.m, l.s, l.now, undefined).hosts.find((x) => x['hostname'] === h)!;
}

/** Ticks until `at` (steps of at most `step`), collecting drain_timeout lines and kills. */
function runUntil(l: Loop, at: number, step = 60_000): { timeouts: Array<Record<string, unknown>>; kills: string[] } {
  const out = { timeouts: [] as Array<Record<string, unknown>>, kills: [] as string[] };
  while (l.now < at) {
    const st = l.tick(Math.min(step, at - l.now));
    out.timeouts.push(...timeouts(st));
    out.kills.push(...kills(st));
  }
  return out;
}

describe('maintenance reducer: the drain timeout stands still while paused; edit --dry-run; re-entry under the cap; others across a restart (pure)', () => {
  it('a paused host: no timeout while paused (however long), the remainder shown and kept across a restart; after resume it passes exactly remainder later', () => {
    const l = new Loop();
    // one instance needing 1 of 1 up: nothing can be killed within the SLA, the host drains until forced
    const [task] = l.tasks('pin', ['a1'], true);
    l.start(['h1'], 'mnt-1', { timeout_ms: 10 * MIN, force: true });
    const t0 = l.rec('h1').drain_started_ms!;
    expect(l.rec('h1').state).to.equal('DRAINING');
    expect(runUntil(l, t0 + 4 * MIN).timeouts).to.deep.equal([]);
    l.op({ kind: 'pause', target: { request_id: 'mnt-1' } });
    const pausedAt = l.now;
    expect(l.rec('h1').paused_from_ms).to.equal(pausedAt);
    // 30 minutes paused: three times the timeout, and no notice, no forced kill
    const during = runUntil(l, pausedAt + 30 * MIN, 5 * MIN);
    expect(during.timeouts, 'timed out while paused').to.deep.equal([]);
    expect(during.kills).to.deep.equal([]);
    expect(l.rec('h1').timed_out_ms).to.equal(undefined);
    let v = hostView(l, 'h1');
    expect(v['timeout_remaining_ms']).to.equal(t0 + 10 * MIN - pausedAt);
    expect(v['paused_since_ms']).to.equal(pausedAt);
    expect(v['drain_deadline_ms']).to.equal(l.now + (t0 + 10 * MIN - pausedAt));
    // a restart loads the pause clock from what was written
    l.restart();
    expect(l.rec('h1').paused_from_ms).to.equal(pausedAt);
    expect(hostView(l, 'h1')['timeout_remaining_ms']).to.equal(t0 + 10 * MIN - pausedAt);
    expect(runUntil(l, l.now + 10 * MIN, 5 * MIN).timeouts).to.deep.equal([]);
    l.op({ kind: 'resume', target: { hosts: ['h1'] } });
    const resumedAt = l.now;
    const paused = resumedAt - pausedAt;
    expect(l.rec('h1').paused_ms).to.equal(paused);
    expect(l.rec('h1').paused_from_ms).to.equal(undefined);
    v = hostView(l, 'h1');
    expect(v['paused_since_ms']).to.equal(undefined);
    expect(v['paused_ms']).to.equal(paused);
    const deadline = t0 + 10 * MIN + paused;
    expect(v['drain_deadline_ms']).to.equal(deadline);
    expect(runUntil(l, deadline - 1000, 30_000).timeouts, 'not before the deadline moved by the paused time').to.deep.equal([]);
    const after = runUntil(l, deadline, 1000);
    expect(after.timeouts).to.have.length(1);
    expect(after.timeouts[0]).to.include({ host: 'h1', deadline_ms: deadline, forced: true });
    expect(after.kills, '--force kills what is left once the (moved) deadline passed').to.deep.equal([task]);
  });

  it('pause --all and a host pause overlapping: the timeout stops from the first pause to the last resume; restart in between', () => {
    const l = new Loop();
    l.tasks('pin', ['a1'], true);
    l.start(['h1'], 'mnt-1', { timeout_ms: 10 * MIN });
    const t0 = l.rec('h1').drain_started_ms!;
    runUntil(l, t0 + 2 * MIN);
    const allAt = l.now;
    const pa = l.op({ kind: 'pause', target: { all: true } });
    // the host's pause clock starts in the same batch as the cluster mark
    expect(pa.storeOps.some((o) => o.op === 'put' && o.key === 'h1')).to.equal(true);
    expect(l.rec('h1').paused_from_ms).to.equal(allAt);
    runUntil(l, allAt + 3 * MIN);
    l.op({ kind: 'pause', target: { hosts: ['h1'] } });
    runUntil(l, l.now + 2 * MIN);
    l.op({ kind: 'resume', target: { all: true } });
    // still paused by its own mark: the clock keeps standing still
    expect(l.rec('h1').paused_from_ms).to.equal(allAt);
    l.restart();
    expect(hostView(l, 'h1')['timeout_remaining_ms']).to.equal(8 * MIN);
    expect(runUntil(l, l.now + 5 * MIN).timeouts).to.deep.equal([]);
    l.op({ kind: 'resume', target: { hosts: ['h1'] } });
    const paused = l.now - allAt;
    expect(paused).to.equal(10 * MIN);
    const deadline = t0 + 10 * MIN + paused;
    expect(hostView(l, 'h1')['drain_deadline_ms']).to.equal(deadline);
    expect(runUntil(l, deadline - 1000, 30_000).timeouts).to.deep.equal([]);
    expect(runUntil(l, deadline, 1000).timeouts.map((t) => t['deadline_ms'])).to.deep.equal([deadline]);
  });

  it('edit --dry-run: new deadlines, hosts that would start under the new max_parallel and the cluster cap; writes and audits nothing; the real edit then does what it said', () => {
    const l = new Loop({ drain: { max_draining_hosts: 2 } }, AGENTS4);
    l.tasks('pin', ['a1', 'a2', 'a3', 'a4'], true);
    l.start(['h1', 'h2', 'h3', 'h4'], 'mnt-1', { max_parallel: 1, timeout_ms: 10 * MIN });
    l.tick();
    const states = () => ['h1', 'h2', 'h3', 'h4'].map((h) => l.rec(h).state);
    expect(states()).to.deep.equal(['DRAINING', 'SCHEDULED', 'SCHEDULED', 'SCHEDULED']);
    const t0 = l.rec('h1').drain_started_ms!;
    const before = structuredClone([...l.m.records.values()]);
    const d = l.op({ kind: 'edit', request_id: 'mnt-1', max_parallel: 4, timeout_ms: 30 * MIN, dry_run: true });
    expect(d.storeOps, 'a dry run writes nothing').to.deep.equal([]);
    expect(d.audit, 'a dry run is not audited').to.deep.equal([]);
    expect([...l.m.records.values()]).to.deep.equal(before);
    const body = (d.replies[0]!.reply as { outcome: string; body: Record<string, any> }).body; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(d.replies[0]!.reply).to.include({ outcome: 'ok' });
    expect(body).to.deep.include({ dry_run: true, request_id: 'mnt-1', before: { max_parallel: 1, timeout_ms: 10 * MIN }, after: { max_parallel: 4, timeout_ms: 30 * MIN }, max_draining_hosts: 2 });
    expect(body['would_start_draining'].map((a: { hostname: string }) => a.hostname)).to.deep.equal(['h2']);
    expect(body['held_by_cluster_cap']).to.deep.equal(['h3', 'h4']);
    const h1 = body['hosts'].find((h: { hostname: string }) => h.hostname === 'h1');
    expect(h1).to.deep.include({ state: 'DRAINING', deadline_before_ms: t0 + 10 * MIN, deadline_ms: t0 + 30 * MIN, timeout_remaining_ms: t0 + 30 * MIN - l.now, times_out_now: false });
    // a shorter timeout already past: said, not done
    l.now = t0 + 6 * MIN;
    const shorter = l.op({ kind: 'edit', request_id: 'mnt-1', timeout_ms: 5 * MIN, dry_run: true });
    const s1 = (shorter.replies[0]!.reply as { body: Record<string, any> }).body; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(s1['hosts'].find((h: { hostname: string }) => h.hostname === 'h1')).to.deep.include({ times_out_now: true, timeout_remaining_ms: 0 });
    expect(l.rec('h1').options.timeout_ms).to.equal(10 * MIN);
    // unknown request: the same refusal as the real edit
    expect(l.op({ kind: 'edit', request_id: 'mnt-nope', max_parallel: 2, dry_run: true }).replies[0]!.reply).to.include({ outcome: 'conflict' });
    // the real edit: the next plan admits exactly what the dry run announced
    const e = l.op({ kind: 'edit', request_id: 'mnt-1', max_parallel: 4, timeout_ms: 30 * MIN });
    expect(e.audit).to.have.length(1);
    l.tick();
    expect(states()).to.deep.equal(['DRAINING', 'DRAINING', 'SCHEDULED', 'SCHEDULED']);
  });

  it('a DRAINED host that gets tasks of ours again re-enters through admission: queued SCHEDULED while the cluster cap is full, DRAINING once a slot frees', () => {
    const l = new Loop({ drain: { max_draining_hosts: 1 } });
    const [pin] = l.tasks('pin', ['a2'], true);
    const draining = () => [...l.m.records.values()].filter((r) => r.state === 'DRAINING').length;
    // h1: nothing of ours, window in 30 min: DRAINED at once, no machine down before the window
    l.start(['h1'], 'mnt-1', { window: { start_ms: l.now + 30 * MIN } });
    l.tick();
    expect(l.rec('h1').state).to.equal('DRAINED');
    l.start(['h2'], 'mnt-2');
    expect(l.rec('h2').state).to.equal('DRAINING');
    // a task of ours lands on the drained h1 (the cap is full: h2 drains)
    const stray = l.place('a1');
    const st = l.tick();
    expect(draining(), 'the cap').to.equal(1);
    expect(l.rec('h1').state).to.equal('SCHEDULED');
    const last = l.rec('h1').history.at(-1)!;
    expect(last).to.include({ from: 'DRAINED', to: 'SCHEDULED' });
    expect(last.reason).to.match(/1 task\(s\) of ours found on the drained host; queued: 1 of max 1 hosts draining cluster-wide/);
    expect(kills(st), 'nothing killed on a queued host').to.not.include(stray);
    expect(st.io.filter((r) => r.kind === 'machine-down')).to.deep.equal([]);
    // h2 empties: its slot goes to h1, whose task is then drained
    l.killed([pin!]);
    const st2 = l.tick();
    expect(l.rec('h2').state).to.equal('DRAINED');
    expect(l.rec('h1').state).to.equal('DRAINING');
    expect(draining()).to.equal(1);
    expect(kills(st2)).to.deep.equal([stray]);
  });

  it('other frameworks: their answers are audited once and the start of the wait is kept across a restart; no machine down before the deadline after it', () => {
    const AG: MasterAgent = { agent_id: 'a1', hostname: 'h1', ip: '10.0.0.1' };
    const l = new Loop({ downCheckIntervalMs: 5_000, others: { deadlineMs: 20 * MIN, atDeadline: 'down' } }, [AG]);
    const status = { draining_machines: [{ id: { hostname: 'h1', ip: '10.0.0.1' }, statuses: [{ framework_id: { value: 'fw-batch' }, status: 'ACCEPT' }] }] } as ClusterStatus;
    const state: MasterStateView = {
      agents: [AG],
      frameworksOnAgent: new Map([['a1', ['fw-legacy', 'fw-batch']]]),
      tasksOnAgent: new Map([['a1', [
        { framework_id: 'fw-legacy', framework_name: 'legacy', task_id: 'legacy-1', state: 'TASK_RUNNING' },
        { framework_id: 'fw-batch', framework_name: 'batch', task_id: 'batch-1', state: 'TASK_RUNNING' },
      ]]]),
    };
    const master = { status, state };
    l.start(['h1'], 'mnt-1');
    const windowStart = l.rec('h1').window!.start_ms;
    const answers = (st: MaintenanceStep) => st.audit.filter((a) => a.kind === 'inverse_offer').map((a) => a.detail?.['framework_id']);
    const downs = (st: MaintenanceStep) => st.io.filter((r): r is Extract<IoRequest, { kind: 'machine-down' }> => r.kind === 'machine-down');
    let st = l.tick(6_000, master);
    expect(l.rec('h1').state).to.equal('DRAINED');
    if (!answers(st).length) st = l.tick(6_000, master);
    expect(answers(st)).to.deep.equal(['fw-batch']);
    expect(downs(st)).to.deep.equal([]);
    const since = l.rec('h1').others_seen!.waiting_since_ms!;
    expect(since).to.be.a('number');
    expect(l.rec('h1').others_seen!.answers).to.deep.equal({ 'fw-batch': 'ACCEPT' });
    expect(hostView(l, 'h1')['others_waiting_since_ms']).to.equal(since);
    l.restart();
    let seen: string[] = [];
    let downAt: number | undefined;
    while (downAt === undefined && l.now < windowStart + 30 * MIN) {
      const s2 = l.tick(60_000, master);
      seen = seen.concat(answers(s2) as string[]);
      if (downs(s2).length) downAt = l.now;
    }
    expect(seen, 'answers already audited are not audited again after a restart').to.deep.equal([]);
    expect(l.rec('h1').others_seen!.waiting_since_ms, 'the wait began before the restart').to.equal(since);
    expect(downAt, 'machine down at the deadline, not before').to.be.at.least(windowStart + 20 * MIN);
    expect(downAt).to.be.below(windowStart + 22 * MIN);
  });
});
