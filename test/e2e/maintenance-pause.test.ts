/**
 * Pause, resume, in-flight edits and the cluster-wide DRAINING cap (issue #13 item 3), end to end:
 * a real Sluice (store on disk, runtime, operator API over loopback HTTP, CLI) against the simulator,
 * VirtualClock. Ground truth from the simulator (which tasks it actually killed, and when) and from
 * the audit journal (every host transition, durable before it is published).
 */
import { expect } from 'chai';
import { main } from '../../src/cli/main.js';
import type { AuditEntry } from '../../src/audit/types.js';
import { api, startEnv, type Env } from './workload-helpers.js';
import { allRunning, hostStates, job, metric } from './maintenance-helpers.js';
import { sink } from '../helpers/sink.js';

async function cli(env: Env, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await main([...args, '--api', env.url], { stdout, stderr, env: {}, cwd: process.cwd() });
  return { code, out: stdout.text, err: stderr.text };
}

/** 12 agents; `web`: 8 instances one per host, SLA 75% over 300 s (two kills at a time), aged past its SLA. */
async function webEnv(flags: Record<string, string> = {}): Promise<Env> {
  const env = await startEnv({ sim: { agents: 12, racks: 3 }, flags });
  const web = job('web', 8, { sla: { kind: 'percentage', percentage: 75, duration_seconds: 300 }, constraints: { host_unique: true } });
  expect((await api(env.url, 'POST', '/api/v1/jobs', web)).status).to.equal(201);
  await env.until('web RUNNING', () => allRunning(env, 'web', 8), 120_000, 1000);
  await env.advance(6 * 60_000, 5000);
  return env;
}

function webHosts(env: Env): string[] {
  const fw = env.frameworkId();
  return [...new Set(env.sim.groundTruth().filter((t) => t.frameworkId === fw).map((t) => t.hostname))].sort();
}

/** Every kill the simulator carried out (cause 'kill'), with the virtual time it happened. */
function watchKills(env: Env): { kills: Array<{ taskId: string; host: string; at: number }>; stop(): void } {
  const fw = env.frameworkId();
  const kills: Array<{ taskId: string; host: string; at: number }> = [];
  const seen = new Set<string>();
  const sub = env.sim.events$.subscribe((e) => {
    if (e.kind !== 'task' || e.frameworkId !== fw || e.cause !== 'kill' || seen.has(e.taskId)) return;
    seen.add(e.taskId);
    kills.push({ taskId: e.taskId, host: e.hostname, at: e.at });
  });
  return { kills, stop: () => sub.unsubscribe() };
}

