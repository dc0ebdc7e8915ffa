/**
 * `sluice doctor --master zk://…` against real ZooKeeper and the simulator's masters registered in
 * it (as Mesos masters started with --zk): the leader is found the way Sluice finds it, and each
 * ZooKeeper failure (no master under the path, unreachable ensemble, bad URL) is a clear finding.
 */
import { expect } from 'chai';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { byId, deadPort, doctorJson, withSim } from './helpers.js';

describe('sluice doctor with a zk:// master (real ZooKeeper)', function () {
  this.timeout(90_000);
  let zk: ZooKeeperStandalone;
  before(async () => {
    zk = await startZooKeeper();
  });
  after(async () => {
    await zk?.stop();
  });

  it('finds the leader through ZooKeeper, says how, and runs every other check against it', async () => {
    const url = zk.url('/mesos-doctor');
    await withSim({ masters: 3, zk: url }, async (sim) => {
      const { run, report } = await doctorJson(['--master', url]);
      expect(run.code, run.out + run.err).to.equal(0);
      expect(report.leader).to.equal(sim.url);
      const leader = byId(report, 'leader');
      expect(leader.status).to.equal('ok');
      const detail = leader.detail as { found_by: string; zookeeper: { state: string; leader: string; node: string } };
      expect(detail.found_by).to.match(/^ZooKeeper zk:\/\/127\.0\.0\.1:\d+\/mesos-doctor: the lowest json\.info_ sequence \(json\.info_\d{10}\)/);
      expect(detail.zookeeper).to.deep.include({ state: 'leader', leader: sim.url });
      expect(report.checks.map((c) => c.status)).to.deep.equal(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);

      // the leader fails over: ZooKeeper names the next master
      await sim.faults.failover();
      const after = await doctorJson(['--master', url]);
      expect(after.run.code, after.run.out + after.run.err).to.equal(0);
      expect(after.report.leader).to.equal(sim.leader!.url);
      expect(after.report.leader).to.not.equal(report.leader);
    });
  });

  it('a path with no master, an unreachable ensemble and a bad URL: exit 10 with the reason, no credentials shown', async () => {
    const empty = await doctorJson(['--master', zk.url('/nobody-here', 'ops:s3cret-pw'), '--timeout', '3s']);
    expect(empty.run.code).to.equal(10);
    const e = byId(empty.report, 'leader');
    expect(e.status).to.equal('fail');
    expect(e.summary).to.match(/no leading master found in ZooKeeper zk:\/\/.*\/nobody-here/);
    expect(empty.run.out + empty.run.err).to.not.include('s3cret-pw');

    const port = await deadPort();
    const dead = await doctorJson(['--master', `zk://127.0.0.1:${port}/mesos`, '--timeout', '2s']);
    expect(dead.run.code).to.equal(10);
    expect(byId(dead.report, 'leader').summary).to.match(/no leading master found in ZooKeeper zk:\/\/127\.0\.0\.1:\d+\/mesos: .+/);

    const bad = await doctorJson(['--master', 'zk://127.0.0.1:99999/mesos']);
    expect(bad.run.code).to.equal(10);
    expect(byId(bad.report, 'leader').status).to.equal('fail');
    expect(byId(bad.report, 'leader').summary).to.match(/port/i);
  });
});
