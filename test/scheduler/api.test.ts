import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Router } from '../../src/api/router.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { registerWorkloadRoutes, type WorkloadService } from '../../src/api/workload-routes.js';
import { main } from '../../src/cli/main.js';
import { ConfigError, DEFAULT_API_URL, loadConfig, parseSeconds } from '../../src/config.js';
import { applyCommand, type SchedulerCommand } from '../../src/scheduler/reducer.js';
import { createState } from '../../src/scheduler/state.js';
import { spec } from './helpers.js';

/** The workload routes over a real scheduler state and the real reducers (no runtime, no master). */
function service(): WorkloadService {
  const state = createState();
  return {
    state,
    connectionState: { state: 'disconnected' },
    submit: async (cmd: SchedulerCommand) => applyCommand(state, cmd, Date.now()).result,
  };
}

async function call(api: ApiServer, method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(api.url + p, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

function capture(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      buf += String(chunk);
      cb();
    },
  });
  return { stream, text: () => buf };
}

describe('operator API and CLI', () => {
  let api: ApiServer;
  let svc: WorkloadService;
  beforeEach(async () => {
    svc = service();
    const router = new Router();
    registerWorkloadRoutes(router, svc, { now: () => Date.now() });
    api = await startApiServer({ listen: '127.0.0.1:0', router });
  });
  afterEach(() => api.close());

  it('creates, lists, gets, updates and deletes jobs', async () => {
    const c = await call(api, 'POST', '/api/v1/jobs', spec('web', 2));
    expect(c.status).to.equal(201);
    expect(c.body.name).to.equal('web');
    expect(c.body.instances).to.have.length(2);
    expect((await call(api, 'GET', '/api/v1/jobs')).body.jobs[0]).to.include({ name: 'web', instances: 2, pending: 2 });
    expect((await call(api, 'GET', '/api/v1/jobs/web')).body.spec.instances).to.equal(2);
    const u = await call(api, 'PUT', '/api/v1/jobs/web', { ...spec('web', 3), name: undefined });
    expect(u.status).to.equal(200);
    expect(u.body.version).to.equal(2);
    expect((await call(api, 'DELETE', '/api/v1/jobs/web')).status).to.equal(202);
    expect((await call(api, 'GET', '/api/v1/status')).body.jobs).to.equal(0);
  });

  it('answers bad requests with clear 4xx JSON errors {error, details}', async () => {
    const bad = await call(api, 'POST', '/api/v1/jobs', { name: 'x', instances: -1, resources: { cpus: 0, mem: 1 }, command: '' });
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.equal('invalid job spec');
    expect(bad.body.details.map((d: { path: string }) => d.path)).to.have.members(['instances', 'resources.cpus', 'command']);
    expect((await call(api, 'POST', '/api/v1/jobs', '{"name": ')).body.error).to.equal('request body is not valid JSON');
    expect((await call(api, 'POST', '/api/v1/jobs')).status).to.equal(400);
    await call(api, 'POST', '/api/v1/jobs', spec('web', 1));
    expect((await call(api, 'POST', '/api/v1/jobs', spec('web', 1))).status).to.equal(409);
    const rename = await call(api, 'PUT', '/api/v1/jobs/web', spec('other', 1));
    expect(rename.status).to.equal(400);
    expect(rename.body.details[0].path).to.equal('name');
    expect((await call(api, 'GET', '/api/v1/jobs/nope')).status).to.equal(404);
    expect((await call(api, 'PUT', '/api/v1/jobs/nope', spec('nope', 1))).status).to.equal(404);
    expect((await call(api, 'GET', '/api/v1/nothing')).status).to.equal(404);
    const m = await call(api, 'PATCH', '/api/v1/jobs/web');
    expect(m.status).to.equal(405);
    expect(m.headers.get('allow')).to.contain('GET');
  });

  it('requires a token off loopback, and then on every request', async () => {
    let err: Error | undefined;
    try {
      await startApiServer({ listen: '0.0.0.0:0', router: new Router() });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/without a token/);
    const router = new Router();
    registerWorkloadRoutes(router, service(), { now: () => Date.now() });
    const secured = await startApiServer({ listen: '0.0.0.0:0', token: 's3cret', router });
    try {
      const url = `http://127.0.0.1:${secured.port}/api/v1/jobs`;
      expect((await fetch(url)).status).to.equal(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).to.equal(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer s3cret' } })).status).to.equal(200);
    } finally {
      await secured.close();
    }
  });

  it('lets other modules register routes on the same router', async () => {
    const router = new Router();
    router.get('/api/v1/hosts/:host', (req) => ({ status: 200, body: { host: req.params['host'] } }));
    router.get('/api/v1/hosts/summary', () => ({ status: 200, body: { literal: true } }));
    const s = await startApiServer({ listen: '127.0.0.1:0', router });
    try {
      expect((await call(s, 'GET', '/api/v1/hosts/node%2D1')).body).to.deep.equal({ host: 'node-1' });
      expect((await call(s, 'GET', '/api/v1/hosts/summary')).body).to.deep.equal({ literal: true });
    } finally {
      await s.close();
    }
  });

  it('CLI: job create/get/list/delete against the API, with exit codes and field-path errors', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cli-'));
    const good = path.join(dir, 'job.json');
    fs.writeFileSync(good, JSON.stringify(spec('hello', 2, { constraints: { host_unique: true } })));
    const badFile = path.join(dir, 'bad.json');
    fs.writeFileSync(badFile, JSON.stringify({ name: 'hello2', instances: 'three', resources: { cpus: 1, mem: 1 }, command: 'x' }));
    const run = async (...argv: string[]) => {
      const out = capture();
      const err = capture();
      const code = await main([...argv, '--api', api.url], { stdout: out.stream, stderr: err.stream, env: {}, cwd: dir });
      return { code, out: out.text(), err: err.text() };
    };
    const c = await run('job', 'create', '-f', 'job.json');
    expect(c.code, c.err).to.equal(0);
    expect(c.out).to.contain('created job hello');
    const g = await run('job', 'get', 'hello');
    expect(g.out).to.contain('one per host').and.contain('PENDING');
    const j = await run('job', 'get', 'hello', '--json');
    expect(JSON.parse(j.out).name).to.equal('hello');
    expect((await run('job', 'list')).out).to.match(/hello\s+2\s+0\s+2/);
    const b = await run('job', 'create', '-f', badFile);
    expect(b.code).to.equal(3);
    expect(b.err).to.contain('instances: must be a whole number');
    expect((await run('job', 'get', 'missing')).code).to.equal(4);
    const bj = await run('job', 'create', '-f', badFile, '--json');
    expect(bj.code).to.equal(3);
    expect(JSON.parse(bj.err)).to.deep.include({ status: 400, error: 'invalid job spec' });
    expect((await run('job', 'create', '-f', 'nofile.json')).err).to.contain('no such file');
    expect((await run('job', 'frobnicate')).code).to.equal(2);
    expect((await run('job', 'list', '--jsn')).err).to.contain('did you mean --json');
    const d = await run('job', 'delete', 'hello');
    expect(d.code).to.equal(0);
    const unreachable = capture();
    const code = await main(['job', 'list', '--api', 'http://127.0.0.1:1'], { stdout: capture().stream, stderr: unreachable.stream, env: {}, cwd: dir });
    expect(code).to.equal(1);
    expect(unreachable.text()).to.contain('cannot reach the Sluice API');
  });
});

