/**
 * others_at_deadline=drain_agent end to end (issue #13 item 5): real Sluice and the real simulator
 * over loopback HTTP on a VirtualClock, with other simulated frameworks on the host — one that
 * ignores inverse offers (and has a long kill grace), one that accepts them — and another
 * operator's window on another machine. Ground truth from the simulator: no other framework's task
 * ends before the others deadline; after it the agent is drained (tasks killed within
 * max_grace_period, TASK_KILLED), the machine goes down, the other operator's window is untouched
 * throughout, and REACTIVATE_AGENT makes the agent offered again once the host is UP.
 */
import { expect } from 'chai';
import { api, startEnv, type Env } from '../e2e/workload-helpers.js';
import { hostStates, metric, machineDown } from '../e2e/maintenance-helpers.js';
import { captureLogger } from '../client/helpers.js';

const HOST = 'agent-1';
const OTHER_OPERATOR_HOST = 'agent-4';
const TERMINAL = /^TASK_(FINISHED|FAILED|KILLED|LOST|ERROR|DROPPED|GONE|GONE_BY_OPERATOR)$/;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function host(env: Env): Promise<Json> {
  const h = (await hostStates(env)).get(HOST);
  expect(h, 'host record').to.not.equal(undefined);
  return h as Json;
}

async function masterGet(env: Env, p: string): Promise<Json> {
  return (await api(env.sim.url, 'GET', p)).body as Json;
}

async function otherOperatorWindow(env: Env): Promise<Json | undefined> {
  const s = await masterGet(env, '/master/maintenance/schedule');
  return (s['windows'] ?? []).find((w: Json) => (w['machine_ids'] ?? []).some((m: Json) => m['hostname'] === OTHER_OPERATOR_HOST));
}

async function drainSteps(env: Env): Promise<string[]> {
  const a = (await api(env.url, 'GET', `/api/v1/audit?host=${HOST}&kind=drain_agent`)).body as { entries: Json[] };
  return a.entries.map((e) => e['detail']['step'] as string);
}

async function setup(): Promise<{ env: Env; cap: ReturnType<typeof captureLogger>; ended: Map<string, { to: string; at: number }>; legacy: string; batch: string; window: Json }> {
  const cap = captureLogger();
  const env = await startEnv({
    sim: {
      agents: 4,
      racks: 2,
      otherFrameworks: [
        // ignores inverse offers; its own kill grace (60 s) is longer than max_grace_period (10 s)
        { name: 'legacy', behaviour: 'never', agents: [HOST, 'agent-3'], killGracePeriodSeconds: 60 },
        { name: 'batch', behaviour: 'accept', agents: [HOST] },
      ],
    },
    flags: { 'others-deadline': '2m', 'others-at-deadline': 'drain_agent', 'drain-agent-max-grace-period': '10s' },
    logger: cap.logger,
  });
  await env.until('Sluice registered', () => env.app.runtime.state.frameworkId !== undefined, 60_000, 500);
  const id = (name: string) => env.sim.others.views().find((v) => v.name === name)!.frameworkId;
  const ended = new Map<string, { to: string; at: number }>();
  env.sim.onTaskTransition((t) => {
    if (TERMINAL.test(t.to) && !ended.has(t.taskId)) ended.set(t.taskId, { to: t.to, at: env.clock.now() });
  });
  // another operator's window on another machine, posted before Sluice's
  const a4 = env.sim.findAgent(OTHER_OPERATOR_HOST);
  const theirs = { windows: [{ machine_ids: [{ hostname: a4.hostname, ip: a4.ip }], unavailability: { start: { nanoseconds: (BigInt(env.clock.now()) + 86_400_000n) * 1_000_000n }, duration: { nanoseconds: 3_600_000_000_000n } } }] };
  const posted = await fetch(env.sim.url + '/master/maintenance/schedule', { method: 'POST', body: JSON.stringify(theirs, (_k, v: unknown) => (typeof v === 'bigint' ? `#${v}#` : v)).replace(/"#(\d+)#"/g, '$1') });
  expect(posted.status).to.equal(200);
  const window = (await otherOperatorWindow(env))!;
  expect(window, 'the other operator\'s window').to.not.equal(undefined);
  return { env, cap, ended, legacy: id('legacy'), batch: id('batch'), window };
}

