/**
 * HTTP Basic authentication of the simulated master (--credentials + --authenticate_http_*), the
 * cluster clock offset, and /master/roles. Facts from apache/mesos: libprocess authenticator.cpp
 * (BasicAuthenticatorProcess), http.hpp (Unauthorized), master/constants.hpp (realms),
 * master/master.cpp (route realms), master/validation.cpp and master/http.cpp (principal checks).
 */
import { expect } from 'chai';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { VirtualClock } from '../../src/util/clock.js';
import { parseSimArgs } from '../../src/sim/cli.js';
import { Stream, call, frameworkInfo, request, subscribeCall, withSim } from './helpers.js';

const basic = (p: string, s: string) => 'Basic ' + Buffer.from(`${p}:${s}`).toString('base64');
const CREDS = [{ principal: 'sluice', secret: 's3cret-pass' }];

describe('sim HTTP Basic authentication', () => {
  it('answers 401 with the realm challenge and libprocess body for missing, malformed or wrong credentials on /api/v1/scheduler', async () => {
    await withSim({ agents: 1, credentials: CREDS }, async (sim) => {
      const bad: Array<Record<string, string>> = [
        {},
        { Authorization: basic('sluice', 'wrong') },
        { Authorization: basic('nobody', 's3cret-pass') },
        { Authorization: 'basic ' + Buffer.from('sluice:s3cret-pass').toString('base64') },
        { Authorization: 'Basic  ' + Buffer.from('sluice:s3cret-pass').toString('base64') },
        { Authorization: 'Basic !!!notbase64' },
        { Authorization: 'Bearer abc' },
      ];
      for (const headers of bad) {
        const r = await request(sim.url, { method: 'POST', path: '/api/v1/scheduler', headers: { 'Content-Type': 'application/json', ...headers }, body: '{}' });
        expect(r.status, JSON.stringify(headers)).to.equal(401);
        expect(r.headers['www-authenticate']).to.equal('Basic realm="mesos-master-scheduler"');
        expect(r.text).to.equal('401 Unauthorized.');
        expect(r.headers['content-type']).to.equal('text/plain; charset=utf-8');
      }
      // authentication comes before the method check: GET with good credentials reaches the handler (405)
      const get = await request(sim.url, { path: '/api/v1/scheduler', headers: { Authorization: basic('sluice', 's3cret-pass') } });
      expect(get.status).to.equal(405);
      const getNoAuth = await request(sim.url, { path: '/api/v1/scheduler' });
      expect(getNoAuth.status).to.equal(401);
    });
  });

  it('a secret containing ":" never authenticates (libprocess splits the pair on every ":")', async () => {
    await withSim({ agents: 1, credentials: [{ principal: 'p', secret: 'a:b' }] }, async (sim) => {
      const r = await request(sim.url, { path: '/api/v1/scheduler', headers: { Authorization: basic('p', 'a:b') } });
      expect(r.status).to.equal(401);
    });
  });

  it('subscribes with the right credentials; the authenticated principal fills FrameworkInfo.principal and must match it', async () => {
    await withSim({ agents: 1, credentials: [...CREDS, { principal: 'other', secret: 'pw-other' }] }, async (sim) => {
      const auth = { Authorization: basic('sluice', 's3cret-pass') };
      const mismatch = await call(sim.url, subscribeCall(frameworkInfo({ principal: 'other' })), {});
      expect(mismatch.status, 'no credentials').to.equal(401);
      const s0 = await Stream.open(sim.url, subscribeCall(frameworkInfo({ principal: 'other' })), { headers: auth });
      await s0.waitEnd();
      expect(s0.status).to.equal(400);
      expect(s0.body.toString()).to.equal("Failed to validate scheduler::Call: Authenticated principal 'sluice' does not match principal 'other' set in `FrameworkInfo`");

      const s = await Stream.open(sim.url, subscribeCall(frameworkInfo()), { headers: auth });
      await s.next('SUBSCRIBED');
      expect(s.status).to.equal(200);
      const state = JSON.parse((await request(sim.url, { path: '/master/state' })).text) as { frameworks: Array<{ principal?: string }>; flags: Record<string, string> };
      expect(state.frameworks[0]!.principal).to.equal('sluice');
      expect(state.flags['authenticate_http_frameworks']).to.equal('true');
      expect(state.flags['authenticate_http_readonly']).to.equal('false');
      expect(state.flags['http_framework_authenticators']).to.equal('basic');
      // a call authenticated as another principal is refused before the subscription check
      const revive = (p: string, sec: string) =>
        request(sim.url, {
          method: 'POST',
          path: '/api/v1/scheduler',
          headers: { 'Content-Type': 'application/json', 'Mesos-Stream-Id': s.streamId, Authorization: basic(p, sec) },
          body: JSON.stringify({ type: 'REVIVE', framework_id: { value: s.frameworkId } }),
        });
      const other = await revive('other', 'pw-other');
      expect([other.status, other.text]).to.deep.equal([400, "Authenticated principal 'other' does not match principal 'sluice' set in `FrameworkInfo`"]);
      expect((await revive('sluice', 's3cret-pass')).status).to.equal(202);
      s.destroy();
    });
  });

  it('readonly/readwrite realms only when enabled; /master/redirect and /health never authenticate; 401 comes before a non-leader 307', async () => {
    await withSim({ agents: 1, masters: 2, credentials: CREDS, authenticate: { frameworks: true, readonly: true, readwrite: true } }, async (sim) => {
      const follower = sim.urls[1]!;
      for (const [p, realm] of [
        ['/master/state', 'mesos-master-readonly'],
        ['/master/roles', 'mesos-master-readonly'],
        ['/master/maintenance/status', 'mesos-master-readonly'],
        ['/master/maintenance/schedule', 'mesos-master-readwrite'],
      ] as const) {
        const r = await request(sim.url, { path: p });
        expect([r.status, r.headers['www-authenticate']], p).to.deep.equal([401, `Basic realm="${realm}"`]);
        const f = await request(follower, { path: p });
        expect(f.status, `${p} on a non-leader`).to.equal(401);
        const ok = await request(sim.url, { path: p, headers: { Authorization: basic('sluice', 's3cret-pass') } });
        expect(ok.status, p).to.equal(200);
      }
      expect((await request(follower, { path: '/master/redirect' })).status).to.equal(307);
      expect((await request(sim.url, { path: '/health' })).status).to.equal(200);
    });
    await withSim({ agents: 1, credentials: CREDS }, async (sim) => {
      expect((await request(sim.url, { path: '/master/state' })).status, 'readonly realm open by default').to.equal(200);
      expect((await request(sim.url, { path: '/master/maintenance/schedule' })).status).to.equal(200);
    });
  });

  it('without credentials nothing is authenticated (an Authorization header is ignored)', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const s = await Stream.open(sim.url, subscribeCall(frameworkInfo()), { headers: { Authorization: basic('x', 'y') } });
      await s.next('SUBSCRIBED');
      s.destroy();
    });
  });

  it('enabling authentication without credentials is refused (the master exits)', async () => {
    let err: unknown;
    try {
      await withSim({ agents: 1, authenticate: { frameworks: true } }, async () => undefined);
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/without --credentials/);
  });
});

