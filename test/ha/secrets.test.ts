/**
 * Every secret of the configuration stays out of logs, the printed configuration and API answers,
 * in both ways Sluice runs (src/app: secretsOf, apiServerOptions): a single process and HA replicas
 * (leader and standby), real child processes (`sluice start`), a real ZooKeeper with digest
 * credentials in the --ha URL, the simulator as the master behind a URL with user info.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { quietLogger } from '../e2e/workload-helpers.js';
import { spawnSluice, waitFor, type Replica } from './replica-helpers.js';
import { loadConfig } from '../../src/config.js';
import { secretsOf } from '../../src/app/app.js';

const TOKEN = 'ap1-T0ken-7c1e55a2b9';
const SECRET = 'fr4mew0rk-S3cret-0d5e';
const MASTER_PASSWORD = 'm4ster-Passw0rd-91ab';
const ZK_PASSWORD = 'zk-D1gest-Pw-44c2';
const SECRETS = [TOKEN, SECRET, MASTER_PASSWORD, `alice:${MASTER_PASSWORD}`];
const HA_SECRETS = [...SECRETS, ZK_PASSWORD, `zkuser:${ZK_PASSWORD}`];
const auth = { authorization: `Bearer ${TOKEN}` };

/** Reads that show configuration and connection state, and answers that echo what they were sent. */
const PATHS = ['/api/v1/status', '/api/v1', '/health', '/api/v1/jobs', '/api/v1/hosts', '/api/v1/agents', '/api/v1/sla/jobs', '/api/v1/audit', '/metrics', '/nope'];

async function answers(base: string, secrets: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of PATHS) {
    const r = await fetch(base + p, { headers: auth, redirect: 'manual' });
    out.push(`GET ${p} ${r.status} ${r.headers.get('location') ?? ''}\n${await r.text()}`);
  }
  // bodies carrying the secrets: answers (errors included) must not echo them
  const bodies = secrets.flatMap((x) => [`{"name": "${x}`, JSON.stringify({ name: x, instances: 1 }), JSON.stringify({ hosts: [x], reason: x })]);
  for (const body of bodies) {
    for (const p of ['/api/v1/jobs', '/api/v1/hosts/maintenance/start']) {
      const r = await fetch(base + p, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body, redirect: 'manual' });
      out.push(`POST ${p} ${r.status}\n${await r.text()}`);
    }
  }
  return out;
}

function expectClean(what: string, text: string, secrets: readonly string[]): void {
  for (const s of secrets) expect(text.includes(s), `${what} carries ${s}:\n${text.slice(0, 4000)}`).to.equal(false);
}

async function status(r: Replica): Promise<Record<string, any> | undefined> { // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    const res = await fetch(`${r.url}/api/v1/status`, { headers: auth });
    return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

describe('secrets: never in logs, the printed configuration or answers (single process and HA replicas)', function () {
  this.timeout(120_000);
  let zk: ZooKeeperStandalone;
  let sim: Sim;
  let master = '';
  const procs: Replica[] = [];
  const dirs: string[] = [];
  const common = () => ['--master', master, '--principal', 'sluice', '--secret', SECRET, '--api-token', TOKEN];

  before(async () => {
    zk = await startZooKeeper();
    sim = await startSim({ agents: 3, racks: 1, seed: 5, taskStartupDelayMs: 100, logger: quietLogger() });
    master = sim.url.replace('http://', `http://alice:${MASTER_PASSWORD}@`);
  });
  after(async () => {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
    await sim?.close();
    await zk?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('one list for both modes: passwords, user info and credential-bearing URLs; plain URLs are not secret', () => {
    const ha = `zk://zkuser:${ZK_PASSWORD}@127.0.0.1:2181/sluice`;
    const masters = [`http://alice:${MASTER_PASSWORD}@127.0.0.1:5050`, 'http://127.0.0.1:5051'];
    const flags = { master: masters, secret: SECRET, principal: 'sluice', 'api-token': TOKEN, 'api-listen': '127.0.0.1:0' };
    const single = secretsOf(loadConfig({ ...flags, store: os.tmpdir() }, {}));
    expect(single).to.include.members([SECRET, TOKEN, MASTER_PASSWORD, `alice:${MASTER_PASSWORD}`, masters[0]!]);
    expect(single).to.not.include(masters[1]);
    const replica = secretsOf(loadConfig({ ...flags, ha }, {}));
    expect(replica).to.include.members([...single, ZK_PASSWORD, `zkuser:${ZK_PASSWORD}`, ha]);
  });

  it('a single process', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-secrets-'));
    dirs.push(dir);
    const p = await spawnSluice([...common(), '--store', dir]);
    procs.push(p);
    await waitFor('subscribed', async () => (await status(p))?.['connection']?.state === 'subscribed');
    await waitFor('agents offered', async () => ((await (await fetch(`${p.url}/api/v1/agents`, { headers: auth })).json()) as { agents: unknown[] }).agents.length === 3);
    const st = await status(p);
    // the master it is subscribed to is shown (without the credentials: not a secret, not masked)
    expect(st!['connection'].master).to.equal(sim.url);
    for (const a of await answers(p.url, SECRETS)) expectClean('answer', a, SECRETS);
    expect(p.output()).to.match(/master: +http:\/\/\*\*\*@127\.0\.0\.1/); // the printed configuration
    expectClean('the log', p.output(), SECRETS);
  });

  it('HA replicas: the leader and a standby', async () => {
    const ha = zk.url('/sluice-secrets').replace('zk://', `zk://zkuser:${ZK_PASSWORD}@`);
    const a = await spawnSluice([...common(), '--ha', ha, '--ha-session-timeout', '3s']);
    procs.push(a);
    await waitFor('a leads and is subscribed', async () => {
      const s = await status(a);
      return s?.['ha']?.role === 'leader' && s['connection']?.state === 'subscribed';
    });
    const b = await spawnSluice([...common(), '--ha', ha, '--ha-session-timeout', '3s']);
    procs.push(b);
    await waitFor('b is a standby with a copy of the state', async () => {
      const s = await status(b);
      return s?.['ha']?.role === 'standby' && s['as_of_seq'] !== undefined;
    });
    expect((await status(a))!['connection'].master).to.equal(sim.url);
    for (const r of [a, b]) {
      for (const x of await answers(r.url, HA_SECRETS)) expectClean('answer', x, HA_SECRETS);
      expect(r.output()).to.match(/HA: +zk:\/\/\*\*\*@127\.0\.0\.1/);
      expectClean('the log', r.output(), HA_SECRETS);
    }
  });
});
