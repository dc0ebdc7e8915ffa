import { expect } from 'chai';
import { jobView, onDisconnected } from '../../src/scheduler/reducer.js';
import { createState, restoreState } from '../../src/scheduler/state.js';
import { workloadRows } from '../../src/scheduler/workload-rows.js';
import { H, launched, offer, offersEvent, spec, subscribed, types, update } from './helpers.js';

describe('scheduler/reducer', () => {
  it('creates a job, launches on offers with write-ahead changes, acknowledges updates', () => {
    const h = new H();
    h.ev(subscribed());
    const r = h.cmd({ type: 'create_job', spec: spec('web', 2) });
    expect(r.result.outcome).to.equal('created');
    expect(r.changes.jobs.has('web')).to.equal(true);
    expect(r.changes.instances.size).to.equal(2);

    const calls = h.ev(offersEvent([offer('a1', 'h1')]));
    const ids = launched(calls);
    expect(ids).to.deep.equal(['web.0.1', 'web.1.2']);
    // state is LAUNCHING and recorded in changes (the runtime persists before sending ACCEPT)
    expect(h.s.tasks.get('web.0.1')!.state).to.equal('LAUNCHING');
    expect([...h.last.changes.tasks]).to.have.members(ids);
    expect(h.last.changes.meta).to.equal(true);
    // nothing pending any more: SUPPRESS
    expect(types(calls)).to.deep.equal(['ACCEPT', 'SUPPRESS']);
    const info = calls[0]!.accept!.operations![0]!.launch!.task_infos![0]!;
    expect(info.labels!.labels).to.deep.include({ key: 'sluice.job', value: 'web' });
    expect(info.kill_policy!.grace_period!.nanoseconds).to.equal(10_000_000_000n);
    const env = (info.command as { environment: { variables: Array<{ name: string; value: string }> } }).environment.variables;
    expect(env).to.deep.include({ name: 'SLUICE_TASK_ID', value: 'web.0.1' });

    const ack = h.ev(update('web.0.1', 'TASK_RUNNING', { agent: 'a1' }));
    expect(types(ack)).to.deep.equal(['ACKNOWLEDGE']);
    expect(h.inst('web', 0).state).to.equal('TASK_RUNNING');
    expect(h.inst('web', 0).running_since_ms).to.equal(h.now);
    // master-generated updates (no uuid) are not acknowledged
    expect(h.ev(update('web.1.2', 'TASK_RUNNING', { agent: 'a1', uuid: false }))).to.deep.equal([]);
  });

  it('declines with filters by reason and revives when work appears', () => {
    const h = new H();
    h.ev(subscribed());
    expect(types(h.last.calls)).to.deep.equal(['SUPPRESS']);
    h.s.placementBlockedHosts = new Set(['blocked']);
    const r = h.cmd({ type: 'create_job', spec: spec('web', 1, { resources: { cpus: 100, mem: 1 } }) });
    expect(types(r.calls)).to.deep.equal(['REVIVE']);
    const calls = h.ev(offersEvent([offer('a1', 'small'), offer('a2', 'blocked')]));
    const declines = calls.filter((c) => c.type === 'DECLINE').map((c) => [c.decline!.offer_ids!.length, c.decline!.filters!.refuse_seconds]);
    expect(declines).to.deep.equal([
      [1, 10],
      [1, 60],
    ]);
  });

  it('replaces failed instances with crash-loop backoff and lost ones at once', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 2) });
    const ids = h.offerTo(['h1', 'h2']);
    h.runAll(ids);
    const [a, b] = ids as [string, string];
    // lost: replaced immediately
    h.ev(update(b, 'TASK_LOST', { agent: 'agent-h2', uuid: false, reason: 'REASON_AGENT_REMOVED' }));
    expect(h.inst('web', 1).state).to.equal('PENDING');
    expect(h.inst('web', 1).not_before_ms).to.equal(undefined);
    // failed: backoff 5s, then 10s
    h.ev(update(a, 'TASK_FAILED', { agent: 'agent-h1' }));
    expect(h.inst('web', 0).not_before_ms).to.equal(h.now + 5000);
    const relaunched = h.offerTo(['h3']);
    expect(relaunched.map((id) => id.split('.')[1])).to.deep.equal(['1']); // only the lost one
    // the backed-off instance is not placeable: SUPPRESS; when the backoff ends: REVIVE
    expect(h.s.suppressed).to.equal(true);
    expect(types(h.tick(5000))).to.include('REVIVE');
    const again = h.offerTo(['h4']);
    expect(again).to.have.length(1);
    h.ev(update(again[0]!, 'TASK_FAILED', { agent: 'agent-h4' }));
    expect(h.inst('web', 0).failures).to.equal(2);
    expect(h.inst('web', 0).not_before_ms).to.equal(h.now + 10000);
  });

  it('replaces unreachable tasks and kills them if they come back (no duplicates)', () => {
    const h = new H(createState({ roles: ['*'] }));
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 1) });
    const [old] = h.offerTo(['h1']) as [string];
    h.runAll([old]);
    const calls = h.ev(update(old, 'TASK_UNREACHABLE', { agent: 'agent-h1', uuid: false }));
    expect(types(calls)).to.deep.equal(['KILL', 'REVIVE']);
    expect(h.inst('web', 0).state).to.equal('PENDING');
    const [fresh] = h.offerTo(['h2']) as [string];
    h.runAll([fresh]);
    // the old one returns
    const back = h.ev(update(old, 'TASK_RUNNING', { agent: 'agent-h1' }));
    expect(types(back)).to.deep.equal(['ACKNOWLEDGE']); // kill already pending, retried by tick
    expect(h.inst('web', 0).task_id).to.equal(fresh);
    h.ev(update(old, 'TASK_KILLED', { agent: 'agent-h1' }));
    expect(h.s.tasks.has(old)).to.equal(false);
    expect(h.inst('web', 0).state).to.equal('TASK_RUNNING');
  });

  it('reconciles explicitly after (re)subscribing, retries with backoff, and implicitly on a period', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 2) });
    const ids = h.offerTo(['h1']);
    h.ev({ type: 'ERROR', error: { message: 'Framework failed over' } });
    h.last = onDisconnected(h.s, h.now);
    expect(h.s.subscribed).to.equal(false);
    const calls = h.ev(subscribed());
    const rec = calls.find((c) => c.type === 'RECONCILE')!;
    expect(rec.reconcile!.tasks!.map((t) => [t.task_id.value, t.agent_id!.value])).to.deep.equal(ids.map((id) => [id, 'agent-h1']));
    // one answers, the other does not: retried after 5 s, then 10 s
    h.ev(update(ids[0]!, 'TASK_RUNNING', { agent: 'agent-h1', uuid: false }));
    expect(types(h.tick(4000))).to.not.include('RECONCILE');
    const retry = h.tick(1000).filter((c) => c.type === 'RECONCILE');
    expect(retry[0]!.reconcile!.tasks!.map((t) => t.task_id.value)).to.deep.equal([ids[1]]);
    expect(types(h.tick(9000))).to.not.include('RECONCILE');
    expect(types(h.tick(1000))).to.include('RECONCILE');
    // implicit every 15 min
    h.ev(update(ids[1]!, 'TASK_RUNNING', { agent: 'agent-h1', uuid: false }));
    expect(h.s.reconcile.awaiting.size).to.equal(0);
    h.now = h.s.reconcile.nextImplicitMs! - 1;
    const implicit = h.tick(1).filter((c) => c.type === 'RECONCILE');
    expect(implicit).to.have.length(1);
    expect(implicit[0]!.reconcile).to.deep.equal({});
  });

  it('after a restart whose store lost writes, adopts unknown tasks before placing anything', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 2) });
    // the store only has the job: its launches were lost (e.g. a repaired store)
    const s2 = restoreState({ frameworkId: 'fw-1', jobs: [...h.s.jobs.values()], instances: [], tasks: [] });
    const h2 = new H(s2);
    h2.ev(subscribed('fw-1'));
    expect(launched(h2.ev(offersEvent([offer('a1', 'h1')])))).to.deep.equal([]);
    // implicit reconciliation reports the two tasks that do run
    h2.ev(update('web.0.3', 'TASK_RUNNING', { agent: 'a1', uuid: false }));
    h2.ev(update('web.1.4', 'TASK_RUNNING', { agent: 'a1', uuid: false }));
    h2.now += 3000;
    expect(launched(h2.ev(offersEvent([offer('a1', 'h1')])))).to.deep.equal([]);
    expect(h2.inst('web', 0).task_id).to.equal('web.0.3');
    expect(h2.s.nextTaskSeq).to.equal(5);
  });

  it('adopts a task it finds for an instance without one, kills duplicates and strangers', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 2) });
    // the master reports web.0.77 (e.g. our store lost the last write)
    h.ev(update('web.0.77', 'TASK_RUNNING', { agent: 'a9', uuid: false }));
    expect(h.inst('web', 0).task_id).to.equal('web.0.77');
    expect(h.s.nextTaskSeq).to.equal(78);
    // a second task for the same instance is a duplicate
    const dup = h.ev(update('web.0.80', 'TASK_RUNNING', { agent: 'a9', uuid: false }));
    expect(types(dup)).to.deep.equal(['KILL']);
    expect(dup[0]!.kill!.task_id.value).to.equal('web.0.80');
    // tasks of unknown jobs are killed too
    expect(types(h.ev(update('gone.0.5', 'TASK_RUNNING', { agent: 'a9', uuid: false })))).to.deep.equal(['KILL']);
    expect(types(h.ev(update('weird-task', 'TASK_RUNNING', { agent: 'a9', uuid: false })))).to.deep.equal(['KILL']);
  });

  it('scales down by killing the highest instances, then forgets them', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 3) });
    const ids = h.offerTo(['h1']);
    h.runAll(ids);
    const r = h.cmd({ type: 'update_job', spec: spec('web', 1) });
    expect(r.result.outcome).to.equal('updated');
    const kills = r.calls.filter((c) => c.type === 'KILL').map((c) => c.kill!.task_id.value);
    expect(kills).to.have.members([ids[1], ids[2]]);
    h.ev(update(ids[1]!, 'TASK_KILLED', { agent: 'agent-h1' }));
    h.ev(update(ids[2]!, 'TASK_KILLED', { agent: 'agent-h1' }));
    expect([...h.s.instances.get('web')!.keys()]).to.deep.equal([0]);
    expect(h.last.changes.instances.has('web/2')).to.equal(true);
  });

  it('rolls a changed command through the instances, batch by batch', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 4, { update_batch_size: 2 }) });
    const ids = h.offerTo(['h1']);
    h.runAll(ids);
    const r = h.cmd({ type: 'update_job', spec: spec('web', 4, { update_batch_size: 2, command: { value: 'v2', shell: true } }) });
    const killed = r.calls.filter((c) => c.type === 'KILL').map((c) => c.kill!.task_id.value);
    expect(killed).to.deep.equal([ids[0], ids[1]]);
    expect(jobView(h.s, 'web', h.now)!.outdated).to.equal(4);
    for (const id of killed) h.ev(update(id, 'TASK_KILLED', { agent: 'agent-h1' }));
    // instances 0 and 1 relaunch with the new command
    const calls = h.ev(offersEvent([offer('agent-h2', 'h2')]));
    const infos = calls.find((c) => c.type === 'ACCEPT')!.accept!.operations![0]!.launch!.task_infos!;
    expect(infos.map((i) => i.command!.value)).to.deep.equal(['v2', 'v2']);
    const next = infos.map((i) => i.task_id.value);
    expect(types(h.tick())).to.not.include('KILL'); // new ones not RUNNING yet
    h.runAll(next);
    const more = h.tick().filter((c) => c.type === 'KILL').map((c) => c.kill!.task_id.value);
    expect(more).to.deep.equal([ids[2], ids[3]]);
  });

  it('does not restart anything when only instances or SLA change', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 2) });
    h.runAll(h.offerTo(['h1']));
    const r = h.cmd({ type: 'update_job', spec: spec('web', 2, { sla: { kind: 'count', count: 1, duration_seconds: 30 } }) });
    expect(types(r.calls)).to.not.include('KILL');
    expect(h.s.jobs.get('web')!.version).to.equal(2);
  });

  it('deletes a job: kills every task, the job disappears when they are gone', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 2, { kill_grace_period_seconds: 3 }) });
    const ids = h.offerTo(['h1']);
    h.runAll(ids);
    const r = h.cmd({ type: 'delete_job', name: 'web' });
    expect(r.result.outcome).to.equal('accepted');
    const kills = r.calls.filter((c) => c.type === 'KILL');
    expect(kills).to.have.length(2);
    expect(kills[0]!.kill!.kill_policy!.grace_period!.nanoseconds).to.equal(3_000_000_000n);
    expect(h.cmd({ type: 'create_job', spec: spec('web', 1) }).result.outcome).to.equal('conflict');
    // retried without grace when no terminal status arrives
    const retry = h.tick(3000 + 30000).filter((c) => c.type === 'KILL');
    expect(retry).to.have.length(2);
    expect(retry[0]!.kill!.kill_policy!.grace_period!.nanoseconds).to.equal(0n);
    for (const id of ids) h.ev(update(id, 'TASK_KILLED', { agent: 'agent-h1' }));
    expect(h.s.jobs.has('web')).to.equal(false);
    expect(h.last.changes.jobs.has('web')).to.equal(true);
    expect(h.cmd({ type: 'delete_job', name: 'web' }).result.outcome).to.equal('not_found');
  });

  it('deletes a job of 0 instances at once, and one scaled down to 0 (the name can be reused)', () => {
    const h = new H();
    h.ev(subscribed());
    expect(h.cmd({ type: 'create_job', spec: spec('idle', 0) }).result.outcome).to.equal('created');
    h.tick();
    expect(h.cmd({ type: 'delete_job', name: 'idle' }).result.outcome).to.equal('accepted');
    expect(h.s.jobs.has('idle')).to.equal(false);
    expect(h.last.changes.jobs.has('idle')).to.equal(true);
    expect(h.cmd({ type: 'create_job', spec: spec('idle', 1) }).result.outcome).to.equal('created');

    h.cmd({ type: 'create_job', spec: spec('web', 1) });
    const ids = h.offerTo(['h1']);
    h.runAll(ids);
    h.cmd({ type: 'update_job', spec: spec('web', 0) });
    for (const id of ids) h.ev(update(id, 'TASK_KILLED', { agent: 'agent-h1' }));
    h.tick();
    expect(h.cmd({ type: 'delete_job', name: 'web' }).result.outcome).to.equal('accepted');
    h.tick();
    expect(h.s.jobs.has('web')).to.equal(false);
    expect(h.cmd({ type: 'create_job', spec: spec('web', 1) }).result.outcome).to.equal('created');
  });

  it('returns 4xx results for bad commands', () => {
    const h = new H();
    const bad = h.cmd({ type: 'create_job', spec: { name: 'x' } });
    expect(bad.result.ok).to.equal(false);
    expect(bad.result.outcome).to.equal('invalid');
    expect(h.cmd({ type: 'update_job', spec: spec('nope', 1) }).result.outcome).to.equal('not_found');
  });

  it('restores from persisted records without duplicating or losing instances', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 3) });
    const ids = h.offerTo(['h1', 'h2']);
    h.runAll(ids.slice(0, 2)); // third stays LAUNCHING
    const s2 = restoreState({
      frameworkId: h.s.frameworkId,
      nextTaskSeq: h.s.nextTaskSeq,
      jobs: [...h.s.jobs.values()],
      instances: [...h.s.instances.get('web')!.values()].map((i) => structuredClone(i)),
      tasks: [...h.s.tasks.values()].map((t) => structuredClone(t)),
    });
    const h2 = new H(s2);
    h2.now = h.now;
    const calls = h2.ev(subscribed('fw-1'));
    const recs = calls.filter((c) => c.type === 'RECONCILE');
    expect(recs.map((c) => c.reconcile!.tasks?.length ?? 0)).to.deep.equal([3, 0]); // explicit, then implicit
    expect(s2.pending.size).to.equal(0);
    // nothing to place until Mesos says a task is gone
    expect(launched(h2.ev(offersEvent([offer('a5', 'h5')])))).to.deep.equal([]);
    h2.ev(update(ids[2]!, 'TASK_LOST', { agent: 'agent-h1', uuid: false, reason: 'REASON_RECONCILIATION' }));
    // placement waits for the implicit answers (3 s after subscribing), declining with a short filter
    const held = h2.ev(offersEvent([offer('a5', 'h5')]));
    expect(launched(held)).to.deep.equal([]);
    expect(held.find((c) => c.type === 'DECLINE')!.decline!.filters!.refuse_seconds).to.equal(1);
    h2.now += 3000;
    expect(launched(h2.ev(offersEvent([offer('a5', 'h5')])))).to.have.length(1);
    expect(s2.nextTaskSeq).to.be.greaterThan(h.s.nextTaskSeq - 1);
  });

  it('restart_instances kills and relaunches; blocked hosts get no new tasks', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 1) });
    const [id] = h.offerTo(['h1']) as [string];
    h.runAll([id]);
    h.cmd({ type: 'set_blocked_hosts', hosts: ['H1'] });
    const r = h.cmd({ type: 'restart_instances', job: 'web', indices: [0], reason: 'maintenance' });
    expect(types(r.calls)).to.deep.equal(['KILL']);
    h.ev(update(id, 'TASK_KILLED', { agent: 'agent-h1' }));
    expect(h.inst('web', 0).not_before_ms).to.equal(undefined);
    expect(h.offerTo(['h1'])).to.deep.equal([]);
    expect(h.offerTo(['h2'])).to.have.length(1);
  });

  it('make-before-break: a surge launches elsewhere, takes over when the old task ends, and shows in SLA rows', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 2, { constraints: { host_unique: true } }) });
    const ids = h.offerTo(['h1', 'h2']);
    h.runAll(ids);
    const old = h.inst('web', 0).task_id!;
    h.cmd({ type: 'set_blocked_hosts', hosts: [h.inst('web', 0).host!] });
    const r = h.cmd({ type: 'surge_instances', orders: [{ job: 'web', instance: 0, task_id: old }] });
    expect((r.result as { body: { accepted: unknown[] } }).body.accepted).to.have.length(1);
    expect(types(r.calls)).to.deep.equal(['REVIVE']);
    // refused: wrong task, or a second surge
    const again = h.cmd({ type: 'surge_instances', orders: [{ job: 'web', instance: 0, task_id: old }, { job: 'web', instance: 1, task_id: 'nope' }] });
    expect((again.result as { body: { refused: unknown[] } }).body.refused).to.have.length(2);
    expect(workloadRows(h.s).filter((x) => x.surge)).to.deep.equal([{ job: 'web', index: 0, state: 'PENDING', surge: true, launch_cause: 'drain' }]);
    // placed on a host the job does not use yet
    const [sid] = h.offerTo(['h1', 'h2', 'h3']) as [string];
    expect(h.s.tasks.get(sid)!.host).to.equal('h3');
    expect(h.inst('web', 0).task_id).to.equal(old);
    h.ev(update(sid, 'TASK_RUNNING', { agent: 'agent-h3' }));
    const rows = workloadRows(h.s).filter((x) => x.index === 0);
    expect(rows.map((x) => [x.task_id, x.state, !!x.surge])).to.deep.equal([
      [old, 'TASK_RUNNING', false],
      [sid, 'TASK_RUNNING', true],
    ]);
    // the drainer kills the old one; the surge becomes the instance's task
    const k = h.cmd({ type: 'kill_tasks', task_ids: [old, 'unknown'] });
    expect(types(k.calls)).to.deep.equal(['KILL']);
    h.ev(update(old, 'TASK_KILLED', { agent: 'agent-h1' }));
    expect(h.inst('web', 0)).to.include({ task_id: sid, state: 'TASK_RUNNING', host: 'h3' });
    expect(h.inst('web', 0).surge).to.equal(undefined);
    expect(h.s.pending.size).to.equal(0);
    expect(workloadRows(h.s)).to.have.length(2);
    expect(h.s.usage.get('web')!.hosts.get('h1')).to.equal(undefined);
  });

  it('a surge survives a restart (it is not mistaken for an orphan)', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 1) });
    const [old] = h.offerTo(['h1']) as [string];
    h.runAll([old]);
    h.cmd({ type: 'surge_instances', orders: [{ job: 'web', instance: 0, task_id: old }] });
    const [sid] = h.offerTo(['h2']) as [string];
    const s2 = restoreState({
      frameworkId: 'fw-1',
      nextTaskSeq: h.s.nextTaskSeq,
      jobs: [...h.s.jobs.values()],
      instances: [...h.s.instances.get('web')!.values()].map((i) => structuredClone(i)),
      tasks: [...h.s.tasks.values()].map((t) => structuredClone(t)),
    });
    expect(s2.killing.size).to.equal(0);
    const h2 = new H(s2);
    h2.ev(subscribed('fw-1'));
    h2.ev(update(sid, 'TASK_RUNNING', { agent: 'agent-h2' }));
    h2.ev(update(old, 'TASK_KILLED', { agent: 'agent-h1' }));
    expect(h2.inst('web', 0).task_id).to.equal(sid);
  });

  it('a failed surge is dropped; a surge ordered for a task that dies is moot', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 1) });
    const [old] = h.offerTo(['h1']) as [string];
    h.runAll([old]);
    h.cmd({ type: 'surge_instances', orders: [{ job: 'web', instance: 0, task_id: old }] });
    const [sid] = h.offerTo(['h2']) as [string];
    h.ev(update(sid, 'TASK_FAILED', { agent: 'agent-h2' }));
    expect(h.inst('web', 0).surge).to.equal(undefined);
    expect(h.inst('web', 0).task_id).to.equal(old);
    expect(h.inst('web', 0).failures).to.equal(0);
    h.cmd({ type: 'surge_instances', orders: [{ job: 'web', instance: 0, task_id: old }] });
    h.ev(update(old, 'TASK_LOST', { agent: 'agent-h1', uuid: false }));
    expect(h.inst('web', 0).surge).to.equal(undefined);
    expect(h.s.surges.size).to.equal(0);
    expect(h.inst('web', 0).state).to.equal('PENDING');
  });

  it('asks about tasks that never report after launch', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 1) });
    const [id] = h.offerTo(['h1']) as [string];
    const calls = h.tick(120_000).filter((c) => c.type === 'RECONCILE');
    expect(calls[0]!.reconcile!.tasks!.map((t) => t.task_id.value)).to.deep.equal([id]);
  });
});
