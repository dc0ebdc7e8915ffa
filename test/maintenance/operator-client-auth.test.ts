/**
 * MaintenanceOperatorClient and HTTP authentication, against the real simulator over loopback:
 * credentials carried by the master URL (`http://principal:secret@master`) are sent as HTTP Basic
 * (and never kept in a URL), explicit credentials win, a 401 is a typed MasterAuthError naming the
 * principal and never the secret, and an unreachable master's error redacts the URL's user info.
 */
import { expect } from 'chai';
import { MaintenanceOperatorClient, MasterAuthError, MasterUnavailableError } from '../../src/maintenance/io/operator-client.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';

const SECRET = 'url-borne-secret-42';

describe('MaintenanceOperatorClient: HTTP authentication', function () {
  this.timeout(30_000);
  let sim: Sim;
  before(async () => {
    sim = await startSim({ agents: 2, clock: new VirtualClock(), seed: 1, credentials: [{ principal: 'ops', secret: SECRET }], authenticate: { readonly: true, readwrite: true } });
  });
  after(async () => {
    await sim.close();
  });
  const withUserInfo = (secret: string) => sim.url.replace('http://', `http://ops:${encodeURIComponent(secret)}@`);

  it('sends the credentials a master URL carries', async () => {
    const c = new MaintenanceOperatorClient({ masters: [withUserInfo(SECRET)], maxRetries: 0 });
    const s = await c.getSchedule();
    expect(s.windows ?? []).to.have.length(0);
    expect((await c.getState()).agents).to.have.length(2);
  });

  it('explicit credentials win over the URL', async () => {
    const c = new MaintenanceOperatorClient({ masters: [withUserInfo('not-this-one')], auth: { principal: 'ops', secret: SECRET }, maxRetries: 0 });
    expect((await c.getStatus()).down_machines ?? []).to.have.length(0);
  });

  it('a refused secret is a MasterAuthError naming the principal, reported once per request', async () => {
    const refused: string[] = [];
    const c = new MaintenanceOperatorClient({ masters: [sim.url], auth: { principal: 'ops', secret: 'bad-secret-123' }, onAuthRefused: (call) => refused.push(call), maxRetries: 0 });
    const err = await c.getSchedule().then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(MasterAuthError);
    expect((err as MasterAuthError).status).to.equal(401);
    expect((err as Error).message).to.include('principal "ops"').and.not.include('bad-secret-123');
    expect(refused).to.deep.equal(['/master/maintenance/schedule']);
  });

  it('no credentials at all: the error says none are configured', async () => {
    const c = new MaintenanceOperatorClient({ masters: [sim.url], maxRetries: 0 });
    const err = await c.getStatus().then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(MasterAuthError);
    expect((err as Error).message).to.match(/no credentials are configured/);
  });

  it('an unreachable master: the error names the master without its credentials', async () => {
    const c = new MaintenanceOperatorClient({ masters: [`http://ops:${SECRET}@127.0.0.1:1`], maxRetries: 0 });
    const err = await c.getSchedule().then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(MasterUnavailableError);
    expect((err as Error).message).to.include('127.0.0.1:1').and.not.include(SECRET);
  });

  it('a zk:// master: the leader comes from the detector; its credentials are never sent to nor named for the master', async () => {
    const zk = `zk://zkuser:${SECRET}@127.0.0.1:1/mesos`;
    let thrown: unknown;
    try {
      new MaintenanceOperatorClient({ masters: [zk] });
    } catch (e) {
      thrown = e;
    }
    expect((thrown as Error).message).to.match(/needs a leader detector/).and.not.include(SECRET);
    const asked: string[] = [];
    const ok = new MaintenanceOperatorClient({ masters: [zk], auth: { principal: 'ops', secret: SECRET }, detector: { detect: async () => (asked.push('detect'), sim.url) }, maxRetries: 0 });
    expect((await ok.getState()).agents).to.have.length(2);
    expect(asked).to.deep.equal(['detect']);
    const none = new MaintenanceOperatorClient({ masters: [zk], detector: { detect: async () => Promise.reject(new Error('No leading master found via ZooKeeper: no master has registered under /mesos yet')) }, maxRetries: 0 });
    const err = await none.getSchedule().then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(MasterUnavailableError);
    expect((err as Error).message).to.include('zk://***@127.0.0.1:1/mesos').and.include('no master has registered').and.not.include(SECRET);
  });
});
