/**
 * Issue 12 item 3, coordinator policies end to end: real Sluice + real simulator over loopback HTTP
 * on a VirtualClock, and a real loopback HTTP coordinator (node:http, here) that is told to say yes,
 * no, time out or answer garbage. A job with `{"kind": "coordinator", ...}` is submitted through the
 * API; (a) one of its hosts is drained through the API, (b) it gets a rolling update and a
 * scale-down. Ground truth comes from the simulator: every kill of one of its tasks is checked, at
 * the instant the agent sees it, against the yeses the coordinator has given by then.
 */
import { expect } from 'chai';
import { parseTaskId } from '../../src/scheduler/task-id.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { renderJob } from '../../src/cli/commands/job.js';
import { api, startEnv, type Env } from './workload-helpers.js';
import { allRunning, hostStates, job } from './maintenance-helpers.js';
import { LoopbackCoordinator, type CoordinatorMode, type CoordinatorQuestionSeen } from '../helpers/coordinator-server.js';

type Mode = CoordinatorMode;
type Question = CoordinatorQuestionSeen;

/** Kills of the job's tasks as the agents see them, each checked against the yeses given by then. */
class KillWatch {
  readonly kills: string[] = [];
  readonly unapproved: string[] = [];
  /** Fewest of the job's instances RUNNING (ground truth), from `arm()` on. */
  minRunning = Infinity;
  private armed = false;
  private readonly off: () => void;
  constructor(
    private readonly env: Env,
    private readonly name: string,
    private readonly coord: LoopbackCoordinator,
  ) {
    const fw = env.frameworkId();
    this.off = env.sim.onTaskTransition((t) => {
      if (t.frameworkId !== fw || parseTaskId(t.taskId)?.job !== name) return;
      if (t.to === 'TASK_KILLING' || (t.to === 'TASK_KILLED' && t.from !== 'TASK_KILLING')) {
        this.kills.push(t.taskId);
        if (!coord.yes.has(t.taskId)) this.unapproved.push(`${t.taskId} killed on ${t.hostname} without a yes`);
      }
      if (this.armed) this.minRunning = Math.min(this.minRunning, this.running());
    });
  }
  running(): number {
    const fw = this.env.frameworkId();
    return this.env.sim.groundTruth().filter((t) => t.frameworkId === fw && t.state === 'TASK_RUNNING' && parseTaskId(t.taskId)?.job === this.name).length;
  }
  arm(): void {
    this.armed = true;
    this.minRunning = this.running();
  }
  stop(): void {
    this.off();
  }
}

