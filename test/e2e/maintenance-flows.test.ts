/**
 * End to end, host maintenance flows beyond the rack drain: operator errors (4xx, CLI exit codes),
 * a window posted to the master by someone else, abort mid-drain, drain timeout with --force.
 * Real Sluice + real simulator over loopback HTTP, VirtualClock; truth from the simulator.
 */
import { expect } from 'chai';
import { main } from '../../src/cli/main.js';
import { api, type Env } from './workload-helpers.js';
import { allRunning, hostStates, job, masterJson, startWebOnTwelveAgents } from './maintenance-helpers.js';
import { sink } from '../helpers/sink.js';


async function cli(env: Env, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await main([...args, '--api', env.url], { stdout, stderr, env: {}, cwd: process.cwd() });
  return { code, out: stdout.text, err: stderr.text };
}

function ours(env: Env, host: string): string[] {
  const fw = env.frameworkId();
  return env.sim.groundTruth().filter((t) => t.frameworkId === fw && t.hostname === host).map((t) => t.taskId);
}

function hostWithTasks(env: Env, exclude: string[] = []): string {
  const fw = env.frameworkId();
  const h = env.sim.groundTruth().find((t) => t.frameworkId === fw && !exclude.includes(t.hostname))?.hostname;
  expect(h, 'a host running our tasks').to.be.a('string');
  return h!;
}

