/**
 * Hostile input, field by field: every route of the operator API that takes a body (or a query
 * string), every field, sent with the wrong type, out-of-range numbers, over-long strings, unknown
 * fields and prototype-pollution keys. Each must answer 400 naming the field's path, and nothing may
 * be written: Sluice's hosts and jobs (API and store) and the master's maintenance schedule stay as
 * they were. Also the out-of-range maintenance windows (issue 9 item 8) and the deletion of a job of
 * 0 instances (item 9), end to end. Real Sluice + the simulator over loopback HTTP, VirtualClock.
 */
import { expect } from 'chai';
import { main } from '../../src/cli/main.js';
import { MAINTENANCE_LIMITS } from '../../src/maintenance/core/host-state.js';
import { api, startEnv, type ApiResponse, type Env } from '../e2e/workload-helpers.js';
import { allRunning, job } from '../e2e/maintenance-helpers.js';
import { sink } from '../helpers/sink.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Sends `body` as given: a string is sent verbatim (raw JSON such as `{"__proto__": …}` or `1e400`). */
async function send(env: Env, method: string, path: string, body: Json | string): Promise<ApiResponse> {
  return api(env.url, method, path, typeof body === 'string' ? body : JSON.stringify(body));
}

/** A copy of `base` with the dotted `path` set to `value`. */
function withField(base: Record<string, Json>, path: string, value: Json): Record<string, Json> {
  const out = JSON.parse(JSON.stringify(base)) as Record<string, Json>;
  const keys = path.split('.');
  let o = out as Record<string, Json>;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null || Array.isArray(o[k])) o[k] = {};
    o = o[k] as Record<string, Json>;
  }
  o[keys[keys.length - 1]!] = value;
  return out;
}

const SAMPLES: Record<string, Json> = { string: 'x', number: 7, boolean: true, null: null, array: [], object: {} };

/** The wrong-type samples for a field accepting `ok` JSON types. */
function wrongTypes(ok: string[]): Array<[string, Json]> {
  return Object.entries(SAMPLES).filter(([t]) => !ok.includes(t));
}

interface Snapshot {
  hosts: unknown;
  jobs: unknown;
  schedule: string;
  status: string;
  store: unknown;
}

async function snapshot(env: Env): Promise<Snapshot> {
  const hosts = await api(env.url, 'GET', '/api/v1/hosts');
  const jobs = await api(env.url, 'GET', '/api/v1/jobs');
  expect(hosts.status).to.equal(200);
  const schedule = await fetch(env.sim.url + '/master/maintenance/schedule').then((r) => r.text());
  const status = await fetch(env.sim.url + '/master/maintenance/status').then((r) => r.text());
  const store = {
    hosts: env.app.store.list('hosts'),
    jobs: env.app.store.list('jobs'),
  };
  return { hosts: hosts.body, jobs: jobs.body, schedule, status, store: JSON.parse(JSON.stringify(store)) };
}

function expect400(r: ApiResponse, path: string, what: string): void {
  expect(r.status, `${what}: ${JSON.stringify(r.body)?.slice(0, 300)}`).to.equal(400);
  expect(r.body.error, what).to.be.a('string');
  const paths = (r.body.details as Array<{ path?: string }>).map((d) => d.path);
  expect(paths, `${what}: ${JSON.stringify(r.body.details).slice(0, 300)}`).to.include(path);
}


