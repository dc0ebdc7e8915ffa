/**
 * The ZooKeeper session wrapper against a real ZooKeeper (Debian's zookeeper 3.8, started by
 * test/helpers/zookeeper.ts): ephemeral sequential nodes, watches, multi with version checks,
 * digest ACLs, session loss. Fails (does not skip) when ZooKeeper is not installed.
 */
import { expect } from 'chai';
import { firstValueFrom, filter, takeWhile, toArray, timeout } from 'rxjs';
import { ZkClosedError, ZkOperationError, ZkSessionExpiredError, ZkUnreachableError } from '../../src/zk/errors.js';
import { ZkSession, digestId, type ZkSessionState } from '../../src/zk/session.js';
import { parseZkUrl } from '../../src/zk/url.js';
import { freePort, startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';

describe('ZooKeeper session (real ZooKeeper)', function () {
  this.timeout(60_000);
  let zk: ZooKeeperStandalone;
  const sessions: ZkSession[] = [];
  const open = async (path = '/t', creds?: string): Promise<ZkSession> => {
    const s = await ZkSession.connect(parseZkUrl(zk.url(path, creds)), { sessionTimeoutMs: 4_000 });
    sessions.push(s);
    return s;
  };

  before(async () => {
    zk = await startZooKeeper();
  });
  after(async () => {
    await zk?.stop();
  });
  afterEach(async () => {
    while (sessions.length) await sessions.pop()!.close();
  });

  it('creates ephemeral sequential nodes that vanish with their session', async () => {
    const a = await open();
    await a.mkdirp('/t/eph');
    const p1 = await a.create('/t/eph/json.info_', 'one', { mode: 'ephemeral_sequential' });
    const p2 = await a.create('/t/eph/json.info_', 'two', { mode: 'ephemeral_sequential' });
    expect(p1).to.match(/^\/t\/eph\/json\.info_\d{10}$/);
    expect(Number(p2.slice(-10))).to.be.greaterThan(Number(p1.slice(-10)));
    const b = await open();
    const st = (await b.getData(p1)).stat;
    expect(st.ephemeralOwner).to.equal(a.sessionId);
    expect((await b.getData(p2)).data.toString()).to.equal('two');
    await a.close();
    expect((await b.getChildren('/t/eph')).children).to.deep.equal([]);
    expect(await a.getData(p1).catch((x) => x)).to.be.instanceOf(ZkClosedError);
  });

  it('watchChildren emits the list on every change, null while the node is missing', async () => {
    const a = await open();
    const b = await open();
    const seen = firstValueFrom(a.watchChildren('/t/w').pipe(takeWhile((l) => l?.join(',') !== 'y', true), toArray(), timeout(20_000)));
    await new Promise((r) => setTimeout(r, 200));
    await b.mkdirp('/t/w');
    await b.create('/t/w/x', '', { mode: 'ephemeral' });
    await b.create('/t/w/y');
    await b.remove('/t/w/x');
    const lists = (await seen).map((l) => (l === null ? 'missing' : `[${l.join(',')}]`));
    expect(lists[0]).to.equal('missing');
    expect(lists.at(-1)).to.equal('[y]');
    // every emission is a real snapshot, in order (ZooKeeper may coalesce changes made during a read)
    const order = ['missing', '[]', '[x]', '[x,y]', '[y]'];
    const idx = lists.map((l) => order.indexOf(l));
    expect(idx.every((i, k) => i >= 0 && (k === 0 || i > idx[k - 1]!)), lists.join(' → ')).to.equal(true);
  });

  it('multi is all-or-nothing with version checks (BAD_VERSION names the failing operation)', async () => {
    const a = await open();
    await a.mkdirp('/t/m');
    const st = await a.setData('/t/m', 'v1');
    const first = await a.multi([{ op: 'check', path: '/t/m', version: st.version + 1 }, { op: 'create', path: '/t/m/child', data: 'x' }]).catch((x) => x);
    expect(first).to.be.instanceOf(ZkOperationError).and.include({ code: 'BAD_VERSION', opIndex: 0 });
    const err = await a.multi([{ op: 'create', path: '/t/m/c2' }, { op: 'check', path: '/t/m', version: st.version + 1 }]).catch((e) => e);
    expect(err).to.be.instanceOf(ZkOperationError);
    expect(err.code).to.equal('BAD_VERSION');
    expect(err.opIndex).to.equal(1);
    expect(await a.exists('/t/m/child')).to.equal(undefined);
    expect(await a.exists('/t/m/c2')).to.equal(undefined);
    const res = await a.multi([
      { op: 'check', path: '/t/m', version: st.version },
      { op: 'create', path: '/t/m/child', data: 'x' },
      { op: 'set', path: '/t/m', data: 'v2', version: st.version },
    ]);
    expect(res[1]!.path).to.equal('/t/m/child');
    expect((await a.getData('/t/m')).data.toString()).to.equal('v2');
  });

  it('digest auth: a node only the digest user may read', async () => {
    const owner = await open('/t', 'alice:wonderland');
    await owner.mkdirp('/t');
    const id = await digestId('alice:wonderland');
    await owner.create('/t/secret', 'hidden', { acl: [{ scheme: 'digest', id, perms: ['all'] }] });
    expect((await owner.getAcl('/t/secret'))[0]).to.deep.include({ scheme: 'digest', id });
    const stranger = await open('/t');
    const e = await stranger.getData('/t/secret').catch((x) => x);
    expect(e).to.be.instanceOf(ZkOperationError);
    expect(e.code).to.equal('NO_AUTH');
    const friend = await open('/t', 'alice:wonderland');
    expect((await friend.getData('/t/secret')).data.toString()).to.equal('hidden');
  });

  it('an unreachable ensemble rejects connect() with a clear error and no credentials', async () => {
    const port = await freePort();
    const e = await ZkSession.connect(parseZkUrl(`zk://bob:pw-xyz-123@127.0.0.1:${port}/mesos`), { connectTimeoutMs: 1_000 }).catch((x) => x);
    expect(e).to.be.instanceOf(ZkUnreachableError);
    expect(e.message).to.match(new RegExp(`no ZooKeeper server of zk://\\*\\*\\*@127\\.0\\.0\\.1:${port}/mesos answered within 1000 ms`));
    expect(e.message).to.not.include('pw-xyz-123');
  });

  it('a session disconnected for longer than its timeout ends as expired: its calls and watches fail', async () => {
    const own = await startZooKeeper(); // a server of its own: it is stopped
    try {
      const s = await ZkSession.connect(parseZkUrl(own.url('/x')), { sessionTimeoutMs: 2_000 });
      sessions.push(s);
      const states: ZkSessionState[] = [];
      s.state$.subscribe((st) => states.push(st));
      const watchErr = new Promise<unknown>((resolve) => s.watchChildren('/').subscribe({ error: resolve }));
      const ended = firstValueFrom(s.state$.pipe(filter((st) => st === 'expired'), timeout(30_000)));
      await own.server.kill();
      await ended;
      expect(states).to.deep.equal(['connected', 'disconnected', 'expired']);
      expect(await watchErr).to.be.instanceOf(ZkSessionExpiredError);
      expect(await s.exists('/').catch((x) => x)).to.be.instanceOf(ZkSessionExpiredError);
    } finally {
      await own.stop();
    }
  });
});
