/**
 * End to end: a real Sluice (store on disk, runtime, SchedulerClient, operator API) against the
 * real simulator over loopback HTTP, on a shared VirtualClock. Truth comes from the simulator's
 * agents, never from Sluice's own view.
 */
import { expect } from 'chai';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { api, DuplicateWatch, liveByInstance, startEnv, type Env } from './workload-helpers.js';

function job(name: string, instances: number, extra: Partial<JobSpec> = {}): JobSpec {
  return { name, instances, resources: { cpus: 0.5, mem: 128, ports: 1 }, command: { value: 'sleep 3600', shell: true }, ...extra };
}

async function allRunning(env: Env, name: string, n: number): Promise<boolean> {
  const r = await api(env.url, 'GET', `/api/v1/jobs/${name}`);
  return r.status === 200 && r.body.instances.length === n && r.body.instances.every((i: { state: string }) => i.state === 'TASK_RUNNING');
}

/** Each instance of each job runs exactly once on the agents, and nothing else of ours runs. */
function expectExactlyOnce(env: Env, jobs: Record<string, number>): void {
  const live = liveByInstance(env.sim, env.frameworkId());
  const want = new Set<string>();
  for (const [name, n] of Object.entries(jobs)) for (let i = 0; i < n; i++) want.add(`${name}.${i}`);
  for (const [key, tasks] of live) {
    expect(want.has(key), `unexpected live task(s) ${tasks.join(', ')}`).to.equal(true);
    expect(tasks, `instance ${key} runs ${tasks.length} times`).to.have.length(1);
  }
  for (const key of want) expect(live.has(key), `instance ${key} runs nowhere`).to.equal(true);
}

