/**
 * Issue 12, guardrails, end to end: real Sluice + real simulator over loopback HTTP on a
 * VirtualClock, started with `--sla-guardrails`. A 100%-over-7-days job is capped by
 * max_percentage / max_duration_seconds and the drain of one of its hosts proceeds (the capped SLA
 * holds at every task transition, ground truth from the simulator); a job without an SLA gets the
 * cluster default, which `sla probe` shows.
 */
import { expect } from 'chai';
import { parseTaskId } from '../../src/scheduler/task-id.js';
import { api, startEnv, type Env } from './workload-helpers.js';
import { allRunning, hostStates, job, SlaWatch } from './maintenance-helpers.js';

describe('e2e: SLA guardrails (issue 12)', function () {
  this.timeout(120_000);
  let env: Env;
  afterEach(async () => env?.stop());

  it('caps a 100%-over-7-days job so its host drains; the default SLA applies to a job without one and shows in sla probe', async () => {
    const guardrails = { max_percentage: 75, max_duration_seconds: 60, default_sla: { kind: 'count', count: 4, duration_seconds: 30 } };
    env = await startEnv({ sim: { agents: 6, racks: 2 }, flags: { 'sla-guardrails': JSON.stringify(guardrails) } });
    const strict = job('strict', 4, { sla: { kind: 'percentage', percentage: 100, duration_seconds: 7 * 24 * 3600 }, constraints: { host_unique: true } });
    const plain = job('plain', 4, { constraints: { host_unique: true } });
    for (const j of [strict, plain]) expect((await api(env.url, 'POST', '/api/v1/jobs', j)).status).to.equal(201);
    await env.until('both RUNNING', async () => (await allRunning(env, 'strict', 4)) && (await allRunning(env, 'plain', 4)), 120_000, 1000);
    await env.advance(90_000, 1000); // every instance has run longer than the capped duration
    const fw = env.frameworkId();
    const hostOf = (name: string, index: number): string | undefined =>
      env.sim.groundTruth().find((t) => t.frameworkId === fw && t.state === 'TASK_RUNNING' && parseTaskId(t.taskId)?.job === name && parseTaskId(t.taskId)?.index === index)?.hostname;
    const host = hostOf('strict', 0)!;

    const probe = await api(env.url, 'POST', '/api/v1/sla/probe', { hosts: [host] });
    expect(probe.status, JSON.stringify(probe.body)).to.equal(200);
    expect(probe.body.guardrails).to.deep.equal(guardrails);
    expect(probe.body.text).to.contain('cluster SLA guardrails: default for jobs without one: SLA 4 up over 30s; a job may require at most 75% of its instances up; durations capped at 60s');
    const plainHost = hostOf('plain', 0)!;
    const p2 = await api(env.url, 'POST', '/api/v1/sla/probe', { hosts: [plainHost] });
    const plainJob = (p2.body.jobs as Array<{ job: string; source: string; sla: string }>).find((j) => j.job === 'plain');
    expect(plainJob, JSON.stringify(p2.body)).to.not.equal(undefined);
    expect(plainJob!.source).to.equal('cluster-default');
    expect(p2.body.text).to.match(/job plain: no SLA of its own: the cluster default applies/);
    // ...and the cluster default itself is capped by the bound (4 of 4 > 75%)
    expect(plainJob!.sla).to.match(/cluster default applies.*capped/);

    // what the rules apply: strict 3 of 4 over 60 s, plain 3 of 4 over 30 s
    const watch = new SlaWatch(env.sim, fw, [
      { ...strict, sla: { kind: 'count', count: 3, duration_seconds: 60 } },
      { ...plain, sla: { kind: 'count', count: 3, duration_seconds: 30 } },
    ]);
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host] });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.until(`${host} DRAINED`, async () => ['DRAINED', 'DOWN'].includes((await hostStates(env)).get(host)?.state ?? ''), 10 * 60_000, 1000);
    watch.stop();
    expect(watch.violations).to.deep.equal([]);
    expect(watch.samples).to.be.greaterThan(1);
    expect(env.sim.groundTruth().filter((t) => t.frameworkId === fw && t.hostname === host && t.state === 'TASK_RUNNING')).to.deep.equal([]);
  });
});
