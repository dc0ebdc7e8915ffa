/**
 * Other frameworks on a host Sluice takes down (issue #13 item 5). Real Sluice + real simulator with
 * other simulated frameworks over loopback HTTP on a VirtualClock; truth from the simulator: machine
 * down never takes another framework's task before the deadline, after it only when configured
 * (`others_at_deadline=down`, logged at warn and audited), and `host query` shows their tasks and
 * their inverse-offer answers.
 */
import { expect } from 'chai';
import { api, startEnv, type Env } from './workload-helpers.js';
import { hostStates, machineDown } from './maintenance-helpers.js';
import { captureLogger } from '../client/helpers.js';
import type { FlagValues } from '../../src/config.js';
import { renderHosts } from '../../src/cli/commands/host.js';

const HOST = 'agent-1';
const TERMINAL = /^TASK_(FINISHED|FAILED|KILLED|LOST|ERROR|DROPPED|GONE|GONE_BY_OPERATOR)$/;

interface Ended {
  taskId: string;
  to: string;
  at: number;
}

async function setup(flags: FlagValues, legacyLabels?: Record<string, string>): Promise<{ env: Env; cap: ReturnType<typeof captureLogger>; legacy: string; batch: string; ended: Map<string, Ended> }> {
  const cap = captureLogger();
  const env = await startEnv({
    sim: {
      agents: 4,
      racks: 2,
      otherFrameworks: [
        { name: 'legacy', behaviour: 'never', agents: [HOST], ...(legacyLabels ? { labels: legacyLabels } : {}) },
        { name: 'batch', behaviour: 'accept', agents: [HOST] },
      ],
    },
    flags,
    logger: cap.logger,
  });
  await env.until('Sluice registered', () => env.app.runtime.state.frameworkId !== undefined, 60_000, 500);
  const id = (name: string) => env.sim.others.views().find((v) => v.name === name)!.frameworkId;
  const legacy = id('legacy');
  const batch = id('batch');
  expect(env.sim.groundTruth().filter((t) => t.hostname === HOST && t.frameworkId === legacy).map((t) => t.state)).to.deep.equal(['TASK_RUNNING']);
  const ended = new Map<string, Ended>();
  env.sim.onTaskTransition((t) => {
    if (TERMINAL.test(t.to) && !ended.has(t.taskId)) ended.set(t.taskId, { taskId: t.taskId, to: t.to, at: env.clock.now() });
  });
  return { env, cap, legacy, batch, ended };
}

async function host(env: Env): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const h = (await hostStates(env)).get(HOST);
  expect(h, 'host record').to.not.equal(undefined);
  return h!;
}

