/**
 * Simulated other frameworks (issue 13 item 5): their tasks on agents as a real master shows them
 * (/master/state, /master/tasks, GET_STATE / GET_FRAMEWORKS / GET_TASKS), their answers to inverse
 * offers in /maintenance/status, and what machine DOWN, DRAIN_AGENT and a master failover do to them.
 * Everything over real HTTP on loopback; ground truth from the simulator.
 */
import { expect } from 'chai';
import { jsonCodec } from '../../src/mesos/codec.js';
import { parseSimArgs } from '../../src/sim/cli.js';
import type { Sim } from '../../src/sim/index.js';
import { type HttpResult, advance, request, subscribed, tick, withSim } from './helpers.js';

const v1 = (url: string, body: Record<string, unknown>): Promise<HttpResult> =>
  request(url, { method: 'POST', path: '/api/v1', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: jsonCodec.encode('mesos.v1.master.Call', body) });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const v1json = async (url: string, body: Record<string, unknown>): Promise<Record<string, any>> =>
  jsonCodec.decode('mesos.v1.master.Response', (await v1(url, body)).body);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const getJson = async (url: string, path: string): Promise<Record<string, any>> => JSON.parse((await request(url, { path })).text) as Record<string, any>;

const A1 = { hostname: 'agent-1', ip: '127.0.1.1' };
const START = 1795422430565157510n;
const scheduleFor = (m: Record<string, string>): string =>
  `{"windows":[{"machine_ids":[${JSON.stringify(m)}],"unavailability":{"start":{"nanoseconds":${START}},"duration":{"nanoseconds":3600000000000}}}]}`;
const postSchedule = (url: string, body: string): Promise<HttpResult> =>
  request(url, { method: 'POST', path: '/master/maintenance/schedule', body, headers: { 'Content-Type': 'application/json' } });

function idOf(sim: Sim, name: string): string {
  const v = sim.others.views().find((x) => x.name === name);
  if (!v) throw new Error(`no other framework ${name}`);
  return v.frameworkId;
}

/** Lets executor updates, acknowledgements and allocation runs happen. */
async function settle(n = 10): Promise<void> {
  await tick(n);
}

