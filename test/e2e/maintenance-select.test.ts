/**
 * End to end, selecting hosts and the cluster-wide safe list: `--rack`, `--attribute`,
 * `--hosts-file` (file and stdin) resolve on the API side against the master's agents (compared
 * with the simulator's own /master/state), bad selectors are 400s; `sla list-safe` agrees with what
 * draining the listed hosts then does (one at a time, as it claims): no SLA broken (SlaWatch, ground
 * truth), never blocked — while an unsafe host, drained, does get blocked.
 * Real Sluice + real simulator over loopback HTTP, VirtualClock.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { main } from '../../src/cli/main.js';
import { api, startEnv, tmpDir, type Env } from './workload-helpers.js';
import { allRunning, hostStates, job, masterJson, SlaWatch } from './maintenance-helpers.js';
import { sink } from '../helpers/sink.js';
import type { AgentSpec } from '../../src/sim/index.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

async function cli(env: Env, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await main([...args, '--api', env.url], { stdout, stderr, env: {}, cwd: process.cwd() });
  return { code, out: stdout.text, err: stderr.text };
}

/** The simulator's agents as its master reports them: hostname → attributes. */
async function simAgents(env: Env): Promise<Array<{ hostname: string; attributes: Record<string, string> }>> {
  const s = await masterJson(env, '/master/state');
  return s.slaves.map((a: { hostname: string; attributes: Record<string, string> }) => ({ hostname: a.hostname, attributes: a.attributes }));
}

const sorted = (l: string[]) => [...l].sort();

