/**
 * ZooKeeper master detection against a real ZooKeeper, with znodes made by hand exactly as the
 * recording of a real Mesos 1.12 master shows them (test/fixtures/real-mesos-1.12/zk, copied from
 * shared/reference): the leader is the lowest `json.info_`, `info_` and `log_replicas` are not
 * masters, changes are watched and pushed, and every failure says what is wrong.
 */
import { expect } from 'chai';
import { ZkNoLeaderError as NoLeaderError } from '../../src/zk/errors.js';
import { ZkMasterDetector, zkMasterDetectorFor, type ZkMasterDetectorOptions } from '../../src/zk/master-detector.js';
import { leaderNode, masterCandidates, masterInfoJson, masterOrigin, parseMasterInfo, unpackIp } from '../../src/zk/master-info.js';
import { ZkSession, digestId } from '../../src/zk/session.js';
import { parseZkUrl } from '../../src/zk/url.js';
import { captureLogger } from '../client/helpers.js';
import { readFixture } from '../helpers/fixtures.js';
import { freePort, startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';

interface RecordedNode {
  path: string;
  ephemeral: boolean;
  data: string;
  children: string[];
}
const recording = (n: string): RecordedNode[] => JSON.parse(readFixture('real-mesos-1.12', 'zk', n).toString('utf8')) as RecordedNode[];
const TWO = recording('2-two-masters.json');
const DATA_5050 = TWO.find((n) => n.path === '/mesos/json.info_0000000001')!.data;
const DATA_5049 = TWO.find((n) => n.path === '/mesos/json.info_0000000002')!.data;

describe('MasterInfo in ZooKeeper (pure)', () => {
  it('the leader is the lowest json.info_ sequence; info_, log_replicas and other names are ignored', () => {
    expect(leaderNode(['log_replicas', 'json.info_0000000010', 'json.info_0000000009', 'info_0000000001', '0000000000', 'json.info_x'])).to.equal(
      'json.info_0000000009',
    );
    expect(masterCandidates(TWO.find((n) => n.path === '/mesos')!.children).map((c) => c.name)).to.deep.equal(['json.info_0000000001', 'json.info_0000000002']);
    expect(leaderNode(['log_replicas'])).to.equal(undefined);
  });

  it('reads the recorded MasterInfo: address → http(s)://host:port; packed ip → dotted', () => {
    const info = parseMasterInfo(DATA_5050);
    expect(info).to.include({ id: '114bd390-b388-4541-810c-41b0ffb5e6cc', port: 5050, pid: 'master@127.0.0.1:5050', ip: 16777343 });
    expect(masterOrigin(info)).to.equal('http://127.0.0.1:5050');
    expect(masterOrigin(info, 'https')).to.equal('https://127.0.0.1:5050');
    expect(unpackIp(16777343)).to.equal('127.0.0.1');
    expect(masterOrigin({ id: 'x', port: 5051, ip: 16777343 })).to.equal('http://127.0.0.1:5051');
    expect(() => parseMasterInfo('{"id":"x"}')).to.throw(/no valid port/);
    expect(() => parseMasterInfo('not json')).to.throw(/not valid JSON/);
  });

  it('writes MasterInfo byte for byte as a 1.12 master does (keys in alphabetical order)', () => {
    // built in MasterInfo declaration order, as the simulator serves it in SUBSCRIBED
    const info = {
      id: '114bd390-b388-4541-810c-41b0ffb5e6cc',
      ip: 16777343,
      port: 5050,
      pid: 'master@127.0.0.1:5050',
      hostname: '127.0.0.1',
      version: '1.12.0',
      address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: 5050 },
      capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, { type: 'QUOTA_V2' }],
    };
    expect(masterInfoJson(info)).to.equal(DATA_5050);
  });
});