describe('sim cluster clock offset', () => {
  it('the Date header and master timestamps follow the offset clock', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 10, 23, 8, 0, 0, 400));
    await withSim({ agents: 1, clock, clockOffsetMs: 120_000 }, async (sim) => {
      const r = await request(sim.url, { path: '/health' });
      expect(r.headers['date']).to.equal('Mon, 23 Nov 2026 08:02:00 GMT');
      const state = JSON.parse((await request(sim.url, { path: '/master/state' })).text) as { start_time: number };
      expect(state.start_time * 1000).to.be.closeTo(clock.now() + 120_000, 1);
      const s = await Stream.open(sim.url, subscribeCall(frameworkInfo()));
      await s.next('SUBSCRIBED');
      expect(s.headers['date']).to.equal('Mon, 23 Nov 2026 08:02:00 GMT');
      s.destroy();
    });
    await withSim({ agents: 1, clock: new VirtualClock(Date.UTC(2026, 10, 23, 8, 0, 0)) }, async (sim) => {
      expect((await request(sim.url, { path: '/health' })).headers['date'], 'no offset: the cluster clock').to.equal('Mon, 23 Nov 2026 08:00:00 GMT');
    });
  });
});

describe('sim /master/roles', () => {
  it('lists the roles of subscribed frameworks and their ancestors, sorted, with weight, empty quota and allocation', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      expect((await request(sim.url, { path: '/master/roles' })).text).to.equal('{"roles":[]}');
      const s = await Stream.open(sim.url, subscribeCall(frameworkInfo({ roles: ['eng/web'], capabilities: [{ type: 'MULTI_ROLE' }] })));
      await s.next('SUBSCRIBED');
      const doc = JSON.parse((await request(sim.url, { path: '/master/roles' })).text) as { roles: Array<{ name: string; weight: number; frameworks: string[]; quota: Record<string, unknown> }> };
      expect(doc.roles.map((r) => r.name)).to.deep.equal(['eng', 'eng/web']);
      expect(doc.roles[1]!.frameworks).to.deep.equal([s.frameworkId]);
      expect(doc.roles[1]!.quota).to.deep.include({ role: 'eng/web', guarantee: {}, limit: {} });
      expect((await request(sim.url, { path: '/master/roles' })).text).to.include('"weight":1.0');
      s.destroy();
    });
  });
});

describe('sluice sim --credentials / --authenticate / --clock-offset', () => {
  it('parses principal:secret, Mesos credentials files (JSON and text), realms and a signed offset', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-sim-auth-'));
    try {
      const json = path.join(dir, 'creds.json');
      await writeFile(json, JSON.stringify({ credentials: [{ principal: 'a', secret: 'b' }] }));
      const txt = path.join(dir, 'creds.txt');
      await writeFile(txt, 'c d\n\ne f\n');
      const o = parseSimArgs(['--credentials', 'sluice:pa:ss', '--credentials', json, `--credentials=${txt}`, '--authenticate', 'frameworks,readonly', '--clock-offset', '-1500']);
      expect(o).to.not.equal('help');
      if (o === 'help') return;
      expect(o.credentials).to.deep.equal([
        { principal: 'sluice', secret: 'pa:ss' },
        { principal: 'a', secret: 'b' },
        { principal: 'c', secret: 'd' },
        { principal: 'e', secret: 'f' },
      ]);
      expect(o.authenticate).to.deep.equal({ frameworks: true, readonly: true, readwrite: false });
      expect(o.clockOffsetMs).to.equal(-1500);
      expect(() => parseSimArgs(['--authenticate', 'frameworks'])).to.throw(/needs --credentials/);
      expect(() => parseSimArgs(['--credentials', path.join(dir, 'missing')])).to.throw(/not found/);
      expect(() => parseSimArgs(['--credentials', 'a:b', '--authenticate', 'everything'])).to.throw(/frameworks, readonly, readwrite/);
      expect(() => parseSimArgs(['--clock-offset', '2m'])).to.throw(/milliseconds/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
