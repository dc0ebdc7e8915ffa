/**
 * Inverse offers for a window the SLAs cannot meet: Sluice declines them (with the reason), never
 * accepts while a task of ours remains, and accepts once the agent is empty. Real Sluice + real
 * simulator over loopback HTTP on a VirtualClock; truth from the simulator.
 */
import { expect } from 'chai';
import { api, startEnv, type Env } from './workload-helpers.js';
import { AcceptWatch, allRunning, hostStates, job, masterJson, SlaWatch } from './maintenance-helpers.js';

describe('e2e: inverse offers the SLA cannot honour', function () {
  this.timeout(60_000);
  let env: Env;
  afterEach(async () => env?.stop());

  it('declines while the SLA cannot empty the agent before the window, accepts only once it is empty', async () => {
    env = await startEnv({ sim: { agents: 12, racks: 3 } });
    // every instance must be up (count 4 of 4 over 10 min): the only way off a host is a replacement
    // that has itself run 10 minutes (make before break), so a window 2 minutes away cannot be met.
    const db = job('db', 4, { sla: { kind: 'count', count: 4, duration_seconds: 600 }, constraints: { host_unique: true } });
    expect((await api(env.url, 'POST', '/api/v1/jobs', db)).status).to.equal(201);
    await env.until('db RUNNING', () => allRunning(env, 'db', 4), 120_000, 1000);
    await env.advance(11 * 60_000, 5000);
    const fw = env.frameworkId();
    const host = env.sim.groundTruth().find((t) => t.frameworkId === fw)!.hostname;
    const sla = new SlaWatch(env.sim, fw, [db]);
    const accepts = new AcceptWatch(env.sim, fw);

    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host], window: { start: '+2m', duration: '1h' } });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);

    // the master records our DECLINE for that machine (inverse-offer status), no ACCEPT yet
    await env.until('a DECLINE recorded on the master', async () => {
      const status = await masterJson(env, '/master/maintenance/status');
      const m = (status.draining_machines ?? []).find((d: { id: { hostname: string } }) => d.id.hostname === host);
      return (m?.statuses ?? []).some((s: { framework_id: { value: string }; status: string }) => s.framework_id.value === fw && s.status === 'DECLINE');
    }, 60_000, 500);
    expect(accepts.declines).to.be.at.least(1);
    expect(accepts.accepts, 'no ACCEPT while our task is on the agent').to.equal(0);
    expect(env.sim.groundTruth().some((t) => t.frameworkId === fw && t.hostname === host)).to.equal(true);

    // the drain goes on within the SLA; once the agent is empty the inverse offer is accepted
    await env.until('host DRAINED or DOWN', async () => ['DRAINED', 'DOWN'].includes((await hostStates(env)).get(host)?.state ?? ''), 30 * 60_000, 5000);
    await env.until('an ACCEPT for the empty agent', async () => accepts.acceptedHosts.has(host), 5 * 60_000, 1000);
    expect(accepts.violations).to.deep.equal([]);
    expect(sla.violations, 'SLA broken at some instant').to.deep.equal([]);
    expect(env.sim.groundTruth().filter((t) => t.frameworkId === fw && t.hostname === host)).to.deep.equal([]);
    accepts.stop();
    sla.stop();
  });
});
