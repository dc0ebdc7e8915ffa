/**
 * Identity and roles over real HTTP: a real Sluice (store on disk, runtime, operator API) against the
 * simulator, with a tokens file of three people (viewer, operator, admin) and the single --api-token.
 * Every route is called by every identity: allowed ones get through (and do what they say), refused
 * ones get 403 naming the missing role and change nothing; unknown tokens get 401.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { roleAllows, type Role } from '../../src/api/router.js';
import { startEnv, tmpDir, type Env } from '../e2e/workload-helpers.js';
import { job } from '../e2e/maintenance-helpers.js';
import { call, cli, newToken, people, recordingLogger, sha256hex, tokensFileText, writeTokensFile, type Identity } from './helpers.js';

interface Caller {
  name: string;
  role: Role;
  token: string;
}

interface Case {
  method: string;
  /** the route's pattern, as the router lists it */
  route: string;
  role: Role;
  /** a request that does its job when allowed (`who` makes names unique per caller) */
  path: (who: string) => string;
  body?: (who: string) => unknown;
  /** statuses of an allowed call */
  ok: number[];
}

const HOSTS: Record<string, string> = { token: 'agent-2', otto: 'agent-3', ada: 'agent-4', vera: 'agent-5', local: 'agent-6' };

const CASES: Case[] = [
  { method: 'GET', route: '/health', role: 'viewer', path: () => '/health', ok: [200] },
  { method: 'GET', route: '/api/v1/health', role: 'viewer', path: () => '/api/v1/health', ok: [200] },
  { method: 'GET', route: '/api/v1', role: 'viewer', path: () => '/api/v1', ok: [200] },
  { method: 'GET', route: '/api/v1/status', role: 'viewer', path: () => '/api/v1/status', ok: [200] },
  { method: 'GET', route: '/api/v1/jobs', role: 'viewer', path: () => '/api/v1/jobs', ok: [200] },
  { method: 'GET', route: '/api/v1/jobs/:name', role: 'viewer', path: () => '/api/v1/jobs/web', ok: [200] },
  { method: 'GET', route: '/metrics', role: 'viewer', path: () => '/metrics', ok: [200] },
  { method: 'GET', route: '/api/v1/hosts', role: 'viewer', path: () => '/api/v1/hosts', ok: [200] },
  { method: 'GET', route: '/api/v1/hosts/requests', role: 'viewer', path: () => '/api/v1/hosts/requests', ok: [200] },
  { method: 'GET', route: '/api/v1/sla/safe', role: 'viewer', path: () => '/api/v1/sla/safe', ok: [200] },
  { method: 'POST', route: '/api/v1/sla/probe', role: 'viewer', path: () => '/api/v1/sla/probe', body: () => ({ hosts: ['agent-1'] }), ok: [200] },
  { method: 'GET', route: '/api/v1/audit', role: 'viewer', path: () => '/api/v1/audit', ok: [200] },
  { method: 'GET', route: '/api/v1/events', role: 'viewer', path: () => '/api/v1/events?follow=false', ok: [200] },
  { method: 'GET', route: '/api/v1/agents', role: 'viewer', path: () => '/api/v1/agents', ok: [200] },
  // an agent Sluice has not heard of: the route's own 404, past the role check
  { method: 'GET', route: '/api/v1/agents/:host', role: 'viewer', path: () => '/api/v1/agents/no-such-host', ok: [404] },
  { method: 'GET', route: '/api/v1/sla/jobs', role: 'viewer', path: () => '/api/v1/sla/jobs', ok: [200] },
  { method: 'POST', route: '/api/v1/jobs', role: 'operator', path: () => '/api/v1/jobs', body: (w) => job(`j-${w}`, 1), ok: [201] },
  { method: 'PUT', route: '/api/v1/jobs/:name', role: 'operator', path: (w) => `/api/v1/jobs/j-${w}`, body: (w) => job(`j-${w}`, 2), ok: [200, 202] },
  { method: 'DELETE', route: '/api/v1/jobs/:name', role: 'operator', path: (w) => `/api/v1/jobs/j-${w}`, ok: [202] },
  {
    method: 'POST',
    route: '/api/v1/hosts/maintenance/start',
    role: 'operator',
    path: () => '/api/v1/hosts/maintenance/start',
    body: (w) => ({ hosts: [HOSTS[w]], reason: `kernel upgrade by ${w}` }),
    ok: [202],
  },
  { method: 'POST', route: '/api/v1/hosts/maintenance/pause', role: 'operator', path: () => '/api/v1/hosts/maintenance/pause', body: (w) => ({ hosts: [HOSTS[w]], reason: 'hold on' }), ok: [200] },
  { method: 'POST', route: '/api/v1/hosts/maintenance/resume', role: 'operator', path: () => '/api/v1/hosts/maintenance/resume', body: (w) => ({ hosts: [HOSTS[w]], reason: 'go on' }), ok: [200] },
  // no such request: a 409 is the verb's own answer, past the role check
  { method: 'POST', route: '/api/v1/hosts/maintenance/edit', role: 'operator', path: () => '/api/v1/hosts/maintenance/edit', body: () => ({ request_id: 'mnt-none', max_parallel: 2, reason: 'faster' }), ok: [409] },
  { method: 'POST', route: '/api/v1/maintenance/pause', role: 'operator', path: () => '/api/v1/maintenance/pause', body: () => ({ all: true, reason: 'incident' }), ok: [200] },
  { method: 'POST', route: '/api/v1/maintenance/resume', role: 'operator', path: () => '/api/v1/maintenance/resume', body: () => ({ all: true, reason: 'incident over' }), ok: [200] },
  { method: 'POST', route: '/api/v1/hosts/maintenance/abort', role: 'operator', path: () => '/api/v1/hosts/maintenance/abort', body: (w) => ({ hosts: [HOSTS[w]], reason: 'changed my mind' }), ok: [200] },
  // nothing is DRAINED: a 409 is the verb's own answer, past the role check
  { method: 'POST', route: '/api/v1/hosts/maintenance/complete', role: 'operator', path: () => '/api/v1/hosts/maintenance/complete', body: (w) => ({ hosts: [HOSTS[w]] }), ok: [409] },
];

