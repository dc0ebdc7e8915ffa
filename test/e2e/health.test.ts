/**
 * Issue 12 item 1 end to end: health checks reach the agent as TaskInfo.health_check, the
 * simulated executor reports health (TASK_RUNNING + healthy, REASON_TASK_HEALTH_CHECK_STATUS_UPDATED),
 * and an instance counts as up only while healthy: a drain that "RUNNING long enough" would allow is
 * blocked while instances are unhealthy and resumes when they recover.
 * Real Sluice + real simulator over loopback HTTP on a VirtualClock; truth from the simulator.
 */
import { expect } from 'chai';
import { jsonCodec, protobufCodec } from '../../src/mesos/codec.js';
import { HEALTH_CHECK_DEFAULTS, type TaskInfo } from '../../src/mesos/types.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { parseTaskId } from '../../src/scheduler/task-id.js';
import { api, startEnv, type Env } from './workload-helpers.js';
import { allRunning, hostStates, job, SlaWatch } from './maintenance-helpers.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const CALL = 'mesos.v1.scheduler.Call';

interface Tap {
  url: string;
  close(): Promise<void>;
}

/**
 * A recording proxy in front of the simulated master: every scheduler call body is handed to
 * `onCall` as the master receives it; the master's redirect (`/master/redirect`) is rewritten to
 * point at the proxy, so Sluice sends its scheduler calls through it, as to a real leader.
 */
