/**
 * Issue #13 follow-up, end to end: a real Sluice (store on disk, runtime, operator API over loopback
 * HTTP, the CLI in-process) against the simulator on a VirtualClock.
 * - The drain timeout stands still while a request is paused, across a restart on the same store,
 *   and `host query` shows what is left of it and since when the host is paused.
 * - `host maintenance edit --dry-run` says which hosts would start draining under the new
 *   max_parallel and the cluster cap, and the new deadlines, and changes and audits nothing (no
 *   reason needed even where `require_reason` names edit); the real edit then does what it said.
 */
import { expect } from 'chai';
import type { AuditEntry } from '../../src/audit/types.js';
import { api, startEnv, type Env } from '../e2e/workload-helpers.js';
import { allRunning, hostStates, job } from '../e2e/maintenance-helpers.js';
import { cli as runCli } from './helpers.js';

const MIN = 60_000;

const cli = (env: Env, ...args: string[]) => runCli([...args, '--api', env.url], {});

/**
 * 12 agents; `name`: 8 instances one per host, aged past their SLA. `sla` 75 % (two kills at a time,
 * each pair after the replacements ran 300 s) or 100 % (drained by make-before-break only).
 */
async function env8(name: string, percentage: number, flags: Record<string, string> = {}): Promise<Env> {
  const env = await startEnv({ sim: { agents: 12, racks: 3 }, flags });
  const spec = job(name, 8, { sla: { kind: 'percentage', percentage, duration_seconds: 300 }, constraints: { host_unique: true } });
  expect((await api(env.url, 'POST', '/api/v1/jobs', spec)).status).to.equal(201);
  await env.until(`${name} RUNNING`, () => allRunning(env, name, 8), 120_000, 1000);
  await env.advance(6 * MIN, 5000);
  return env;
}

function jobHosts(env: Env): string[] {
  const fw = env.frameworkId();
  return [...new Set(env.sim.groundTruth().filter((t) => t.frameworkId === fw).map((t) => t.hostname))].sort();
}

async function auditCount(env: Env): Promise<number> {
  const r = await api(env.url, 'GET', '/api/v1/audit?limit=1000');
  expect(r.status).to.equal(200);
  return (r.body.entries as AuditEntry[]).length;
}

