/**
 * Other frameworks on a host Sluice takes down, across a restart of Sluice on the same store
 * directory (issue #13 item 5 follow-up). Real Sluice + simulator with other simulated frameworks
 * over loopback HTTP, VirtualClock; truth from the simulator (machine mode, their tasks).
 * What must survive the restart is on the host record: their answers already audited (not audited
 * again), when the wait for them began, and the warning at the deadline (given once). The deadline
 * itself is the window start + others_deadline, so a restart can neither restart it nor bring a
 * machine down before it.
 */
import { expect } from 'chai';
import { api, startEnv, type Env } from '../e2e/workload-helpers.js';
import { hostStates, machineDown } from '../e2e/maintenance-helpers.js';
import { captureLogger } from '../client/helpers.js';
import type { FlagValues } from '../../src/config.js';

const HOST = 'agent-1';

async function setup(flags: FlagValues): Promise<{ env: Env; cap: ReturnType<typeof captureLogger>; legacy: string; batch: string; legacyTask: string }> {
  const cap = captureLogger();
  const env = await startEnv({
    sim: { agents: 4, racks: 2, otherFrameworks: [{ name: 'legacy', behaviour: 'never', agents: [HOST] }, { name: 'batch', behaviour: 'accept', agents: [HOST] }] },
    flags,
    logger: cap.logger,
  });
  await env.until('Sluice registered', () => env.app.runtime.state.frameworkId !== undefined, 60_000, 500);
  const id = (name: string) => env.sim.others.views().find((v) => v.name === name)!.frameworkId;
  const legacy = id('legacy');
  const legacyTask = env.sim.groundTruth().find((t) => t.hostname === HOST && t.frameworkId === legacy)!.taskId;
  return { env, cap, legacy, batch: id('batch'), legacyTask };
}

async function host(env: Env): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const h = (await hostStates(env)).get(HOST);
  expect(h, 'host record').to.not.equal(undefined);
  return h!;
}

/** The other frameworks' answers in the audit trail of HOST: [framework id, answer]. */
async function answersAudited(env: Env): Promise<Array<[string, string]>> {
  const r = await api(env.url, 'GET', `/api/v1/audit?host=${HOST}&kind=inverse_offer`);
  expect(r.status).to.equal(200);
  return (r.body.entries as Array<{ detail?: Record<string, unknown> }>).filter((e) => e.detail?.['other_framework']).map((e) => [e.detail!['framework_id'] as string, e.detail!['answer'] as string]);
}

describe('e2e: other frameworks across a restart of Sluice (same store)', function () {
  this.timeout(180_000);
  let env: Env | undefined;
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('others_at_deadline=down: after a restart mid-wait, answers are not audited again, the wait keeps its start, and machine down comes at the deadline, not before', async () => {
    const s = await setup({ 'others-deadline': '4m', 'others-at-deadline': 'down' });
    env = s.env;
    const e = env;
    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [HOST], window: { start: '+1m', duration: '1h' } });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await e.until('DRAINED, the batch framework\'s ACCEPT audited, the wait begun', async () => {
      const h = await host(e);
      return h.state === 'DRAINED' && h['others_waiting_since_ms'] !== undefined && (await answersAudited(e)).some(([f, a]) => f === s.batch && a === 'ACCEPT');
    }, 5 * 60_000, 1000);
    const h0 = await host(e);
    const since = h0['others_waiting_since_ms'] as number;
    const deadline = (h0['window'].start_ms as number) + 4 * 60_000;
    const audited = await answersAudited(e);
    expect(e.clock.now(), 'restarting before the deadline').to.be.below(deadline - 60_000);

    await e.restartSluice();
    await e.until('the deadline', async () => {
      expect(await machineDown(e, HOST), 'machine down before the others deadline').to.equal(false);
      expect(e.sim.groundTruth().some((t) => t.taskId === s.legacyTask && t.state === 'TASK_RUNNING'), 'their task still running').to.equal(true);
      return e.clock.now() >= deadline - 1000;
    }, 10 * 60_000, 1000);
    expect((await host(e))['others_waiting_since_ms'], 'the wait began before the restart').to.equal(since);
    await e.until('host DOWN', async () => (await host(e)).state === 'DOWN', 5 * 60_000, 1000);
    expect(await machineDown(e, HOST)).to.equal(true);
    expect(await answersAudited(e), 'no answer audited twice').to.deep.equal(audited);
    expect(s.cap.events('machine_down_takes_other_tasks')).to.have.length(1);
  });

  it('others_at_deadline=wait: the warning at the deadline is given once, not again after a restart; the machine stays up while their task runs', async () => {
    const s = await setup({ 'others-deadline': '1m' });
    env = s.env;
    const e = env;
    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [HOST], window: { start: '+1m', duration: '1h' } });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await e.until('warned: the deadline passed with their task on the host', () => s.cap.events('machine_down_waits_for_other_frameworks').length > 0, 10 * 60_000, 1000);
    await e.restartSluice();
    await e.advance(3 * 60_000, 1000);
    expect(s.cap.events('machine_down_waits_for_other_frameworks'), 'warned once across the restart').to.have.length(1);
    expect(await machineDown(e, HOST)).to.equal(false);
    expect((await host(e)).state).to.equal('DRAINED');
    expect(e.sim.groundTruth().some((t) => t.taskId === s.legacyTask && t.state === 'TASK_RUNNING')).to.equal(true);
  });
});
