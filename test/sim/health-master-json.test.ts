/**
 * The master's view of a task's health check, end to end: real Sluice launches a job whose HTTP
 * health check names an allocated port (`port_index`) on the real simulator over loopback. The
 * TaskInfo reaches the master with the resolved port, and the simulator shows it as a Mesos 1.12
 * master does (src/common/http.cpp json(JSON::ObjectWriter*, const Task&): `health_check` as
 * JSON::Protobuf — every field set or with a default, in declaration order — after `labels`;
 * statuses with `healthy`; the operator API's Task.health_check (15), copied by
 * protobuf::createTask). A job with a hostile port_index is refused over the API with a 400.
 */
import { expect } from 'chai';
import { jsonCodec } from '../../src/mesos/codec.js';
import { api, startEnv, type Env } from '../e2e/workload-helpers.js';
import { allRunning, job } from '../e2e/maintenance-helpers.js';

/** "[31000-31001, 31005-31005]" → [31000, 31001, 31005] */
function portsOf(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/(\d+)-(\d+)/g)) for (let p = Number(m[1]); p <= Number(m[2]); p++) out.push(p);
  return out;
}

describe('sim: the master shows a task\'s health_check (issue 12)', function () {
  this.timeout(120_000);
  let env: Env;
  afterEach(async () => env?.stop());

  it('/master/tasks, /master/state and GET_TASKS carry the health check with the port resolved from port_index', async () => {
    env = await startEnv({ sim: { agents: 2, racks: 1 } });
    const web = job('web', 2, { resources: { cpus: 0.5, mem: 128, ports: 2 }, health_check: { http: { port_index: 1, path: '/health' }, delay_seconds: 1, interval_seconds: 2 } });
    expect((await api(env.url, 'POST', '/api/v1/jobs', web)).status).to.equal(201);
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('plain', 1))).status).to.equal(201);
    await env.until('web RUNNING', () => allRunning(env, 'web', 2), 60_000, 1000);
    await env.until('plain RUNNING', () => allRunning(env, 'plain', 1), 60_000, 1000);
    await env.advance(10_000, 1000); // the checks ran

    const raw = await (await fetch(`${env.sim.url}/master/tasks`)).text();
    const tasks = (JSON.parse(raw) as { tasks: Array<Record<string, any>> }).tasks; // eslint-disable-line @typescript-eslint/no-explicit-any
    const ours = tasks.filter((t) => String(t['name']).startsWith('web.'));
    expect(ours).to.have.length(2);
    for (const t of ours) {
      const ports = portsOf(String(t['resources']['ports']));
      expect(ports).to.have.length(2);
      const text = `"health_check":{"delay_seconds":1.0,"interval_seconds":2.0,"timeout_seconds":20.0,"consecutive_failures":3,"grace_period_seconds":10.0,"type":"HTTP","http":{"protocol":"IPv4","port":${ports[1]},"path":"/health"}}`;
      // the last field of the task, right after its labels, byte for byte
      expect(raw).to.match(new RegExp(`"id":"${t['id']}"[^]*?"labels":\\[[^\\]]*\\],${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\}`));
      expect(Object.keys(t).slice(-2)).to.deep.equal(['labels', 'health_check']);
      expect((t['statuses'] as Array<Record<string, unknown>>).some((s) => s['healthy'] === true)).to.equal(true);
    }
    const plain = tasks.find((t) => String(t['name']).startsWith('plain.'))!;
    expect(plain).to.not.have.property('health_check');
    expect((plain['statuses'] as Array<Record<string, unknown>>).every((s) => !('healthy' in s))).to.equal(true);

    // /master/state: the same task JSON
    const state = (await (await fetch(`${env.sim.url}/master/state`)).json()) as { frameworks: Array<{ tasks: Array<Record<string, unknown>> }> };
    const inState = state.frameworks.flatMap((f) => f.tasks).filter((t) => String(t['name']).startsWith('web.'));
    expect(inState.map((t) => t['health_check']).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).to.deep.equal(
      ours.map((t) => t['health_check']).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );

    // the operator API: Task.health_check in the Mesos object form
    const res = await fetch(`${env.sim.url}/api/v1`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ type: 'GET_TASKS' }) });
    const v1 = jsonCodec.decode<Record<string, any>>('mesos.v1.master.Response', Buffer.from(await res.arrayBuffer())); // eslint-disable-line @typescript-eslint/no-explicit-any
    const v1web = (v1['get_tasks']['tasks'] as Array<Record<string, any>>).filter((t) => String(t['name']).startsWith('web.')); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(v1web).to.have.length(2);
    for (const t of v1web) {
      const master = ours.find((o) => o['id'] === t['task_id']['value'])!;
      expect(t['health_check']).to.deep.equal({ delay_seconds: 1, interval_seconds: 2, timeout_seconds: 20, consecutive_failures: 3, grace_period_seconds: 10, type: 'HTTP', http: { protocol: 'IPv4', port: master['health_check']['http']['port'], path: '/health' } });
    }
    expect((v1['get_tasks']['tasks'] as Array<Record<string, unknown>>).find((t) => String(t['name']).startsWith('plain.'))).to.not.have.property('health_check');

    // hostile port_index over the API: 400 with the field path, nothing created
    for (const [check, ports, msg] of [
      [{ http: { port_index: 2 } }, 2, /port_index must be 0 to 1/],
      [{ tcp: { port_index: -1 } }, 1, /at least 0/],
      [{ tcp: { port_index: 0.5 } }, 1, /whole number/],
      [{ tcp: { port_index: 0 } }, 0, /the task gets no ports/],
    ] as const) {
      const r = await api(env.url, 'POST', '/api/v1/jobs', job('bad', 1, { resources: { cpus: 0.1, mem: 32, ports }, health_check: check as never }));
      expect(r.status, JSON.stringify(r.body)).to.equal(400);
      const d = (r.body.details as Array<{ path: string; message: string }>).find((x) => x.path.endsWith('.port_index'));
      expect(d, JSON.stringify(r.body)).to.not.equal(undefined);
      expect(d!.message).to.match(msg);
    }
    expect((await api(env.url, 'GET', '/api/v1/jobs/bad')).status).to.equal(404);
  });
});
