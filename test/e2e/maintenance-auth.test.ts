/**
 * Host maintenance against a master with HTTP authentication on its operator endpoints
 * (--authenticate_http_readonly + --authenticate_http_readwrite, src/sim/auth.ts): Sluice sends the
 * configured principal/secret on every maintenance read and write. With the right secret a drain
 * runs end to end; with a wrong one the start request fails with a clear 502 naming the principal
 * (never the secret), an error log `master_auth_refused`, a counted failure, and nothing half-written
 * (no host record, no pending operation, nothing in the master's schedule).
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { PENDING_COLLECTION } from '../../src/maintenance/core/pending.js';
import { HOSTS_COLLECTION } from '../../src/maintenance/core/loop-state.js';
import { api, startEnv, type Env } from './workload-helpers.js';
import { allRunning, hostStates, job, metric } from './maintenance-helpers.js';

const RIGHT = 'right-secret-4711';
const WRONG = 'wrong-secret-0815';
const CREDENTIALS = [{ principal: 'sluice', secret: RIGHT }];
const AUTHENTICATE = { readonly: true, readwrite: true };

function capture(): { logger: winston.Logger; lines: Array<Record<string, unknown>>; raw: string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { logger: winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] }), lines, raw };
}

/** A GET on the leading master with the right credentials (ground truth). */
async function masterGet(env: Env, path: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(env.sim.url + path, { headers: { authorization: 'Basic ' + Buffer.from(`sluice:${RIGHT}`).toString('base64') } });
  expect(res.status, path).to.equal(200);
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

describe('e2e: host maintenance on a master that authenticates its operator endpoints', function () {
  this.timeout(60_000);
  let env: Env | undefined;
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('the simulator does refuse unauthenticated maintenance requests (the premise)', async () => {
    env = await startEnv({ sim: { agents: 3, racks: 1, credentials: CREDENTIALS, authenticate: AUTHENTICATE } });
    expect((await fetch(env.sim.url + '/master/maintenance/schedule')).status).to.equal(401);
    expect((await fetch(env.sim.url + '/master/maintenance/status')).status).to.equal(401);
  });

  it('with the right secret: start drains the host, it goes DOWN, complete brings it UP', async () => {
    const log = capture();
    env = await startEnv({ sim: { agents: 3, racks: 1, credentials: CREDENTIALS, authenticate: AUTHENTICATE }, flags: { principal: 'sluice', secret: RIGHT }, logger: log.logger });
    const e = env;
    expect((await api(e.url, 'POST', '/api/v1/jobs', job('web', 2))).status).to.equal(201);
    await e.until('web RUNNING', () => allRunning(e, 'web', 2), 120_000, 1000);
    const host = e.sim.groundTruth().find((t) => t.state === 'TASK_RUNNING')!.hostname;

    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host] });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    const sched = await masterGet(e, '/master/maintenance/schedule');
    expect(sched.windows?.[0]?.machine_ids?.map((m: { hostname: string }) => m.hostname)).to.deep.equal([host]);

    await e.until(`${host} DOWN`, async () => (await hostStates(e)).get(host)?.state === 'DOWN', 3 * 3600_000, 2000);
    const status = await masterGet(e, '/master/maintenance/status');
    expect(status.down_machines?.map((m: { hostname: string }) => m.hostname)).to.deep.equal([host]);
    expect(e.sim.groundTruth().filter((t) => t.hostname === host && t.state === 'TASK_RUNNING')).to.have.length(0);

    const done = await api(e.url, 'POST', '/api/v1/hosts/maintenance/complete', { hosts: [host] });
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    expect((await hostStates(e)).get(host)?.state).to.equal('UP');
    expect((await masterGet(e, '/master/maintenance/schedule')).windows ?? []).to.have.length(0);
    expect((await masterGet(e, '/master/maintenance/status')).down_machines ?? []).to.have.length(0);

    expect(log.lines.filter((l) => l['event'] === 'master_auth_refused')).to.have.length(0);
    expect(log.raw.join('\n')).to.not.include(RIGHT);
  });

  it('with a wrong secret: start fails clearly (502 naming the principal, not the secret), is logged and counted, and nothing is half-written', async () => {
    const log = capture();
    env = await startEnv({ sim: { agents: 3, racks: 1, credentials: CREDENTIALS, authenticate: AUTHENTICATE }, flags: { principal: 'sluice', secret: WRONG }, logger: log.logger });
    const e = env;
    await e.until('subscribed', () => e.app.runtime.state.frameworkId !== undefined, 60_000, 500);
    await e.until('agents known', async () => (await api(e.url, 'GET', '/api/v1/status')).status === 200 && e.app.runtime.state.agents.size === 3, 60_000, 500);
    const host = e.sim.agents()[0]!.hostname;

    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host] });
    expect(start.status, JSON.stringify(start.body)).to.equal(502);
    const text = JSON.stringify(start.body);
    expect(start.body.error).to.match(/refused the credentials of principal "sluice"/);
    expect(start.body.error).to.match(/SLUICE_SECRET/);
    expect(text).to.not.include(WRONG);
    expect(text).to.not.include(RIGHT);

    const refused = log.lines.filter((l) => l['event'] === 'master_auth_refused');
    expect(refused.length).to.be.greaterThan(0);
    expect(refused[0]!['level']).to.equal('error');
    expect(refused[0]!['principal']).to.equal('sluice');
    expect(log.raw.join('\n')).to.not.include(WRONG);

    const m = await fetch(e.url + '/metrics').then((r) => r.text());
    expect(metric(m, 'sluice_master_auth_failures_total', { call: '/master/state' }) ?? metric(m, 'sluice_master_auth_failures_total', { call: '/master/maintenance/schedule' })).to.be.greaterThan(0);

    // nothing half-written: no record in maintenance, nothing pending, nothing on the master
    expect(e.app.store.list(HOSTS_COLLECTION)).to.have.length(0);
    const hs = await hostStates(e);
    expect([...hs.values()].filter((h) => h.state !== 'UP')).to.have.length(0);
    expect(e.app.store.list(PENDING_COLLECTION)).to.have.length(0);
    expect((await masterGet(e, '/master/maintenance/schedule')).windows ?? []).to.have.length(0);
    const dry = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host], dry_run: true });
    expect(dry.status).to.equal(502);
  });
});