describe('ZooKeeper master detector (real ZooKeeper)', function () {
  this.timeout(60_000);
  let zk: ZooKeeperStandalone;
  const closers: Array<() => Promise<void>> = [];
  const session = async (creds?: string): Promise<ZkSession> => {
    const s = await ZkSession.connect(parseZkUrl(zk.url('/x', creds)));
    closers.push(() => s.close());
    return s;
  };
  const detector = (url: string, opts: ZkMasterDetectorOptions = {}): ZkMasterDetector => {
    const d = new ZkMasterDetector(url, { detectWaitMs: 10_000, retryDelayMs: 200, ...opts });
    closers.push(() => d.close());
    return d;
  };
  /** Replays the recorded /mesos tree of 2-two-masters.json under `root`, one session per master; plus a legacy info_ node first (lowest sequence). */
  const replay = async (root: string) => {
    const admin = await session();
    await admin.mkdirp(root);
    await admin.create(`${root}/info_`, 'master@10.9.9.9:5050', { mode: 'ephemeral_sequential' });
    const m5050 = await session();
    const n5050 = await m5050.create(`${root}/json.info_`, DATA_5050, { mode: 'ephemeral_sequential' });
    const m5049 = await session();
    const n5049 = await m5049.create(`${root}/json.info_`, DATA_5049, { mode: 'ephemeral_sequential' });
    await admin.mkdirp(`${root}/log_replicas`);
    // (bare sequence names as the replicated log writes them; this client cannot create `path/` sequentials)
    await m5050.create(`${root}/log_replicas/0000000000`, 'log-replica(1)@127.0.0.1:5050', { mode: 'ephemeral' });
    await m5049.create(`${root}/log_replicas/0000000001`, 'log-replica(1)@127.0.0.1:5049', { mode: 'ephemeral' });
    return { admin, m5050, m5049, n5050, n5049 };
  };

  before(async () => {
    zk = await startZooKeeper();
  });
  after(async () => {
    await zk?.stop();
  });
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  it('finds the leader of the recorded tree (lowest json.info_; info_ and log_replicas ignored)', async () => {
    const { admin } = await replay('/rec2');
    const children = (await admin.getChildren('/rec2')).children.sort();
    expect(children.map((c) => c.replace(/\d{10}$/, 'N'))).to.deep.equal(['info_N', 'json.info_N', 'json.info_N', 'log_replicas']);
    const d = detector(zk.url('/rec2'));
    expect(await d.detect()).to.equal('http://127.0.0.1:5050');
    expect(d.state$.value.leader!.info.id).to.equal('114bd390-b388-4541-810c-41b0ffb5e6cc');
  });

  it('watches: when the leader stops (recording 3), the next master is announced to listeners at once', async () => {
    const { admin, m5050 } = await replay('/rec3');
    const d = detector(zk.url('/rec3'));
    expect(await d.detect()).to.equal('http://127.0.0.1:5050');
    const announced = new Promise<string | undefined>((resolve) => d.onLeaderChange(resolve));
    await m5050.close(); // the 5050 master stops: ZooKeeper deletes its ephemeral nodes
    expect(await announced).to.equal('http://127.0.0.1:5049');
    expect(await d.detect()).to.equal('http://127.0.0.1:5049');
    // the tree now has the shape of 3-after-leader-stopped.json (plus our legacy info_ node)
    const rec3 = recording('3-after-leader-stopped.json').find((n) => n.path === '/mesos')!;
    const now = (await admin.getChildren('/rec3')).children.filter((c) => !c.startsWith('info_'));
    expect(now.map((c) => c.replace(/\d{10}$/, 'N')).sort()).to.deep.equal(rec3.children.map((c) => c.replace(/\d{10}$/, 'N')).sort());
    expect((await admin.getChildren('/rec3/log_replicas')).children).to.have.length(1);
  });

  it('missing path: "no master has registered under … yet", then notices the first master', async () => {
    const d = detector(zk.url('/nomaster'), { detectWaitMs: 1_000 });
    const e = await d.detect().catch((x) => x);
    expect(e).to.be.instanceOf(NoLeaderError);
    expect(e.message).to.match(/no master has registered under \/nomaster yet .*the path does not exist/);
    const s = await session();
    await s.mkdirp('/nomaster');
    await s.mkdirp('/nomaster/log_replicas');
    const e2 = await d.detect().catch((x) => x);
    expect(e2.message).to.match(/no master has registered under \/nomaster yet/).and.not.match(/does not exist/);
    const announced = new Promise<string | undefined>((resolve) => d.onLeaderChange(resolve));
    await s.create('/nomaster/json.info_', DATA_5049, { mode: 'ephemeral_sequential' });
    expect(await announced).to.equal('http://127.0.0.1:5049');
  });

  it('unreachable ensemble: a clear NoLeaderError, retried in the background (no credentials shown)', async () => {
    const port = await freePort();
    const log = captureLogger();
    const d = detector(`zk://ops:pa55w0rd-zz@127.0.0.1:${port}/mesos`, { connectTimeoutMs: 300, retryDelayMs: 100, detectWaitMs: 1_500, logger: log.logger });
    const e = await d.detect().catch((x) => x);
    expect(e).to.be.instanceOf(NoLeaderError);
    expect(e.message).to.include(`ZooKeeper zk://***@127.0.0.1:${port}/mesos unreachable`);
    expect(d.state$.value.state).to.equal('unreachable');
    expect(log.events('zk_detector_retry').length).to.be.greaterThan(1);
    expect(JSON.stringify(log.entries)).to.not.include('pa55w0rd');
    expect(e.message).to.not.include('pa55w0rd');
  });

  it('digest auth from the URL reads a group only its user may read; without it, a clear NO_AUTH error', async () => {
    const owner = await session('mesos:s3cret-digest');
    const acl = [{ scheme: 'digest', id: await digestId('mesos:s3cret-digest'), perms: ['all' as const] }];
    await owner.create('/secure', '', { acl });
    await owner.create('/secure/json.info_', DATA_5050, { mode: 'ephemeral_sequential', acl });
    expect(await detector(zk.url('/secure', 'mesos:s3cret-digest')).detect()).to.equal('http://127.0.0.1:5050');
    const e = await detector(zk.url('/secure'), { detectWaitMs: 1_500 }).detect().catch((x) => x);
    expect(e).to.be.instanceOf(NoLeaderError);
    expect(e.message).to.match(/refused to read \/secure \(NO_AUTH\): check the credentials/);
    const wrong = await detector(zk.url('/secure', 'mesos:wrong-pass'), { detectWaitMs: 1_500 }).detect().catch((x) => x);
    expect(wrong.message).to.match(/NO_AUTH/).and.not.include('wrong-pass');
  });

  it('a leader whose data is not MasterInfo is reported, not used', async () => {
    const s = await session();
    await s.mkdirp('/garbage');
    await s.create('/garbage/json.info_', '{"not":"a master"}', { mode: 'ephemeral_sequential' });
    const e = await detector(zk.url('/garbage'), { detectWaitMs: 1_000 }).detect().catch((x) => x);
    expect(e.message).to.match(/znode \/garbage\/json\.info_\d{10} holds no usable MasterInfo: MasterInfo has no id/);
  });

  it('zkMasterDetectorFor: zk:// → ZooKeeper (https when asked), http masters → none, mixed → refused', async () => {
    const s = await session();
    await s.mkdirp('/tls');
    await s.create('/tls/json.info_', DATA_5050, { mode: 'ephemeral_sequential' });
    const d = zkMasterDetectorFor([zk.url('/tls')], { scheme: 'https' })!;
    closers.push(() => d.close());
    expect(d).to.be.instanceOf(ZkMasterDetector);
    expect(await d.detect()).to.equal('https://127.0.0.1:5050');
    expect(zkMasterDetectorFor(['http://m1:5050', 'http://m2:5050'])).to.equal(undefined);
    expect(() => zkMasterDetectorFor([zk.url('/tls'), 'http://m:5050'])).to.throw(/must be the only master/);
  });
});