describe('e2e: workload on the simulator', function () {
  this.timeout(60_000);
  let env: Env;
  let watch: DuplicateWatch;

  beforeEach(async () => {
    env = await startEnv();
    watch = new DuplicateWatch(env.sim, () => env.app.runtime.state.frameworkId);
  });
  afterEach(async () => {
    watch.stop();
    await env.stop();
    expect(watch.maxAlive, `two tasks alive at once for ${watch.worst}`).to.be.at.most(1);
  });

  it('jobs reach RUNNING, one per host and spread over racks', async () => {
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('web', 6, { constraints: { host_unique: true, rack_spread: true } }))).status).to.equal(201);
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('db', 3, { resources: { cpus: 1, mem: 512 } }))).status).to.equal(201);
    await env.until('web and db RUNNING', async () => (await allRunning(env, 'web', 6)) && (await allRunning(env, 'db', 3)));
    expectExactlyOnce(env, { web: 6, db: 3 });
    const truth = env.sim.groundTruth().filter((t) => t.taskId.startsWith('web.'));
    const hosts = new Set(truth.map((t) => t.hostname));
    expect(hosts.size).to.equal(6);
    const rackOf = new Map(env.sim.agents().map((a) => [a.hostname, a.rack]));
    const perRack = new Map<string, number>();
    for (const t of truth) perRack.set(rackOf.get(t.hostname)!, (perRack.get(rackOf.get(t.hostname)!) ?? 0) + 1);
    expect([...perRack.values()]).to.deep.equal([2, 2, 2]);
    // nothing pending: offers suppressed; status and metrics reflect it
    const st = await api(env.url, 'GET', '/api/v1/status');
    expect(st.body).to.include({ subscribed: true, suppressed: true, pending_instances: 0 });
    expect(st.body.tasks).to.deep.equal({ TASK_RUNNING: 9 });
    const m = await fetch(env.url + '/metrics').then((r) => r.text());
    expect(m).to.match(/sluice_tasks\{state="TASK_RUNNING"\} 9/);
  });

  it("a lost agent's instances move elsewhere, and its tasks are killed when it returns", async () => {
    await api(env.url, 'POST', '/api/v1/jobs', job('web', 4, { constraints: { host_unique: true } }));
    await env.until('web RUNNING', () => allRunning(env, 'web', 4));
    const victim = env.sim.groundTruth().find((t) => t.taskId.startsWith('web.'))!;
    watch.ignore(victim.taskId); // partitioned: replaced while it still runs, killed when it returns
    env.sim.faults.loseAgent(victim.agentId);
    await env.until('replacement RUNNING off the lost agent', async () => {
      const r = await api(env.url, 'GET', '/api/v1/jobs/web');
      return r.body.instances.every((i: { state: string; agent_id: string }) => i.state === 'TASK_RUNNING' && i.agent_id !== victim.agentId);
    });
    const moved = (await api(env.url, 'GET', '/api/v1/jobs/web')).body.instances.find((i: { last_terminal?: { task_id: string } }) => i.last_terminal?.task_id === victim.taskId);
    expect(moved, 'the lost instance was replaced').to.not.equal(undefined);
    // the partitioned agent comes back with the old task still running: Sluice kills it
    env.sim.faults.healAgent(victim.agentId);
    await env.until('old task gone', () => !env.sim.groundTruth().some((t) => t.taskId === victim.taskId), 120_000, 1000);
    expectExactlyOnce(env, { web: 4 });
  });

  it('crash-looping instances are replaced, with growing backoff', async () => {
    await api(env.url, 'POST', '/api/v1/jobs', job('crashy', 1, { command: { value: 'false # sim:fail-after=1', shell: true } }));
    const failures = () => api(env.url, 'GET', '/api/v1/jobs/crashy').then((r) => r.body.instances[0] as { failures: number; not_before_ms?: number; state: string });
    await env.until('3 failures', async () => (await failures()).failures >= 3, 120_000, 500);
    const i = await failures();
    expect(i.state).to.equal('PENDING');
    // backoff: 5 s, 10 s, 20 s after the 1st, 2nd, 3rd crash
    expect(i.not_before_ms! - env.clock.now()).to.be.within(15_000, 20_000);
    const launches = watch.launched.length;
    await env.advance(10_000, 500);
    expect(watch.launched.length, 'no launch during the backoff').to.equal(launches);
    await env.until('relaunched after the backoff', () => watch.launched.length > launches, 30_000, 500);
  });

  it('rolling update replaces every instance in batches; scale down and delete leave nothing running', async () => {
    await api(env.url, 'POST', '/api/v1/jobs', job('web', 4, { update_batch_size: 2 }));
    await env.until('v1 RUNNING', () => allRunning(env, 'web', 4));
    const v1 = new Set(env.sim.groundTruth().map((t) => t.taskId));
    const u = await api(env.url, 'PUT', '/api/v1/jobs/web', job('web', 4, { update_batch_size: 2, command: { value: 'sleep 7200', shell: true } }));
    expect(u.status).to.equal(200);
    let maxDown = 0;
    await env.until('v2 everywhere', async () => {
      const r = await api(env.url, 'GET', '/api/v1/jobs/web');
      const down = r.body.instances.filter((i: { state: string; killing?: boolean }) => i.state !== 'TASK_RUNNING' || i.killing).length;
      maxDown = Math.max(maxDown, down);
      return r.body.outdated === 0 && (await allRunning(env, 'web', 4));
    });
    expect(maxDown).to.be.at.most(2);
    expect(env.sim.groundTruth().filter((t) => v1.has(t.taskId))).to.deep.equal([]);
    expectExactlyOnce(env, { web: 4 });
    await api(env.url, 'PUT', '/api/v1/jobs/web', job('web', 1, { command: { value: 'sleep 7200', shell: true } }));
    await env.until('scaled to 1', () => liveByInstance(env.sim, env.frameworkId()).size === 1 && env.app.runtime.state.instances.get('web')!.size === 1);
    expectExactlyOnce(env, { web: 1 });
    expect((await api(env.url, 'DELETE', '/api/v1/jobs/web')).status).to.equal(202);
    await env.until('deleted', async () => (await api(env.url, 'GET', '/api/v1/jobs/web')).status === 404);
    expect(liveByInstance(env.sim, env.frameworkId()).size).to.equal(0);
  });

  it('bad job specs get clear 4xx errors from the running scheduler', async () => {
    const bad = await api(env.url, 'POST', '/api/v1/jobs', { name: 'Web!', instances: 2, resources: { cpus: 'x', mem: 0 }, command: { value: 'a' }, sla: { kind: 'count', count: 5, duration_seconds: 1 } });
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.equal('invalid job spec');
    expect(bad.body.details.map((d: { path: string }) => d.path)).to.have.members(['name', 'resources.cpus', 'resources.mem', 'sla.count']);
    expect((await api(env.url, 'POST', '/api/v1/jobs', 'not json')).status).to.equal(400);
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('ok', 1))).status).to.equal(201);
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('ok', 1))).status).to.equal(409);
    expect((await api(env.url, 'PUT', '/api/v1/jobs/ok', { ...job('ok', 1), role: 'prod' })).status).to.equal(400);
    expect((await api(env.url, 'DELETE', '/api/v1/jobs/nope')).status).to.equal(404);
  });

  it('a restart on the same store resubscribes with the same framework id, reconciles, and launches nothing', async () => {
    await api(env.url, 'POST', '/api/v1/jobs', job('web', 5, { constraints: { host_unique: true } }));
    await env.until('web RUNNING', () => allRunning(env, 'web', 5));
    const fw = env.frameworkId();
    const launched = watch.launched.length;
    await env.restartSluice();
    await env.until('resubscribed and reconciled', () => {
      const s = env.app.runtime.state;
      return s.subscribed && s.reconcile.completedMs !== undefined && s.reconcile.awaiting.size === 0;
    });
    expect(env.frameworkId()).to.equal(fw);
    await env.advance(30_000, 1000);
    expect(await allRunning(env, 'web', 5)).to.equal(true);
    expect(watch.launched.length).to.equal(launched);
    expectExactlyOnce(env, { web: 5 });
  });
});
