/**
 * The CLI against HA replicas: a standby answers 307 with the leader's URL (path and query kept)
 * and `sluice` follows it — method, body and token kept — only where the token may go (same host
 * name or loopback → loopback; any host with --follow-leader), at most 3 hops, http(s) only.
 * Two real replicas (child processes) on a real ZooKeeper and the simulator; the refusals use a
 * loopback server that redirects where a misconfigured or hostile API would.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { sink } from '../helpers/sink.js';
import { api, quietLogger, tmpDir } from '../e2e/workload-helpers.js';
import { job } from '../e2e/maintenance-helpers.js';
import { role, spawnReplica, waitFor, type Replica } from './replica-helpers.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(argv, { stdout, stderr, env: {}, cwd: process.cwd() });
  return { code, out: stdout.text, err: stderr.text };
}

interface Seen {
  method: string;
  url: string;
  auth?: string;
  body: string;
}

/** A loopback server that answers every request with 307 to `location(req)` (a second path answers 200). */
async function redirector(location: (port: number, url: string) => string): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      if (req.url!.startsWith('/landed')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"web","instances":[]}');
        return;
      }
      res.writeHead(307, { location: location((server.address() as AddressInfo).port, req.url!) }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

describe('CLI follows a standby to the leader (HA replicas, real ZooKeeper)', function () {
  this.timeout(120_000);
  let zk: ZooKeeperStandalone;
  let sim: Sim;
  const replicas: Replica[] = [];
  let dir: string;

  before(async () => {
    zk = await startZooKeeper();
    sim = await startSim({ agents: 4, racks: 2, seed: 7, taskStartupDelayMs: 50, logger: quietLogger() });
    dir = tmpDir('sluice-cli-follow-');
  });
  after(async () => {
    for (const r of replicas) r.kill();
    await sim?.close();
    await zk?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('create, update, get, list and delete through the standby reach the leader', async () => {
    const ha = zk.url('/sluice-cli');
    const a = await spawnReplica(sim.url, ha);
    replicas.push(a);
    await waitFor('a leads', async () => (await role(a)) === 'leader');
    const b = await spawnReplica(sim.url, ha);
    replicas.push(b);
    await waitFor('b is a standby', async () => (await role(b)) === 'standby');

    const spec = path.join(dir, 'web.json');
    fs.writeFileSync(spec, JSON.stringify(job('web', 2)));
    const created = await cli('job', 'create', '-f', spec, '--api', b.url);
    expect(created.code, created.err).to.equal(0);
    expect((await api(a.url, 'GET', '/api/v1/jobs/web')).body.instances).to.have.length(2);

    fs.writeFileSync(spec, JSON.stringify(job('web', 3)));
    const updated = await cli('job', 'update', '-f', spec, '--api', b.url);
    expect(updated.code, updated.err).to.equal(0);
    await waitFor('3 instances on the leader', async () => (await api(a.url, 'GET', '/api/v1/jobs/web')).body.instances.length === 3);

    const got = await cli('job', 'get', 'web', '--json', '--api', b.url);
    expect(got.code, got.err).to.equal(0);
    expect(JSON.parse(got.out).name).to.equal('web');
    // loopback → loopback under another name (localhost → 127.0.0.1) is followed too
    // a standby answers lists from its copy of the state (marked stale): it catches up, it may lag a moment
    let listed = await cli('job', 'list', '--json', '--api', b.url.replace('127.0.0.1', 'localhost'));
    await waitFor('the standby lists web', async () => {
      listed = await cli('job', 'list', '--json', '--api', b.url.replace('127.0.0.1', 'localhost'));
      return listed.code === 0 && listed.out.includes('"web"');
    });
    expect(listed.code, listed.err).to.equal(0);
    expect(listed.out).to.contain('"web"');
    expect(JSON.parse(listed.out).stale).to.equal(true);

    const deleted = await cli('job', 'delete', 'web', '--api', b.url);
    expect(deleted.code, deleted.err).to.equal(0);
    await waitFor('web gone from the leader', async () => (await api(a.url, 'GET', '/api/v1/jobs/web')).status === 404);
  });

  it('keeps method, body and token on a same-host hop', async () => {
    const r = await redirector((port) => `http://127.0.0.1:${port}/landed/api/v1/jobs?x=1`);
    try {
      const spec = path.join(dir, 'db.json');
      fs.writeFileSync(spec, JSON.stringify(job('db', 1)));
      const res = await cli('job', 'create', '-f', spec, '--json', '--api', r.url, '--api-token', 'tok-123');
      expect(res.code, res.err).to.equal(0);
      expect(r.seen).to.have.length(2);
      expect(r.seen[1]).to.deep.include({ method: 'POST', url: '/landed/api/v1/jobs?x=1', auth: 'Bearer tok-123' });
      expect(JSON.parse(r.seen[1]!.body)).to.deep.equal(JSON.parse(r.seen[0]!.body));
      expect(JSON.parse(r.seen[1]!.body).name).to.equal('db');
    } finally {
      await r.close();
    }
  });

  it('refuses another host (unless --follow-leader), loops, and non-http targets — never showing the token', async () => {
    const other = await redirector(() => 'http://sluice-leader.invalid:5070/api/v1/jobs');
    try {
      const res = await cli('job', 'list', '--api', other.url, '--api-token', 'tok-secret-9');
      expect(res.code).to.equal(1);
      expect(res.err).to.contain('to the leader at http://sluice-leader.invalid:5070/api/v1/jobs');
      expect(res.err).to.contain('--api http://sluice-leader.invalid:5070').and.contain('--follow-leader');
      expect(res.err + res.out).not.to.contain('tok-secret-9');
      expect(other.seen).to.have.length(1);
      // with --follow-leader it goes there (and that host does not exist)
      const followed = await cli('job', 'list', '--api', other.url, '--api-token', 'tok-secret-9', '--follow-leader');
      expect(followed.code).to.equal(1);
      expect(followed.err).to.match(/cannot reach the Sluice API at http:\/\/sluice-leader\.invalid:5070\/api\/v1\/jobs/);
      expect(followed.err + followed.out).not.to.contain('tok-secret-9');
    } finally {
      await other.close();
    }

    const loop = await redirector((port, url) => `http://127.0.0.1:${port}${url}`);
    try {
      const res = await cli('job', 'list', '--api', loop.url);
      expect(res.code).to.equal(1);
      expect(res.err).to.contain('more than 3 times');
      expect(loop.seen).to.have.length(4);
    } finally {
      await loop.close();
    }

    const file = await redirector(() => 'file:///etc/passwd');
    try {
      const res = await cli('job', 'list', '--api', file.url);
      expect(res.code).to.equal(1);
      expect(res.err).to.contain('only http(s) redirects are followed');
    } finally {
      await file.close();
    }
  });
});
