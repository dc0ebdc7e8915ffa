/**
 * Credentials in master URLs (`http://principal:secret@master:5050`): used as HTTP Basic auth
 * (unless principal/secret are configured), and never visible in a log line, an error message or
 * a typed error's fields — whatever goes wrong (refused connection, 401, 5xx, redirect loop with a
 * Location that itself carries credentials, a bad Location, a call rejected).
 */
import { expect } from 'chai';
import { Subscription } from 'rxjs';
import { SchedulerClient, UnsupportedMasterUrlError, masterCredentials, parseMasterUrls, type SchedulerClientOptions } from '../../src/client/index.js';
import type { FrameworkInfo } from '../../src/mesos/types.js';
import { ScriptedMaster, reply, waitUntil } from './scripted-master.js';
import { captureLogger } from './helpers.js';

const SECRET = 'Hunter2-s3cr3t!';
const PRINCIPAL = 'sluice-principal';
const USERINFO = `${PRINCIPAL}:${encodeURIComponent(SECRET)}`;
const BASIC = Buffer.from(`${PRINCIPAL}:${SECRET}`).toString('base64');
const FRAMEWORK_INFO: FrameworkInfo = { user: 'sluice', name: 'sluice-test', failover_timeout: 3600, roles: ['web'] };
const TINY_BACKOFF = { initialMs: 5, maxMs: 20, factor: 2, jitter: 0 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function withCreds(url: string): string {
  return url.replace('http://', `http://${USERINFO}@`);
}

/** Everything an operator or a caller could see: log entries, error messages, typed error fields. */
function visible(log: ReturnType<typeof captureLogger>, errors: Error[]): string {
  const replacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? String(v) : v);
  return [
    ...log.entries.map((e) => JSON.stringify(e, replacer)),
    ...errors.map((e) => `${e.name} ${e.message} ${JSON.stringify({ ...e }, replacer)} ${String(e.stack)}`),
  ].join('\n');
}

function expectNoSecret(text: string): void {
  expect(text).to.not.include(SECRET);
  expect(text).to.not.include(encodeURIComponent(SECRET));
  expect(text).to.not.include(BASIC);
}

function makeClient(masters: string[], opts: Partial<SchedulerClientOptions> = {}) {
  const log = captureLogger();
  const client = new SchedulerClient({ masters, frameworkInfo: FRAMEWORK_INFO, logger: log.logger, backoff: TINY_BACKOFF, ...opts });
  const errors: Error[] = [];
  const sub = new Subscription();
  sub.add(client.clientErrors$.subscribe((e) => errors.push(e)));
  cleanups.push(async () => {
    sub.unsubscribe();
    await client.stop();
  });
  return { client, log, errors };
}

async function startMaster(): Promise<ScriptedMaster> {
  const m = await ScriptedMaster.start();
  cleanups.push(() => m.close());
  return m;
}