async function startTap(target: () => string, onCall: (raw: Buffer) => void): Promise<Tap> {
  let self = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url?.startsWith('/api/v1/scheduler') && body.length) onCall(body);
      const to = new URL(target());
      const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } }, (ures) => {
        const headers = { ...ures.headers };
        if (typeof headers.location === 'string') headers.location = headers.location.replace(to.host, new URL(self).host);
        res.writeHead(ures.statusCode ?? 502, headers);
        ures.pipe(res);
      });
      up.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
      res.on('close', () => up.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: self,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('e2e: health checks (issue 12)', function () {
  this.timeout(180_000);
  let env: Env | undefined;
  let proxy: Tap | undefined;
  afterEach(async () => {
    await env?.stop();
    await proxy?.close();
    env = undefined;
    proxy = undefined;
  });

  it('health check fields round-trip: the TaskInfos the master received carry what the job asked', async () => {
    let simUrl = 'http://127.0.0.1:1';
    const launched: TaskInfo[] = [];
    proxy = await startTap(
      () => simUrl,
      (raw) => {
        const codec = raw[0] === 0x7b ? jsonCodec : protobufCodec;
        const call = codec.decode<{ type: string; accept?: { operations?: Array<{ launch?: { task_infos?: TaskInfo[] } }> } }>(CALL, raw);
        if (call.type === 'ACCEPT') for (const op of call.accept?.operations ?? []) launched.push(...(op.launch?.task_infos ?? []));
      },
    );
    env = await startEnv({ master: proxy.url, sim: { agents: 3, racks: 1 } });
    simUrl = env.sim.url;
    const specs: JobSpec[] = [
      job('h-http', 2, { health_check: { http: { port: 8080, path: '/health', scheme: 'https', statuses: [200, 204] }, delay_seconds: 1.5, interval_seconds: 5, timeout_seconds: 2, grace_period_seconds: 20, consecutive_failures: 4 } }),
      job('h-tcp', 1, { health_check: { tcp: { port: 31000 }, timeout_seconds: 0 } }),
      job('h-cmd', 1, { health_check: { command: { value: '/bin/check', shell: false, arguments: ['/bin/check', '--deep'] }, interval_seconds: 30 } }),
    ];
    const expected: Record<string, Record<string, unknown>> = {
      'h-http': { type: 'HTTP', http: { port: 8080, path: '/health', scheme: 'https', statuses: [200, 204] }, delay_seconds: 1.5, interval_seconds: 5, timeout_seconds: 2, grace_period_seconds: 20, consecutive_failures: 4 },
      'h-tcp': { type: 'TCP', tcp: { port: 31000 }, timeout_seconds: 0 },
      'h-cmd': { type: 'COMMAND', command: { value: '/bin/check', shell: false, arguments: ['/bin/check', '--deep'] }, interval_seconds: 30 },
    };
    for (const s of specs) expect((await api(env.url, 'POST', '/api/v1/jobs', s)).status).to.equal(201);
    await env.until('every job RUNNING', async () => (await allRunning(env!, 'h-http', 2)) && (await allRunning(env!, 'h-cmd', 1)) && allRunning(env!, 'h-tcp', 1), 120_000, 1000);
    expect(launched.map((t) => parseTaskId(t.task_id.value)!.job).sort()).to.deep.equal(['h-cmd', 'h-http', 'h-http', 'h-tcp']);
    for (const t of launched) {
      const want = expected[parseTaskId(t.task_id.value)!.job]!;
      const got = t.health_check as Record<string, unknown>;
      // what the job asked, field by field; anything else the wire carries is the mesos.proto default
      for (const [k, v] of Object.entries(want)) {
        if (typeof v === 'object' && v !== null) expect(got[k], `${t.task_id.value} ${k}`).to.deep.include(v);
        else expect(got[k], `${t.task_id.value} ${k}`).to.equal(v);
      }
      for (const [k, v] of Object.entries(got)) {
        if (k in want) continue;
        expect(v, `${t.task_id.value} ${k}`).to.equal(HEALTH_CHECK_DEFAULTS[k as keyof typeof HEALTH_CHECK_DEFAULTS]);
      }
      const http = got['http'] as Record<string, unknown> | undefined;
      if (http) expect(Object.keys(http).filter((k) => !['port', 'path', 'scheme', 'statuses', 'protocol'].includes(k))).to.deep.equal([]);
      if (http && 'protocol' in http) expect(http['protocol']).to.equal('IPv4');
    }
    // the simulated executors ran the checks and reported them: every instance healthy in `job get`
    await env.until('healthy reported', async () => {
      const r = await api(env!.url, 'GET', '/api/v1/jobs/h-tcp');
      return r.body.instances[0]?.healthy === true;
    }, 120_000, 1000);
  });

  it('unhealthy instances are never counted up: a drain "running long enough" would allow waits for recovery, then finishes', async () => {
    env = await startEnv({ sim: { agents: 8, racks: 2 } });
    const fw = () => env!.frameworkId();
    // every task fails its checks for its first 300 s, then passes; the executor never kills it
    const api4: JobSpec = job('api', 4, {
      sla: { kind: 'count', count: 3, duration_seconds: 60 },
      constraints: { host_unique: true },
      health_check: { tcp: { port: 31000 }, delay_seconds: 0, interval_seconds: 5, grace_period_seconds: 0, consecutive_failures: 1000 },
      labels: { 'sim.health': 'recover-after:300' },
    });
    expect((await api(env.url, 'POST', '/api/v1/jobs', api4)).status).to.equal(201);
    await env.until('api RUNNING', () => allRunning(env!, 'api', 4), 120_000, 1000);
    await env.advance(120_000, 2000);
    // RUNNING for twice the SLA duration: by "running long enough" alone 4 are up and one may go
    let view = (await api(env.url, 'GET', '/api/v1/jobs/api')).body;
    const now = env.clock.now();
    expect(view.instances.every((i: { running_since_ms: number }) => now - i.running_since_ms >= 60_000)).to.equal(true);
    expect(view.instances.map((i: { healthy: boolean }) => i.healthy)).to.deep.equal([false, false, false, false]);
    expect(view.unhealthy).to.equal(4);
    const recoverAt = Math.max(...view.instances.map((i: { running_since_ms: number }) => i.running_since_ms)) + 300_000 - 1000;

    const kills: Array<{ at: number; job: string }> = [];
    const sub = env.sim.events$.subscribe((e) => {
      if (e.kind === 'call' && e.type === 'KILL') kills.push({ at: env!.clock.now(), job: 'api' });
    });
    const watch = new SlaWatch(env.sim, fw(), [api4]);
    const host = view.instances[0].host as string;
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host] });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.advance(60_000, 2000);
    expect(kills, 'no KILL while the instances are unhealthy').to.deep.equal([]);
    const q = (await hostStates(env)).get(host);
    expect(JSON.stringify(q)).to.match(/unhealthy/);

    await env.until(`${host} drained`, async () => {
      const st = (await hostStates(env!)).get(host)?.state;
      return st === 'DRAINED' || st === 'DOWN';
    }, 20 * 60_000, 5000);
    sub.unsubscribe();
    watch.stop();
    expect(kills.length, 'the drain killed the instance once they were healthy').to.be.at.least(1);
    expect(kills[0]!.at).to.be.at.least(recoverAt);
    expect(watch.violations).to.deep.equal([]);
    view = (await api(env.url, 'GET', '/api/v1/jobs/api')).body;
    expect(view.instances.some((i: { host: string }) => i.host === host)).to.equal(false);
  });
});
