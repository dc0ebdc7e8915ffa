/**
 * Issue 12 in the scheduler core: health checks on tasks (TaskInfo.health_check, `healthy` from
 * status updates, rows), and rolling updates drawing on the one SLA budget (decideKills, cause
 * `update`): a batch waits while the budget is spent, nothing serving goes while the job is below its
 * SLA, make-before-break where there is room.
 */
import { expect } from 'chai';
import type { Call } from '../../src/mesos/types.js';
import { REASON_TASK_HEALTH_CHECK_STATUS_UPDATED } from '../../src/mesos/types.js';
import { jobView } from '../../src/scheduler/reducer.js';
import { workloadRows } from '../../src/scheduler/workload-rows.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { H, offer, offersEvent, spec, subscribed, update } from './helpers.js';

const HC = { tcp: { port: 8080 }, interval_seconds: 5, consecutive_failures: 2, grace_period_seconds: 30 };
const health = (id: string, agent: string, healthy: boolean) => update(id, 'TASK_RUNNING', { agent, healthy, reason: REASON_TASK_HEALTH_CHECK_STATUS_UPDATED });
const killed = (calls: Call[]) => calls.filter((c) => c.type === 'KILL').map((c) => c.kill!.task_id.value);
function infos(calls: Call[]) {
  return calls.filter((c) => c.type === 'ACCEPT').flatMap((c) => c.accept!.operations!.flatMap((op) => op.launch!.task_infos!));
}

/** A job of `n` on hosts h1..hn, every task RUNNING (and healthy when checked) since the start. */
function deployed(n: number, extra: Partial<JobSpec>): { h: H; ids: string[] } {
  const h = new H();
  h.ev(subscribed());
  h.cmd({ type: 'create_job', spec: spec('web', n, { constraints: { host_unique: true }, ...extra }) });
  const hosts = Array.from({ length: n }, (_, i) => `h${i + 1}`);
  const ids = h.offerTo(hosts, { rack: 'r1' });
  h.runAll(ids);
  if (extra.health_check) for (const id of ids) h.ev(health(id, h.s.tasks.get(id)!.agent_id!, true));
  return { h, ids };
}

