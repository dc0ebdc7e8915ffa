/**
 * `--rack-attribute zone` on a cluster whose agents carry `zone` and no `rack`: `--group-by rack`
 * groups hosts by zone, and `rack_spread` (a job naming no rack_attribute) spreads over zones, while
 * a job naming its own rack_attribute keeps it. Real Sluice against the simulator.
 */
import { expect } from 'chai';
import type { AgentSpec } from '../../src/sim/index.js';
import { api, startEnv, type Env } from './workload-helpers.js';
import { allRunning, job } from './maintenance-helpers.js';

const AGENTS: AgentSpec[] = [0, 1, 2, 3, 4, 5].map((i) => ({ rack: null, attributes: { zone: `zone-${(i % 2) + 1}`, row: `row-${(i % 3) + 1}` }, cpus: 8, mem: 16384 }));

function perValue(env: Env, jobName: string, attr: 'zone' | 'row'): Map<string, number> {
  const fw = env.frameworkId();
  const byHost = new Map(env.sim.agents().map((a, i) => [a.hostname, AGENTS[i]!.attributes![attr]!]));
  const out = new Map<string, number>();
  for (const t of env.sim.groundTruth()) {
    if (t.frameworkId !== fw || t.state !== 'TASK_RUNNING' || !t.taskId.startsWith(`${jobName}.`)) continue;
    const v = byHost.get(t.hostname)!;
    out.set(v, (out.get(v) ?? 0) + 1);
  }
  return out;
}

describe('e2e: --rack-attribute', function () {
  this.timeout(60_000);
  let env: Env | undefined;
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('zone instead of rack: --group-by rack groups by zone; rack_spread spreads over zones unless the job names its own attribute', async () => {
    env = await startEnv({ sim: { agents: AGENTS }, flags: { 'rack-attribute': 'zone' } });
    const e = env;
    expect(e.sim.agents().every((a) => a.rack === undefined), 'no agent carries "rack"').to.equal(true);

    expect((await api(e.url, 'POST', '/api/v1/jobs', job('spread', 4, { constraints: { rack_spread: true } }))).status).to.equal(201);
    expect((await api(e.url, 'POST', '/api/v1/jobs', job('rows', 3, { constraints: { rack_spread: true, rack_attribute: 'row' } }))).status).to.equal(201);
    await e.until('jobs RUNNING', async () => (await allRunning(e, 'spread', 4)) && (await allRunning(e, 'rows', 3)), 120_000, 1000);
    expect([...perValue(e, 'spread', 'zone').values()], 'at most ceil(4 / 2 zones) per zone').to.deep.equal([2, 2]);
    expect([...perValue(e, 'rows', 'row').values()], 'the job\'s own attribute: one per row').to.deep.equal([1, 1, 1]);

    const zone1 = e.sim.agents().filter((_, i) => AGENTS[i]!.attributes!['zone'] === 'zone-1').map((a) => a.hostname);
    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [zone1[0]], group_by: 'rack', dry_run: true });
    expect(start.status, JSON.stringify(start.body)).to.equal(200);
    const real = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: zone1, group_by: 'rack' });
    expect(real.status, JSON.stringify(real.body)).to.equal(202);
    const hosts = real.body.hosts as Array<{ hostname: string; group: string; rack?: string }>;
    expect(hosts).to.have.length(3);
    for (const h of hosts) expect(h, h.hostname).to.deep.include({ group: 'zone-1', rack: 'zone-1' });
  });
});
