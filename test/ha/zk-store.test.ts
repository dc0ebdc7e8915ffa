/**
 * The fenced ZooKeeper store and the leader election, against a real ZooKeeper (test/helpers).
 */
import { expect } from 'chai';
import { firstValueFrom, filter } from 'rxjs';
import { LeaderElection } from '../../src/ha/election.js';
import { MAX_VALUE_BYTES, ZkStore } from '../../src/ha/zk-store.js';
import { StoreFencedError } from '../../src/store/errors.js';
import { ZkSession } from '../../src/zk/session.js';
import { parseZkUrl } from '../../src/zk/url.js';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';

describe('HA on a real ZooKeeper: fenced store, election', function () {
  this.timeout(60_000);
  let zk: ZooKeeperStandalone;
  const sessions: ZkSession[] = [];
  let n = 0;
  let root = '';
  const open = async (): Promise<ZkSession> => {
    const s = await ZkSession.connect(parseZkUrl(zk.url(root)), { sessionTimeoutMs: 3_000 });
    sessions.push(s);
    return s;
  };

  before(async () => {
    zk = await startZooKeeper();
  });
  after(async () => {
    await zk?.stop();
  });
  beforeEach(() => {
    root = `/sluice${++n}`;
  });
  afterEach(async () => {
    while (sessions.length) await sessions.pop()!.close();
  });

  it('keeps records across re-opens, in insertion order, values frozen; odd keys are fine', async () => {
    const s = await open();
    const a = await ZkStore.open(s, root, { owner: 'a' });
    await a.batch([
      { op: 'put', collection: 'jobs', key: 'b', value: { n: 1 } },
      { op: 'put', collection: 'jobs', key: 'a', value: { n: 2 } },
      { op: 'put', collection: 'jobs', key: '..', value: 3 },
      { op: 'put', collection: 'jobs', key: '', value: 'empty' },
      { op: 'put', collection: 'hosts/x', key: 'h/1 %', value: [1, 2] },
    ]);
    await a.put('jobs', 'b', { n: 10 }); // keeps its place
    await a.delete('jobs', 'a');
    await a.put('jobs', 'a', { n: 20 }); // moves to the end
    expect(a.list('jobs').map(([k]) => k)).to.deep.equal(['b', '..', '', 'a']);
    expect(Object.isFrozen(a.get('jobs', 'b'))).to.equal(true);

    const b = await ZkStore.open(await open(), root, { owner: 'b' });
    expect(b.list('jobs')).to.deep.equal([['b', { n: 10 }], ['..', 3], ['', 'empty'], ['a', { n: 20 }]]);
    expect(b.get('hosts/x', 'h/1 %')).to.deep.equal([1, 2]);
    expect(b.epoch).to.be.greaterThan(a.epoch);
  });

  it('fences a deposed writer: its batch fails with StoreFencedError and nothing of it is applied', async () => {
    const old = await ZkStore.open(await open(), root, { owner: 'old' });
    await old.put('jobs', 'x', 1);
    const neu = await ZkStore.open(await open(), root, { owner: 'new' }); // takes over: epoch bumps
    const err = await old
      .batch([
        { op: 'put', collection: 'jobs', key: 'y', value: 2 },
        { op: 'delete', collection: 'jobs', key: 'x' },
      ])
      .then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(StoreFencedError);
    expect((err as Error).message).to.match(/another replica has taken over/);
    // later writes of the deposed store are refused too, without reaching ZooKeeper
    const again = await old.put('jobs', 'z', 3).then(() => undefined, (e: unknown) => e);
    expect(again).to.be.instanceOf(StoreFencedError);
    const check = await ZkStore.open(await open(), root, { owner: 'check' });
    expect(check.list('jobs')).to.deep.equal([['x', 1]]);
    // the new leader wrote nothing yet and is itself fenced by `check` now
    await neu.put('jobs', 'w', 4).then(
      () => expect.fail('expected fenced'),
      (e: unknown) => expect(e).to.be.instanceOf(StoreFencedError),
    );
  });

  it('a batch is all-or-nothing: a failing operation in the middle leaves nothing behind', async () => {
    const s = await open();
    const st = await ZkStore.open(s, root, { owner: 'a' });
    await st.put('jobs', 'keep', 1);
    // someone else created the node our 2nd create will collide with (NODE_EXISTS inside the multi)
    await s.create(`${root}/state/kjobs/kclash`, '"theirs"');
    const err = await st
      .batch([
        { op: 'put', collection: 'jobs', key: 'first', value: 1 },
        { op: 'put', collection: 'jobs', key: 'clash', value: 2 },
      ])
      .then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    expect(await s.exists(`${root}/state/kjobs/kfirst`)).to.equal(undefined);
    expect(st.get('jobs', 'first')).to.equal(undefined);
  });

  it('refuses a value over the per-record limit with a clear error, before writing anything', async () => {
    const st = await ZkStore.open(await open(), root, { owner: 'a' });
    const err = await st.put('jobs', 'big', 'x'.repeat(MAX_VALUE_BYTES + 1)).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).to.match(/holds at most/);
    await st.put('jobs', 'ok', 1); // still writable
  });

  it('election: exactly one of three leads; the next one in line takes over when it goes', async () => {
    const info = (id: string) => ({ id, api: `http://${id}`, pid: 1 });
    const [s1, s2, s3] = [await open(), await open(), await open()];
    const e1 = await LeaderElection.join(s1, root, info('r1'));
    const e2 = await LeaderElection.join(s2, root, info('r2'));
    const e3 = await LeaderElection.join(s3, root, info('r3'));
    await firstValueFrom(e1.role$.pipe(filter((r) => r === 'leader')));
    await new Promise((r) => setTimeout(r, 300));
    expect([e1.role, e2.role, e3.role]).to.deep.equal(['leader', 'standby', 'standby']);
    expect(e1.canAct()).to.equal(true);
    expect(e2.canAct()).to.equal(false);
    expect((await e3.leader())?.id).to.equal('r1');
    await s1.close(); // the leader goes: r2 (watching r1) leads, r3 (watching r2) stays
    await firstValueFrom(e2.role$.pipe(filter((r) => r === 'leader')));
    expect(e1.role).to.equal('lost');
    expect(e1.canAct()).to.equal(false);
    expect(e3.role).to.equal('standby');
    expect((await e3.leader())?.id).to.equal('r2');
    await e2.close();
    await e3.close();
  });
});
