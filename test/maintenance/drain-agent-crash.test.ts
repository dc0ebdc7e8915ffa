/**
 * kill -9 during others_at_deadline=drain_agent. The simulator runs in this process on its real
 * clock, with another framework that ignores inverse offers on the host; Sluice runs as a child
 * process with its store on disk and talks to the master through a proxy that SIGKILLs it once the
 * master has answered 200 to a step and before Sluice hears the answer (the master took it, Sluice
 * never knew). Sluice is restarted on the same store each time and must resume the flow at the step
 * it was at, ending with the machine down and nobody else's window changed.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { startSim, type Sim } from '../../src/sim/index.js';
import { api, quietLogger, tmpDir, type Env } from '../e2e/workload-helpers.js';
import { hostStates, masterJson } from '../e2e/maintenance-helpers.js';
import { spawnSluice, waitFor, type Child } from '../e2e/maintenance-child.js';
import { startMasterProxy, type MasterProxy, type ProxiedRequest } from '../e2e/maintenance-proxy.js';

const HOST = 'agent-1';
const ARGS = ['--others-at-deadline', 'drain_agent', '--drain-agent-max-grace-period', '2s'];

describe('e2e: kill -9 between the steps of an agent drain (drain_agent)', function () {
  this.timeout(120_000);
  let sim: Sim;
  let proxy: MasterProxy;
  let children: ChildProcess[] = [];

  beforeEach(async () => {
    sim = await startSim({
      agents: 3,
      racks: 1,
      seed: 5,
      taskStartupDelayMs: 100,
      logger: quietLogger(),
      otherFrameworks: [{ name: 'legacy', behaviour: 'never', agents: [HOST], killGracePeriodSeconds: 30 }],
    });
    proxy = await startMasterProxy(sim.url);
  });
  afterEach(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children = [];
    await proxy.close();
    await sim.close();
  });

  const start = async (storeDir: string): Promise<Child> => {
    const c = await spawnSluice(proxy.url, storeDir, { args: ARGS });
    children.push(c.proc);
    return c;
  };
  /** Kill the child once the master has answered 200 to a request `match` accepts, before Sluice hears it. */
  const killOn = (match: (r: ProxiedRequest) => boolean, c: () => Child): { fired: () => boolean } => {
    let fired = false;
    proxy.onAnswer = async (req, status) => {
      if (fired || status !== 200 || !match(req)) return;
      fired = true;
      c().proc.kill('SIGKILL');
      await c().exited;
    };
    return { fired: () => fired };
  };
  const slave = async (): Promise<Record<string, any>> => (await masterJson({ sim } as Env, '/master/state')).slaves.find((s: { hostname: string }) => s.hostname === HOST); // eslint-disable-line @typescript-eslint/no-explicit-any
  const down = async (): Promise<boolean> => ((await masterJson({ sim } as Env, '/master/maintenance/status')).down_machines ?? []).some((m: { hostname: string }) => m.hostname === HOST);
  const schedule = async (): Promise<string> => JSON.stringify(await masterJson({ sim } as Env, '/master/maintenance/schedule'));

  it('killed right after the window went out, after DRAIN_AGENT and after the window went back: each restart resumes at its step; machine down at the end', async () => {
    const store = tmpDir('sluice-kill-drain-agent-');
    // another operator's window on another machine
    const a3 = sim.findAgent('agent-3');
    const theirs = `{"windows":[{"machine_ids":[{"hostname":"${a3.hostname}","ip":"${a3.ip}"}],"unavailability":{"start":{"nanoseconds":${BigInt(Date.now() + 86_400_000) * 1_000_000n}}}}]}`;
    expect((await fetch(sim.url + '/master/maintenance/schedule', { method: 'POST', body: theirs })).status).to.equal(200);
    const legacyTask = sim.groundTruth().find((t) => t.hostname === HOST)!.taskId;

    let c = await start(store);
    // killed once the master took the window out (the first schedule POST without the host)
    const k0 = killOn((q) => q.method === 'POST' && q.path === '/master/maintenance/schedule' && !q.body.includes(`"${HOST}"`), () => c);
    const r = await api(c.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [HOST], window: { start: '+1s', duration: '1h' } });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    await waitFor('killed once the master took the window out', () => k0.fired(), 60_000);
    proxy.onAnswer = undefined;
    expect(await schedule()).to.not.contain(`"${HOST}"`);
    expect((await slave())['drain_info'], 'no DRAIN_AGENT yet').to.equal(undefined);
    expect(sim.groundTruth().find((t) => t.taskId === legacyTask)?.state, 'their task untouched so far').to.equal('TASK_RUNNING');

    // restart: the intent says "window-out" -> out again (idempotent), DRAIN_AGENT; killed once the master took it
    c = await start(store);
    const k1 = killOn((q) => q.method === 'POST' && q.path === '/api/v1' && q.body.includes('DRAIN_AGENT'), () => c);
    await waitFor('killed once the master took DRAIN_AGENT', () => k1.fired(), 60_000);
    expect(c.output()).to.contain('step window-out');
    proxy.onAnswer = undefined;
    expect((await slave())['drain_info']['state'], 'the master took it').to.match(/^DRAIN(ING|ED)$/);
    const out = await schedule();
    expect(out, 'machine out of the schedule').to.not.contain(`"${HOST}"`);
    expect(out, 'their window kept').to.contain(`"${a3.hostname}"`);

    // restart: the intent says "drain" -> DRAIN_AGENT again (idempotent), watch, window back; killed
    // once the window is back on the master
    c = await start(store);
    const k2 = killOn((q) => q.method === 'POST' && q.path === '/master/maintenance/schedule' && q.body.includes(`"${HOST}"`), () => c);
    await waitFor('killed once the window was back', () => k2.fired(), 60_000);
    proxy.onAnswer = undefined;
    expect(c.output()).to.contain('"drain_agent_resumed"').and.contain('step drain');
    expect(await schedule()).to.contain(`"${HOST}"`).and.contain(`"${a3.hostname}"`);
    expect(await down()).to.equal(false);

    // restart: the intent says "window-back" -> put back again (same window), then machine down
    c = await start(store);
    await waitFor(`${HOST} DOWN in Sluice and on the master`, async () => (await hostStates({ url: c.url } as Env)).get(HOST)?.state === 'DOWN' && (await down()), 60_000);
    expect(c.output()).to.contain('step window-back');
    expect(await schedule()).to.contain(`"${a3.hostname}"`);
    const steps = ((await api(c.url, 'GET', `/api/v1/audit?host=${HOST}&kind=drain_agent`)).body as { entries: Array<{ detail: { step: string } }> }).entries.map((e) => e.detail.step);
    // each step recorded once it was durable; the steps re-run after a restart are recorded again
    expect(steps[0]).to.equal('started');
    expect(steps).to.include.members(['window_out', 'drain_sent', 'drained', 'window_back']);
    expect(steps[steps.length - 1]).to.equal('window_back');
    // their task was ended by the drain (killed within max_grace_period), not by machine down
    const fw = ((await masterJson({ sim } as Env, '/master/state')).frameworks as Array<{ name: string; completed_tasks: Array<{ id: string; state: string }> }>).find((f) => f.name === 'legacy')!;
    expect(fw.completed_tasks.find((t) => t.id === legacyTask)?.state).to.equal('TASK_KILLED');
  });
});