describe('e2e: host maintenance flows', function () {
  this.timeout(60_000);
  let env: Env;

  beforeEach(async () => {
    env = await startWebOnTwelveAgents();
  });
  afterEach(async () => {
    await env.stop();
  });

  it('bad host names, invalid windows and overlapping requests get clear 4xx answers (API and CLI)', async () => {
    const unknown = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: ['agent-1', 'agnet-2', 'no such'] });
    expect(unknown.status).to.equal(400);
    expect(unknown.body.error).to.match(/agnet-2/);
    const codes = unknown.body.details.map((d: { hostname: string; code: string }) => `${d.hostname}:${d.code}`);
    expect(codes).to.include('agnet-2:unknown-host');
    expect(codes).to.include('no such:invalid-host-name');
    expect(unknown.body.details.find((d: { hostname: string }) => d.hostname === 'agnet-2').message).to.match(/did you mean agent-2/);
    const badWindow = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: ['agent-1'], window: { start: 'yesterday' } });
    expect(badWindow.status).to.equal(400);
    expect(badWindow.body.error).to.match(/window.start/);
    const badDur = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: ['agent-1'], window: { start: 'now', duration: '2 weeks' } });
    expect(badDur.status).to.equal(400);
    const force = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: ['agent-1'], force: true });
    expect(force.status).to.equal(400);
    expect(force.body.error).to.match(/--force needs --timeout/);
    // nothing was written by the refused requests
    expect((await hostStates(env)).size).to.equal(0);

    // someone else's window on agent-5
    const a5 = env.sim.agents().find((a) => a.hostname === 'agent-5')!;
    const nowNs = BigInt(env.clock.now() + 7 * 24 * 3600_000) * 1_000_000n;
    const other = `{"windows":[{"machine_ids":[{"hostname":"agent-5","ip":"${a5.ip}"}],"unavailability":{"start":{"nanoseconds":${nowNs}}}}]}`;
    expect((await fetch(env.sim.url + '/master/maintenance/schedule', { method: 'POST', body: other })).status).to.equal(200);

    const ok = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: ['agent-1'], window: { start: '+2h', duration: '1h' } });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    const again = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: ['agent-1'] });
    expect(again.status).to.equal(409);
    expect(again.body.details[0].code).to.equal('already-in-maintenance');
    const conflict = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: ['agent-5'] });
    expect(conflict.status, JSON.stringify(conflict.body)).to.equal(409);
    expect(JSON.stringify(conflict.body)).to.match(/window|maintenance/);
    // the master's schedule holds both windows, the foreign one untouched (exact nanoseconds)
    const schedText = await fetch(env.sim.url + '/master/maintenance/schedule').then((r) => r.text());
    expect(schedText).to.contain(`"nanoseconds":${nowNs}`);
    expect(schedText).to.contain('"agent-1"');
    const complete = await api(env.url, 'POST', '/api/v1/hosts/maintenance/complete', { hosts: ['agent-1'] });
    expect(complete.status).to.equal(409);
    expect(complete.body.details[0].code).to.equal('wrong-state');
    expect((await api(env.url, 'POST', '/api/v1/hosts/maintenance/abort', { hosts: ['agent-9'] })).status).to.equal(409);
    expect((await api(env.url, 'GET', '/api/v1/hosts?states=BOGUS')).status).to.equal(400);

    // the CLI: exit codes and --json errors
    const r1 = await cli(env, 'host', 'maintenance', 'start', 'agnet-3', '--json');
    expect(r1.code).to.equal(3);
    expect(JSON.parse(r1.err).details[0].code).to.equal('unknown-host');
    const r2 = await cli(env, 'host', 'maintenance', 'start', 'agent-1');
    expect(r2.code).to.equal(3);
    expect(r2.err).to.match(/already in maintenance/);
    const r3 = await cli(env, 'host', 'query', '--states', 'SCHEDULED,DRAINING');
    expect(r3.code, r3.err).to.equal(0);
    expect(r3.out).to.match(/agent-1\s+SCHEDULED/);
    const r4 = await cli(env, 'host', 'maintenance', 'start', 'agent-2', '--dry-run', '--json');
    expect(r4.code, r4.err).to.equal(0);
    expect(JSON.parse(r4.out).dry_run).to.equal(true);
    expect((await hostStates(env)).has('agent-2'), 'dry run changed nothing').to.equal(false);
    const r5 = await cli(env, 'sla', 'probe', 'agent-2,agent-3');
    expect([0, 5]).to.include(r5.code);
    expect(r5.out).to.match(/agent-2: (NOT )?drainable now/);
    const r6 = await cli(env, 'host', 'maintenance', 'abort', 'agent-1');
    expect(r6.code, r6.err).to.equal(0);
    expect((await hostStates(env)).get('agent-1')?.state).to.equal('UP');
    const sched2 = await fetch(env.sim.url + '/master/maintenance/schedule').then((r) => r.text());
    expect(sched2).to.not.contain('"agent-1"');
    expect(sched2).to.contain(`"nanoseconds":${nowNs}`);
  });

  it("a window posted straight to the master by someone else drains the host (and Sluice leaves it to its owner)", async () => {
    const victim = hostWithTasks(env);
    const a = env.sim.agents().find((x) => x.hostname === victim)!;
    const startNs = BigInt(env.clock.now() + 60_000) * 1_000_000n;
    const body = `{"windows":[{"machine_ids":[{"hostname":"${victim}","ip":"${a.ip}"}],"unavailability":{"start":{"nanoseconds":${startNs}},"duration":{"nanoseconds":3600000000000}}}]}`;
    expect((await fetch(env.sim.url + '/master/maintenance/schedule', { method: 'POST', body })).status).to.equal(200);
    await env.until('external host DRAINED', async () => (await hostStates(env)).get(victim)?.state === 'DRAINED', 30 * 60_000, 2000);
    const h = (await hostStates(env)).get(victim)!;
    expect(h['origin']).to.equal('external');
    expect(ours(env, victim)).to.deep.equal([]);
    await env.until('web back to 8 RUNNING', () => allRunning(env, 'web', 8), 120_000, 2000);
    // Sluice does not take someone else's machine down, nor complete/abort it
    await env.advance(30_000, 2000);
    expect((await masterJson(env, '/master/maintenance/status')).down_machines ?? []).to.deep.equal([]);
    const refused = await api(env.url, 'POST', '/api/v1/hosts/maintenance/abort', { hosts: [victim] });
    expect(refused.status).to.equal(409);
    expect(refused.body.details[0].code).to.equal('external-window');
    // the owner removes the window: the host returns to UP
    expect((await fetch(env.sim.url + '/master/maintenance/schedule', { method: 'POST', body: '{}' })).status).to.equal(200);
    await env.until('external host UP again', async () => (await hostStates(env)).get(victim)?.state === 'UP', 120_000, 2000);
  });

  it('abort mid-drain returns the hosts to UP and placement resumes there', async () => {
    const h1 = hostWithTasks(env);
    const h2 = hostWithTasks(env, [h1]);
    // slow drain: window far enough that the policy keeps draining within the SLA budget
    const r = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [h1, h2] });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    await env.until('draining', async () => [...(await hostStates(env)).values()].some((h) => h.state === 'DRAINING'), 30_000, 500);
    const ab = await api(env.url, 'POST', '/api/v1/hosts/maintenance/abort', { hosts: [h1, h2] });
    expect(ab.status, JSON.stringify(ab.body)).to.equal(200);
    const hs = await hostStates(env);
    expect(hs.get(h1)?.state).to.equal('UP');
    expect(hs.get(h2)?.state).to.equal('UP');
    const sched = await fetch(env.sim.url + '/master/maintenance/schedule').then((x) => x.text());
    expect(sched).to.not.contain(`"${h1}"`);
    expect(sched).to.not.contain(`"${h2}"`);
    expect((await api(env.url, 'GET', '/api/v1/status')).body.placement_blocked_hosts).to.deep.equal([]);
    // placement resumes there: one task per host over all 12 hosts
    await env.until('web settled', () => allRunning(env, 'web', 8), 120_000, 2000);
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('fill', 12, { resources: { cpus: 0.1, mem: 16, ports: 1 }, constraints: { host_unique: true } }))).status).to.equal(201);
    await env.until('fill on the aborted hosts', () => {
      const on = new Set(env.sim.groundTruth().filter((t) => t.taskId.startsWith('fill.') && t.state === 'TASK_RUNNING').map((t) => t.hostname));
      return on.has(h1) && on.has(h2);
    }, 120_000, 2000);
  });

  it('drain timeout with --force kills what the SLA would not let go, then the host goes DOWN', async () => {
    // pinned: all 3 instances must stay up, counting only tasks RUNNING for an hour: a replacement
    // (make-before-break) would take over an hour; the 2 min timeout with --force cuts it short
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('pinned', 3, { resources: { cpus: 0.5, mem: 64, ports: 1 }, sla: { kind: 'count', count: 3, duration_seconds: 3600 }, constraints: { host_unique: true } }))).status).to.equal(201);
    await env.until('pinned RUNNING', () => allRunning(env, 'pinned', 3), 120_000, 1000);
    await env.advance(61 * 60_000, 15_000); // pinned is up (SLA-wise): its budget is 0
    const fw = env.frameworkId();
    const host = env.sim.groundTruth().find((t) => t.frameworkId === fw && t.taskId.startsWith('pinned.'))!.hostname;
    const t0 = env.clock.now();
    // forcing needs a reason (it goes to the audit)
    const noReason = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host], timeout: '2m', force: true });
    expect(noReason.status, JSON.stringify(noReason.body)).to.equal(400);
    expect(noReason.body.error).to.match(/reason is required for --force/);
    const r = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host], timeout: '2m', force: true, reason: 'disk replacement, vendor on site' });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    await env.advance(60_000, 2000);
    expect(ours(env, host).some((t) => t.startsWith('pinned.')), 'pinned still there before the timeout').to.equal(true);
    await env.until('host DOWN', async () => (await hostStates(env)).get(host)?.state === 'DOWN', 30 * 60_000, 2000);
    expect(env.clock.now() - t0, 'forced well before the SLA would have allowed it').to.be.below(30 * 60_000);
    const h = (await hostStates(env)).get(host)!;
    expect(h['timed_out']).to.equal(true);
    expect(ours(env, host)).to.deep.equal([]);
    const st = await masterJson(env, '/master/maintenance/status');
    expect((st.down_machines ?? []).map((m: { hostname: string }) => m.hostname)).to.deep.equal([host]);
  });

  it('a Sluice restart mid-drain resumes from the store and finishes the drain', async () => {
    const rack = env.sim.agents().filter((a) => a.rack === 'rack-2').map((a) => a.hostname);
    const r = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: rack, group_by: 'rack', max_parallel: 2 });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    await env.until('some host DRAINING', async () => [...(await hostStates(env)).values()].some((h) => h.state === 'DRAINING'), 30_000, 500);
    const before = await hostStates(env);
    expect([...before.values()].some((h) => h.state === 'SCHEDULED'), 'max_parallel 2 keeps the rest SCHEDULED').to.equal(true);
    await env.restartSluice();
    const after = await hostStates(env);
    for (const h of rack) expect(after.get(h)?.state, `${h} restored`).to.equal(before.get(h)?.state);
    await env.until('rack DOWN after the restart', async () => [...(await hostStates(env)).values()].every((h) => h.state === 'DOWN'), 3 * 3600_000, 2000);
    const st = await masterJson(env, '/master/maintenance/status');
    expect((st.down_machines ?? []).map((m: { hostname: string }) => m.hostname).sort()).to.deep.equal([...rack].sort());
    await env.until('web RUNNING elsewhere', () => allRunning(env, 'web', 8), 120_000, 2000);
    for (const h of rack) expect(ours(env, h)).to.deep.equal([]);
  });
});