describe('sim other frameworks', () => {
  it('appear in /master/state, /master/tasks and the operator API exactly like any framework, with RUNNING tasks on the agents', async () => {
    await withSim({ agents: 2, otherFrameworks: [{ name: 'batch', behaviour: 'accept' }, { name: 'legacy', behaviour: 'never', tasksPerAgent: 2, role: 'legacy' }] }, async (sim) => {
      await settle();
      const batch = idOf(sim, 'batch');
      const legacy = idOf(sim, 'legacy');
      expect(batch).to.match(/-0000$/);
      expect(legacy).to.match(/-0001$/);
      // ground truth: 1 + 2 tasks per agent, all running
      const truth = sim.groundTruth();
      expect(truth.map((t) => t.state)).to.deep.equal(Array(6).fill('TASK_RUNNING'));
      expect(truth.filter((t) => t.frameworkId === legacy && t.hostname === 'agent-2')).to.have.length(2);

      const state = await getJson(sim.url, '/master/state');
      const fws = state['frameworks'] as Array<Record<string, any>>;
      expect(fws.map((f) => [f['name'], f['active'], f['connected'], f['user']])).to.deep.equal([
        ['batch', true, true, 'other'],
        ['legacy', true, true, 'other'],
      ]);
      expect(fws[1]!['role']).to.equal('legacy');
      const legacyTasks = fws[1]!['tasks'] as Array<Record<string, any>>;
      expect(legacyTasks.map((t) => t['state'])).to.deep.equal(Array(4).fill('TASK_RUNNING'));
      expect(legacyTasks.map((t) => t['framework_id'])).to.deep.equal(Array(4).fill(legacy));
      expect(new Set(legacyTasks.map((t) => t['slave_id']))).to.deep.equal(new Set([sim.findAgent('agent-1').id, sim.findAgent('agent-2').id]));
      expect(legacyTasks[0]!['statuses'].map((s: Record<string, unknown>) => s['state'])).to.include.members(['TASK_STARTING', 'TASK_RUNNING']);
      expect(legacyTasks[0]!['resources']).to.deep.equal({ disk: 0, mem: 32, gpus: 0, cpus: 0.1 });
      // the agents account for them
      const slave = (state['slaves'] as Array<Record<string, any>>).find((s) => s['hostname'] === 'agent-1')!;
      expect(slave['used_resources']['cpus']).to.be.closeTo(0.3, 1e-9);

      // /master/tasks: every task, filters and paging as Master::Http::tasks
      const all = await getJson(sim.url, '/master/tasks');
      expect(all['tasks']).to.have.length(6);
      expect((await getJson(sim.url, `/master/tasks?framework_id=${batch}`))['tasks'].map((t: Record<string, unknown>) => t['framework_id'])).to.deep.equal([batch, batch]);
      expect((await getJson(sim.url, '/master/tasks?limit=2&offset=5'))['tasks']).to.have.length(1);
      expect((await getJson(sim.url, '/tasks?limit=bogus'))['tasks']).to.have.length(6);
      const one = all['tasks'][0]['id'] as string;
      expect((await getJson(sim.url, `/master/tasks?task_id=${one}`))['tasks'].map((t: Record<string, unknown>) => t['id'])).to.deep.equal([one]);

      // operator API
      const tasks = await v1json(sim.url, { type: 'GET_TASKS' });
      expect(tasks['get_tasks']['tasks']).to.have.length(6);
      expect(new Set(tasks['get_tasks']['tasks'].map((t: Record<string, any>) => t['framework_id']['value']))).to.deep.equal(new Set([batch, legacy]));
      const frameworks = await v1json(sim.url, { type: 'GET_FRAMEWORKS' });
      expect(frameworks['get_frameworks']['frameworks'].map((f: Record<string, any>) => f['framework_info']['name'])).to.deep.equal(['batch', 'legacy']);
      const st = await v1json(sim.url, { type: 'GET_STATE' });
      expect(st['get_state']['get_tasks']['tasks']).to.have.length(6);
      expect(st['get_state']['get_frameworks']['frameworks']).to.have.length(2);
    });
  });

  it('answer inverse offers by their behaviour; /maintenance/status lists each answer with its framework_id', async () => {
    const others = [
      { name: 'acc', behaviour: 'accept' as const },
      { name: 'dec', behaviour: 'decline' as const },
      { name: 'mute', behaviour: 'never' as const },
      { name: 'empty', behaviour: 'accept-when-empty' as const },
    ];
    await withSim({ agents: 2, otherFrameworks: others }, async (sim, clock) => {
      await settle();
      expect((await postSchedule(sim.url, scheduleFor(A1))).status).to.equal(200);
      await advance(clock, 1000);
      await settle();
      const raw = await request(sim.url, { path: '/master/maintenance/status' });
      const status = JSON.parse(raw.text) as Record<string, any>;
      expect(status['draining_machines']).to.have.length(1);
      expect(status['draining_machines'][0]['id']).to.deep.equal(A1);
      const answers = (status['draining_machines'][0]['statuses'] as Array<Record<string, any>>).map((s) => [s['framework_id']['value'], s['status']]);
      expect(answers).to.have.deep.members([
        [idOf(sim, 'acc'), 'ACCEPT'],
        [idOf(sim, 'dec'), 'DECLINE'],
      ]);
      // shape as InverseOfferStatus JSON: status, framework_id, timestamp
      expect(Object.keys(status['draining_machines'][0]['statuses'][0])).to.deep.equal(['status', 'framework_id', 'timestamp']);
      expect(raw.text).to.match(/"timestamp":\{"nanoseconds":\d+\}/);
      // the silent ones still hold their inverse offer (bookkeeping visible in GET_FRAMEWORKS)
      const fws = (await v1json(sim.url, { type: 'GET_FRAMEWORKS' }))['get_frameworks']['frameworks'] as Array<Record<string, any>>;
      const ios = (name: string): number => (fws.find((f) => f['framework_info']['name'] === name)!['inverse_offers'] ?? []).length;
      expect([ios('acc'), ios('dec'), ios('mute'), ios('empty')]).to.deep.equal([0, 0, 1, 1]);
      // accept-when-empty answers once its task on agent-1 is gone
      const task = sim.groundTruth().find((t) => t.frameworkId === idOf(sim, 'empty') && t.hostname === 'agent-1')!;
      expect(sim.faults.killTask(task.frameworkId, task.taskId, { state: 'TASK_FINISHED', message: 'Command exited with status 0' })).to.equal(true);
      await settle(20);
      const after = await getJson(sim.url, '/master/maintenance/status');
      const byFw = new Map((after['draining_machines'][0]['statuses'] as Array<Record<string, any>>).map((s) => [s['framework_id']['value'], s['status']]));
      expect(byFw.get(idOf(sim, 'empty'))).to.equal('ACCEPT');
      expect(byFw.has(idOf(sim, 'mute'))).to.equal(false);
      // the decliner is asked again once its 5 s filter expires, and declines again
      const declinedAt = BigInt(status['draining_machines'][0]['statuses'].find((s: Record<string, any>) => s['status'] === 'DECLINE')['timestamp']['nanoseconds']);
      await advance(clock, 6000);
      await settle();
      const again = await getJson(sim.url, '/master/maintenance/status');
      const dec = (again['draining_machines'][0]['statuses'] as Array<Record<string, any>>).find((s) => s['framework_id']['value'] === idOf(sim, 'dec'))!;
      expect(dec['status']).to.equal('DECLINE');
      expect(BigInt(dec['timestamp']['nanoseconds']) > declinedAt).to.equal(true);
    });
  });

  it('machine DOWN takes their tasks as a real master does: TASK_LOST (also for PARTITION_AWARE), agent-2 untouched', async () => {
    await withSim({ agents: 2, otherFrameworks: [{ name: 'plain' }, { name: 'pa', partitionAware: true }] }, async (sim) => {
      await settle();
      await postSchedule(sim.url, scheduleFor(A1));
      const r = await request(sim.url, { method: 'POST', path: '/master/machine/down', body: JSON.stringify([A1]) });
      expect(r.status).to.equal(200);
      await settle();
      expect(sim.groundTruth().map((t) => t.hostname)).to.deep.equal(['agent-2', 'agent-2']);
      const state = await getJson(sim.url, '/master/state');
      for (const fw of state['frameworks'] as Array<Record<string, any>>) {
        expect(fw['tasks'].map((t: Record<string, unknown>) => t['state']), fw['name']).to.deep.equal(['TASK_RUNNING']);
        expect(fw['completed_tasks'].map((t: Record<string, unknown>) => t['state']), fw['name']).to.deep.equal(['TASK_LOST']);
      }
      const done = (await getJson(sim.url, '/master/tasks?order=asc'))['tasks'] as Array<Record<string, any>>;
      expect(done.map((t) => t['state']).sort()).to.deep.equal(['TASK_LOST', 'TASK_LOST', 'TASK_RUNNING', 'TASK_RUNNING']);
    });
  });

  it('DRAIN_AGENT kills their tasks at max_grace_period (shorter than their own kill grace), then the agent is DRAINED', async () => {
    await withSim({ agents: 2, otherFrameworks: [{ name: 'slow', killGracePeriodSeconds: 60, behaviour: 'never' }] }, async (sim, clock) => {
      await settle();
      const agentId = sim.findAgent('agent-1').id;
      const r = await v1(sim.url, { type: 'DRAIN_AGENT', drain_agent: { agent_id: { value: agentId }, max_grace_period: { seconds: 10n } } });
      expect(r.status).to.equal(200);
      await advance(clock, 9000);
      expect(sim.groundTruth().filter((t) => t.hostname === 'agent-1').map((t) => t.state)).to.deep.equal(['TASK_RUNNING']);
      await advance(clock, 2000);
      await settle();
      expect(sim.groundTruth().filter((t) => t.hostname === 'agent-1')).to.deep.equal([]);
      const agents = (await v1json(sim.url, { type: 'GET_AGENTS' }))['get_agents']['agents'] as Array<Record<string, any>>;
      expect(agents.find((a) => a['agent_info']['id']['value'] === agentId)!['drain_info']['state']).to.equal('DRAINED');
      const fw = (await getJson(sim.url, '/master/state'))['frameworks'][0] as Record<string, any>;
      expect(fw['completed_tasks'].map((t: Record<string, unknown>) => t['state'])).to.deep.equal(['TASK_KILLED']);
    });
  });

  it('re-subscribe with their ids after a master failover and keep their tasks', async () => {
    await withSim({ agents: 2, masters: 2, otherFrameworks: 2 }, async (sim, clock) => {
      await settle();
      const before = sim.others.views().map((v) => v.frameworkId);
      await sim.faults.failover({ agentReregisterDelayMs: 500 });
      await advance(clock, 1000);
      await settle();
      expect(sim.others.views().map((v) => v.frameworkId)).to.deep.equal(before);
      const state = await getJson(sim.url, '/master/state');
      const fws = state['frameworks'] as Array<Record<string, any>>;
      expect(fws.map((f) => [f['id'], f['connected'], f['recovered'], f['tasks'].length])).to.have.deep.members(before.map((id) => [id, true, false, 2]));
    });
  });

  it('placeTask puts an other framework task on a given agent; an offer Sluice holds there is rescinded first', async () => {
    await withSim({ agents: 1, otherFrameworks: [{ name: 'late', tasksPerAgent: 0 }] }, async (sim, clock) => {
      await settle();
      const s = await subscribed(sim.url);
      const offers = (await s.next('OFFERS')).offers!.offers!;
      expect(offers).to.have.length(1);
      const id = sim.others.placeTask('late', 'agent-1', { id: 'late-1', cpus: 1, mem: 128, labels: { team: 'x' } });
      expect(id).to.equal('late-1');
      expect((await s.next('RESCIND')).rescind!.offer_id.value).to.equal(offers[0]!.id.value);
      await settle();
      expect(sim.groundTruth().map((t) => [t.taskId, t.state, t.hostname])).to.deep.equal([['late-1', 'TASK_RUNNING', 'agent-1']]);
      const t = (await getJson(sim.url, '/master/tasks'))['tasks'][0] as Record<string, any>;
      expect([t['id'], t['framework_id'], t['labels']]).to.deep.equal(['late-1', idOf(sim, 'late'), [{ key: 'team', value: 'x' }]]);
      // the rest of the agent is offered again at the next allocation run
      await advance(clock, 1000);
      const back = (await s.next('OFFERS')).offers!.offers![0]!;
      expect(back.resources!.find((r) => r.name === 'cpus')!.scalar!.value).to.equal(3);
      expect(() => sim.others.placeTask('nobody', 'agent-1')).to.throw('no other framework nobody');
      expect(() => sim.others.placeTask('late', 'agent-1', { cpus: 100 })).to.throw('lacks free resources');
      s.destroy();
    });
  });

  it('CLI: --other-frameworks N, --other-behaviour LIST, --other-tasks-per-agent N', () => {
    expect(parseSimArgs(['--other-frameworks', '3', '--other-behaviour', 'accept,never', '--other-tasks-per-agent=2'])).to.include({ otherFrameworks: 3, otherTasksPerAgent: 2 });
    expect((parseSimArgs(['--other-frameworks', '1', '--other-behaviour', 'decline']) as { otherBehaviours: string[] }).otherBehaviours).to.deep.equal(['decline']);
    expect(() => parseSimArgs(['--other-frameworks', '1', '--other-behaviour', 'maybe'])).to.throw('--other-behaviour takes accept, accept-when-empty, never, decline');
    expect(() => parseSimArgs(['--other-behaviour', 'accept'])).to.throw('need --other-frameworks N');
    expect(() => parseSimArgs(['--other-frameworks', 'x'])).to.throw('--other-frameworks needs a whole number');
  });
});