describe('e2e: coordinator policies through the API and the simulator (issue 12)', function () {
  this.timeout(240_000);
  const coord = new LoopbackCoordinator();
  let env: Env | undefined;
  let watch: KillWatch | undefined;
  before(() => coord.start());
  after(() => coord.stop());
  afterEach(async () => {
    watch?.stop();
    await env?.stop();
    env = undefined;
    coord.take();
    coord.yes.clear();
  });

  async function kafka(): Promise<{ env: Env; spec: JobSpec; fw: string }> {
    // 6 agents, 4 instances one per host: room to move one
    const e = (env = await startEnv({ sim: { agents: 6, racks: 1 } }));
    const spec = job('kafka', 4, { sla: { kind: 'coordinator', url: coord.url, timeout_seconds: 0.5 }, constraints: { host_unique: true }, update_batch_size: 4 });
    const r = await api(e.url, 'POST', '/api/v1/jobs', spec);
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    await e.until('kafka RUNNING', () => allRunning(e, 'kafka', 4), 120_000, 1000);
    watch = new KillWatch(e, 'kafka', coord);
    return { env: e, spec, fw: e.frameworkId() };
  }

  /** The job's tasks as the simulator has them: task id → host, RUNNING only. */
  function running(e: Env, fw: string): Map<string, string> {
    return new Map(e.sim.groundTruth().filter((t) => t.frameworkId === fw && t.state === 'TASK_RUNNING' && parseTaskId(t.taskId)?.job === 'kafka').map((t) => [t.taskId, t.hostname]));
  }

  async function blockers(e: Env, host: string): Promise<string> {
    const h = (await hostStates(e)).get(host) as { blockers?: Array<{ reason: string }> } | undefined;
    return (h?.blockers ?? []).map((b) => b.reason).join(' | ');
  }

  it('drain: no, a timeout and garbage all mean no — nothing of the job is killed and the host stays DRAINING; a yes lets it drain', async () => {
    const { env: e, fw } = await kafka();
    const before = running(e, fw);
    const [taskId, host] = [...before].sort((a, b) => (a[1] < b[1] ? -1 : 1))[0]!;
    const index = parseTaskId(taskId)!.index;
    coord.mode = 'no';
    coord.take();
    const start = await api(e.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host] });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);

    const expectHeld = async (mode: Mode, shown: RegExp) => {
      coord.mode = mode;
      const qs: Question[] = [];
      let seen = '';
      // until asked again after an answer (a no is asked again after 15 s; a timeout takes 0.5 s of
      // real time) and the host's blocker names that answer (between a re-ask and its answer it says "asking")
      await e
        .until(`${mode}: asked twice and the blocker names the coordinator's answer`, async () => {
          qs.push(...coord.take());
          seen = await blockers(e, host);
          return qs.length >= 2 && shown.test(seen);
        }, 600_000, 500)
        .catch((err: Error) => {
          throw new Error(`${err.message}; ${qs.length} question(s); blockers: ${seen}`);
        });
      expect(watch!.kills, `${mode}: nothing of kafka killed`).to.deep.equal([]);
      expect(running(e, fw), `${mode}: every task still RUNNING where it was`).to.deep.equal(before);
      expect((await hostStates(e)).get(host)?.state, `${mode}: the host stays DRAINING`).to.equal('DRAINING');
      // never about another instance meanwhile
      for (const q of qs) {
        expect(q.method).to.equal('POST');
        expect(q.contentType).to.equal('application/json');
        expect(q.body).to.deep.equal({ job: 'kafka', instance: index, host, task_id: taskId, reason: 'drain' });
      }
    };
    await expectHeld('no', /job kafka: coordinator said no to instance \d+ at \d\d:\d\d:\d\dZ \(coordinator said no: under-replicated partitions\); asking again at/);
    // the no shows in sla probe (the host is blocked) and job get (the instance's note)
    const probe = await api(e.url, 'POST', '/api/v1/sla/probe', { hosts: [host] });
    expect(probe.status).to.equal(200);
    expect(probe.body.hosts[0].drainable_now).to.equal(false);
    expect(probe.body.hosts[0].reasons.join(' | ')).to.match(/job kafka: coordinator said no to instance/);
    const got = (await api(e.url, 'GET', '/api/v1/jobs/kafka')).body;
    const inst = got.instances.find((i: { task_id: string }) => i.task_id === taskId);
    expect(inst.coordinator).to.include({ state: 'no', reason: 'coordinator said no: under-replicated partitions' });
    const row = renderJob(got, e.clock.now()).split('\n').find((l) => l.includes(taskId))!;
    expect(row).to.match(/coordinator said no: under-replicated partitions \(\d+s ago\); asking again in \d+s/);
    await expectHeld('timeout', /coordinator did not answer within 0\.5s/);
    await expectHeld('garbage', /coordinator answer is not valid JSON/);

    coord.mode = 'yes';
    // DRAINED, then DOWN at once when the window has started meanwhile (the timeout phase is long)
    await e.until('the host DRAINED once the coordinator says yes', async () => ['DRAINED', 'DOWN'].includes((await hostStates(e)).get(host)?.state ?? ''), 120_000, 500);
    expect(watch!.kills).to.deep.equal([taskId]);
    expect(watch!.unapproved).to.deep.equal([]);
    await e.until('kafka RUNNING elsewhere', () => allRunning(e, 'kafka', 4), 120_000, 1000);
    expect([...running(e, fw).values()]).to.not.include(host);
    // every answer counted: the no, timeout and garbage phases (at least two questions each) and the yes
    const metrics = await fetch(e.url + '/metrics').then((r) => r.text());
    const count = (answer: string) => Number(new RegExp(`^sluice_coordinator_answers_total\\{answer="${answer}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    expect(count('no'), metrics.split('\n').filter((l) => l.includes('coordinator')).join('\n')).to.be.at.least(6);
    expect(count('yes')).to.be.at.least(1);
  });

  it('rolling update and scale-down: proceed only per yes, one instance at a time', async () => {
    const { env: e, spec, fw } = await kafka();
    coord.mode = 'no';
    coord.take();
    watch!.arm();
    const v2 = { ...spec, command: { value: 'sleep 72000', shell: true } };
    const put = await api(e.url, 'PUT', '/api/v1/jobs/kafka', v2);
    expect(put.status, JSON.stringify(put.body)).to.equal(200);
    await e.advance(45_000, 500);
    expect(watch!.kills, 'no: nothing replaced').to.deep.equal([]);
    const qs = coord.take();
    expect(qs.length).to.be.at.least(2);
    const tasks = running(e, fw);
    const first = qs[0]!.body;
    expect(first).to.deep.equal({ job: 'kafka', instance: first['instance'], host: tasks.get(String(first['task_id'])), task_id: first['task_id'], reason: 'update' });
    expect(new Set(qs.map((q) => q.body['task_id'])).size, 'one instance asked about').to.equal(1);
    let view = (await api(e.url, 'GET', '/api/v1/jobs/kafka')).body;
    expect(view.outdated).to.equal(4);
    expect(view.update_wait).to.match(/job kafka: coordinator said no to instance \d+ at .*under-replicated partitions/);
    expect(renderJob(view, e.clock.now())).to.contain(`  waiting:    ${view.update_wait}`);

    coord.mode = 'timeout';
    await e.advance(40_000, 500);
    expect(watch!.kills, 'timeout: nothing replaced').to.deep.equal([]);
    expect((await api(e.url, 'GET', '/api/v1/jobs/kafka')).body.update_wait).to.match(/coordinator did not answer within 0\.5s|asking its coordinator/);

    coord.mode = 'yes';
    coord.take();
    await e.until('rolled to the new version', async () => {
      view = (await api(e.url, 'GET', '/api/v1/jobs/kafka')).body;
      return view.outdated === 0 && (await allRunning(e, 'kafka', 4));
    }, 10 * 60_000, 500);
    expect(watch!.kills).to.have.length(4);
    expect(watch!.unapproved).to.deep.equal([]);
    expect(watch!.minRunning, 'one instance at a time though the batch is 4').to.equal(3);
    expect(coord.take().every((q) => q.body['reason'] === 'update')).to.equal(true);
    expect(view.update_wait).to.equal(undefined);

    // scale down to 3: instance 3 goes only once the coordinator says yes
    coord.mode = 'no';
    const three = await api(e.url, 'PUT', '/api/v1/jobs/kafka', { ...v2, instances: 3 });
    expect(three.status, JSON.stringify(three.body)).to.equal(200);
    await e.advance(30_000, 500);
    expect(watch!.kills).to.have.length(4);
    const asked = coord.take();
    expect(asked.length).to.be.at.least(1);
    expect(asked.every((q) => q.body['instance'] === 3 && q.body['reason'] === 'update')).to.equal(true);
    coord.mode = 'yes';
    await e.until('scaled down to 3', async () => (await api(e.url, 'GET', '/api/v1/jobs/kafka')).body.instances.length === 3, 120_000, 500);
    expect(watch!.kills).to.have.length(5);
    expect(watch!.unapproved).to.deep.equal([]);
  });
});