describe('configuration', () => {
  it('takes flags over environment over file over defaults', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cfg-'));
    fs.writeFileSync(path.join(dir, 'sluice.json'), JSON.stringify({ master: ['http://m1:5050'], role: 'file-role', store: 'st', failover_timeout: '2d' }));
    const c = loadConfig({ config: 'sluice.json', role: 'flag-role' }, { SLUICE_ROLE: 'env-role', SLUICE_FRAMEWORK_NAME: 'envname' }, dir);
    expect(c.masters).to.deep.equal(['http://m1:5050']);
    expect(c.role).to.equal('flag-role');
    expect(c.frameworkName).to.equal('envname');
    expect(c.failoverTimeoutSeconds).to.equal(172800);
    expect(c.storePath).to.equal(path.join(dir, 'st'));
    expect(c.apiListen).to.equal('127.0.0.1:5070');
    expect(c.sources['role']).to.equal('flag');
    const d = loadConfig({}, {}, dir);
    expect(d.masters).to.deep.equal([]);
    expect(d.failoverTimeoutSeconds).to.equal(604800);
    expect(d.reconcileIntervalSeconds).to.equal(900);
    expect(loadConfig({}, { SLUICE_MASTER: 'a:5050, b:5050' }, dir).masters).to.deep.equal(['a:5050', 'b:5050']);
  });

  it('defaults the API to a port fetch clients may use (5060 is a WHATWG "bad port")', async () => {
    expect(DEFAULT_API_URL).to.equal('http://127.0.0.1:5070');
    const cause = await fetch(DEFAULT_API_URL + '/health').then(
      () => undefined,
      (e: { cause?: { message?: string } }) => e.cause?.message,
    );
    expect(cause ?? '').to.not.match(/bad port/);
    const blocked = await fetch('http://127.0.0.1:5060/').then(
      () => '',
      (e: { cause?: { message?: string } }) => e.cause?.message ?? '',
    );
    expect(blocked).to.match(/bad port/);
  });

  it('rejects bad values with the source named', () => {
    expect(() => loadConfig({ 'failover-timeout': 'soon' }, {})).to.throw(ConfigError, /--failover-timeout/);
    expect(() => loadConfig({}, { SLUICE_RECONCILE_INTERVAL: 'x' })).to.throw(ConfigError, /SLUICE_RECONCILE_INTERVAL/);
    expect(() => loadConfig({ config: '/nonexistent/sluice.json' }, {})).to.throw(ConfigError, /not found/);
    expect(() => loadConfig({ 'failover-timeout': '0' }, {})).to.throw(ConfigError, /kill every task/);
    expect(parseSeconds('15m', 'x')).to.equal(900);
    expect(parseSeconds('500ms', 'x')).to.equal(0.5);
  });
});