describe('scheduler/health and the shared budget', () => {
  it('TaskInfo carries the job\'s health check and labels; sluice labels stay first', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 1, { health_check: { http: { port: 8080, path: '/health', statuses: [200, 204] }, timeout_seconds: 3 }, labels: { 'sim.health': 'flap' } }) });
    const [ti] = infos(h.ev(offersEvent([offer('a1', 'h1')])));
    expect(ti!.health_check).to.deep.equal({ timeout_seconds: 3, type: 'HTTP', http: { port: 8080, path: '/health', statuses: [200, 204] } });
    expect(ti!.labels!.labels!.map((l) => l.key)).to.deep.equal(['sluice.job', 'sluice.instance', 'sluice.version', 'sim.health']);
    const h2 = new H();
    h2.ev(subscribed());
    h2.cmd({ type: 'create_job', spec: spec('web', 1) });
    expect(infos(h2.ev(offersEvent([offer('a1', 'h1')])))[0]!.health_check).to.equal(undefined);
  });

  it('a health status update keeps RUNNING-since; rows and job view show health', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 2, { health_check: HC }) });
    const ids = h.offerTo(['h1', 'h2'], { rack: 'r7' });
    h.runAll(ids);
    const since = h.s.tasks.get(ids[0]!)!.running_since_ms;
    expect(workloadRows(h.s).map((r) => [r.has_health_check, r.healthy, r.domain])).to.deep.equal([[true, undefined, 'r7'], [true, undefined, 'r7']]);
    expect(jobView(h.s, 'web', h.now)!.unhealthy).to.equal(2);
    h.now += 40_000;
    h.ev(health(ids[0]!, 'agent-h1', true));
    h.now += 5000;
    h.ev(health(ids[1]!, 'agent-h2', false));
    expect(h.s.tasks.get(ids[0]!)!.running_since_ms).to.equal(since);
    expect(h.inst('web', 0).running_since_ms).to.equal(since);
    const v = jobView(h.s, 'web', h.now)!;
    expect(v.instances.map((i) => i.healthy)).to.deep.equal([true, false]);
    expect(v.unhealthy).to.equal(1);
    expect(workloadRows(h.s).map((r) => r.healthy)).to.deep.equal([true, false]);
    // the executor kills it after too many failures: a failure, charged to its domain
    h.ev(update(ids[1]!, 'TASK_KILLED', { agent: 'agent-h2' }));
    expect(workloadRows(h.s)[1]).to.include({ state: 'PENDING', launch_cause: 'failure', lost_domain: 'r7' });
  });

  it('a rolling update waits while the budget is spent and goes on as replacements count as up', () => {
    // 4 instances, 3 required up for 60 s, batch 4: only the budget (1) limits the update
    const { h, ids } = deployed(4, { sla: { kind: 'count', count: 3, duration_seconds: 60 }, update_batch_size: 4 });
    h.now += 120_000;
    const u = h.cmd({ type: 'update_job', spec: spec('web', 4, { constraints: { host_unique: true }, sla: { kind: 'count', count: 3, duration_seconds: 60 }, update_batch_size: 4, command: { value: 'sleep 2000', shell: true } }) });
    expect(killed(u.calls)).to.deep.equal([ids[0]]);
    expect(workloadRows(h.s)[0]).to.include({ kill_cause: 'update' });
    h.ev(update(ids[0]!, 'TASK_KILLED', { agent: 'agent-h1' }));
    expect(workloadRows(h.s)[0]).to.include({ launch_cause: 'update', lost_domain: 'r1' });
    const [n0] = h.offerTo(['h1'], { rack: 'r1' });
    h.runAll([n0!]);
    // (that offer went to a make-before-break replacement of the batch, ordered as the budget was spent)
    expect(h.s.tasks.get(n0!)!.surge).to.equal(true);
    // the new task is young: the budget is spent, nothing else goes
    for (let i = 0; i < 5; i++) expect(killed(h.tick(10_000))).to.deep.equal([]);
    // once it has run 60 s the next one goes
    const next = [...Array(3)].flatMap(() => killed(h.tick(5000)));
    expect(next).to.deep.equal([ids[1]]);
    expect(h.s.lostDomains.has('web#0')).to.equal(true);
    // everything placed and running for the duration: no instance is charged to a lost domain any more
    for (let i = 0; i < 10 && h.s.pending.size + h.s.surges.size > 0; i++) {
      h.runAll(h.offerTo(['h5', 'h6', 'h7', 'h8'], { rack: 'r2' }));
      h.tick(70_000);
      for (const t of [...h.s.tasks.values()]) if (t.kill) h.ev(update(t.task_id, 'TASK_KILLED', { agent: t.agent_id }));
    }
    h.tick(70_000);
    expect(jobView(h.s, 'web', h.now)!.outdated).to.equal(0);
    expect(workloadRows(h.s).filter((r) => r.lost_domain !== undefined)).to.deep.equal([]);
    expect(h.s.lostDomains.size).to.equal(0);
  });

  it('nothing serving goes while the job is below its SLA (unhealthy); make-before-break when there is room', () => {
    const { h, ids } = deployed(3, { sla: { kind: 'count', count: 3, duration_seconds: 0 }, health_check: HC, update_batch_size: 1 });
    h.ev(health(ids[2]!, 'agent-h3', false)); // below its SLA: 2 up < 3
    const u = h.cmd({ type: 'update_job', spec: spec('web', 3, { constraints: { host_unique: true }, sla: { kind: 'count', count: 3, duration_seconds: 0 }, health_check: HC, update_batch_size: 1, command: { value: 'v2', shell: true } }) });
    expect(killed(u.calls)).to.deep.equal([]);
    // the agents' offers had room: a replacement first
    expect(h.inst('web', 0).surge).to.deep.include({ for_task_id: ids[0], cause: 'update' });
    const [sid] = h.offerTo(['h4'], { rack: 'r2' });
    expect(h.s.tasks.get(sid!)!.surge).to.equal(true);
    expect(workloadRows(h.s).filter((r) => r.surge)[0]).to.include({ launch_cause: 'update', task_id: sid });
    h.runAll([sid!]);
    expect(killed(h.tick())).to.deep.equal([]); // the replacement is not healthy yet
    expect(killed(h.ev(health(sid!, 'agent-h4', true)))).to.deep.equal([ids[0]]); // now the old one goes for free
    h.ev(update(ids[0]!, 'TASK_KILLED', { agent: 'agent-h1' }));
    expect(h.inst('web', 0)).to.include({ task_id: sid, version: 2 });
  });
});
