/**
 * `sluice store copy` (a real child process) between a real file store and a real ZooKeeper, both
 * ways: a single Sluice's state (made by a real `sluice start --store` against the simulator) moves
 * into ZooKeeper, an HA replica started on it carries on with the same framework ID and job, and the
 * state comes back into a new file store record for record.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../src/store/index.js';
import { LeaderElection } from '../../src/ha/election.js';
import { ZkStore } from '../../src/ha/zk-store.js';
import { ZkSession } from '../../src/zk/session.js';
import { parseZkUrl } from '../../src/zk/url.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { api, childEnv, quietLogger } from '../e2e/workload-helpers.js';
import { job } from '../e2e/maintenance-helpers.js';
import { MAIN, role, spawnReplica, spawnSluice, waitFor, type Replica } from './replica-helpers.js';
import { nullLogger } from '../../src/util/logger.js';

function copy(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, 'store', 'copy', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

type Rec = [string, string, unknown];
async function fileRecords(dir: string): Promise<Rec[]> {
  const st = await FileStore.open(dir, { logger: nullLogger() });
  try {
    return st.collections().flatMap((c) => st.list(c).map(([k, v]) => [c, k, v] as Rec));
  } finally {
    await st.close();
  }
}

describe('sluice store copy: file store ⇄ ZooKeeper (real files, real ZooKeeper, child processes)', function () {
  this.timeout(120_000);
  let zk: ZooKeeperStandalone;
  let sim: Sim;
  let tmp: string;
  const procs: Replica[] = [];
  const sessions: ZkSession[] = [];

  before(async () => {
    zk = await startZooKeeper();
    sim = await startSim({ agents: 4, racks: 2, seed: 11, taskStartupDelayMs: 50, logger: quietLogger() });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-copy-'));
  });
  after(async () => {
    for (const p of procs) p.kill();
    for (const s of sessions) await s.close();
    await sim?.close();
    await zk?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('moves a real single-process state into ZooKeeper, an HA replica carries on with it, and it comes back into a file store', async () => {
    const dirA = path.join(tmp, 'a');
    // 1. a real Sluice with a file store runs a job, then stops
    const single = await spawnSluice(['--store', dirA, '--master', sim.url]);
    procs.push(single);
    expect((await api(single.url, 'POST', '/api/v1/jobs', job('web', 2))).status).to.equal(201);
    await waitFor('web running', async () => {
      const r = await api(single.url, 'GET', '/api/v1/jobs/web');
      return r.status === 200 && r.body.instances.filter((i: { state: string }) => i.state === 'TASK_RUNNING').length === 2;
    });
    const fwId = (await api(single.url, 'GET', '/api/v1/status')).body.framework_id as string;
    single.proc.kill('SIGTERM');
    await single.exited;
    const source = await fileRecords(dirA);
    expect(source.length).to.be.greaterThan(4);

    // 2. into ZooKeeper
    const ha = zk.url('/copied');
    const r1 = await copy('--from', `file:${dirA}`, '--to', ha);
    expect(r1.code, r1.out).to.equal(0);
    expect(r1.out).to.match(new RegExp(`copied ${source.length} records .* verified`));
    // a second copy onto the now non-empty target is refused without --force
    const r2 = await copy('--from', `file:${dirA}`, '--to', ha);
    expect(r2.code, r2.out).to.equal(3);
    expect(r2.out).to.match(/already holds \d+ record\(s\); pass --force/);

    // 3. an HA replica on the copied path leads with the same framework ID and the job
    const rep = await spawnReplica(sim.url, ha);
    procs.push(rep);
    await waitFor('the replica leads', async () => (await role(rep)) === 'leader');
    await waitFor('subscribed with the copied framework id', async () => (await api(rep.url, 'GET', '/api/v1/status')).body.framework_id === fwId);
    await waitFor('web still running under the replica', async () => {
      const r = await api(rep.url, 'GET', '/api/v1/jobs/web');
      return r.status === 200 && r.body.instances.filter((i: { state: string }) => i.state === 'TASK_RUNNING').length === 2;
    });
    // while it runs, copying INTO its path is refused (even with --force); reading FROM it is fine
    const r3 = await copy('--from', `file:${dirA}`, '--to', ha, '--force');
    expect(r3.code, r3.out).to.equal(3);
    expect(r3.out).to.match(/replica\(s\) are running on it/);
    const dirB = path.join(tmp, 'b');
    const r4 = await copy('--from', ha, '--to', `file:${dirB}`);
    expect(r4.code, r4.out).to.equal(0);
    rep.proc.kill('SIGTERM');
    await rep.exited;

    // 4. back into a file store: the replica's state, record for record
    const s = await ZkSession.connect(parseZkUrl(zk.url('/copied')));
    sessions.push(s);
    const z = await ZkStore.open(s, '/copied', { owner: 'check' });
    const inZk = z.collections().flatMap((c) => z.list(c).map(([k, v]) => [c, k, v] as Rec));
    await z.close();
    const r5 = await copy('--from', ha, '--to', `file:${dirB}`, '--force');
    expect(r5.code, r5.out).to.equal(0);
    expect(r5.out).to.match(/replacing \d+/);
    expect(await fileRecords(dirB)).to.deep.equal(inZk);
    // and the single process starts from it with the same framework ID
    const again = await spawnSluice(['--store', dirB, '--master', sim.url]);
    procs.push(again);
    await waitFor('framework id kept', async () => (await api(again.url, 'GET', '/api/v1/status')).body.framework_id === fwId);
    again.proc.kill('SIGTERM');
    await again.exited;
  });

  it('clear refusals: bad endpoints, empty or missing sources, a locked file store, a directory that is not a store, credentials never shown', async () => {
    const bad = await copy('--from', 'nowhere', '--to', zk.url('/x'));
    expect(bad.code, bad.out).to.equal(2);
    expect(bad.out).to.match(/neither file:DIR nor zk:\/\/hosts\/path/);
    const badZk = await copy('--from', 'file:/tmp', '--to', 'zk://bob:s3cret@127.0.0.1:1');
    expect(badZk.code, badZk.out).to.equal(2);
    expect(badZk.out).to.not.contain('s3cret');
    const missing = await copy('--from', `file:${path.join(tmp, 'none')}`, '--to', zk.url('/x'));
    expect(missing.code, missing.out).to.equal(1);
    expect(missing.out).to.match(/no Sluice store there/);
    const noZk = await copy('--from', zk.url('/never-written'), '--to', `file:${path.join(tmp, 'c')}`);
    expect(noZk.code, noZk.out).to.equal(1);
    expect(noZk.out).to.match(/no Sluice store there/);
    // a file store held by a running process (its lock)
    const dir = path.join(tmp, 'locked');
    const held = await FileStore.open(dir, { logger: nullLogger() });
    await held.put('jobs', 'j', { n: 1 });
    const locked = await copy('--from', `file:${dir}`, '--to', zk.url('/y'));
    await held.close();
    expect(locked.code, locked.out).to.equal(1);
    expect(locked.out).to.match(/lock/i);
    // a directory with other files
    const other = path.join(tmp, 'other');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'notes.txt'), 'x');
    const notStore = await copy('--from', `file:${dir}`, '--to', `file:${other}`);
    expect(notStore.code, notStore.out).to.equal(3);
    expect(notStore.out).to.match(/no Sluice store/);
    // a replica in the election (a real member node) blocks a ZooKeeper target
    const s = await ZkSession.connect(parseZkUrl(zk.url('/busy')));
    sessions.push(s);
    const el = await LeaderElection.join(s, '/busy', { id: 'r', api: 'http://127.0.0.1:1', pid: 1 });
    const busy = await copy('--from', `file:${dir}`, '--to', zk.url('/busy'));
    expect(busy.code, busy.out).to.equal(3);
    await el.close();
    const ok = await copy('--from', `file:${dir}`, '--to', zk.url('/busy'));
    expect(ok.code, ok.out).to.equal(0);
  });
});