describe('ops: identities and roles on the operator API (real HTTP, simulator)', function () {
  this.timeout(120_000);
  let env: Env;
  let ids: Identity[];
  let single: string;
  let tokensFile: string;
  const log = recordingLogger();

  before(async () => {
    ids = people();
    single = newToken();
    tokensFile = writeTokensFile(ids);
    env = await startEnv({ flags: { 'api-tokens-file': tokensFile, 'api-token': single }, logger: log.logger });
    const admin = ids.find((i) => i.role === 'admin')!;
    expect((await call(env.url, 'POST', '/api/v1/jobs', { token: admin.token, body: job('web', 2) })).status).to.equal(201);
  });
  after(async () => env?.stop());

  const callers = (): Caller[] => [...ids, { name: 'token', role: 'operator', token: single }];

  it('every route of the running app declares its role, and this test covers each one', () => {
    const routes = env.app.router.routes();
    // the console's page and scripts are public on purpose (no data, no secrets; the guard still applies)
    const pub = routes.filter((r) => r.public).map((r) => `${r.method} ${r.path}`);
    expect(pub, 'public routes').to.deep.equal(['GET /', 'GET /console/:file']);
    const undeclared = routes.filter((r) => !r.role && !r.public).map((r) => `${r.method} ${r.path}`);
    expect(undeclared, 'routes without a declared role').to.deep.equal([]);
    const covered = new Set([...CASES.map((c) => `${c.method} ${c.route}`), ...pub]);
    const missing = routes.map((r) => `${r.method} ${r.path}`).filter((k) => !covered.has(k));
    expect(missing, 'routes this test does not call').to.deep.equal([]);
    for (const c of CASES) expect(routes.find((r) => r.method === c.method && r.path === c.route)?.role, `${c.method} ${c.route}`).to.equal(c.role);
  });

  it('every identity × every route: allowed calls do their job, refused ones are 403 naming the missing role', async () => {
    for (const c of CASES) {
      for (const who of callers()) {
        const r = await call(env.url, c.method, c.path(who.name), { token: who.token, body: c.body?.(who.name) });
        const what = `${who.name} (${who.role}) ${c.method} ${c.path(who.name)}: ${JSON.stringify(r.body).slice(0, 300)}`;
        if (roleAllows(who.role, c.role)) {
          expect(c.ok, what).to.include(r.status);
        } else {
          expect(r.status, what).to.equal(403);
          expect(r.body.error, what).to.contain(`needs the ${c.role} role`);
          expect(r.body.details).to.include({ actor: who.name, role: who.role, missing_role: c.role });
        }
      }
    }
    // the refused changes did not happen: vera's job was never created, her host never in maintenance
    const jobs = (await call(env.url, 'GET', '/api/v1/jobs', { token: ids[0]!.token })).body.jobs.map((j: { name: string }) => j.name);
    expect(jobs.sort(), 'the allowed creates happened (their deletes are under way)').to.deep.equal(['j-ada', 'j-otto', 'j-token', 'web']);
    const audit = (await call(env.url, 'GET', '/api/v1/audit?kind=request&limit=1000', { token: ids[0]!.token })).body.entries;
    const actors = new Set(audit.filter((e: { action: string }) => e.action?.startsWith('job_')).map((e: { actor: string }) => e.actor));
    expect([...actors].sort()).to.deep.equal(['ada', 'otto', 'token']);
    const hostTransitions = (await call(env.url, 'GET', `/api/v1/audit?host=${HOSTS['vera']}`, { token: ids[0]!.token })).body.entries;
    expect(hostTransitions, 'nothing happened to the viewer\'s host').to.deep.equal([]);
  });

  it('a missing, unknown or malformed token is 401 with WWW-Authenticate, before any route (even unknown ones)', async () => {
    for (const h of [undefined, newToken(), '', `${single} extra`, sha256hex(ids[2]!.token)]) {
      for (const p of ['/api/v1/status', '/api/v1/nosuch']) {
        const r = await call(env.url, 'GET', p, { token: h });
        expect(r.status, `${h?.slice(0, 8)} ${p}`).to.equal(401);
        expect(r.headers.get('www-authenticate')).to.equal('Bearer realm="sluice"');
      }
    }
    const del = await call(env.url, 'DELETE', '/api/v1/jobs/web', { token: newToken() });
    expect(del.status).to.equal(401);
    expect((await call(env.url, 'GET', '/api/v1/jobs/web', { token: single })).status).to.equal(200);
  });

  it('--force needs admin and a reason: operator 403 (missing admin), admin without reason 400, admin with reason 202', async () => {
    const otto = ids.find((i) => i.name === 'otto')!;
    const ada = ids.find((i) => i.name === 'ada')!;
    const body = { hosts: ['agent-7'], timeout: '30m', force: true };
    for (const token of [otto.token, single]) {
      const r = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token, body: { ...body, reason: 'urgent' } });
      expect(r.status).to.equal(403);
      expect(r.body.error).to.equal('forbidden: --force needs the admin role');
      expect(r.body.details.missing_role).to.equal('admin');
    }
    const noReason = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token: ada.token, body });
    expect(noReason.status).to.equal(400);
    expect(noReason.body.error).to.contain('reason is required for --force');
    const hosts = (await call(env.url, 'GET', '/api/v1/hosts', { token: ada.token })).body.hosts;
    expect(hosts.map((h: { hostname: string }) => h.hostname)).to.not.include('agent-7');
    const ok = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token: ada.token, body: { ...body, reason: 'disk failing, SLA or not' } });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    // an operator may dry-run a forced drain (nothing changes)
    const dry = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token: otto.token, body: { hosts: ['agent-8'], timeout: '30m', force: true, dry_run: true } });
    expect(dry.status, JSON.stringify(dry.body)).to.equal(200);
    expect((await call(env.url, 'POST', '/api/v1/hosts/maintenance/abort', { token: ada.token, body: { hosts: ['agent-7'] } })).status).to.equal(200);
  });

  it('--override-sla needs admin and a reason like --force: operator 403, admin without reason 400, admin with reason 202; operators may dry-run it', async () => {
    const otto = ids.find((i) => i.name === 'otto')!;
    const ada = ids.find((i) => i.name === 'ada')!;
    const body = { hosts: ['agent-8'], override_sla: '80%/10m' };
    for (const token of [otto.token, single]) {
      const r = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token, body: { ...body, reason: 'urgent' } });
      expect(r.status).to.equal(403);
      expect(r.body.error).to.equal('forbidden: --override-sla needs the admin role');
      expect(r.body.details.missing_role).to.equal('admin');
    }
    const noReason = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token: ada.token, body });
    expect(noReason.status).to.equal(400);
    expect(noReason.body.error).to.contain('reason is required for --override-sla');
    expect(noReason.body.details[0].path).to.equal('reason');
    const hosts = (await call(env.url, 'GET', '/api/v1/hosts', { token: ada.token })).body.hosts;
    expect(hosts.map((h: { hostname: string }) => h.hostname)).to.not.include('agent-8');
    const dry = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token: otto.token, body: { ...body, dry_run: true } });
    expect(dry.status, JSON.stringify(dry.body)).to.equal(200);
    const ok = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token: ada.token, body: { ...body, reason: 'rack power work' } });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    expect(ok.body.options.sla_override).to.include({ text: '80%/10m', reason: 'rack power work' });
    const audit = (await call(env.url, 'GET', '/api/v1/audit?kind=sla_override', { token: ada.token })).body.entries as Array<{ actor: string; reason: string }>;
    expect(audit.map((a) => [a.actor, a.reason])).to.deep.include(['ada', 'rack power work']);
    expect((await call(env.url, 'POST', '/api/v1/hosts/maintenance/abort', { token: ada.token, body: { hosts: ['agent-8'] } })).status).to.equal(200);
  });

  it('reasons are checked: not a string, empty, too long, control characters → 400 and nothing happens', async () => {
    const otto = ids.find((i) => i.name === 'otto')!;
    for (const reason of [42, '', '   ', 'x'.repeat(501), 'line one\nline two', 'bell\u0007', 'rtl\u202eevil', null]) {
      const r = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token: otto.token, body: { hosts: ['agent-9'], reason } });
      expect(r.status, JSON.stringify(reason)).to.equal(400);
      expect(r.body.details[0].path).to.equal('reason');
    }
    expect((await call(env.url, 'GET', '/api/v1/audit?host=agent-9', { token: otto.token })).body.entries).to.deep.equal([]);
  });

  it('each answer carries X-Request-Id, and a job change is audited with it, its actor and its action', async () => {
    const otto = ids.find((i) => i.name === 'otto')!;
    const r = await call(env.url, 'POST', '/api/v1/jobs', { token: otto.token, body: job('audited', 1) });
    expect(r.status).to.equal(201);
    const rid = r.headers.get('x-request-id');
    expect(rid).to.match(/^req-[0-9a-f]{12}$/);
    // durable before the answer: the store (updated only once the batch is on disk) already has it
    const a = (await call(env.url, 'GET', `/api/v1/audit?actor=otto&kind=request`, { token: otto.token })).body.entries;
    const e = a.find((x: { request_id: string }) => x.request_id === rid);
    expect(e).to.include({ kind: 'request', actor: 'otto', action: 'job_create', job: 'audited' });
    expect(env.app.store.get('audit', String(e.seq).padStart(16, '0'))).to.deep.include({ actor: 'otto', request_id: rid });
    // a refused create (409: exists) is not an action: no entry
    const again = await call(env.url, 'POST', '/api/v1/jobs', { token: otto.token, body: job('audited', 1) });
    expect(again.status).to.equal(409);
    const after = (await call(env.url, 'GET', `/api/v1/audit?actor=otto&kind=request&after=${e.seq}`, { token: otto.token })).body.entries;
    expect(after.filter((x: { request_id: string }) => x.request_id === again.headers.get('x-request-id'))).to.deep.equal([]);
    expect((await call(env.url, 'DELETE', '/api/v1/jobs/audited', { token: otto.token })).status).to.equal(202);
  });

  it('the tokens file is re-read when it changes: a new person gets in, a removed one is out; a broken edit keeps the last good file', async () => {
    const bob: Identity = { name: 'bob', role: 'viewer', token: newToken() };
    const [vera, otto, ada] = ids as [Identity, Identity, Identity];
    fs.writeFileSync(tokensFile, tokensFileText([otto, ada, bob]));
    await new Promise((r) => setTimeout(r, 1100)); // changes are looked for at most once a second
    expect((await call(env.url, 'GET', '/api/v1/status', { token: bob.token })).status).to.equal(200);
    expect((await call(env.url, 'GET', '/api/v1/status', { token: vera.token })).status).to.equal(401);
    // a broken file (plaintext token) is refused; the last good tokens stay; the token is never logged
    const plain = newToken();
    fs.writeFileSync(tokensFile, `${tokensFileText([otto, ada, bob])}eve admin ${plain}\n`);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call(env.url, 'GET', '/api/v1/status', { token: bob.token })).status).to.equal(200);
    expect((await call(env.url, 'GET', '/api/v1/status', { token: plain })).status).to.equal(401);
    expect(log.text()).to.contain('api_tokens_reload_failed');
    expect(log.text()).to.not.contain(plain);
    // SIGHUP re-reads at once (vera back)
    fs.writeFileSync(tokensFile, tokensFileText([vera, otto, ada]));
    process.kill(process.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 50));
    expect((await call(env.url, 'GET', '/api/v1/status', { token: vera.token })).status).to.equal(200);
    expect((await call(env.url, 'GET', '/api/v1/status', { token: bob.token })).status).to.equal(401);
  });

  it('no token ever appears in the log, even at debug level', () => {
    const text = log.text();
    expect(text).to.contain('api_forbidden'); // the refusals were logged, by name
    for (const t of [...ids.map((i) => i.token), single]) expect(text).to.not.contain(t);
  });

  it('the CLI: --reason is sent, --force / --override-sla without --reason is a usage error, a 403 names the missing role (exit 3)', async () => {
    const otto = ids.find((i) => i.name === 'otto')!;
    const base = { SLUICE_API: env.url, SLUICE_API_TOKEN: otto.token };
    const forced = await cli(['host', 'maintenance', 'start', 'agent-10', '--timeout', '30m', '--force'], base);
    expect(forced.code).to.equal(2);
    expect(forced.err).to.contain('--force needs --reason');
    const refused = await cli(['host', 'maintenance', 'start', 'agent-10', '--timeout', '30m', '--force', '--reason', 'disk'], base);
    expect(refused.code).to.equal(3);
    expect(refused.err).to.contain('needs the admin role');
    const lowered = await cli(['host', 'maintenance', 'start', 'agent-10', '--override-sla', '80%/10m'], base);
    expect(lowered.code).to.equal(2);
    expect(lowered.err).to.contain('--override-sla needs --reason');
    const loweredNotAdmin = await cli(['host', 'maintenance', 'start', 'agent-10', '--override-sla', '80%/10m', '--reason', 'disk'], base);
    expect(loweredNotAdmin.code).to.equal(3);
    expect(loweredNotAdmin.err).to.contain('--override-sla needs the admin role');
    const bad = await cli(['host', 'maintenance', 'start', 'agent-10', '--reason', 'two\nlines'], base);
    expect(bad.code).to.equal(2);
    const ok = await cli(['host', 'maintenance', 'start', 'agent-10', '--reason', 'BIOS update (CHG-1234)'], base);
    expect(ok.code, ok.err).to.equal(0);
    const ab = await cli(['host', 'maintenance', 'abort', 'agent-10', '--reason', 'rescheduled'], base);
    expect(ab.code, ab.err).to.equal(0);
  });
});

