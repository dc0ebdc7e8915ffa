/**
 * Issue 12 item 2 end to end: rolling updates and drains draw on one SLA budget per job. A drain of
 * several hosts and a rolling update of the same jobs run at once: the SLA holds at every task
 * transition (ground truth from the simulator) and both finish.
 * Real Sluice + real simulator over loopback HTTP on a VirtualClock.
 */
import { expect } from 'chai';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { parseTaskId } from '../../src/scheduler/task-id.js';
import { api, startEnv, type Env } from './workload-helpers.js';
import { allRunning, hostStates, job, SlaWatch } from './maintenance-helpers.js';

describe('e2e: a drain and a rolling update share one budget (issue 12)', function () {
  this.timeout(240_000);
  let env: Env | undefined;
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('drain of 3 hosts while both jobs roll: SLA holds at every transition, both finish', async () => {
    env = await startEnv({ sim: { agents: 12, racks: 3 } });
    const web = job('web', 6, { sla: { kind: 'percentage', percentage: 66, duration_seconds: 30 }, constraints: { host_unique: true }, update_batch_size: 3 });
    const db = job('db', 4, { sla: { kind: 'count', count: 3, duration_seconds: 30 }, constraints: { host_unique: true }, update_batch_size: 2 });
    for (const j of [web, db]) expect((await api(env.url, 'POST', '/api/v1/jobs', j)).status).to.equal(201);
    await env.until('web and db RUNNING', async () => (await allRunning(env!, 'web', 6)) && allRunning(env!, 'db', 4), 120_000, 1000);
    await env.advance(60_000, 2000);
    const fw = env.frameworkId();
    const jobHosts = (name: string) => new Set(env!.sim.groundTruth().filter((t) => t.frameworkId === fw && parseTaskId(t.taskId)?.job === name).map((t) => t.hostname));
    const dbHosts = jobHosts('db');
    const both = [...jobHosts('web')].filter((h) => dbHosts.has(h)).sort();
    const hosts = [...both, ...[...dbHosts].sort()].filter((h, i, a) => a.indexOf(h) === i).slice(0, 3);
    expect(hosts).to.have.length(3);

    const watch = new SlaWatch(env.sim, fw, [web, db]);
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    const v2 = (s: JobSpec): JobSpec => ({ ...s, command: { value: 'sleep 72000', shell: true } });
    for (const j of [web, db]) expect((await api(env.url, 'PUT', `/api/v1/jobs/${j.name}`, v2(j))).status).to.equal(200);

    const done = async (name: string, n: number) => {
      const r = await api(env!.url, 'GET', `/api/v1/jobs/${name}`);
      return r.body.outdated === 0 && (await allRunning(env!, name, n));
    };
    await env.until('drain done and both updates rolled', async () => {
      const st = await hostStates(env!);
      const drained = hosts.every((h) => st.get(h)?.state === 'DRAINED' || st.get(h)?.state === 'DOWN');
      return drained && (await done('web', 6)) && done('db', 4);
    }, 60 * 60_000, 2000);
    watch.stop();
    expect(watch.violations, 'below the SLA at some transition').to.deep.equal([]);
    expect(watch.samples).to.be.greaterThan(20);
    expect(Math.min(...watch.minMargin.values())).to.be.at.least(0);
    for (const name of ['web', 'db']) {
      const v = (await api(env.url, 'GET', `/api/v1/jobs/${name}`)).body;
      expect(v.instances.every((i: { version: number }) => i.version === v.task_version), `${name} all at the new version`).to.equal(true);
      expect(v.instances.filter((i: { host: string }) => hosts.includes(i.host)), `${name} off the drained hosts`).to.deep.equal([]);
    }
  });
});
