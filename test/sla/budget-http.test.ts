/**
 * Issue 12 items 5 and 6 over real HTTP: real Sluice + the real simulator on loopback, VirtualClock.
 * A job of 4 instances that requires all 4 up, one instance per agent, no spare agent:
 * - the dry run of `host maintenance start` without an override says the host is blocked and its
 *   drain cannot be estimated (unbounded); with `--override-sla 3/10m` its probe and estimate use
 *   the lowered SLA: the host can go now, and a real run with the override then does exactly that
 *   (ground truth from the simulator at every task transition: never below 3 of 4 up);
 * - `host query` (API JSON and the CLI's human output) shows, per blocking job, the budget
 *   explanation `sla probe` shows: the budget, what consumes it, when it refills.
 */
import { expect } from 'chai';
import { cli } from '../ops/helpers.js';
import { api, startEnv, type Env } from '../e2e/workload-helpers.js';
import { deployStrictJob, hostStates, SlaWatch } from '../e2e/maintenance-helpers.js';

interface Budget {
  job: string;
  instances: number;
  required: number;
  up: number;
  budget: number;
  meets_sla: boolean;
  consumers: Record<string, number>;
  down: Array<{ index: number; consumer: string; state: string }>;
  refill: { at_ms?: number; needs_starts: number; needs_healthy: number };
  text: string;
}
interface ProbeJob { job: string; sla: string; override?: string; blocking: boolean; budget: Budget }

describe('SLA budgets and --override-sla over HTTP (issue 12)', function () {
  this.timeout(180_000);
  let env: Env;
  afterEach(async () => env?.stop());

  it('the dry run probes and estimates under the override; the real run does what it said; host query explains the blocking budget', async () => {
    env = await startEnv({ sim: { agents: 4, racks: 1 } });
    const { strict, fw, hostOf, running } = await deployStrictJob(env);
    const [first, second] = [hostOf(0), hostOf(1)];

    // dry run, no override: blocked, and no finite estimate (no room for make-before-break, no budget)
    const plain = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [first], dry_run: true });
    expect(plain.status, JSON.stringify(plain.body)).to.equal(200);
    expect(plain.body.probe.blocked).to.deep.equal([first]);
    expect(plain.body.probe.hosts[0].drainable_now).to.equal(false);
    expect(plain.body.estimated_makespan_ms).to.equal(null); // Infinity
    expect(plain.body.notes.join('\n')).to.contain('cannot be emptied under the SLAs');
    const pj = plain.body.probe.jobs as ProbeJob[];
    expect(pj).to.have.length(1);
    expect(pj[0]).to.include({ job: 'strict', blocking: true });
    expect(pj[0]!.override).to.equal(undefined);
    expect(pj[0]!.budget).to.include({ required: 4, up: 4, budget: 0, meets_sla: true });

    // dry run with the override: the probe and the estimate use 3 of 4
    const dry = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [first], dry_run: true, override_sla: '3/10m' });
    expect(dry.status, JSON.stringify(dry.body)).to.equal(200);
    expect(dry.body.probe.drainable).to.deep.equal([first]);
    expect(dry.body.probe.hosts[0]).to.include({ drainable_now: true, drainable_alone: true, tasks_up: 1 });
    expect(dry.body.probe.hosts[0].reasons).to.deep.equal([]);
    expect(dry.body.estimated_makespan_ms).to.be.a('number');
    expect(dry.body.notes.join('\n')).not.to.contain('cannot be emptied');
    const dj = dry.body.probe.jobs as ProbeJob[];
    expect(dj).to.have.length(1);
    expect(dj[0]).to.include({ job: 'strict', override: '3/10m' });
    expect(dj[0]!.sla).to.contain('requires 3 of 4 up over 600s instead of 4 over 600s');
    expect(dj[0]!.budget).to.include({ required: 3, up: 4, budget: 1, meets_sla: true });
    expect((await hostStates(env)).has(first)).to.equal(false); // a dry run changes nothing

    // the real run with the override: as the dry run said, the host goes, down to 3 of 4 and no lower
    const watch = new SlaWatch(env.sim, fw, [{ ...strict, sla: { kind: 'count', count: 3, duration_seconds: 600 } }]);
    const ok = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [first], override_sla: '3/10m', reason: 'firmware, vendor deadline' });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    const at = (await hostStates(env)).get(first)!;
    expect(at.tasks_left).to.equal(1);
    expect(at['estimated_empty_ms'], JSON.stringify(at)).to.be.a('number'); // the host query estimate uses the override too
    await env.until(`${first} DRAINED`, async () => ['DRAINED', 'DOWN'].includes((await hostStates(env)).get(first)?.state ?? ''), 10 * 60_000, 1000);
    await env.advance(60_000, 5000);
    watch.stop();
    expect(watch.violations).to.deep.equal([]);
    expect(watch.minMargin.get('strict')).to.equal(0);
    expect(running(first)).to.equal(0);

    // another host without the override: blocked by the job's own SLA; host query explains the budget
    const p = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [second] });
    expect(p.status, JSON.stringify(p.body)).to.equal(202);
    await env.until(`${second} blocked`, async () => ((await hostStates(env)).get(second)?.blockers as unknown[] | undefined)?.length! > 0, 60_000, 1000);
    const hosts = await hostStates(env);
    const blocked = hosts.get(second)!;
    const budgets = blocked['budgets'] as ProbeJob[];
    expect(budgets, JSON.stringify(blocked)).to.have.length(1);
    const b = budgets[0]!;
    expect(b).to.include({ job: 'strict', blocking: true });
    expect(b.override).to.equal(undefined);
    expect(b.budget).to.include({ job: 'strict', instances: 4, required: 4, up: 3, budget: 0, meets_sla: false });
    // the instance the drain took is not up again (no room for it): charged to the drain
    expect(b.budget.down.map((d) => d.index)).to.deep.equal([0]);
    expect(b.budget.consumers['drain']).to.equal(1);
    expect(b.budget.refill.at_ms).to.equal(undefined);
    expect(b.budget.refill.needs_starts).to.equal(1);
    expect(b.budget.text).to.equal('job strict: SLA 4 up over 600s: 3 up, 4 required, budget 0 (below its SLA); not up: 1 drain; refills once 1 instance starts and ages');
    expect(hosts.get(first)!['budgets']).to.equal(undefined); // drained: nothing blocks it

    // the same explanation as `sla probe`
    const probe = await api(env.url, 'POST', '/api/v1/sla/probe', { hosts: [second] });
    expect(probe.status, JSON.stringify(probe.body)).to.equal(200);
    expect((probe.body.jobs as ProbeJob[]).find((j) => j.job === 'strict')!.budget.text).to.equal(b.budget.text);

    // the CLI's human output
    const q = await cli(['host', 'query', '--api', env.url], {});
    expect(q.code, q.err).to.equal(0);
    const lines = q.out.split('\n');
    const at2 = lines.indexOf('SLA budgets of the blocking jobs:');
    expect(at2, q.out).to.be.greaterThan(0);
    expect(lines[at2 + 1]).to.equal(`  ${b.budget.text}; blocks ${second}`);
  });
});