describe('e2e: the drain timeout while paused, and edit --dry-run (real HTTP, simulator)', function () {
  this.timeout(180_000);
  let env: Env | undefined;
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('a paused request never times out; the remaining timeout is shown and survives a restart; after resume it passes when what was left has run out', async () => {
    env = await env8('web', 75);
    const e = env;
    const hosts = jobHosts(e).slice(0, 4);
    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts, timeout: '2m', reason: 'kernel' });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    const requestId = start.body.request_id as string;
    const p = await cli(e, 'host', 'maintenance', 'pause', requestId, '--reason', 'incident 7');
    expect(p.code, p.err).to.equal(0);
    const pausedView = await hostStates(e);
    const draining = hosts.filter((h) => pausedView.get(h)!.state === 'DRAINING');
    expect(draining.length, 'hosts still draining when paused').to.be.at.least(1);
    const left = new Map(draining.map((h) => [h, pausedView.get(h)!['timeout_remaining_ms'] as number]));
    for (const [h, ms] of left) {
      expect(ms, h).to.be.above(0).and.at.most(2 * MIN);
      expect(pausedView.get(h)!['paused_since_ms'], h).to.be.a('number');
    }

    // ten minutes paused: five times the timeout
    await e.advance(10 * MIN, 5000);
    let v = await hostStates(e);
    for (const h of draining) {
      expect(v.get(h)!['timed_out'], `${h} timed out while paused`).to.equal(false);
      expect(v.get(h)!['timeout_remaining_ms'], `${h}: the remainder stands still`).to.equal(left.get(h));
    }
    const q = await cli(e, 'host', 'query');
    expect(q.out, q.out).to.match(/paused since \S+; timeout \d+[smh]\S* left \(stopped while paused\)/);

    // a restart on the same store keeps the pause clock
    await e.restartSluice();
    await e.advance(3 * MIN, 5000);
    v = await hostStates(e);
    for (const h of draining) {
      expect(v.get(h)!['timed_out'], h).to.equal(false);
      expect(v.get(h)!['timeout_remaining_ms'], `${h} after the restart`).to.equal(left.get(h));
    }

    const r = await cli(e, 'host', 'maintenance', 'resume', requestId, '--reason', 'incident over');
    expect(r.code, r.err).to.equal(0);
    const resumed = await hostStates(e);
    const deadlines = new Map(draining.filter((h) => resumed.get(h)!.state === 'DRAINING').map((h) => [h, resumed.get(h)!['drain_deadline_ms'] as number]));
    expect(deadlines.size).to.be.at.least(1);
    for (const [h, d] of deadlines) {
      expect(resumed.get(h)!['paused_since_ms'], h).to.equal(undefined);
      expect(resumed.get(h)!['paused_ms'], `${h}: the paused time is on record`).to.be.at.least(13 * MIN);
      expect(d - e.clock.now(), `${h}: what was left when paused is left now`).to.be.within(left.get(h)! - 1000, left.get(h)!);
    }
    // after resume: a host times out only once its own deadline has passed, and one does
    const timedOut = new Set<string>();
    await e.until('a host times out after resume', async () => {
      const s = await hostStates(e);
      for (const [h, d] of deadlines) {
        if (s.get(h)!['timed_out'] !== true || timedOut.has(h)) continue;
        expect(e.clock.now(), `${h} timed out before its deadline`).to.be.at.least(d);
        timedOut.add(h);
      }
      return timedOut.size > 0;
    }, 10 * MIN, 1000);
  });

  it('edit --dry-run: names the hosts that would start (max_parallel and the cluster cap) and the new deadlines; nothing changes, nothing audited; the real edit matches', async () => {
    env = await env8('pin', 100, { 'max-draining-hosts': '2', 'require-reason': 'edit' });
    const e = env;
    const hosts = jobHosts(e).slice(0, 4);
    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts, max_parallel: 1, timeout: '30m', reason: 'firmware' });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    const id = start.body.request_id as string;
    let st = await hostStates(e);
    const first = hosts.filter((h) => st.get(h)!.state === 'DRAINING');
    expect(first).to.have.length(1);
    const queued = hosts.filter((h) => st.get(h)!.state === 'SCHEDULED');
    expect(queued).to.have.length(3);
    const before = await auditCount(e);
    const reqsBefore = (await api(e.url, 'GET', '/api/v1/hosts/requests')).body;

    // over HTTP (no reason: a dry run is not the edit require_reason names)
    const d = await api(e.url, 'POST', '/api/v1/hosts/maintenance/edit', { request_id: id, max_parallel: 4, timeout: '1h', dry_run: true });
    expect(d.status, JSON.stringify(d.body)).to.equal(200);
    expect(d.body).to.deep.include({ dry_run: true, request_id: id, before: { max_parallel: 1, timeout_ms: 30 * MIN }, after: { max_parallel: 4, timeout_ms: 60 * MIN }, max_draining_hosts: 2 });
    const starts = (d.body.would_start_draining as Array<{ hostname: string }>).map((a) => a.hostname);
    expect(starts, 'one slot left under the cap of 2').to.deep.equal([queued[0]]);
    expect(d.body.held_by_cluster_cap).to.deep.equal(queued.slice(1));
    const h0 = (d.body.hosts as Array<Record<string, unknown>>).find((h) => h['hostname'] === first[0])!;
    expect((h0['deadline_ms'] as number) - (h0['deadline_before_ms'] as number)).to.equal(30 * MIN);
    // the CLI renders the same answer
    const c = await cli(e, 'host', 'maintenance', 'edit', id, '--max-parallel', '4', '--timeout', '1h', '--dry-run');
    expect(c.code, c.err).to.equal(0);
    expect(c.out).to.include('DRY RUN (nothing changed)').and.include(`would start draining now: ${queued[0]}`).and.include(`held back by the cluster cap (max_draining_hosts 2): ${queued.slice(1).join(', ')}`);
    // nothing changed, nothing audited
    expect(await auditCount(e), 'a dry run writes no audit entry').to.equal(before);
    expect((await api(e.url, 'GET', '/api/v1/hosts/requests')).body).to.deep.equal(reqsBefore);
    st = await hostStates(e);
    expect(hosts.map((h) => st.get(h)!.state)).to.deep.equal(hosts.map((h) => (first.includes(h) ? 'DRAINING' : 'SCHEDULED')));

    // the real edit needs its reason here, and then does what the dry run said
    expect((await api(e.url, 'POST', '/api/v1/hosts/maintenance/edit', { request_id: id, max_parallel: 4, timeout: '1h' })).status).to.equal(400);
    const ed = await api(e.url, 'POST', '/api/v1/hosts/maintenance/edit', { request_id: id, max_parallel: 4, timeout: '1h', reason: 'window is short' });
    expect(ed.status, JSON.stringify(ed.body)).to.equal(200);
    await e.advance(3000, 1000);
    st = await hostStates(e);
    expect(st.get(queued[0]!)!.state).to.equal('DRAINING');
    for (const h of queued.slice(1)) expect(st.get(h)!.state, h).to.equal('SCHEDULED');
    expect(await auditCount(e)).to.be.above(before);
  });
});