describe('ops: require_reason, the single token, and loopback without a token', function () {
  this.timeout(120_000);

  it('require_reason=start,abort: those verbs need a reason (400 without), complete does not', async () => {
    const env = await startEnv({ flags: { 'require-reason': 'start,abort' } });
    try {
      const none = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { body: { hosts: ['agent-1'] } });
      expect(none.status).to.equal(400);
      expect(none.body.error).to.equal('a reason is required for start');
      expect((await call(env.url, 'GET', '/api/v1/hosts')).body.hosts).to.deep.equal([]);
      expect((await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { body: { hosts: ['agent-1'], dry_run: true } })).status, 'a dry run needs none').to.equal(200);
      expect((await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { body: { hosts: ['agent-1'], reason: 'PSU swap' } })).status).to.equal(202);
      expect((await call(env.url, 'POST', '/api/v1/hosts/maintenance/abort', { body: { hosts: ['agent-1'] } })).status).to.equal(400);
      expect((await call(env.url, 'POST', '/api/v1/hosts/maintenance/complete', { body: { hosts: ['agent-1'] } })).status, 'complete: the verb answers').to.equal(409);
      expect((await call(env.url, 'POST', '/api/v1/hosts/maintenance/abort', { body: { hosts: ['agent-1'], reason: 'done early' } })).status).to.equal(200);
    } finally {
      await env.stop();
    }
  });

  it('loopback without any credential: the local user is admin (force with a reason works); audit entries say "local"', async () => {
    const env = await startEnv({});
    try {
      const r = await call(env.url, 'POST', '/api/v1/jobs', { body: job('mine', 1) });
      expect(r.status).to.equal(201);
      const e = (await call(env.url, 'GET', '/api/v1/audit?kind=request')).body.entries;
      expect(e.map((x: { actor: string; action: string }) => `${x.actor}:${x.action}`)).to.deep.equal(['local:job_create']);
      const f = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { body: { hosts: ['agent-1'], timeout: '10m', force: true, reason: 'lab' } });
      expect(f.status, JSON.stringify(f.body)).to.equal(202);
    } finally {
      await env.stop();
    }
  });

  it('a tokens file allows a non-loopback listen (no --api-token needed)', async () => {
    const file = writeTokensFile(people());
    const { loadConfig } = await import('../../src/config.js');
    const cfg = loadConfig({ 'api-listen': '0.0.0.0:0', 'api-tokens-file': file, store: path.join(tmpDir('sluice-cfg-'), 's') }, {});
    expect(cfg.apiAccess.tokensFile).to.equal(file);
    expect(() => loadConfig({ 'api-listen': '0.0.0.0:0' }, {})).to.throw(/without a token/);
  });
});
