/**
 * Pause, resume, in-flight edits and the cluster-wide DRAINING cap in the maintenance reducer
 * (src/maintenance/core/loop-requests.ts onPause / onEdit, host-state.ts admissions), pure: inputs
 * in, steps out. The scheduler state it reads is built by the real scheduler reducer.
 */
import { expect } from 'chai';
import { onEvent } from '../../src/scheduler/reducer.js';
import { CONTROL_COLLECTION, HOSTS_COLLECTION, initialState, PAUSE_KEY, type IoRequest } from '../../src/maintenance/core/loop-state.js';
import { hostsView, requestsView } from '../../src/maintenance/core/views.js';
import type { PauseMark } from '../../src/maintenance/core/host-state.js';
import { subscribed, update } from '../scheduler/helpers.js';
import { kills, Loop } from './loop-harness.js';

describe('maintenance reducer: pause, resume, edit, cluster cap (pure)', () => {
  it('pause a request: no new kill while paused (kills in flight stand), held before machine down; resume goes on to DOWN', () => {
    const l = new Loop();
    const [t1, t2] = l.tasks('web', ['a1', 'a1']);
    l.start(['h1'], 'mnt-1');
    expect(l.rec('h1').state).to.equal('DRAINING');
    const p = l.op({ kind: 'pause', target: { request_id: 'mnt-1' } });
    expect(p.replies[0]!.reply).to.deep.include({ outcome: 'ok' });
    expect(p.storeOps.find((o) => o.op === 'put' && o.collection === HOSTS_COLLECTION && o.key === 'h1')).to.not.equal(undefined);
    expect(p.audit).to.have.length(1);
    expect(p.audit[0]).to.include({ kind: 'request', action: 'pause', actor: 'bob', reason: 'incident', host: 'h1', request_id: 'mnt-1' });
    expect(l.rec('h1').paused).to.include({ actor: 'bob', reason: 'incident' });
    for (let i = 0; i < 3; i++) expect(kills(l.tick()), 'paused: no kill').to.deep.equal([]);
    const hv = hostsView(l.m, l.s, l.now, undefined).hosts.find((h) => h['hostname'] === 'h1')!;
    expect(hv['paused']).to.include({ actor: 'bob' });
    expect(requestsView(l.m)[0]).to.include({ paused: true, paused_hosts: 1 });

    const r = l.op({ kind: 'resume', target: { hosts: ['h1'] } });
    expect(r.audit[0]).to.include({ action: 'resume', host: 'h1' });
    expect(l.rec('h1').paused).to.equal(undefined);
    const k = kills(l.tick());
    expect(k.sort()).to.deep.equal([t1, t2].sort());
    // a kill in flight when paused: it finishes; the empty host turns DRAINED but no machine down while paused
    l.op({ kind: 'pause', target: { hosts: ['h1'] } });
    onEvent(l.s, update(t1!, 'TASK_KILLED', { agent: 'a1' }), l.now);
    onEvent(l.s, update(t2!, 'TASK_KILLED', { agent: 'a1' }), l.now);
    for (let i = 0; i < 4; i++) expect(l.tick(10_000).io.filter((x) => x.kind === 'machine-down'), 'paused: no machine down').to.deep.equal([]);
    expect(l.rec('h1').state).to.equal('DRAINED');
    l.op({ kind: 'resume', target: { request_id: 'mnt-1' } });
    let down: IoRequest | undefined;
    for (let i = 0; i < 4 && !down; i++) down = l.tick(10_000).io.find((x) => x.kind === 'machine-down');
    expect(down, 'resumed: machine down').to.not.equal(undefined);
    l.in({ kind: 'io', result: { kind: 'done', request: down as Extract<IoRequest, { kind: 'machine-down' }> } });
    expect(l.rec('h1').state).to.equal('DOWN');
  });

  it('refuses unknown requests and hosts not in maintenance with domain outcomes, writing nothing', () => {
    const l = new Loop();
    const a = l.op({ kind: 'pause', target: { request_id: 'mnt-nope' } });
    expect(a.replies[0]!.reply).to.include({ outcome: 'conflict' });
    expect(a.storeOps).to.deep.equal([]);
    const b = l.op({ kind: 'resume', target: { hosts: ['h2'] } });
    expect(b.replies[0]!.reply).to.include({ outcome: 'conflict' });
    expect(b.audit).to.deep.equal([]);
    const c = l.op({ kind: 'edit', request_id: 'mnt-nope', max_parallel: 2 });
    expect(c.replies[0]!.reply).to.include({ outcome: 'conflict' });
  });

  it('pause --all: persisted mark, nothing killed or admitted anywhere; restored by loaded; resume --all deletes it', () => {
    const l = new Loop();
    l.tasks('web', ['a1', 'a2']);
    const p = l.op({ kind: 'pause', target: { all: true } });
    expect(p.storeOps).to.deep.equal([{ op: 'put', collection: CONTROL_COLLECTION, key: PAUSE_KEY, value: { actor: 'bob', reason: 'incident', at_ms: l.now } }]);
    expect(p.audit[0]).to.include({ kind: 'request', action: 'pause', actor: 'bob' });
    l.start(['h1'], 'mnt-1');
    expect(kills(l.tick())).to.deep.equal([]);
    // a restart: a fresh loop loaded from what was written
    const l2 = new Loop();
    l2.tasks('web', ['a1', 'a2']);
    l2.m = initialState({}, 'op-q');
    l2.in({ kind: 'loaded', records: [...l.m.records.values()], pending: [], pausedAll: (p.storeOps[0] as unknown as { value: PauseMark }).value });
    l2.in({ kind: 'event', event: subscribed() });
    expect(l2.m.pausedAll).to.include({ actor: 'bob' });
    expect(kills(l2.tick())).to.deep.equal([]);
    expect(hostsView(l2.m, l2.s, l2.now, undefined).paused_all).to.include({ actor: 'bob' });
    const r = l2.op({ kind: 'resume', target: { all: true } });
    expect(r.storeOps).to.deep.equal([{ op: 'delete', collection: CONTROL_COLLECTION, key: PAUSE_KEY }]);
    expect(kills(l2.tick())).to.have.length(1);
  });

  it('edit max_parallel in flight: more hosts admitted at the next plan; timeout edit recorded; force cannot lose its timeout', () => {
    const l = new Loop();
    l.tasks('pin', ['a1', 'a2', 'a3'], true);
    l.start(['h1', 'h2', 'h3'], 'mnt-1', { max_parallel: 1 });
    l.tick();
    const states = () => ['h1', 'h2', 'h3'].map((h) => l.rec(h).state);
    expect(states()).to.deep.equal(['DRAINING', 'SCHEDULED', 'SCHEDULED']);
    const e = l.op({ kind: 'edit', request_id: 'mnt-1', max_parallel: 2, timeout_ms: 600_000 });
    expect(e.replies[0]!.reply).to.deep.include({ outcome: 'ok' });
    expect(e.audit).to.have.length(1);
    expect(e.audit[0]).to.deep.include({ kind: 'request', action: 'edit', request_id: 'mnt-1', detail: { hosts: ['h1', 'h2', 'h3'], before: { max_parallel: 1, timeout_ms: null }, after: { max_parallel: 2, timeout_ms: 600_000 } } });
    l.tick();
    expect(states()).to.deep.equal(['DRAINING', 'DRAINING', 'SCHEDULED']);
    expect(requestsView(l.m)[0]).to.include({ max_parallel: 2, timeout_ms: 600_000 });
    const l2 = new Loop();
    l2.start(['h1'], 'mnt-2', { timeout_ms: 60_000, force: true });
    expect(l2.op({ kind: 'edit', request_id: 'mnt-2', timeout_ms: null }).replies[0]!.reply).to.include({ outcome: 'invalid' });
  });

  it('cluster cap: never more DRAINING hosts than max_draining_hosts across requests; the queue drains oldest request first', () => {
    const l = new Loop({ drain: { max_draining_hosts: 2 } });
    const ids = l.tasks('pin', ['a1', 'a2', 'a3'], true);
    const draining = () => [...l.m.records.values()].filter((r) => r.state === 'DRAINING').length;
    l.start(['h1'], 'mnt-1');
    l.start(['h2', 'h3'], 'mnt-2');
    expect(draining()).to.equal(2);
    expect(l.rec('h3').state).to.equal('SCHEDULED');
    for (let i = 0; i < 5; i++) {
      l.tick(70_000);
      expect(draining()).to.be.at.most(2);
    }
    const v = hostsView(l.m, l.s, l.now, undefined);
    expect(v.max_draining_hosts).to.equal(2);
    expect(v.hosts.find((h) => h['hostname'] === 'h3')!['waiting']).to.match(/max 2 hosts draining cluster-wide/);
    // h1's task goes: h1 DRAINED frees a slot, h3 (the only one queued) takes it
    onEvent(l.s, update(ids[0]!, 'TASK_KILLED', { agent: 'a1' }), l.now);
    l.tick();
    expect(l.rec('h1').state).to.equal('DRAINED');
    expect(l.rec('h3').state).to.equal('DRAINING');
    expect(draining()).to.equal(2);
  });
});
