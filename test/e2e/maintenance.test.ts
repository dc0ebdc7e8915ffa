/**
 * End to end: host maintenance through the operator API, a real Sluice (store, runtime, client,
 * maintenance plugin) against the real simulator over loopback HTTP on a VirtualClock. Every
 * claim is checked against the simulator's ground truth or the master's own endpoints.
 */
import { expect } from 'chai';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { api, liveByInstance, startEnv, type Env } from './workload-helpers.js';
import { AcceptWatch, SlaWatch, allRunning, hostStates, job, masterJson, metric, metricSum } from './maintenance-helpers.js';

const JOBS: JobSpec[] = [
  job('web', 10, { sla: { kind: 'percentage', percentage: 90, duration_seconds: 600 }, constraints: { host_unique: true } }),
  job('db', 5, { sla: { kind: 'count', count: 4, duration_seconds: 300 }, resources: { cpus: 1, mem: 512, ports: 1 }, constraints: { host_unique: true } }),
  job('batch', 12),
];

async function setup(env: Env): Promise<void> {
  for (const j of JOBS) expect((await api(env.url, 'POST', '/api/v1/jobs', j)).status).to.equal(201);
  await env.until('jobs RUNNING', async () => {
    for (const j of JOBS) if (!(await allRunning(env, j.name, j.instances))) return false;
    return true;
  }, 120_000, 1000);
  await env.advance(11 * 60_000, 5000); // every task older than its SLA duration
}

function rackHosts(env: Env, rack: string): string[] {
  return env.sim.agents().filter((a) => a.rack === rack).map((a) => a.hostname);
}

describe('e2e: host maintenance on the simulator', function () {
  this.timeout(60_000);
  let env: Env;

  beforeEach(async () => {
    env = await startEnv({ sim: { agents: 30, racks: 3 } });
  });
  afterEach(async () => {
    await env.stop();
  });

  it('drains a whole rack within every SLA, takes it DOWN, and complete brings it back into placement', async () => {
    await setup(env);
    const fw = env.frameworkId();
    const sla = new SlaWatch(env.sim, fw, JOBS);
    const accepts = new AcceptWatch(env.sim, fw);
    const rack = rackHosts(env, 'rack-1');
    expect(rack).to.have.length(10);
    const onRackBefore = env.sim.groundTruth().filter((t) => t.frameworkId === fw && rack.includes(t.hostname)).length;
    expect(onRackBefore, 'tasks on the rack before the drain').to.be.greaterThan(5);

    const before = await fetch(env.url + '/metrics').then((r) => r.text());
    expect(metric(before, 'sluice_hosts', { state: 'UP' }), 'every agent seen is UP before the drain').to.equal(30);
    const t0 = env.clock.now();
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: rack, group_by: 'rack' });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    expect(start.body.hosts).to.have.length(10);

    // follow the drain, scraping /metrics as it goes
    let sawDraining = 0;
    const tasksLeftSeen = new Map<string, number[]>();
    let transitions = metricSum(before, 'sluice_host_transitions_total');
    const transitionsSeen: number[] = [transitions];
    await env.until('every rack host DOWN', async () => {
      const m = await fetch(env.url + '/metrics').then((r) => r.text());
      sawDraining = Math.max(sawDraining, metric(m, 'sluice_hosts', { state: 'DRAINING' }) ?? 0);
      for (const h of rack) {
        const v = metric(m, 'sluice_drain_tasks_left', { host: h });
        if (v !== undefined) tasksLeftSeen.set(h, [...(tasksLeftSeen.get(h) ?? []), v]);
      }
      const t = metricSum(m, 'sluice_host_transitions_total');
      if (t !== transitions) transitionsSeen.push((transitions = t));
      const hs = await hostStates(env);
      return rack.every((h) => hs.get(h)?.state === 'DOWN');
    }, 3 * 3600_000, 2000);
    sla.stop();
    accepts.stop();
    if (process.env['SLUICE_TEST_VERBOSE']) console.log({ minMargin: [...sla.minMargin], samples: sla.samples, accepts: accepts.accepts, declines: accepts.declines, drainMinutes: (env.clock.now() - t0) / 60_000 });

    // SLA never broken at any agent-side transition, and the watch did sample the drain
    expect(sla.samples).to.be.greaterThan(onRackBefore);
    expect(sla.violations, sla.violations.join('\n')).to.deep.equal([]);
    // inverse offers: accepted only for empty agents, and accepted at all
    expect(accepts.violations, accepts.violations.join('\n')).to.deep.equal([]);
    expect(accepts.accepts, 'ACCEPT_INVERSE_OFFERS calls').to.be.greaterThan(0);
    // every instance runs exactly once, elsewhere
    const live = liveByInstance(env.sim, fw);
    for (const j of JOBS) for (let i = 0; i < j.instances; i++) expect(live.get(`${j.name}.${i}`), `${j.name}.${i}`).to.have.length(1);
    const onRack = env.sim.groundTruth().filter((t) => t.frameworkId === fw && rack.includes(t.hostname));
    expect(onRack.map((t) => t.taskId)).to.deep.equal([]);
    // the master has them DOWN
    const status = await masterJson(env, '/master/maintenance/status');
    expect((status.down_machines ?? []).map((m: { hostname: string }) => m.hostname).sort()).to.deep.equal([...rack].sort());
    // metrics moved with the drain
    expect(sawDraining, 'sluice_hosts{state="DRAINING"} seen > 0').to.be.greaterThan(0);
    const withTasks = [...tasksLeftSeen].filter(([, v]) => Math.max(...v) > 0);
    expect(withTasks.length, 'sluice_drain_tasks_left > 0 seen for some rack host').to.be.greaterThan(0);
    for (const [h, v] of withTasks) expect(Math.min(...v), `tasks left on ${h} went down`).to.be.below(Math.max(...v));
    expect(transitionsSeen.length, 'sluice_host_transitions_total moved several times').to.be.greaterThan(2);
    const end = await fetch(env.url + '/metrics').then((r) => r.text());
    expect(metric(end, 'sluice_hosts', { state: 'DOWN' })).to.equal(10);
    expect(metric(end, 'sluice_hosts', { state: 'UP' })).to.equal(20);
    expect(metric(end, 'sluice_host_transitions_total', { from: 'DRAINED', to: 'DOWN' })).to.equal(10);

    // complete: machines up, window gone, agents back, tasks land there again
    const done = await api(env.url, 'POST', '/api/v1/hosts/maintenance/complete', { hosts: rack.join(',') });
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    const st2 = await masterJson(env, '/master/maintenance/status');
    expect(st2.down_machines ?? []).to.deep.equal([]);
    const sched = await masterJson(env, '/master/maintenance/schedule');
    expect(sched.windows ?? []).to.deep.equal([]);
    for (const h of rack) env.sim.faults.restartAgent(h);
    const hs = await hostStates(env);
    for (const h of rack) expect(hs.get(h)?.state).to.equal('UP');
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('fill', 30, { resources: { cpus: 0.1, mem: 32, ports: 1 }, constraints: { host_unique: true } }))).status).to.equal(201);
    // host_unique over 30 hosts: the completed rack hosts must take their share again
    const fillOn = () => new Set(env.sim.groundTruth().filter((t) => t.taskId.startsWith('fill.') && t.state === 'TASK_RUNNING').map((t) => t.hostname));
    await env.until('fill tasks RUNNING on every completed host', () => rack.every((h) => fillOn().has(h)), 300_000, 2000);
    const fillHosts = fillOn();
    for (const h of rack) expect(fillHosts.has(h), `a task landed on ${h} again`).to.equal(true);
  });
});
