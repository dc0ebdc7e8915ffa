/**
 * Host maintenance with `--master zk://…` (real ZooKeeper, the simulator's 3 masters registered
 * there): the maintenance operator client finds the leading master through the same ZooKeeper
 * detector as the scheduler client (one ZooKeeper session for the whole Sluice), so after a
 * failover announced in ZooKeeper a maintenance start and complete land on the new leader.
 */
import { expect } from 'chai';
import { api, startEnv, type Env } from './workload-helpers.js';
import { hostStates } from './maintenance-helpers.js';
import { fourLetterWord, startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';

/** Sessions ZooKeeper holds (the `cons` four-letter word lists one line per connection with its sid; our probe has none). */
async function zkClients(zk: ZooKeeperStandalone): Promise<number> {
  const out = await fourLetterWord(zk.port, 'cons');
  return out.split('\n').filter((l) => /sid=0x[0-9a-f]+/i.test(l)).length;
}

describe('e2e: host maintenance with a zk:// master (real ZooKeeper)', function () {
  this.timeout(90_000);
  let zk: ZooKeeperStandalone;
  let env: Env | undefined;
  before(async () => {
    zk = await startZooKeeper();
  });
  after(async () => {
    await zk?.stop();
  });
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('start and complete post to the leader ZooKeeper names, after a failover too', async () => {
    const zkUrl = zk.url('/mesos-mnt');
    env = await startEnv({ sim: { agents: 3, racks: 1, masters: 3, zk: zkUrl }, master: zkUrl });
    const e = env;
    await e.until('subscribed', () => e.app.runtime.state.frameworkId !== undefined && e.app.runtime.state.agents.size === 3, 60_000, 500);

    await e.sim.faults.failover(); // master 0 goes away: ZooKeeper names master 1
    expect(e.sim.leader).to.equal(e.sim.nodes[1]);

    const host = e.sim.agents()[0]!.hostname;
    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host] });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    const schedule = await (await fetch(e.sim.nodes[1]!.url + '/master/maintenance/schedule')).json();
    expect(JSON.stringify(schedule)).to.include(host);

    await e.until(`${host} DOWN`, async () => (await hostStates(e)).get(host)?.state === 'DOWN', 3600_000, 2000);
    const status = (await (await fetch(e.sim.nodes[1]!.url + '/master/maintenance/status')).json()) as { down_machines?: Array<{ hostname: string }> };
    expect(status.down_machines?.map((m: { hostname: string }) => m.hostname)).to.deep.equal([host]);

    const done = await api(e.url, 'POST', '/api/v1/hosts/maintenance/complete', { hosts: [host] });
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    const after = (await (await fetch(e.sim.nodes[1]!.url + '/master/maintenance/schedule')).json()) as { windows?: unknown[] };
    expect(after.windows ?? []).to.have.length(0);

    // one ZooKeeper session for the whole Sluice (the simulator's registrations hold their own)
    const withSluice = await zkClients(zk);
    await e.app.stop();
    await e.until('ZooKeeper saw the session close', async () => (await zkClients(zk)) < withSluice, 10_000, 500);
    expect(withSluice - (await zkClients(zk)), 'ZooKeeper sessions Sluice held').to.equal(1);
  });
});