describe('e2e: selecting hosts (--rack, --attribute, --hosts-file)', function () {
  this.timeout(60_000);
  let env: Env;
  const specs: AgentSpec[] = Array.from({ length: 6 }, (_, i) => ({
    hostname: `node-${i + 1}`,
    rack: `rack-${(i % 3) + 1}`,
    attributes: { zone: i < 3 ? 'a' : 'b', disk: i % 2 ? 'ssd' : 'hdd' },
  }));

  before(async () => {
    env = await startEnv({ sim: { agents: specs } });
    await env.until('agents known', async () => (await simAgents(env)).length === 6, 30_000);
  });
  after(async () => {
    await env.stop();
  });

  const dry = (body: Record<string, unknown>) => api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { ...body, dry_run: true });

  it('racks, attributes and their combination resolve to the agents the master reports', async () => {
    const agents = await simAgents(env);
    const where = (f: (a: Record<string, string>) => boolean) => sorted(agents.filter((a) => f(a.attributes)).map((a) => a.hostname));
    const rack = await dry({ racks: ['rack-2'] });
    expect(rack.status, JSON.stringify(rack.body)).to.equal(200);
    expect(sorted(rack.body.hosts.map((h: { hostname: string }) => h.hostname))).to.deep.equal(where((a) => a['rack'] === 'rack-2'));
    const two = await dry({ racks: ['rack-1', 'rack-3'] });
    expect(sorted(two.body.hosts.map((h: { hostname: string }) => h.hostname))).to.deep.equal(where((a) => a['rack'] === 'rack-1' || a['rack'] === 'rack-3'));
    const attr = await dry({ attributes: { zone: 'b', disk: 'ssd' } });
    expect(sorted(attr.body.hosts.map((h: { hostname: string }) => h.hostname))).to.deep.equal(where((a) => a['zone'] === 'b' && a['disk'] === 'ssd'));
    const both = await dry({ racks: ['rack-1', 'rack-2'], attributes: { zone: 'a' } });
    expect(sorted(both.body.hosts.map((h: { hostname: string }) => h.hostname))).to.deep.equal(where((a) => (a['rack'] === 'rack-1' || a['rack'] === 'rack-2') && a['zone'] === 'a'));
    // explicit ∪ rack, then ∩ attributes: node-4 (zone b) is left out and said so
    const mixed = await dry({ hosts: ['node-4', 'node-3'], racks: ['rack-1'], attributes: { zone: 'a' } });
    expect(mixed.status).to.equal(200);
    expect(mixed.body.hosts.map((h: { hostname: string }) => h.hostname)).to.deep.equal(['node-3', 'node-1']);
    expect(mixed.body.selection.excluded).to.deep.equal([{ hostname: 'node-4', reason: 'does not match zone=a' }]);
    // nothing was changed by the dry runs
    expect((await hostStates(env)).size).to.equal(0);
  });

  it('bad selectors are 400s with a clear message, and nothing starts', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ racks: ['rack-9'] }, /no agent in rack 'rack-9'/],
      [{ attributes: { zone: 'z' } }, /no agent has zone=z \(values of zone: a, b\)/],
      [{ attributes: { colour: 'red' } }, /no agent has an attribute colour/],
      [{ racks: ['rack-1'], attributes: { zone: 'a', disk: 'ssd' } }, /the selection matches no host/],
      [{ racks: 'rack-1' }, /racks: must be an array/],
      [{ racks: [] }, /racks: must name at least one rack/],
      [{ racks: ['rack-1', 'rack-1'] }, /listed more than once/],
      [{ racks: [7] }, /racks\[0\]: must be a string/],
      [{ attributes: ['zone=a'] }, /attributes: must be an object/],
      [{ attributes: { zone: 1 } }, /attributes\.zone: must be a string/],
      [{ attributes: { zone: 'a\nb' } }, /control characters/],
      [{ rack: ['rack-1'] }, /unknown field \(did you mean "racks"\?\)/],
      [{}, /hosts: is required/],
    ];
    for (const [body, re] of cases) {
      const r = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', body);
      expect(r.status, JSON.stringify(body)).to.equal(400);
      expect(r.body.error, JSON.stringify(body)).to.match(re);
    }
    const probe = await api(env.url, 'POST', '/api/v1/sla/probe', { racks: ['rack-9'] });
    expect(probe.status).to.equal(400);
    const safe = await api(env.url, 'GET', '/api/v1/sla/safe?rack=rack-9');
    expect(safe.status).to.equal(400);
    expect((await api(env.url, 'GET', '/api/v1/sla/safe?racks=rack-1')).status).to.equal(400);
    expect((await hostStates(env)).size).to.equal(0);
  });

  it('CLI: --hosts-file (comments, blank lines) and --rack/--attribute; --dry-run prints the resolved list', async () => {
    const dir = tmpDir('sluice-select-');
    const file = path.join(dir, 'hosts.txt');
    fs.writeFileSync(file, '# rack maintenance\nnode-2\n\n  node-5   # ssd\n');
    const r = await cli(env, 'host', 'maintenance', 'start', '--hosts-file', file, '--rack', 'rack-3', '--dry-run');
    expect(r.code, r.err).to.equal(0);
    expect(r.out, r.out).to.contain('resolved 4 host(s): node-2,node-5,node-3,node-6');
    const f = await cli(env, 'host', 'maintenance', 'start', '--attribute', 'zone=b', '--attribute', 'disk=hdd', '--dry-run');
    expect(f.out).to.contain('resolved 1 host(s): node-5');
    const p = await cli(env, 'sla', 'probe', '--rack', 'rack-1');
    expect(p.code, p.err).to.equal(0);
    expect(p.out).to.match(/node-1: drainable now/).and.match(/node-4: drainable now/);
    const missing = await cli(env, 'host', 'maintenance', 'start', '--hosts-file', path.join(dir, 'nope.txt'), '--dry-run');
    expect(missing.code).to.equal(1);
    expect(missing.err).to.contain('nope.txt: cannot read it (ENOENT)');
    fs.writeFileSync(path.join(dir, 'big.txt'), 'node-1\n'.repeat(200_000));
    const big = await cli(env, 'host', 'maintenance', 'start', '--hosts-file', path.join(dir, 'big.txt'), '--dry-run');
    expect(big.code).to.equal(2);
    expect(big.err).to.contain('larger than 1048576 bytes');
    fs.writeFileSync(path.join(dir, 'two.txt'), 'node-1 node-2\n');
    expect((await cli(env, 'host', 'maintenance', 'start', '--hosts-file', path.join(dir, 'two.txt'), '--dry-run')).err).to.contain('two.txt:1: one host per line');
    const bad = await cli(env, 'host', 'maintenance', 'start', '--rack', 'rack-9', '--dry-run');
    expect(bad.code).to.equal(3);
    expect(bad.err).to.contain("no agent in rack 'rack-9'");
    expect((await hostStates(env)).size).to.equal(0);
  });

  it('CLI: --hosts-file - reads stdin (a real child process)', async () => {
    const child = spawn(process.execPath, [MAIN, 'host', 'maintenance', 'start', '--hosts-file', '-', '--dry-run', '--api', env.url], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.stdin.end('node-6\n# not this one: node-1\nnode-1\n');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, err).to.equal(0);
    expect(out).to.contain('resolved 2 host(s): node-6,node-1');
  });
});

