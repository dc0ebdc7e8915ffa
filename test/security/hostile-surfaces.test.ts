/**
 * The surfaces added since the first hardening, attacked over real HTTP on loopback against a real
 * Sluice (store on disk, tokens file, the simulator as master with hostile agent names and attributes):
 * tokens in URLs, a viewer trying every mutating route by method and path tricks, event-stream
 * flooding, prototype pollution and deep JSON in every body, coordinator credentials, and what a
 * hostile host name from the master does to logs, the CLI (a child process) and /metrics (promtool).
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { formatPretty, type Logger } from '../../src/util/logger.js';
import { CONTROL_CHARS } from '../../src/util/text.js';
import { job } from '../e2e/maintenance-helpers.js';
import { startEnv, tmpDir, type Env } from '../e2e/workload-helpers.js';
import { request, sleep } from './http-helpers.js';

const CLI = path.resolve('dist/src/cli/main.js');

/** A host name a hostile or broken master could report: quotes, newline, ESC/C1 sequences, bidi, HTML. */
export const EVIL_HOST = 'evil"}\n\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e<img src=x onerror=window.__xss=1>';
export const EVIL_RACK = 'rack-"\n<script>window.__xss=2</script>';

const tok = (name: string) => `${name}-${crypto.randomBytes(18).toString('base64url')}`;
const TOKENS = { viewer: tok('grafana'), operator: tok('ops'), admin: tok('root') };
const NAMES = { viewer: 'grafana', operator: 'ops', admin: 'root' } as const;
type Who = keyof typeof TOKENS;

/** A JSON-lines logger at debug level that keeps every line (what Sluice really logs). */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  let partial = '';
  const out = new Writable({
    write(chunk, _enc, cb) {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      lines.push(...parts.filter(Boolean));
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: out })] });
  return { logger, lines };
}

function auth(who: Who | undefined, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...(who ? { authorization: `Bearer ${TOKENS[who]}` } : {}), ...extra };
}

