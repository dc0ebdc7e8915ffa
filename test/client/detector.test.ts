import { expect } from 'chai';
import { NoLeaderError, StaticListDetector, UnsupportedMasterUrlError, parseMasterUrls, resolveLocation } from '../../src/client/index.js';
import { ScriptedMaster, reply } from './scripted-master.js';

describe('master URLs and leader detection', () => {
  const masters: ScriptedMaster[] = [];
  const detectors: StaticListDetector[] = [];
  async function master(): Promise<ScriptedMaster> {
    const m = await ScriptedMaster.start();
    masters.push(m);
    return m;
  }
  function detector(urls: string[]): StaticListDetector {
    const d = new StaticListDetector(urls, { probeTimeoutMs: 2000 });
    detectors.push(d);
    return d;
  }
  afterEach(async () => {
    for (const d of detectors.splice(0)) await d.close();
    for (const m of masters.splice(0)) await m.close();
  });

  it('parses master URLs: scheme defaults to http, paths dropped, duplicates merged', () => {
    expect(parseMasterUrls(['m1:5050', 'https://m2:5050/', 'http://m3:5050/master', 'm1:5050'])).to.deep.equal([
      'http://m1:5050',
      'https://m2:5050',
      'http://m3:5050',
    ]);
  });

  it('rejects zk://, other schemes and an empty list with UnsupportedMasterUrlError', () => {
    expect(() => parseMasterUrls(['zk://a:2181,b:2181/mesos'])).to.throw(UnsupportedMasterUrlError, /ZooKeeper .* not supported yet/);
    expect(() => parseMasterUrls(['ftp://m1:21'])).to.throw(UnsupportedMasterUrlError, /scheme/);
    expect(() => parseMasterUrls([])).to.throw(UnsupportedMasterUrlError);
  });

  it('resolves protocol-relative redirects with the scheme of the request', () => {
    expect(resolveLocation('//m2:5050/api/v1/scheduler', 'https://m1:5050/api/v1/scheduler').href).to.equal(
      'https://m2:5050/api/v1/scheduler',
    );
    expect(resolveLocation('//m2:5050', 'http://m1:5050/master/redirect').origin).to.equal('http://m2:5050');
  });

  it('skips an unreachable master and a master without a leader, follows /master/redirect', async () => {
    const dead = await ScriptedMaster.start();
    const deadUrl = dead.url;
    await dead.close();
    const noLeader = await master();
    noLeader.redirectHandler = reply(503, 'No leader elected');
    const follower = await master();
    const leader = await master();
    follower.redirectHandler = reply(307, '', { Location: `//${leader.hostPort}` });
    const d = detector([deadUrl, noLeader.url, follower.url]);
    expect(await d.detect()).to.equal(leader.url);
    expect(d.currentLeader).to.equal(leader.url);
    // cached until it fails
    expect(await d.detect()).to.equal(leader.url);
    expect(follower.requests.filter((r) => r.path === '/master/redirect')).to.have.length(1);
    d.failed(leader.url);
    expect(d.currentLeader).to.equal(undefined);
    expect(await d.detect()).to.equal(leader.url);
  });

  it('NoLeaderError names every master and what it said', async () => {
    const a = await master();
    a.redirectHandler = reply(503, 'No leader elected');
    const dead = await ScriptedMaster.start();
    const deadUrl = dead.url;
    await dead.close();
    const d = detector([a.url, deadUrl]);
    const err = await d.detect().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NoLeaderError);
    expect((err as Error).message).to.include(`${a.url} → HTTP 503`).and.include(deadUrl);
  });

  it('falls back to a master that answers HTTP but has no redirect endpoint', async () => {
    const a = await master();
    a.redirectHandler = reply(404);
    const d = detector([a.url]);
    expect(await d.detect()).to.equal(a.url);
  });

  it('redirected() overrides the leader; failed() rotates the start of the next probe', async () => {
    const a = await master();
    const b = await master();
    const d = detector([a.url, b.url]);
    d.redirected('http://elsewhere:5050');
    expect(await d.detect()).to.equal('http://elsewhere:5050');
    d.failed('http://elsewhere:5050');
    d.failed(a.url); // next probe starts at b
    expect(await d.detect()).to.equal(b.url);
    expect(a.requests).to.have.length(0);
  });
});
