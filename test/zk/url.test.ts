/**
 * zk:// URL parsing (the rules of apache/mesos src/zookeeper/url.hpp and master/detector, plus clear
 * errors for what Mesos would only fail on later) and file:// indirection.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ZkUrlError } from '../../src/zk/errors.js';
import { isZkUrl, parseZkUrl } from '../../src/zk/url.js';
import { loadConfig, describeConfig } from '../../src/config.js';

describe('zk:// URLs', () => {
  const good: Array<[string, string, string, string | undefined]> = [
    // url, connectString, path, credentials
    ['zk://127.0.0.1:2181/mesos', '127.0.0.1:2181', '/mesos', undefined],
    ['zk://zk1:2181,zk2:2182,zk3:2183/mesos', 'zk1:2181,zk2:2182,zk3:2183', '/mesos', undefined],
    ['zk://zk1/mesos', 'zk1:2181', '/mesos', undefined],
    ['zk://zk1,zk2:2888/mesos', 'zk1:2181,zk2:2888', '/mesos', undefined],
    ['  zk://zk1:2181/mesos  \n', 'zk1:2181', '/mesos', undefined],
    ['zk://user:pass@zk1:2181,zk2:2181/mesos', 'zk1:2181,zk2:2181', '/mesos', 'user:pass'],
    ['zk://us:p@ss:w@rd@zk1:2181/mesos', 'zk1:2181', '/mesos', 'us:p@ss:w@rd'], // last @ splits, as Mesos
    ['zk://zk1:2181/a/b/c', 'zk1:2181', '/a/b/c', undefined],
    ['zk://zk-1.example.com:2181/mesos', 'zk-1.example.com:2181', '/mesos', undefined],
  ];
  for (const [url, cs, p, cred] of good) {
    it(`parses ${JSON.stringify(url)}`, () => {
      const u = parseZkUrl(url);
      expect(u.connectString).to.equal(cs);
      expect(u.path).to.equal(p);
      expect(u.digestCredentials).to.equal(cred);
    });
  }

  const bad: Array<[string, RegExp]> = [
    ['zk://zk1:2181', /missing znode path.*'\/' is not supported/],
    ['zk://zk1:2181/', /missing znode path/],
    ['zk:///mesos', /no ZooKeeper server/],
    ['zk://zk1:2181,,zk2:2181/mesos', /empty host \(server #2\)/],
    ['zk://:2181/mesos', /empty host/],
    ['zk://zk1:0/mesos', /bad port "0"/],
    ['zk://zk1:65536/mesos', /bad port "65536"/],
    ['zk://zk1:21a1/mesos', /bad port "21a1"/],
    ['zk://zk1:/mesos', /bad port ""/],
    ['zk://zk1:2181:3/mesos', /bad server/],
    ['zk://zk_1:2181/mesos', /bad host "zk_1"/],
    ['zk://[::1]:2181/mesos', /IPv6 .* not supported/],
    ['http://zk1:2181/mesos', /unsupported scheme http:\/\//],
    ['zk1:2181/mesos', /not a URL/],
    ['zk://zk1:2181/mesos/', /must not end with \//],
    ['zk://zk1:2181/mesos//x', /empty segment/],
    ['zk://zk1:2181/mesos/../x', /relative segment/],
    ['zk://nopassword@zk1:2181/mesos', /credentials .* must be user:password/],
    ['zk://:secret@zk1:2181/mesos', /credentials .* must be user:password/],
  ];
  for (const [url, re] of bad) {
    it(`refuses ${JSON.stringify(url)} with a clear error`, () => {
      expect(() => parseZkUrl(url)).to.throw(ZkUrlError, re);
    });
  }

  it('never shows credentials: errors, toString, JSON, redacted', () => {
    const u = parseZkUrl('zk://alice:s3cr3t-pw@zk1:2181/mesos');
    expect(String(u)).to.equal('zk://***@zk1:2181/mesos');
    expect(JSON.stringify({ u })).to.equal('{"u":"zk://***@zk1:2181/mesos"}');
    expect(JSON.stringify(u)).to.not.include('s3cr3t');
    for (const url of ['zk://alice:s3cr3t-pw@zk1:99999/mesos', 'zk://alice:s3cr3t-pw@zk1:2181', 'zk://alice:s3cr3t-pw@/mesos']) {
      try {
        parseZkUrl(url);
        expect.fail('should throw');
      } catch (e) {
        expect((e as Error).message).to.not.include('s3cr3t');
        expect((e as Error).message).to.include('***@');
      }
    }
  });

  it('file:// reads the URL from a file (trimmed), as Mesos does', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-zkurl-'));
    try {
      const f = path.join(dir, 'zk');
      fs.writeFileSync(f, '  zk://u:pw12345@zk1:2181,zk2:2181/mesos\n');
      const u = parseZkUrl(`file://${f}`);
      expect(u.connectString).to.equal('zk1:2181,zk2:2181');
      expect(u.digestCredentials).to.equal('u:pw12345');
      expect(isZkUrl(`file://${f}`)).to.equal(true);
      expect(() => parseZkUrl(`file://${path.join(dir, 'missing')}`)).to.throw(ZkUrlError, /cannot read the ZooKeeper URL from .*missing: ENOENT/);
      fs.writeFileSync(f, 'http://u:pw12345@master:5050');
      expect(() => parseZkUrl(`file://${f}`)).to.throw(ZkUrlError, /must hold a zk:\/\/.*\*\*\*@master/);
      fs.writeFileSync(f, `file://${f}`);
      expect(() => parseZkUrl(`file://${f}`)).to.throw(ZkUrlError, /another file:\/\//);
      fs.writeFileSync(f, 'zk://zk1:2181');
      expect(() => parseZkUrl(`file://${f}`)).to.throw(ZkUrlError, /zk:.*missing znode path/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('config keeps a zk:// URL whole (its commas separate ZooKeeper servers) and prints it redacted', () => {
    const c = loadConfig({ master: 'zk://bob:hunter22@zk1:2181,zk2:2181,zk3:2181/mesos', 'no-demo': true }, {});
    expect(c.masters).to.deep.equal(['zk://bob:hunter22@zk1:2181,zk2:2181,zk3:2181/mesos']);
    const env = loadConfig({}, { SLUICE_MASTER: 'zk://zk1:2181,zk2:2181/mesos' });
    expect(env.masters).to.deep.equal(['zk://zk1:2181,zk2:2181/mesos']);
    const text = describeConfig(c).join('\n');
    expect(text).to.include('zk://***@zk1:2181,zk2:2181,zk3:2181/mesos');
    expect(text).to.not.include('hunter22');
    // plain HTTP masters are still split on commas
    expect(loadConfig({ master: 'http://m1:5050,http://m2:5050' }, {}).masters).to.deep.equal(['http://m1:5050', 'http://m2:5050']);
  });
});
