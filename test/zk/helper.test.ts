/**
 * The ZooKeeper test helper itself: a 3-server ensemble on loopback forms a quorum, and stopping 2
 * of 3 loses it (the survivor stops serving, a client's session is disconnected); quorum comes back
 * with one server restarted. Kept for the HA quorum-loss tests built on it.
 */
import { expect } from 'chai';
import { firstValueFrom, filter, timeout } from 'rxjs';
import { ZkSession } from '../../src/zk/session.js';
import { parseZkUrl } from '../../src/zk/url.js';
import { serverMode, startZooKeeperEnsemble, zooKeeperMissing, type ZooKeeperEnsemble } from '../helpers/zookeeper.js';

describe('ZooKeeper test helper: 3-server ensemble (real ZooKeeper)', function () {
  this.timeout(120_000);
  let ens: ZooKeeperEnsemble;

  before(async () => {
    ens = await startZooKeeperEnsemble(3);
  });
  after(async () => {
    await ens?.stop();
  });

  it('ZooKeeper is installed (a missing install fails the suite, it is never skipped)', () => {
    expect(zooKeeperMissing()).to.equal(undefined);
  });

  it('forms a quorum (one leader, two followers); loses it when 2 of 3 stop; regains it with 2 of 3', async () => {
    const modes = (await ens.modes()).sort();
    expect(modes).to.deep.equal(['follower', 'follower', 'leader']);
    const s = await ZkSession.connect(parseZkUrl(ens.url('/q')), { sessionTimeoutMs: 20_000 });
    try {
      await s.mkdirp('/q');
      await s.create('/q/n', 'x');
      const survivorIdx = 0;
      const disconnected = firstValueFrom(s.state$.pipe(filter((st) => st === 'disconnected'), timeout(60_000)));
      await ens.stopServer(1);
      await ens.stopServer(2);
      // the survivor leaves the quorum: it stops serving, and closes client connections
      const deadline = Date.now() + 30_000;
      while ((await serverMode(ens.servers[survivorIdx]!.port)) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await serverMode(ens.servers[survivorIdx]!.port)).to.equal(undefined);
      await disconnected;
      await ens.startServer(1);
      await ens.waitQuorum();
      expect((await ens.modes()).filter(Boolean).sort()).to.deep.equal(['follower', 'leader']);
      // the session survived (within its timeout) and the data is there
      await firstValueFrom(s.state$.pipe(filter((st) => st === 'connected'), timeout(30_000)));
      expect((await s.getData('/q/n')).data.toString()).to.equal('x');
    } finally {
      await s.close();
    }
  });
});