describe('security: surfaces added since the first hardening, as an attacker would try them', function () {
  this.timeout(180_000);
  let env: Env;
  let logs: string[];
  let dir: string;

  before(async () => {
    dir = tmpDir('sluice-sec2-');
    const file = path.join(dir, 'tokens');
    const sha = (t: string) => crypto.createHash('sha256').update(t).digest('hex');
    fs.writeFileSync(file, (Object.keys(TOKENS) as Who[]).map((r) => `${NAMES[r]} ${r} sha256:${sha(TOKENS[r])}`).join('\n') + '\n', { mode: 0o600 });
    const cap = capturingLogger();
    logs = cap.lines;
    env = await startEnv({
      sim: { agents: [{ hostname: 'agent-1', rack: 'rack-1' }, { hostname: 'agent-2', rack: 'rack-1' }, { hostname: EVIL_HOST, rack: EVIL_RACK, attributes: { '<b>k</b>': '<i>v</i>' } }], racks: 1 },
      flags: { 'api-tokens-file': file },
      logger: cap.logger,
    });
    await env.until('agents offered', async () => env.app.runtime.state.agents.size === 3, 60_000, 1000);
    const web = await request(env.url, { method: 'POST', path: '/api/v1/jobs', headers: auth('operator', { 'content-type': 'application/json' }), body: JSON.stringify(job('web', 1)) });
    expect(web.status, web.text).to.equal(201);
  });
  after(async () => {
    await env?.stop();
  });

  async function unchanged(): Promise<void> {
    const jobs = await request(env.url, { path: '/api/v1/jobs', headers: auth('viewer') });
    expect(jobs.body.jobs.map((j: { name: string }) => j.name)).to.deep.equal(['web']);
    const webJob = await request(env.url, { path: '/api/v1/jobs/web', headers: auth('viewer') });
    expect(webJob.body.version, 'job web untouched').to.equal(1);
    const hosts = await request(env.url, { path: '/api/v1/hosts', headers: auth('viewer') });
    expect(hosts.body.hosts, 'no host in maintenance').to.deep.equal([]);
  }

  it('a token in the query string is never accepted, and never written to the log', async () => {
    for (const q of ['access_token', 'token', 'api_key', 'bearer']) {
      const r = await request(env.url, { path: `/api/v1/hosts?${q}=${encodeURIComponent(TOKENS.admin)}` });
      expect(r.status, q).to.equal(401);
    }
    // with a valid header too: served, but the URL's token still stays out of the log
    const r = await request(env.url, { path: `/api/v1/jobs?access_token=${TOKENS.admin}`, headers: auth('viewer') });
    expect(r.status).to.equal(200);
    const a = await request(env.url, { path: `/api/v1/audit?host=agent-1&access_token=${TOKENS.admin}`, headers: auth('viewer') });
    expect(a.status, 'the audit refuses unknown parameters').to.equal(400);
    expect(a.text, 'without echoing the value').not.to.include(TOKENS.admin);
    // a viewer refused on a mutating route (api_forbidden, at warn) with a token in the URL
    const f = await request(env.url, { method: 'POST', path: `/api/v1/jobs?token=${TOKENS.operator}`, headers: auth('viewer', { 'content-type': 'application/json' }), body: '{}' });
    expect(f.status).to.equal(403);
    await sleep(50);
    const text = logs.join('\n');
    expect(text, 'the requests were logged (else this test proves nothing)').to.include('/api/v1/jobs?access_token=***');
    expect(text).to.include('api_forbidden');
    for (const t of Object.values(TOKENS)) expect(logs.filter((l) => l.includes(t)), 'lines with a token').to.deep.equal([]);
  });

  it('a viewer reaches no mutating route: method overrides, HEAD, OPTIONS, lower case, double and encoded slashes, case, dots', async () => {
    const index = await request(env.url, { path: '/api/v1', headers: auth('viewer') });
    const mutating = (index.body.routes as Array<{ method: string; path: string; role?: string }>).filter((r) => r.method !== 'GET' && r.role !== 'viewer');
    expect(mutating.length).to.be.greaterThan(8);
    const concrete = (p: string) => p.replace(/:name/g, 'web').replace(/:host/g, 'agent-1').replace(/:[a-z_]+/g, 'x');
    const tried: string[] = [];
    for (const r of mutating) {
      const p = concrete(r.path);
      const body = JSON.stringify({ hosts: ['agent-1'], all: true, instances: 0, request_id: 'x' });
      const variants: Array<{ method: string; path: string; headers?: Record<string, string> }> = [
        { method: r.method, path: p },
        { method: 'GET', path: p, headers: { 'x-http-method-override': r.method, 'x-method-override': r.method, 'x-http-method': r.method } },
        { method: 'POST', path: p, headers: { 'x-http-method-override': r.method } },
        { method: 'HEAD', path: p },
        { method: 'OPTIONS', path: p },
        { method: 'PATCH', path: p },
        { method: r.method, path: '/' + p },
        { method: r.method, path: p.replace('/api/v1/', '/api/v1//') },
        { method: r.method, path: p + '/' },
        { method: r.method, path: p + '/.' },
        { method: r.method, path: p.replace('/api/v1/', '/api/v1/./') },
        { method: r.method, path: p.replace('/api/v1/', '/api/v1/x/../') },
        { method: r.method, path: p.replace(/\/([^/]+)$/, '%2F$1') },
        { method: r.method, path: p.toUpperCase() },
        { method: r.method, path: `${p}?_method=GET` },
        { method: r.method, path: p.replace(/o/, '%6F') },
      ];
      for (const v of variants) {
        const res = await request(env.url, { method: v.method, path: v.path, headers: auth('viewer', { 'content-type': 'application/json', ...v.headers }), body: v.method === 'GET' || v.method === 'HEAD' ? undefined : body });
        tried.push(`${v.method} ${v.path} → ${res.status}`);
        // a viewer may only read: anything that does not match a read route is 403/404/405/400
        if (res.status < 300) {
          expect(v.method === 'GET' || v.method === 'HEAD', `${v.method} ${v.path} answered ${res.status}: ${res.text.slice(0, 200)}`).to.equal(true);
        } else expect([400, 403, 404, 405], `${v.method} ${v.path}: ${res.text.slice(0, 200)}`).to.include(res.status);
      }
    }
    // a lower-case method is not a method (the HTTP parser refuses it)
    const lower = await new Promise<number>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: new URL(env.url).port, method: 'post', path: '/api/v1/jobs', headers: { authorization: `Bearer ${TOKENS.viewer}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.end('{}');
    });
    expect(lower === 0 || lower === 400 || lower === 403 || lower === 405, `lower-case post → ${lower}`).to.equal(true);
    expect(tried.length).to.be.greaterThan(100);
    await unchanged();
  });

  it('Host names that are not this server (rebinding tricks) are refused; spellings of loopback are not a way around it', async () => {
    const port = new URL(env.url).port;
    for (const host of [`evil.example:${port}`, `localhost.evil.example:${port}`, `127.0.0.1.nip.io:${port}`, `localhost:${port}@evil.example`, `0x7f.0.0.1:${port}`, `2130706433:${port}`, `[::ffff:127.0.0.1]:${port}`, `localhost:${Number(port) + 1}`, 'localhost', `127.0.0.1:${port} evil`]) {
      const r = await request(env.url, { path: '/api/v1/hosts', headers: auth('viewer', { host }) });
      expect([400, 421], `Host ${host} → ${r.status}`).to.include(r.status);
    }
    for (const host of [`LOCALHOST:${port}`, `localhost.:${port}`, `127.0.0.1:${port}`]) {
      const r = await request(env.url, { path: '/api/v1/hosts', headers: auth('viewer', { host }) });
      expect(r.status, `Host ${host}`).to.equal(200);
    }
  });

  it('a FIFO in place of the tokens file does not block the server: the reload fails, the last good tokens stay', async () => {
    const file = path.join(dir, 'tokens');
    const before = await request(env.url, { path: '/api/v1/jobs', headers: auth('viewer') });
    expect(before.status).to.equal(200);
    fs.renameSync(file, file + '.good');
    expect(spawnSync('mkfifo', ['-m', '600', file]).status).to.equal(0);
    try {
      await sleep(1100); // the file is looked at, at most once a second, on a request
      const r = await request(env.url, { path: '/api/v1/jobs', headers: auth('viewer') });
      expect(r.status, 'served with the last good tokens').to.equal(200);
      await sleep(50);
      expect(logs.some((l) => l.includes('api_tokens_reload_failed') && l.includes('not a regular file'))).to.equal(true);
    } finally {
      fs.rmSync(file);
      fs.renameSync(file + '.good', file);
    }
  });

  it('every read route with hostile query parameters: a clear 4xx or an answer, never a 500, nothing echoed at length', async () => {
    const index = await request(env.url, { path: '/api/v1', headers: auth('viewer') });
    const reads = (index.body.routes as Array<{ method: string; path: string }>).filter((r) => r.method === 'GET');
    const long = 'x'.repeat(3000);
    const queries = [
      `limit=99999999999999999999&after=-1&before=1e400&since=%00&until=tomorrow`,
      `kind=${'host_transition,'.repeat(200)}&host=${long}&actor=%E2%80%AE${long}`,
      `states=__proto__&states=constructor&rack=%3Cscript%3E&group_by=constructor&tail=999999999999999&follow=false`,
      `__proto__[polluted]=1&constructor[prototype][polluted]=1&limit=NaN&since=Infinity`,
      `since=${'9'.repeat(40)}&tail=-5&follow=maybe&limit=0`,
    ];
    for (const r of reads) {
      const p = r.path.replace(/:name/g, 'web').replace(/:host/g, 'agent-1').replace(/:[a-z_]+/g, 'x');
      for (const q of queries) {
        // (the feed: never follow, so each answer ends)
        const res = await request(env.url, { path: `${p}?${q}${p.endsWith('/events') ? '&follow=false' : ''}`, headers: auth('viewer') });
        expect(res.status, `${p}?${q.slice(0, 60)}: ${res.text.slice(0, 200)}`).to.be.below(500);
        if (res.status >= 400) expect(res.text.length, `${p}: a short error`).to.be.below(4000);
      }
    }
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
  });

  it('event streams are capped per identity (429) without locking out the others', async () => {
    const port = Number(new URL(env.url).port);
    const open: http.ClientRequest[] = [];
    const stream = (who: Who) =>
      new Promise<number>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/api/v1/events', agent: false, headers: { authorization: `Bearer ${TOKENS[who]}`, accept: 'text/event-stream' } }, (res) => {
          if (res.statusCode !== 200) res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.end();
        open.push(req);
      });
    try {
      const mine: number[] = [];
      for (let i = 0; i < 32; i++) mine.push(await stream('viewer'));
      expect(mine.every((s) => s === 200), mine.join(',')).to.equal(true);
      const over = await stream('viewer');
      expect(over).to.equal(429);
      expect(await stream('operator'), 'another identity still gets a stream').to.equal(200);
      // closing one of the viewer's streams frees a slot
      open[0]!.destroy();
      let again = 0;
      for (let i = 0; i < 40 && again !== 200; i++) {
        await sleep(50);
        again = await stream('viewer');
      }
      expect(again).to.equal(200);
    } finally {
      for (const r of open) r.destroy();
    }
  });

  it('every body refuses prototype-pollution keys and absurdly deep JSON; nothing is polluted or changed', async () => {
    const index = await request(env.url, { path: '/api/v1', headers: auth('viewer') });
    // (DELETE takes no body: it is the route itself an admin may use)
    const routes = (index.body.routes as Array<{ method: string; path: string }>).filter((r) => r.method !== 'GET' && r.method !== 'DELETE');
    const deep = '{"hosts":' + '['.repeat(20_000) + ']'.repeat(20_000) + '}';
    const hostile = [
      '{"__proto__": {"force": true, "dry_run": false, "hosts": ["agent-1"], "polluted": 1}, "hosts": ["agent-1"], "dry_run": true}',
      '{"constructor": {"prototype": {"polluted": 1, "force": true}}, "hosts": ["agent-1"], "dry_run": true}',
      '{"hosts": ["agent-1"], "dry_run": true, "reason": {"__proto__": {"toString": 1}}}',
      deep,
    ];
    for (const r of routes) {
      const p = r.path.replace(/:name/g, 'web').replace(/:[a-z_]+/g, 'agent-1');
      for (const body of hostile) {
        const res = await request(env.url, { method: r.method, path: p, headers: auth('admin', { 'content-type': 'application/json' }), body });
        expect(res.status, `${r.method} ${p} ${body.slice(0, 60)}: ${res.text.slice(0, 300)}`).to.be.within(400, 499);
      }
    }
    expect(({} as Record<string, unknown>)['polluted'], 'Object.prototype polluted').to.equal(undefined);
    expect(({} as Record<string, unknown>)['force']).to.equal(undefined);
    await unchanged();
    expect((await request(env.url, { path: '/health', headers: auth('viewer') })).status, 'still serving').to.equal(200);
  });

  it('coordinator URLs: only http(s); their credentials are never shown in answers, the audit, the feed or the log', async () => {
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'gopher://127.0.0.1:70/x', 'ftp://h/x', 'http://h/\nx', `http://h/${'a'.repeat(3000)}`]) {
      const r = await request(env.url, {
        method: 'POST',
        path: '/api/v1/jobs',
        headers: auth('operator', { 'content-type': 'application/json' }),
        body: JSON.stringify(job('coord', 1, { sla: { kind: 'coordinator', url, timeout_seconds: 2 } as never })),
      });
      expect(r.status, `${url.slice(0, 40)}: ${r.text.slice(0, 200)}`).to.equal(400);
      expect(r.text).not.to.include('/etc/passwd"'.repeat(2));
    }
    const SECRET = 'c00rd-Pw-' + crypto.randomBytes(8).toString('hex');
    const created = await request(env.url, {
      method: 'POST',
      path: '/api/v1/jobs',
      headers: auth('operator', { 'content-type': 'application/json' }),
      body: JSON.stringify(job('coord', 1, { sla: { kind: 'coordinator', url: `http://alice:${SECRET}@127.0.0.1:9/ask`, timeout_seconds: 2 } as never })),
    });
    expect(created.status, created.text).to.equal(201);
    expect(created.text).not.to.include(SECRET);
    const seen: string[] = [created.text];
    for (const p of ['/api/v1/jobs/coord', '/api/v1/jobs', '/api/v1/sla/jobs', '/api/v1/audit?limit=500', '/api/v1/events?follow=false&tail=500']) {
      const r = await request(env.url, { path: p, headers: auth('viewer') });
      expect(r.status, p).to.equal(200);
      seen.push(r.text);
    }
    expect(seen.join('\n').includes('127.0.0.1:9'), 'the URL is shown (redacted), so the check below means something').to.equal(true);
    expect(seen.join('\n')).not.to.include(SECRET);
    expect(logs.join('\n')).not.to.include(SECRET);
    const del = await request(env.url, { method: 'DELETE', path: '/api/v1/jobs/coord', headers: auth('operator', { 'content-type': 'application/json' }) });
    expect(del.status).to.be.within(200, 299);
    await env.until('coord deleted', async () => (await request(env.url, { path: '/api/v1/jobs/coord', headers: auth('viewer') })).status === 404, 60_000, 500);
  });

  it('a hostile host name from the master: refused as a maintenance target, inert in the readable log, the CLI and /metrics', async () => {
    const start = await request(env.url, {
      method: 'POST',
      path: '/api/v1/hosts/maintenance/start',
      headers: auth('operator', { 'content-type': 'application/json' }),
      body: JSON.stringify({ hosts: [EVIL_HOST], reason: 'disk' }),
    });
    expect(start.status, start.text).to.equal(400);
    expect(start.body.details[0].code).to.equal('invalid-host-name');
    const agents = await request(env.url, { path: '/api/v1/agents', headers: auth('viewer') });
    expect(agents.text, 'the name is shown as data').to.include('pwned');
    await unchanged();

    // the CLI prints no control character of it: tables, JSON, and the error of a refused request
    // (a child process, asynchronously: this process serves the API it calls)
    const cli = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [CLI, ...args, '--api', env.url], { env: { ...process.env, SLUICE_API_TOKEN: TOKENS.operator, NO_COLOR: '1' } });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        c.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
    for (const args of [['sla', 'list-safe', '--all'], ['sla', 'list-safe', '--all', '--json'], ['sla', 'list-safe', '--all', '--group-by', 'rack'], ['host', 'maintenance', 'start', EVIL_HOST, '--reason', 'disk'], ['sla', 'probe', EVIL_HOST]]) {
      const r = await cli(args);
      expect(r.stdout + r.stderr, `${args.join(' ')}: the name reached the output (status ${r.status})`).to.match(args.includes('rack') ? /script/ : /pwned/);
      expect(raw.test(r.stdout + r.stderr), `${args.join(' ')}: ${JSON.stringify(r.stdout + r.stderr)}`).to.equal(false);
      if (args.includes('--json')) expect(r.stdout, `stdout empty; stderr: ${r.stderr}`).not.to.equal('');
      if (args.includes('--json')) expect(JSON.stringify(JSON.parse(r.stdout)), 'JSON output means the exact name').to.include(JSON.stringify(EVIL_HOST));
    }
    await unchanged();

    // every line Sluice logged, through the readable (terminal) format: one line each, nothing a terminal would act on
    await sleep(100);
    expect(logs.length).to.be.greaterThan(20);
    for (const l of logs) {
      const out = formatPretty(JSON.parse(l), { colour: false, now: new Date() });
      expect(out.includes('\n'), out).to.equal(false);
      expect(CONTROL_CHARS.test(out), JSON.stringify(out)).to.equal(false);
    }

    // the real logger in a child process, both formats, fields an attacker chose (host, reason, key, message)
    const LOGGER = path.resolve('dist/src/util/logger.js');
    for (const format of ['pretty', 'json']) {
      const script = `import { createLogger } from ${JSON.stringify(LOGGER)};
        const log = createLogger({ format: ${JSON.stringify(format)}, colour: false, level: 'info' });
        const evil = ${JSON.stringify(EVIL_HOST)};
        log.warn('host_transition ' + evil, { event: 'host_transition', host: evil, reason: 'a\\nfake_line level=error', [evil]: 1, job: { name: evil } });`;
      const r = await new Promise<{ stderr: string; stdout: string }>((resolve) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, SLUICE_LOG_SILENT: '' } });
        let stderr = '';
        let stdout = '';
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        c.on('close', () => resolve({ stderr, stdout }));
      });
      const out = r.stderr + r.stdout;
      expect(out, format).to.include('pwned');
      expect(out.trimEnd().split('\n'), `${format}: one line`).to.have.length(1);
      expect(CONTROL_CHARS.test(out.trimEnd()), `${format}: ${JSON.stringify(out)}`).to.equal(false);
      if (format === 'json') expect(JSON.parse(out).host, 'JSON keeps the exact value').to.equal(EVIL_HOST);
    }

    // /metrics stays a valid exposition (promtool) with only Sluice's own series
    const m = await request(env.url, { path: '/metrics', headers: auth('viewer') });
    expect(m.status).to.equal(200);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: m.text, encoding: 'utf8' });
    expect(promtool.error, 'promtool must be installed').to.equal(undefined);
    expect(promtool.stderr + promtool.stdout).not.to.match(/error parsing|text format parsing error/i);
    for (const line of m.text.split('\n')) if (line && !line.startsWith('#')) expect(line, 'each sample is a sluice_ or process metric').to.match(/^(sluice_|process_|nodejs_)/);
  });
});