describe('e2e: others_at_deadline=drain_agent', function () {
  this.timeout(180_000);
  let env: Env | undefined;
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('waits until the deadline, then window out / DRAIN_AGENT / DRAINED / window back / machine down; other windows untouched; complete reactivates', async () => {
    const s = await setup();
    env = s.env;
    const onHost = (fw: string) => env!.sim.groundTruth().filter((t) => t.hostname === HOST && t.frameworkId === fw).map((t) => t.taskId);
    const legacyTask = onHost(s.legacy)[0]!;
    const batchTask = onHost(s.batch)[0]!;
    const elsewhere = env.sim.groundTruth().find((t) => t.hostname === 'agent-3' && t.frameworkId === s.legacy)!.taskId;
    expect([legacyTask, batchTask, elsewhere].every(Boolean)).to.equal(true);

    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [HOST], window: { start: '+1m', duration: '1h' } });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.until('host DRAINED', async () => (await host(env!)).state === 'DRAINED', 60_000, 500);
    const startMs = (await host(env)).window.start_ms as number;
    const deadline = startMs + 120_000;

    // before the deadline: nothing of theirs ends, no drain, the machine stays up
    await env.until('just before the deadline', async () => {
      expect(s.ended.has(legacyTask), 'legacy task ended before the deadline').to.equal(false);
      expect(await machineDown(env!, HOST), 'machine down before the deadline').to.equal(false);
      expect(await drainSteps(env!), 'agent drain before the deadline').to.deep.equal([]);
      return env!.clock.now() >= deadline - 2000;
    }, 10 * 60_000, 1000);

    // after it: the drain runs, then machine down; the other operator's window never changes
    let sawWatch = false;
    await env.until('host DOWN', async () => {
      expect(await otherOperatorWindow(env!), 'the other operator\'s window').to.deep.equal(s.window);
      const h = await host(env!);
      if (h['drain_agent']?.['step'] === 'watch') {
        sawWatch = true;
        expect(h['waiting']).to.match(/agent drain/);
        const agent = ((await masterGet(env!, '/master/state'))['slaves'] as Json[]).find((a) => a['hostname'] === HOST)!;
        expect(agent['deactivated']).to.equal(true);
        expect(['DRAINING', 'DRAINED']).to.include(agent['drain_info']['state']);
        expect(agent['drain_info']['config']).to.deep.equal({ mark_gone: false, max_grace_period: { nanoseconds: 10_000_000_000 } });
      }
      return h['state'] === 'DOWN';
    }, 5 * 60_000, 500);
    expect(sawWatch, 'host query showed the drain under way').to.equal(true);
    expect(await machineDown(env, HOST)).to.equal(true);
    expect(await drainSteps(env)).to.deep.equal(['started', 'window_out', 'drain_sent', 'drained', 'window_back']);

    // their tasks on the host were killed by the drain (TASK_KILLED), after the deadline and within
    // max_grace_period of it (not their own 60 s grace); their task elsewhere still runs
    for (const t of [legacyTask, batchTask]) {
      const e = s.ended.get(t);
      expect(e, `${t} ended`).to.not.equal(undefined);
      expect(e!.at).to.be.at.least(deadline);
    }
    expect(s.ended.get(legacyTask)!.at - deadline).to.be.below(60_000);
    const state = await masterGet(env, '/master/state');
    const completed = (fw: string) => ((state['frameworks'] as Json[]).find((f) => f['id'] === fw)?.['completed_tasks'] ?? []) as Json[];
    expect(completed(s.legacy).find((t) => t['id'] === legacyTask)?.['state']).to.equal('TASK_KILLED');
    expect(completed(s.batch).find((t) => t['id'] === batchTask)?.['state']).to.equal('TASK_KILLED');
    expect(env.sim.groundTruth().find((t) => t.taskId === elsewhere)?.state).to.equal('TASK_RUNNING');

    // loud: the start names the framework that ignored the inverse offer and its task
    const started = s.cap.events('drain_agent_started');
    expect(started).to.have.length(1);
    expect(started[0]!.level).to.equal('warn');
    expect((started[0]!['frameworks'] as Json[]).map((f) => [f['framework_id'], f['task_ids']])).to.deep.equal([[s.legacy, [legacyTask]]]);
    for (const ev of ['drain_agent_draining', 'drain_agent_window_out', 'drain_agent_drained', 'drain_agent_window_back']) {
      const logged = s.cap.events(ev);
      expect(logged.map((e) => e.level), ev).to.deep.equal(['warn']);
      expect((logged[0]!['frameworks'] as Json[]).map((f) => f['framework_id']), ev).to.deep.equal([s.legacy]);
    }
    const metrics = await fetch(env.url + '/metrics').then((r) => r.text());
    expect(metric(metrics, 'sluice_drain_agent_steps_total', { step: 'drain_sent' })).to.equal(1);

    // complete: machine up, the window gone; the agent's deactivation went with machine down, so
    // REACTIVATE_AGENT is answered "not deactivated" and counts as done
    const done = await api(env.url, 'POST', '/api/v1/hosts/maintenance/complete', { hosts: [HOST] });
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    await env.until('reactivated', async () => (await drainSteps(env!)).includes('reactivated'), 60_000, 500);
    expect((await host(env)).state).to.equal('UP');
    expect((await host(env))['drain_agent']).to.equal(undefined);
    expect(await otherOperatorWindow(env)).to.deep.equal(s.window);
  });

  it('paused during the drain: the flow still puts the window back but no machine down; abort → REACTIVATE_AGENT, the agent is active again', async () => {
    const s = await setup();
    env = s.env;
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [HOST], window: { start: '+10s', duration: '1h' } });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.until('DRAIN_AGENT accepted', async () => (await drainSteps(env!)).includes('drain_sent'), 10 * 60_000, 500);
    const paused = await api(env.url, 'POST', '/api/v1/hosts/maintenance/pause', { hosts: [HOST], reason: 'hold it' });
    expect(paused.status, JSON.stringify(paused.body)).to.equal(200);
    await env.until('window back', async () => (await drainSteps(env!)).includes('window_back'), 5 * 60_000, 500);
    await env.advance(30_000, 1000);
    expect(await machineDown(env, HOST), 'machine down while paused').to.equal(false);
    expect((await host(env)).state).to.equal('DRAINED');
    const agentId = env.sim.findAgent(HOST).id;
    const slave = async () => ((await masterGet(env!, '/master/state'))['slaves'] as Json[]).find((a) => a['id'] === agentId)!;
    expect((await slave())['deactivated']).to.equal(true);
    expect((await slave())['drain_info']['state']).to.equal('DRAINED');

    const aborted = await api(env.url, 'POST', '/api/v1/hosts/maintenance/abort', { hosts: [HOST], reason: 'not today' });
    expect(aborted.status, JSON.stringify(aborted.body)).to.equal(200);
    await env.until('reactivated', async () => (await drainSteps(env!)).includes('reactivated'), 60_000, 500);
    const a = (await api(env.url, 'GET', `/api/v1/audit?host=${HOST}&kind=drain_agent`)).body as { entries: Json[] };
    expect(a.entries.find((e) => e['detail']['step'] === 'reactivated')!['detail']['not_deactivated']).to.equal(false);
    expect((await slave())['deactivated']).to.equal(false);
    expect((await slave())['drain_info']).to.equal(undefined);
    expect((await slave())['active']).to.equal(true);
    expect(await otherOperatorWindow(env)).to.deep.equal(s.window);
  });
});
