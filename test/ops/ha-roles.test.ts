/**
 * Roles across HA replicas (child processes, real ZooKeeper, simulator), all given the same tokens
 * file: a standby authenticates (401 for an unknown token) and redirects an authenticated request
 * to the leader whatever its role (307, never a 403 of its own: the leader decides); through the
 * CLI, an operator's job change lands on the leader and is audited there under the operator's name,
 * and a viewer's is refused by the leader with 403 naming the operator role.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { startSim, type Sim } from '../../src/sim/index.js';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { quietLogger, tmpDir } from '../e2e/workload-helpers.js';
import { job } from '../e2e/maintenance-helpers.js';
import { role, spawnReplica, waitFor, type Replica } from '../ha/replica-helpers.js';
import { call, cli, newToken, people, writeTokensFile, type Identity } from './helpers.js';

describe('ops: roles across HA replicas (standby redirects, the leader decides)', function () {
  this.timeout(120_000);
  let zk: ZooKeeperStandalone;
  let sim: Sim;
  const replicas: Replica[] = [];

  before(async () => {
    zk = await startZooKeeper();
    sim = await startSim({ agents: 4, racks: 2, seed: 3, taskStartupDelayMs: 50, logger: quietLogger() });
  });
  after(async () => {
    for (const r of replicas) r.kill();
    await sim?.close();
    await zk?.stop();
  });

  it('401 at the standby for an unknown token; 307 for any known one; the leader audits the operator and refuses the viewer', async () => {
    const ids = people();
    const [vera, otto] = ids as [Identity, Identity, Identity];
    // a long session: a loaded machine must not hand the leadership over mid-test
    const args = { sessionTimeout: '10s', extraArgs: ['--api-tokens-file', writeTokensFile(ids)] };
    const ha = zk.url('/sluice-roles');
    const a = await spawnReplica(sim.url, ha, args);
    replicas.push(a);
    const status = async (r: Replica) => (await call(r.url, 'GET', '/api/v1/status', { token: vera.token })).body?.ha?.role;
    await waitFor('a leads', async () => (await status(a)) === 'leader');
    const b = await spawnReplica(sim.url, ha, args);
    replicas.push(b);
    await waitFor('b is a standby', async () => (await status(b)) === 'standby');
    expect(await role(b), 'no token: the standby answers 401 even to its status').to.equal(undefined);

    expect((await call(b.url, 'POST', '/api/v1/jobs', { token: newToken(), body: job('web', 1) })).status).to.equal(401);
    for (const who of [vera, otto]) {
      const r = await call(b.url, 'POST', '/api/v1/jobs', { token: who.token, body: job('web', 1) });
      expect(r.status, `${who.name} at the standby`).to.equal(307);
      expect(r.headers.get('location')).to.equal(`${a.url}/api/v1/jobs`);
    }

    const dir = tmpDir('sluice-ha-roles-');
    const spec = path.join(dir, 'web.json');
    fs.writeFileSync(spec, JSON.stringify(job('web', 1)));
    const refused = await cli(['job', 'create', '-f', spec, '--api', b.url], { SLUICE_API_TOKEN: vera.token });
    expect(refused.code).to.equal(3);
    expect(refused.err).to.contain('needs the operator role');
    const created = await cli(['job', 'create', '-f', spec, '--api', b.url], { SLUICE_API_TOKEN: otto.token });
    expect(created.code, created.err).to.equal(0);
    const audit = await cli(['audit', '--actor', 'otto', '--json', '--api', b.url], { SLUICE_API_TOKEN: vera.token });
    expect(audit.code, audit.err).to.equal(0);
    expect(JSON.parse(audit.out).entries.map((e: { action: string; job: string }) => `${e.action}:${e.job}`)).to.deep.equal(['job_create:web']);
  });
});