describe('e2e: pause, resume, edit and the cluster cap (real HTTP, simulator)', function () {
  this.timeout(120_000);
  let env: Env | undefined;
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('pause a request: no kill of its hosts after the pause is acknowledged (besides kills already requested); kept across a restart; resume goes on to DOWN', async () => {
    env = await webEnv();
    const e = env;
    const hosts = webHosts(e).slice(0, 4);
    const audit: AuditEntry[] = [];
    const unsub = e.app.journal.subscribe((x) => audit.push(x));
    const kills = watchKills(e);
    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts, reason: 'kernel' });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    const requestId = start.body.request_id as string;
    // pause while the drain is under way: make-before-break replacements launched, their kills not yet due
    await e.advance(60_000, 1000);
    expect(audit.filter((x) => x.kind === 'drain_surge').length, 'the drain is under way').to.be.greaterThan(0);
    const p = await cli(e, 'host', 'maintenance', 'pause', requestId, '--reason', 'incident 42');
    expect(p.code, p.err).to.equal(0);
    expect(p.out).to.match(/paused/);
    const ackAt = e.clock.now();
    const pauseEntries = audit.filter((x) => x.kind === 'request' && x.action === 'pause');
    expect(pauseEntries.map((x) => x.host).sort(), 'one durable pause entry per host, published before the answer').to.deep.equal([...hosts].sort());
    expect(pauseEntries[0]).to.include({ actor: 'local', reason: 'incident 42', request_id: requestId });
    const pauseSeq = Math.min(...pauseEntries.map((x) => x.seq));
    // kills Sluice had already decided (drain_kill entries before the pause) may still finish
    const requested = new Set(audit.filter((x) => x.kind === 'drain_kill' && x.seq < pauseSeq).map((x) => x.task_id));
    const killsAt = () => kills.kills.filter((k) => k.at >= ackAt && hosts.includes(k.host) && !requested.has(k.taskId));

    await e.advance(20 * 60_000, 1000);
    expect(killsAt(), 'no new kill on a paused host').to.deep.equal([]);
    expect(audit.filter((x) => x.kind === 'drain_kill' && x.seq > pauseSeq), 'no kill decided while paused').to.deep.equal([]);
    let states = await hostStates(e);
    for (const h of hosts) {
      expect(states.get(h)!['paused'], h).to.include({ actor: 'local', reason: 'incident 42' });
      expect(states.get(h)!.state, h).to.not.equal('DOWN');
    }
    const reqs = await api(e.url, 'GET', '/api/v1/hosts/requests');
    expect(reqs.body.requests.find((r: { request_id: string }) => r.request_id === requestId)).to.include({ paused: true, paused_hosts: 4 });
    expect(metric(await (await fetch(`${e.url}/metrics`)).text(), 'sluice_hosts_paused')).to.equal(4);

    // the paused state is on disk: a restarted Sluice keeps it
    unsub();
    await e.restartSluice();
    const audit2: AuditEntry[] = [];
    const unsub2 = e.app.journal.subscribe((x) => audit2.push(x));
    await e.advance(10 * 60_000, 1000);
    expect(killsAt(), 'no kill after the restart either').to.deep.equal([]);
    states = await hostStates(e);
    for (const h of hosts) expect(states.get(h)!['paused'], h).to.include({ actor: 'local' });

    const r = await api(e.url, 'POST', '/api/v1/hosts/maintenance/resume', { request_id: requestId, reason: 'incident over' });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(audit2.filter((x) => x.kind === 'request' && x.action === 'resume').map((x) => x.host).sort()).to.deep.equal([...hosts].sort());
    await e.until('all DOWN', async () => {
      const s = await hostStates(e);
      return hosts.every((h) => s.get(h)?.state === 'DOWN');
    }, 60 * 60_000, 2000);
    expect(webHosts(e).filter((h) => hosts.includes(h)), 'nothing of ours left on the hosts').to.deep.equal([]);
    unsub2();
    kills.stop();
  });

  it('cluster cap: concurrent start requests over HTTP never have more than max_draining_hosts DRAINING (checked at every transition); edits of max_parallel take effect', async () => {
    env = await webEnv({ 'max-draining-hosts': '2' });
    const e = env;
    const hosts = webHosts(e).slice(0, 6);
    const state = new Map<string, string>();
    const over: string[] = [];
    let transitions = 0;
    const unsub = e.app.journal.subscribe((x) => {
      if (x.kind !== 'host_transition' || !x.host) return;
      transitions++;
      state.set(x.host, x.to!);
      const n = [...state.values()].filter((s) => s === 'DRAINING').length;
      if (n > 2) over.push(`${n} DRAINING after ${x.host} ${x.from}→${x.to} (seq ${x.seq})`);
    });
    // six requests at once, one host each, plus a CLI pause --all / resume --all racing them
    const answers = await Promise.all(hosts.map((h) => api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [h], reason: `req ${h}` })));
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).to.equal(202);
    let view = await api(e.url, 'GET', '/api/v1/hosts');
    expect(view.body.max_draining_hosts).to.equal(2);
    expect(view.body.draining_hosts).to.be.at.most(2);
    const queued = view.body.hosts.filter((h: { state: string }) => h.state === 'SCHEDULED');
    expect(queued.length).to.be.at.least(4);
    expect(queued[0].waiting).to.match(/max 2 hosts draining cluster-wide/);

    const pa = await cli(e, 'maintenance', 'pause', '--all', '--reason', 'change freeze');
    expect(pa.code, pa.err).to.equal(0);
    view = await api(e.url, 'GET', '/api/v1/hosts');
    expect(view.body.paused_all).to.include({ actor: 'local', reason: 'change freeze' });
    const q = await cli(e, 'host', 'query');
    expect(q.out).to.match(/ALL DRAINS PAUSED/);
    await e.advance(5 * 60_000, 1000);
    const ra = await cli(e, 'maintenance', 'resume', '--all', '--reason', 'freeze over');
    expect(ra.code, ra.err).to.equal(0);

    await e.until('all six DOWN', async () => {
      const s = await hostStates(e);
      return hosts.every((h) => s.get(h)?.state === 'DOWN');
    }, 3 * 60 * 60_000, 2000);
    expect(over, 'the cap was exceeded').to.deep.equal([]);
    expect(transitions).to.be.at.least(6 * 3);
    unsub();

    // in-flight edit: a request with max_parallel 1 gets 3; the next plan admits the others
    const rest = webHosts(e).slice(0, 2);
    const s3 = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: rest, max_parallel: 1, reason: 'more' });
    expect(s3.status, JSON.stringify(s3.body)).to.equal(202);
    let st = await hostStates(e);
    expect(rest.map((h) => st.get(h)!.state).sort()).to.deep.equal(['DRAINING', 'SCHEDULED']);
    const ed = await cli(e, 'host', 'maintenance', 'edit', s3.body.request_id, '--max-parallel', '2', '--timeout', '2h', '--reason', 'window is short');
    expect(ed.code, ed.err).to.equal(0);
    expect(ed.out).to.match(/max parallel 2, timeout 2h/);
    await e.advance(3000, 1000);
    st = await hostStates(e);
    for (const h of rest) expect(['DRAINING', 'DRAINED', 'DOWN'], h).to.include(st.get(h)!.state);
    const edits = (await api(e.url, 'GET', '/api/v1/audit?kind=request')).body.entries.filter((x: AuditEntry) => x.action === 'edit');
    expect(edits).to.have.length(1);
    expect(edits[0]).to.deep.include({ actor: 'local', reason: 'window is short', request_id: s3.body.request_id });
  });
});