describe('e2e: sla list-safe agrees with what a drain then does', function () {
  this.timeout(120_000);
  let env: Env;

  before(async () => {
    // 5 agents with room for exactly one task each: no spare capacity for make-before-break.
    env = await startEnv({ sim: { agents: 5, racks: 1, agentDefaults: { cpus: 1, mem: 1024 } } });
  });
  after(async () => {
    await env.stop();
  });

  it('the first listed host drains never blocked, no SLA broken; then list-safe drops the other, and that one, drained, is blocked', async () => {
    const res = { cpus: 1, mem: 128, ports: 1 };
    const a = job('a', 3, { resources: res, sla: { kind: 'count', count: 3, duration_seconds: 60 } }); // no kill allowed
    const b = job('b', 2, { resources: res, sla: { kind: 'count', count: 1, duration_seconds: 60 } }); // one may go
    for (const j of [a, b]) expect((await api(env.url, 'POST', '/api/v1/jobs', j)).status).to.equal(201);
    await env.until('a, b RUNNING', async () => (await allRunning(env, 'a', 3)) && (await allRunning(env, 'b', 2)), 120_000, 1000);
    await env.advance(90_000, 5000);
    const fw = env.frameworkId();
    const hostsOf = (name: string) => sorted(env.sim.groundTruth().filter((t) => t.frameworkId === fw && t.taskId.startsWith(`${name}.`)).map((t) => t.hostname));
    const bHosts = hostsOf('b');
    const aHosts = hostsOf('a');
    expect(bHosts).to.have.length(2);

    const safe = await api(env.url, 'GET', '/api/v1/sla/safe');
    expect(safe.status, JSON.stringify(safe.body)).to.equal(200);
    expect(safe.body.claim).to.match(/alone, now \(one at a time/);
    expect(sorted(safe.body.safe)).to.deep.equal(bHosts);
    const unsafe = safe.body.entries.filter((e: { safe: boolean }) => !e.safe);
    expect(sorted(unsafe.map((e: { name: string }) => e.name))).to.deep.equal(aHosts);
    for (const e of unsafe) expect(e.reasons.join(' ')).to.match(/job a: .*no room elsewhere for a make-before-break replacement/);
    const text = await cli(env, 'sla', 'list-safe', '--all');
    expect(text.code).to.equal(0);
    expect(text.out).to.contain('2/5 hosts safe');

    const watch = new SlaWatch(env.sim, fw, [a, b]);
    // The claim is "each alone, now": drain the first listed host; then b's budget is spent and
    // (no spare capacity, a downed agent does not come back by itself) list-safe must drop the other.
    const host = safe.body.safe[0] as string;
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host] });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.until(`${host} DRAINED`, async () => {
      const h = (await hostStates(env)).get(host)!;
      expect(h.blockers as unknown[], `${host} blocked: ${JSON.stringify(h.blockers)}`).to.deep.equal([]);
      return h.state === 'DRAINED' || h.state === 'DOWN';
    }, 60_000, 500);
    const after = await api(env.url, 'GET', '/api/v1/sla/safe');
    expect(after.body.safe).to.deep.equal([]);
    const other = bHosts.find((h) => h !== host)!;
    expect(after.body.entries.find((e: { name: string }) => e.name === other).reasons.join(' ')).to.match(/job b: /);
    // the converse: a host list-safe refused does get blocked when drained
    const bad = other; // and a host of job a would be blocked the same way (list-safe refused those too)
    expect((await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [bad] })).status).to.equal(202);
    await env.until(`${bad} blocked`, async () => ((await hostStates(env)).get(bad)?.blockers as unknown[] | undefined)?.length! > 0, 30_000, 500);
    expect((await hostStates(env)).get(bad)!.state).to.equal('DRAINING');
    expect((await api(env.url, 'POST', '/api/v1/hosts/maintenance/abort', { hosts: [bad] })).status).to.equal(200);
    watch.stop();
    expect(watch.violations).to.deep.equal([]);
    expect(watch.samples).to.be.greaterThan(2);
  });
});