describe('SchedulerClient: credentials in master URLs', () => {
  it('are sent as HTTP Basic auth on SUBSCRIBE and calls, and appear nowhere in logs', async () => {
    const master = await startMaster();
    const h = makeClient([withCreds(master.url)]);
    h.client.start();
    const sub = await h.client.ready(5000);
    await h.client.revive();
    expect(master.subscribes[0]!.headers['authorization']).to.equal(`Basic ${BASIC}`);
    expect(master.calls[0]!.headers['authorization']).to.equal(`Basic ${BASIC}`);
    expect(sub.masterUrl).to.equal(master.url);
    expect(h.log.events('master_url_credentials')[0]?.['principal']).to.equal(PRINCIPAL);
    expectNoSecret(visible(h.log, h.errors));
  });

  it('explicit principal/secret win over URL credentials (a warning names no secret)', async () => {
    const master = await startMaster();
    const h = makeClient([withCreds(master.url)], { auth: { principal: 'other', secret: 'other-secret' } });
    h.client.start();
    await h.client.ready(5000);
    expect(master.subscribes[0]!.headers['authorization']).to.equal('Basic ' + Buffer.from('other:other-secret').toString('base64'));
    expect(h.log.events('master_url_credentials_ignored')).to.have.length(1);
    expectNoSecret(visible(h.log, h.errors));
  });

  it('never leak through failures: refused, 401, 500, a redirect loop whose Location carries credentials, a bad Location, a rejected call', async () => {
    const dead = await ScriptedMaster.start();
    const deadUrl = dead.url;
    await dead.close();
    const master = await startMaster();
    const loc = `//${USERINFO}@${master.hostPort}/api/v1/scheduler`;
    master.onSubscribe((r, s) => reply(401, 'Unauthorized', { 'WWW-Authenticate': 'Basic realm="mesos"' })(r, s.res));
    master.onSubscribe((r, s) => reply(500, 'boom')(r, s.res));
    for (let i = 0; i < 3; i++) master.onSubscribe((r, s) => reply(307, '', { Location: loc })(r, s.res));
    master.onSubscribe((r, s) => reply(307, '', { Location: `//${USERINFO}@[not-an-ip` })(r, s.res));
    master.onCall(reply(307, '', { Location: `//${USERINFO}@[not-an-ip` }));
    master.onCall(reply(400, 'Bad call'));
    const h = makeClient([withCreds(deadUrl), withCreds(master.url)], { maxRedirects: 2 });
    h.client.start();
    await h.client.ready(10_000);
    const rejected: Error[] = [];
    await h.client.revive().catch((e: Error) => rejected.push(e));
    await h.client.revive().catch((e: Error) => rejected.push(e));
    await waitUntil(() => rejected.length === 2, 5000, 'both calls rejected');
    const onlyDead = makeClient([withCreds(deadUrl)]);
    onlyDead.client.start();
    await waitUntil(() => onlyDead.errors.length >= 2, 5000, 'no leader reported');
    expect(onlyDead.errors[0]!.name).to.equal('NoLeaderError');
    expectNoSecret(visible(onlyDead.log, onlyDead.errors));
    expect(h.errors.map((e) => e.name)).to.include('MesosHttpError');
    expect(h.errors.some((e) => /HTTP 401: Unauthorized/.test(e.message))).to.equal(true);
    expect(h.errors.some((e) => /too many redirects/.test(e.message))).to.equal(true);
    expect(rejected.map((e) => e.name)).to.deep.equal(['MesosHttpError', 'MesosHttpError']);
    expect(h.log.events('redirected').length).to.be.at.least(2);
    expect(JSON.stringify(h.log.events('redirected')[0])).to.include('***@');
    expectNoSecret(visible(h.log, [...h.errors, ...rejected]));
  });

  it('parse errors name the URL without its credentials', () => {
    for (const bad of [`ftp://${USERINFO}@host:5050`, `zk://${USERINFO}@zk1:2181/mesos`, `http://${USERINFO}@[bad`]) {
      let err: Error | undefined;
      try {
        parseMasterUrls([bad]);
      } catch (e) {
        err = e as Error;
      }
      expect(err, bad).to.be.instanceOf(UnsupportedMasterUrlError);
      expect(err!.message).to.include('***@');
      expectNoSecret(err!.message);
    }
  });

  it('masterCredentials: decoded, consistent across masters, refused when partial or conflicting', () => {
    expect(masterCredentials(['http://m1:5050'])).to.equal(undefined);
    expect(masterCredentials([`http://${USERINFO}@m1:5050`, 'http://m2:5050', `${USERINFO}@m3:5050`])).to.deep.equal({ principal: PRINCIPAL, secret: SECRET });
    expect(() => masterCredentials([`http://${USERINFO}@m1:5050`, 'http://a:b@m2:5050'])).to.throw(UnsupportedMasterUrlError, /different credentials/);
    expect(() => masterCredentials(['http://onlyuser@m1:5050'])).to.throw(UnsupportedMasterUrlError, /without the other/);
    try {
      masterCredentials([`http://${USERINFO}@m1:5050`, `http://x:${SECRET}@m2:5050`]);
    } catch (e) {
      expectNoSecret((e as Error).message);
    }
  });
});