describe('security: every field of every API route refuses hostile values (400, path, nothing written)', function () {
  this.timeout(120_000);
  let env: Env;
  let initial: Snapshot;

  before(async () => {
    env = await startEnv({ sim: { agents: 4, racks: 2 } });
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('web', 2))).status).to.equal(201);
    await env.until('web RUNNING', () => allRunning(env, 'web', 2), 120_000, 1000);
    initial = await snapshot(env);
  });
  after(async () => {
    await env?.stop();
  });

  /** Nothing changed since the suite's start (checked after every group of hostile requests). */
  async function unchanged(what: string): Promise<void> {
    const now = await snapshot(env);
    expect(now.schedule, `${what}: master schedule`).to.equal(initial.schedule);
    expect(now.status, `${what}: master maintenance status`).to.equal(initial.status);
    expect(now.hosts, `${what}: GET /api/v1/hosts`).to.deep.equal(initial.hosts);
    expect(now.jobs, `${what}: GET /api/v1/jobs`).to.deep.equal(initial.jobs);
    expect(now.store, `${what}: store`).to.deep.equal(initial.store);
  }

  describe('POST /api/v1/hosts/maintenance/start', () => {
    const route = '/api/v1/hosts/maintenance/start';
    const base: Record<string, Json> = { hosts: ['agent-1'] };
    const fields: Record<string, string[]> = {
      hosts: ['string', 'array'],
      window: ['object'],
      'window.start': ['string', 'number'],
      'window.duration': ['string', 'number'],
      group_by: [],
      max_parallel: ['number'],
      timeout: ['string', 'number'],
      force: [],
      post_drain: ['string'],
      dry_run: ['boolean'],
      reason: ['string'],
    };
    it('wrong types', async () => {
      for (const [field, ok] of Object.entries(fields)) {
        for (const [t, v] of wrongTypes(ok)) {
          expect400(await send(env, 'POST', route, withField(base, field, v)), field, `${field} as ${t}`);
        }
        await unchanged(field);
      }
    });

    it('"dry_run": "yes" is refused, never a real drain', async () => {
      for (const v of ['yes', 'true', 'false', 1, 0]) {
        const r = await send(env, 'POST', route, { hosts: ['agent-1'], dry_run: v });
        expect400(r, 'dry_run', `dry_run=${JSON.stringify(v)}`);
        expect(r.body.details.find((d: { path: string }) => d.path === 'dry_run').message).to.match(/true or false/);
      }
      await unchanged('dry_run strings');
    });

    it('out-of-range numbers, over-long strings, NUL', async () => {
      const cases: Array<[string, Json | string]> = [
        ['max_parallel', 1e308], ['max_parallel', -1], ['max_parallel', 0], ['max_parallel', 1.5], ['max_parallel', 2 ** 60],
        ['timeout', 1e308], ['timeout', -1], ['timeout', 1e-300], ['timeout', 1e300], ['timeout', 'x'.repeat(10_000)],
        ['window.start', 1e308], ['window.start', -1], ['window.start', 1e-300], ['window.start', 2 ** 63], ['window.start', 'x'.repeat(10_000)],
        ['window.duration', 1e308], ['window.duration', -1], ['window.duration', 1e-300], ['window.duration', 1e300], ['window.duration', '9'.repeat(400)],
        ['post_drain', 'x'.repeat(MAINTENANCE_LIMITS.maxPostDrainBytes + 1)], ['post_drain', 'echo a\u0000b'], ['post_drain', ''],
        ['group_by', 'r'.repeat(10_000)],
        ['reason', 'r'.repeat(10_000)], ['reason', 'a\u0000b'], ['reason', ''],
        ['hosts', ['x'.repeat(10_000)]],
        ['hosts', Array.from({ length: MAINTENANCE_LIMITS.maxHosts + 1 }, (_, i) => `h${i}`)],
      ];
      for (const [field, v] of cases) {
        const r = await send(env, 'POST', route, withField(base, field, v as Json));
        const path = field === 'hosts' && Array.isArray(v) && v.length === 1 ? 'hosts[0]' : field;
        expect400(r, path, `${field}=${JSON.stringify(v).slice(0, 40)}`);
        expect(JSON.stringify(r.body).length, 'the answer does not echo a huge value').to.be.below(4000);
      }
      await unchanged('out of range');
    });

    it('unknown fields and prototype-pollution keys', async () => {
      const dry = await send(env, 'POST', route, { hosts: ['agent-1'], dryrun: true });
      expect400(dry, 'dryrun', 'dryrun');
      expect(dry.body.details[0].message).to.match(/did you mean "dry_run"/);
      for (const raw of [
        '{"hosts":["agent-1"],"__proto__":{"dry_run":true}}',
        '{"hosts":["agent-1"],"constructor":{"prototype":{"x":1}}}',
        '{"hosts":["agent-1"],"prototype":1}',
        '{"hosts":["agent-1"],"window":{"__proto__":{"start":"now"}}}',
      ]) {
        const r = await send(env, 'POST', route, raw);
        expect(r.status, raw).to.equal(400);
        expect(r.body.details.map((d: { path: string }) => d.path).join(' '), raw).to.match(/__proto__|constructor|prototype/);
      }
      expect(({} as Record<string, unknown>)['dry_run']).to.equal(undefined);
      expect(({} as Record<string, unknown>)['x']).to.equal(undefined);
      await unchanged('unknown fields');
    });

    it('windows out of range (item 8): 400 with a clear message, before anything is written', async () => {
      const now = env.clock.now();
      const cases: Array<[string, string, RegExp]> = [
        ['{"hosts":["agent-1"],"window":{"start":"now","duration":1e400}}', 'window.duration', /finite/],
        ['{"hosts":["agent-1"],"window":{"start":"now","duration":1e300}}', 'window.duration', /longer than the maximum of 365 days/],
        ['{"hosts":["agent-1"],"window":{"start":1e20,"duration":"1h"}}', 'window.start', /more than 365 days ahead/],
        ['{"hosts":["agent-1"],"window":{"start":"2263-01-01T00:00:00Z","duration":"1h"}}', 'window.start', /more than 365 days ahead/],
        ['{"hosts":["agent-1"],"window":{"start":"1969-12-31T23:00:00Z","duration":"1h"}}', 'window.start', /in the past/],
        ['{"hosts":["agent-1"],"window":{"start":-1}}', 'window.start', /in the past/],
        [`{"hosts":["agent-1"],"window":{"start":${now - 2 * 3600_000},"duration":"1h"}}`, 'window.start', /in the past/],
        [`{"hosts":["agent-1"],"window":{"start":${now - 4 * 60_000},"duration":"1m"}}`, 'window.duration', /already ended/],
      ];
      for (const [raw, path, re] of cases) {
        const r = await send(env, 'POST', route, raw);
        expect400(r, path, raw);
        expect(r.body.details.find((d: { path: string }) => d.path === path).message, raw).to.match(re);
        await unchanged(raw);
      }
      // the CLI says the same, with exit code 3
      const stdout = sink();
      const stderr = sink();
      const code = await main(['host', 'maintenance', 'start', 'agent-1', '--window', '1969-12-31T23:00:00Z,1h', '--api', env.url], { stdout, stderr, env: {}, cwd: process.cwd() });
      expect(code, stderr.text).to.equal(3);
      expect(stderr.text).to.match(/in the past/);
      await unchanged('CLI window in 1969');
    });
  });

  for (const route of ['/api/v1/hosts/maintenance/complete', '/api/v1/hosts/maintenance/abort', '/api/v1/sla/probe']) {
    it(`POST ${route}: wrong types, bounds, unknown fields`, async () => {
      for (const [t, v] of wrongTypes(['string', 'array'])) expect400(await send(env, 'POST', route, { hosts: v }), 'hosts', `hosts as ${t}`);
      for (const [t, v] of wrongTypes(['string'])) expect400(await send(env, 'POST', route, { hosts: [v] }), 'hosts[0]', `hosts[0] as ${t}`);
      expect400(await send(env, 'POST', route, { hosts: ['x'.repeat(10_000)] }), 'hosts[0]', 'long name');
      if (!route.includes('/sla/')) for (const [t, v] of [...wrongTypes(['string']), ['long', 'x'.repeat(10_000)] as [string, Json]]) expect400(await send(env, 'POST', route, { hosts: ['agent-1'], reason: v }), 'reason', `reason as ${t}`);
      expect400(await send(env, 'POST', route, { hosts: ['agent-1'], host: 'agent-2' }), 'host', 'unknown field');
      expect400(await send(env, 'POST', route, '{"__proto__":{"hosts":["agent-1"]}}'), '__proto__', '__proto__');
      for (const b of ['[]', '"agent-1"', '7', 'null']) expect400(await send(env, 'POST', route, b), '', `body ${b}`);
      await unchanged(route);
    });
  }

  it('job routes with a name no job can have: 404, not echoed at length', async () => {
    for (const method of ['GET', 'DELETE']) {
      const r = await api(env.url, method, `/api/v1/jobs/${'x'.repeat(5000)}`);
      expect(r.status, method).to.equal(404);
      expect(JSON.stringify(r.body).length, method).to.be.below(300);
      expect((await api(env.url, method, '/api/v1/jobs/__proto__')).status, `${method} __proto__`).to.equal(404);
    }
    await unchanged('job names');
  });

  it('GET /api/v1/hosts: only `states`, once, with known states', async () => {
    for (const q of ['states=BOGUS', 'state=UP', 'states=UP&states=DOWN', `states=${'X'.repeat(5000)}`, '__proto__=1']) {
      const r = await api(env.url, 'GET', `/api/v1/hosts?${q}`);
      expect(r.status, q).to.equal(400);
      expect(r.body.details[0].path, q).to.be.a('string');
    }
    expect((await api(env.url, 'GET', '/api/v1/hosts?states=draining,UP')).status).to.equal(200);
    await unchanged('GET /api/v1/hosts');
  });

  describe('jobs', () => {
    const base: Record<string, Json> = {
      name: 'hostile',
      instances: 1,
      resources: { cpus: 0.1, mem: 32, disk: 0, ports: 0 },
      command: { value: 'sleep 1', shell: false, arguments: ['sleep', '1'] },
      environment: { A: 'b' },
      constraints: { host_unique: true, rack_spread: false, rack_attribute: 'rack' },
      sla: { kind: 'percentage', percentage: 50, duration_seconds: 60 },
      unavailability_horizon_seconds: 60,
      kill_grace_period_seconds: 5,
      update_batch_size: 1,
    };
    const fields: Record<string, string[]> = {
      name: ['string'],
      instances: ['number'],
      resources: ['object'],
      'resources.cpus': ['number'],
      'resources.mem': ['number'],
      'resources.disk': ['number'],
      'resources.ports': ['number'],
      command: ['string', 'object'],
      'command.value': ['string'],
      'command.shell': ['boolean'],
      'command.arguments': ['array'],
      environment: ['object'],
      'environment.A': ['string'],
      constraints: ['object'],
      'constraints.host_unique': ['boolean'],
      'constraints.rack_spread': ['boolean'],
      'constraints.rack_attribute': ['string'],
      sla: ['object'],
      'sla.kind': [],
      'sla.percentage': ['number'],
      'sla.duration_seconds': ['number'],
      unavailability_horizon_seconds: ['number'],
      kill_grace_period_seconds: ['number'],
      role: ['string'],
      update_batch_size: ['number'],
    };
    const numbers: Record<string, Json[]> = {
      instances: [1e308, -1, 1.5, 2 ** 60],
      'resources.cpus': [1e308, -1, 1e-300, 0, 0.0004],
      'resources.mem': [1e308, -1, 1e-300, 0],
      'resources.disk': [1e308, -1, 1e-300],
      'resources.ports': [1e308, -1, 1.5, 1000],
      'sla.percentage': [1e308, -1, 0, 101],
      'sla.duration_seconds': [1e308, -1, 1e300],
      unavailability_horizon_seconds: [1e308, -1],
      kill_grace_period_seconds: [1e308, -1],
      update_batch_size: [1e308, 0, -1, 1.5],
    };
    const strings: Record<string, Json> = {
      name: 'a'.repeat(10_000),
      'command.value': 'x'.repeat(70_000),
      'environment.A': 'x'.repeat(40_000),
      'constraints.rack_attribute': 'r'.repeat(10_000),
      role: 'r'.repeat(10_000),
    };

    it('POST /api/v1/jobs and PUT /api/v1/jobs/web: every field, wrong types, out of range, too long', async () => {
      for (const [method, route, b] of [['POST', '/api/v1/jobs', base], ['PUT', '/api/v1/jobs/web', { ...base, name: 'web' }]] as const) {
        for (const [field, ok] of Object.entries(fields)) {
          for (const [t, v] of wrongTypes(ok)) {
            if (method === 'PUT' && field === 'name') continue; // PUT takes the name from the URL (checked below)
            expect400(await send(env, method, route, withField(b, field, v)), field, `${method} ${field} as ${t}`);
          }
        }
        for (const [field, values] of Object.entries(numbers)) {
          for (const v of values) expect400(await send(env, method, route, withField(b, field, v)), field, `${method} ${field}=${v}`);
        }
        for (const [field, v] of Object.entries(strings)) {
          if (method === 'PUT' && field === 'name') continue;
          const r = await send(env, method, route, withField(b, field, v));
          expect400(r, field, `${method} long ${field}`);
          expect(JSON.stringify(r.body).length, `${method} long ${field}: not echoed`).to.be.below(4000);
        }
        await unchanged(`${method} ${route}`);
      }
      expect400(await send(env, 'PUT', '/api/v1/jobs/web', { ...base, name: 'other' }), 'name', 'PUT rename');
      await unchanged('PUT rename');
    });

    it('unknown fields and prototype-pollution keys in job specs', async () => {
      const spec = JSON.stringify(base).slice(1, -1);
      const cases: Array<[string, string]> = [
        [`{${spec},"__proto__":{"instances":100}}`, '__proto__'],
        [`{${spec},"constructor":{"prototype":{"polluted":true}}}`, 'constructor'],
        [`{"resources":{"cpus":1,"mem":64,"__proto__":{"disk":1}},${spec.replace(/"resources":\{[^}]*\},/, '')}}`, 'resources.__proto__'],
        [`{${spec.replace('"environment":{"A":"b"}', '"environment":{"__proto__":"x","A":"b"}')}}`, 'environment.__proto__'],
        [`{${spec.replace('"environment":{"A":"b"}', '"environment":{"constructor":"x"}')}}`, 'environment.constructor'],
        [`{${spec.replace('"environment":{"A":"b"}', '"environment":{"prototype":"x"}')}}`, 'environment.prototype'],
        [`{${spec},"instance":3}`, 'instance'],
      ];
      for (const [raw, path] of cases) {
        expect400(await send(env, 'POST', '/api/v1/jobs', raw), path, raw.slice(0, 80));
        expect400(await send(env, 'PUT', '/api/v1/jobs/web', raw.replace('"name":"hostile"', '"name":"web"')), path, `PUT ${raw.slice(0, 80)}`);
      }
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
      expect(({} as Record<string, unknown>)['instances']).to.equal(undefined);
      await unchanged('job prototype keys');
    });
  });

  // (mocha runs a suite's own tests before its nested suites: these come last by being a suite too)
  describe('afterwards', () => {
    it('a valid request still works (the 400s above were not a broken route)', async () => {
      const r = await send(env, 'POST', '/api/v1/hosts/maintenance/start', { hosts: ['agent-1'], dry_run: true });
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      await unchanged('dry run');
    });

    it('a job of 0 instances can be deleted, and its name reused (item 9)', async () => {
      expect((await api(env.url, 'POST', '/api/v1/jobs', job('idle', 0))).status).to.equal(201);
      expect((await api(env.url, 'DELETE', '/api/v1/jobs/idle')).status).to.equal(202);
      await env.until('idle deleted', async () => (await api(env.url, 'GET', '/api/v1/jobs/idle')).status === 404, 10_000, 500);
      expect(env.app.store.list('jobs').map(([k]) => k)).to.not.include('idle');
      expect((await api(env.url, 'POST', '/api/v1/jobs', job('idle', 1))).status).to.equal(201);
    });
  });
});