describe('e2e: other frameworks on a host in maintenance', function () {
  this.timeout(120_000);
  let env: Env | undefined;
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('others_at_deadline=down: shows their tasks and answers, waits until the deadline, then downs and takes them (TASK_LOST), logged and audited', async () => {
    const s = await setup({ 'others-deadline': '2m', 'others-at-deadline': 'down' });
    env = s.env;
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [HOST], window: { start: '+1m', duration: '1h' } });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.until('host DRAINED', async () => (await host(env!)).state === 'DRAINED', 60_000, 500);
    const startMs = (await host(env)).window.start_ms as number;
    const deadline = startMs + 120_000;

    // host query: both other frameworks, their task on the host, their answers
    await env.until('other frameworks shown with their answers', async () => {
      const fws = ((await host(env!)).other_frameworks?.frameworks ?? []) as Array<{ framework_id: string; answer: string; task_count: number }>;
      return fws.some((f) => f.framework_id === s.batch && f.answer === 'ACCEPT') && fws.some((f) => f.framework_id === s.legacy && f.task_count === 1);
    }, 60_000, 1000);
    const shown = (await host(env)).other_frameworks as { frameworks: Array<{ framework_id: string; name?: string; answer: string; task_count: number; tasks: Array<{ task_id: string; state: string }> }> };
    const legacyShown = shown.frameworks.find((f) => f.framework_id === s.legacy)!;
    const legacyTask = env.sim.groundTruth().find((t) => t.hostname === HOST && t.frameworkId === s.legacy)!.taskId;
    expect(legacyShown).to.deep.include({ name: 'legacy', task_count: 1, tasks: [{ task_id: legacyTask, state: 'TASK_RUNNING' }] });
    expect(['NONE', 'UNKNOWN']).to.include(legacyShown.answer);
    expect(shown.frameworks.map((f) => f.framework_id)).to.not.include(env.frameworkId());
    // `sluice host query` renders them from the same answer
    const table = renderHosts(((await api(env.url, 'GET', '/api/v1/hosts')).body as { hosts: Parameters<typeof renderHosts>[0] }).hosts);
    expect(table).to.include(`${HOST}: `).and.include(`${s.legacy} (legacy) ${legacyShown.answer}, 1 task(s): ${legacyTask}`).and.include(`${s.batch} (batch) ACCEPT`);

    // before the deadline: never down, their task still RUNNING (simulator ground truth)
    await env.until('just before the deadline', async () => {
      expect(await machineDown(env!, HOST), 'machine down before the others deadline').to.equal(false);
      expect(env!.sim.groundTruth().some((t) => t.taskId === legacyTask && t.state === 'TASK_RUNNING'), 'legacy task still running').to.equal(true);
      return env!.clock.now() >= deadline - 2000;
    }, 10 * 60_000, 1000);
    expect((await host(env)).waiting, 'host query says why').to.match(/waiting for other frameworks/);

    // after it: down, their tasks end TASK_LOST, never earlier than the deadline
    await env.until('host DOWN', async () => (await host(env!)).state === 'DOWN', 5 * 60_000, 1000);
    expect(await machineDown(env, HOST)).to.equal(true);
    // the agent's side: the task ended no earlier than the deadline; the framework's side (what the
    // master told it): TASK_LOST
    const end = s.ended.get(legacyTask);
    expect(end, 'legacy task ended on the agent').to.not.equal(undefined);
    expect(end!.at).to.be.at.least(deadline);
    const state = (await api(env.sim.url, 'GET', '/master/state')).body as { frameworks: Array<{ id: string; completed_tasks?: Array<{ id: string; state: string }> }> };
    const seen = state.frameworks.find((f) => f.id === s.legacy)?.completed_tasks?.find((t) => t.id === legacyTask);
    expect(seen?.state).to.equal('TASK_LOST');

    const warned = s.cap.events('machine_down_takes_other_tasks');
    expect(warned).to.have.length(1);
    expect(warned[0]!.level).to.equal('warn');
    const fws = warned[0]!['frameworks'] as Array<{ framework_id: string; task_ids: string[] }>;
    expect(fws.map((f) => f.framework_id)).to.deep.equal([s.legacy]);
    expect(fws[0]!.task_ids).to.deep.equal([legacyTask]);

    const audit = (await api(env.url, 'GET', `/api/v1/audit?host=${HOST}`)).body as { entries: Array<{ kind: string; actor: string; detail?: Record<string, any> }> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const down = audit.entries.find((e) => e.kind === 'machine_down')!;
    expect(down.detail?.['others_taken']).to.deep.equal([{ framework_id: s.legacy, framework_name: 'legacy', answer: legacyShown.answer, task_count: 1, task_ids: [legacyTask] }]);
    const answers = audit.entries.filter((e) => e.kind === 'inverse_offer' && e.detail?.['other_framework']);
    expect(answers.map((e) => [e.detail!['framework_id'], e.detail!['answer']])).to.deep.include([s.batch, 'ACCEPT']);
  });

  it('others_at_deadline=wait (default): past the window start the machine stays up while their task runs; down once it has finished', async () => {
    // the legacy task ends by itself (TASK_FINISHED) 10 minutes after it started
    const s = await setup({}, { 'sim.finish_after_seconds': '600' });
    env = s.env;
    const legacyTask = env.sim.groundTruth().find((t) => t.hostname === HOST && t.frameworkId === s.legacy)!.taskId;
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [HOST], window: { start: '+1m', duration: '1h' } });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.until('host DRAINED', async () => (await host(env!)).state === 'DRAINED', 60_000, 500);
    const startMs = (await host(env)).window.start_ms as number;

    // well past the window start (the deadline): still not down, their task running, a warning once
    await env.until('3 minutes past the window start', async () => {
      if (!s.ended.has(legacyTask)) expect(await machineDown(env!, HOST), 'machine down while their task runs').to.equal(false);
      return env!.clock.now() >= startMs + 180_000;
    }, 10 * 60_000, 1000);
    expect(env.sim.groundTruth().some((t) => t.taskId === legacyTask && t.state === 'TASK_RUNNING')).to.equal(true);
    expect((await host(env)).state).to.equal('DRAINED');
    expect((await host(env)).waiting).to.match(/others_at_deadline=wait/);
    const waits = s.cap.events('machine_down_waits_for_other_frameworks');
    expect(waits).to.have.length(1);
    expect(waits[0]!.level).to.equal('warn');

    // their task finishes on its own: then the machine goes down, having taken nothing of theirs
    await env.until('host DOWN', async () => (await host(env!)).state === 'DOWN', 15 * 60_000, 2000);
    expect(s.ended.get(legacyTask)?.to).to.equal('TASK_FINISHED');
    expect(s.cap.events('machine_down_takes_other_tasks')).to.deep.equal([]);
    const audit = (await api(env.url, 'GET', `/api/v1/audit?host=${HOST}`)).body as { entries: Array<{ kind: string; detail?: Record<string, unknown> }> };
    expect(audit.entries.find((e) => e.kind === 'machine_down')?.detail?.['others_taken']).to.equal(undefined);
  });
});
