/**
 * The fenced ZooKeeper store and the leader election, against a real ZooKeeper (test/helpers).
 */
import { expect } from 'chai';
import { firstValueFrom, filter } from 'rxjs';
import { LeaderElection } from '../../src/ha/election.js';
import { MAX_NODE_BYTES, paths, readHead } from '../../src/ha/zk-layout.js';
import { MAX_VALUE_BYTES, ZkStore } from '../../src/ha/zk-store.js';
import { StoreFencedError } from '../../src/store/errors.js';
import { ZkSession } from '../../src/zk/session.js';
import { ZkStateMirror } from '../../src/ha/zk-mirror.js';
import { emptyCollections, expectEmptied } from '../store-collections.js';
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
    // someone else created the log entry our next multi creates (NODE_EXISTS inside the multi):
    // the multi fails as a whole, and so does every batch grouped into it or queued behind it
    const next = paths(root).entry(st.stats().seq + 1);
    await s.create(next, '{"s":0,"o":[]}');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        st
          .batch([
            { op: 'put', collection: 'jobs', key: `first${i}`, value: 1 },
            { op: 'delete', collection: 'jobs', key: 'keep' },
          ])
          .then(() => 'ok', (e: unknown) => (e as Error).message),
      ),
    );
    expect(results.filter((r) => r === 'ok')).to.deep.equal([]);
    expect(results[0]).to.match(/NODE_EXISTS/);
    expect(st.get('jobs', 'first0')).to.equal(undefined);
    expect(st.get('jobs', 'keep')).to.equal(1);
    await s.remove(next);
    const again = await ZkStore.open(await open(), root, { owner: 'b' });
    expect(again.list('jobs')).to.deep.equal([['keep', 1]]);
  });

  it('group commit: concurrent batches share multis, each resolves once durable, all survive a takeover in order', async () => {
    const st = await ZkStore.open(await open(), root, { owner: 'a' });
    await Promise.all(Array.from({ length: 64 }, (_, i) => st.put('jobs', `j${String(i).padStart(2, '0')}`, { i })));
    const { multis, batches } = st.stats();
    expect(batches).to.equal(64);
    expect(multis).to.be.lessThan(64); // grouped (the first goes alone, the rest queue behind it)
    const b = await ZkStore.open(await open(), root, { owner: 'b' });
    expect(b.list('jobs').map(([k]) => k)).to.deep.equal(Array.from({ length: 64 }, (_, i) => `j${String(i).padStart(2, '0')}`));
  });

  it('a deposed writer: every batch of a group and every queued one fails as fenced', async () => {
    const old = await ZkStore.open(await open(), root, { owner: 'old' });
    await old.put('jobs', 'x', 1);
    await ZkStore.open(await open(), root, { owner: 'new' });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => old.put('jobs', `y${i}`, i).then(() => undefined, (e: unknown) => e)));
    for (const r of results) expect(r).to.be.instanceOf(StoreFencedError);
    const check = await ZkStore.open(await open(), root, { owner: 'check' });
    expect(check.list('jobs')).to.deep.equal([['x', 1]]);
  });

  it('compaction: snapshot chunks under the node limit, covered log entries removed, state and order kept across takeovers', async function () {
    const s = await open();
    const st = await ZkStore.open(s, root, { owner: 'a', compactMaxEntries: 10, compactMinBytes: 1 });
    const expected = new Map<string, unknown>();
    // incompressible values: 40 × 200 KB of random base64 forces several chunks, each ≤ 1 MB
    const { randomBytes } = await import('node:crypto');
    for (let i = 0; i < 40; i++) {
      const v = { i, blob: randomBytes(150 * 1024).toString('base64') };
      await st.put('blobs', `b${i}`, v);
    }
    for (let i = 0; i < 60; i++) {
      await st.batch([
        { op: 'put', collection: 'jobs', key: `k${i % 17}`, value: { i } },
        ...(i % 5 === 0 ? [{ op: 'delete' as const, collection: 'jobs', key: `k${(i + 3) % 17}` }] : []),
      ]);
    }
    await st.close(); // waits for a compaction in progress
    const order = (x: ZkStore) => x.list('jobs');
    const head = await readHead(s, root);
    expect(head, 'a snapshot was written').to.not.equal(undefined);
    const P = paths(root);
    const chunks = (await s.getChildren(P.snapshot(head!.snapshot))).children;
    expect(chunks.length).to.equal(head!.chunks).and.to.be.at.least(2); // split: no chunk holds 1 MB of these
    for (const c of chunks) expect((await s.exists(`${P.snapshot(head!.snapshot)}/${c}`))!.dataLength).to.be.at.most(MAX_NODE_BYTES);
    expect((await s.getChildren(P.snapshots)).children).to.deep.equal([head!.snapshot]);
    const logSeqs = (await s.getChildren(P.log)).children.map((n) => Number(n.slice(1)));
    for (const q of logSeqs) expect(q).to.be.greaterThan(head!.seq);
    const b = await ZkStore.open(await open(), root, { owner: 'b' });
    expect(b.list('blobs')).to.have.length(40);
    expect(b.get<{ i: number }>('blobs', 'b39')!.i).to.equal(39);
    // the same order a file store would keep: replay the same operations in a Map
    for (let i = 0; i < 60; i++) {
      expected.set(`k${i % 17}`, { i });
      if (i % 5 === 0) expected.delete(`k${(i + 3) % 17}`);
    }
    expect(order(b)).to.deep.equal(Array.from(expected));
    void this;
  });

  it('empty collections as in the file store: gone from memory, the log, a snapshot and a standby copy alike', async () => {
    const a = await ZkStore.open(await open(), root, { owner: 'a' });
    await emptyCollections(a);
    const mirror = new ZkStateMirror(await open(), root);
    expectEmptied((await mirror.read())!.store); // from the log
    await a.close();
    expectEmptied(await ZkStore.open(await open(), root, { owner: 'b' })); // replayed from the log
    // compact (every entry triggers it), then read the snapshot
    const c = await ZkStore.open(await open(), root, { owner: 'c', compactMaxEntries: 1, compactMinBytes: 1 });
    await c.put('c', 'k', [1]);
    await c.close();
    expect(await readHead(await open(), root)).to.not.equal(undefined);
    expectEmptied(await ZkStore.open(await open(), root, { owner: 'd' }));
    expectEmptied((await new ZkStateMirror(await open(), root).read())!.store);
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
