/**
 * GET /master/state against the recorded document, operator API views, agent draining and
 * (de)activation (contract §4.10; gotchas 32, 33, 37).
 */
import { expect } from 'chai';
import { jsonCodec } from '../../src/mesos/codec.js';
import type { Offer } from '../../src/mesos/types.js';
import { readFixture } from '../helpers/fixtures.js';
import { type HttpResult, type Stream, ack, acceptCall, request, send, subscribed, taskInfo, withSim, frameworkInfo, advance } from './helpers.js';

async function offersOf(s: Stream): Promise<Offer[]> {
  return (await s.next('OFFERS')).offers!.offers!;
}

const v1 = (url: string, body: Record<string, unknown>): Promise<HttpResult> =>
  request(url, { method: 'POST', path: '/api/v1', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: jsonCodec.encode('mesos.v1.master.Call', body) });
const v1json = async (url: string, body: Record<string, unknown>): Promise<Record<string, any>> =>
  jsonCodec.decode('mesos.v1.master.Response', (await v1(url, body)).body);

describe('sim /master/state and operator views', () => {
  it('GET /master/state has the recorded document shape (key order of the top level and of agents, resource rendering)', async () => {
    await withSim({ agents: 3, cluster: 'local-test' }, async (sim) => {
      const rec = JSON.parse(readFixture('real-mesos-1.12', 'master-state.json').toString('utf8')) as Record<string, any>;
      const r = await request(sim.url, { path: '/master/state' });
      expect(r.headers['content-type']).to.equal('application/json');
      const doc = JSON.parse(r.text) as Record<string, any>;
      expect(Object.keys(doc)).to.deep.equal(Object.keys(rec));
      expect(Object.keys(doc['slaves'][0])).to.deep.equal(Object.keys(rec['slaves'][0]));
      expect(doc['slaves'][0]['resources']).to.deep.equal(rec['slaves'][0]['resources']);
      expect(Object.keys(doc['slaves'][0]['used_resources'])).to.deep.equal(Object.keys(rec['slaves'][0]['used_resources']));
      expect(doc['slaves'][0]['attributes']).to.deep.equal({ rack: 'rack-1' });
      expect(doc['capabilities']).to.deep.equal(rec['capabilities']);
      expect(doc['slaves'][0]['capabilities']).to.deep.equal(rec['slaves'][0]['capabilities']);
      expect(Object.keys(doc['leader_info'])).to.deep.equal(Object.keys(rec['leader_info']));
      expect(doc['activated_slaves']).to.equal(3);
      expect(r.text).to.contain('"activated_slaves":3.0');
      expect(r.text).to.contain('"resources":{"disk":10000.0,"mem":4096.0,"gpus":0.0,"cpus":4.0,"ports":"[31000-32000]"}');
      for (const k of ['allocation_interval', 'agent_ping_timeout', 'max_agent_ping_timeouts', 'min_allocatable_resources', 'cluster']) {
        expect(doc['flags'][k], k).to.equal(rec['flags'][k]);
      }
      expect((await request(sim.url, { path: '/state' })).status).to.equal(200);
    });
  });

  it('frameworks in /master/state list their tasks with statuses and used resources', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const s = await subscribed(sim.url, frameworkInfo({ roles: ['web'], capabilities: [{ type: 'MULTI_ROLE' }] }));
      const [o] = await offersOf(s);
      await send(sim.url, s, acceptCall(s.frameworkId, [o!.id], [taskInfo('web-1', o!.agent_id, { cpus: 1, mem: 128 })]));
      await ack(sim.url, s, (await s.next('UPDATE')).update!.status);
      await ack(sim.url, s, (await s.next('UPDATE')).update!.status);
      const doc = JSON.parse((await request(sim.url, { path: '/master/state' })).text) as Record<string, any>;
      const fw = doc['frameworks'][0];
      expect(fw).to.include({ id: s.frameworkId, name: 'sim-test', active: true, connected: true, recovered: false, user: 'test' });
      expect(fw['roles']).to.deep.equal(['web']);
      expect(fw['capabilities']).to.deep.equal(['MULTI_ROLE']);
      expect(fw['used_resources']).to.deep.equal({ disk: 0, mem: 128, gpus: 0, cpus: 1 });
      const t = fw['tasks'][0];
      expect(t).to.include({ id: 'web-1', name: 'web-1', framework_id: s.frameworkId, slave_id: o!.agent_id.value, state: 'TASK_RUNNING', role: 'web' });
      expect(t['statuses'].map((x: { state: string }) => x.state)).to.deep.equal(['TASK_STARTING', 'TASK_RUNNING']);
      expect(doc['slaves'][0]['used_resources']).to.deep.equal({ disk: 0, mem: 128, gpus: 0, cpus: 1 });
      s.destroy();
    });
  });

  it('GET_AGENTS, GET_FRAMEWORKS, GET_TASKS', async () => {
    await withSim({ agents: 2 }, async (sim) => {
      const s = await subscribed(sim.url);
      const [o] = await offersOf(s);
      await send(sim.url, s, acceptCall(s.frameworkId, [o!.id], [taskInfo('x', o!.agent_id)]));
      await s.next('UPDATE');
      const agents = await v1json(sim.url, { type: 'GET_AGENTS' });
      expect(agents['type']).to.equal('GET_AGENTS');
      expect(agents['get_agents']['agents']).to.have.length(2);
      expect(agents['get_agents']['agents'][0]['agent_info']['hostname']).to.equal('agent-1');
      expect(agents['get_agents']['agents'][0]['version']).to.equal('1.12.0');
      const fws = await v1json(sim.url, { type: 'GET_FRAMEWORKS' });
      expect(fws['get_frameworks']['frameworks'][0]['framework_info']['id']['value']).to.equal(s.frameworkId);
      expect(fws['get_frameworks']['frameworks'][0]['connected']).to.equal(true);
      const tasks = await v1json(sim.url, { type: 'GET_TASKS' });
      expect(tasks['get_tasks']['tasks'][0]['task_id']['value']).to.equal('x');
      expect(tasks['get_tasks']['tasks'][0]['state']).to.equal('TASK_STARTING');
      const unknown = await v1(sim.url, { type: 'GET_METRICS' });
      expect(unknown.status).to.equal(400);
      s.destroy();
    });
  });

  it('DEACTIVATE_AGENT rescinds and stops offers; REACTIVATE_AGENT resumes; texts for bad requests', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const s = await subscribed(sim.url);
      const [o] = await offersOf(s);
      const aid = o!.agent_id.value;
      expect((await v1(sim.url, { type: 'REACTIVATE_AGENT', reactivate_agent: { agent_id: { value: aid } } })).text).to.equal('Agent is not deactivated');
      expect((await v1(sim.url, { type: 'DEACTIVATE_AGENT', deactivate_agent: { agent_id: { value: 'nope' } } })).text).to.equal('Unknown agent');
      const d = await v1(sim.url, { type: 'DEACTIVATE_AGENT', deactivate_agent: { agent_id: { value: aid } } });
      expect([d.status, d.text]).to.deep.equal([200, '']);
      expect((await s.next('RESCIND')).rescind!.offer_id.value).to.equal(o!.id.value);
      await send(sim.url, s, { type: 'REVIVE' });
      expect(await s.none('OFFERS', 100)).to.equal(true);
      expect((await v1(sim.url, { type: 'REACTIVATE_AGENT', reactivate_agent: { agent_id: { value: aid } } })).status).to.equal(200);
      await offersOf(s);
      s.destroy();
    });
  });

  it('DRAIN_AGENT: kills tasks with REASON_AGENT_DRAINING, DRAINED only after the terminal update is acknowledged (gotchas 32, 33)', async () => {
    await withSim({ agents: 2 }, async (sim, clock) => {
      const s = await subscribed(sim.url, frameworkInfo({ capabilities: [{ type: 'TASK_KILLING_STATE' }] }));
      const offers = await offersOf(s);
      const o = offers.find((x) => x.hostname === 'agent-1')!;
      await send(sim.url, s, acceptCall(s.frameworkId, [o.id], [taskInfo('d', o.agent_id, { killGraceSeconds: 30 })]));
      await ack(sim.url, s, (await s.next('UPDATE')).update!.status);
      await ack(sim.url, s, (await s.next('UPDATE')).update!.status);
      // Refused while the agent's machine is scheduled.
      const body = '{"windows":[{"machine_ids":[{"hostname":"agent-1","ip":"127.0.1.1"}],"unavailability":{"start":{"nanoseconds":1}}}]}';
      await request(sim.url, { method: 'POST', path: '/maintenance/schedule', body });
      const refused = await v1(sim.url, { type: 'DRAIN_AGENT', drain_agent: { agent_id: o.agent_id } });
      expect([refused.status, refused.text]).to.deep.equal([400, `Agent ${o.agent_id.value} is part of a maintenance schedule under Machine agent-1 (127.0.1.1)`]);
      await request(sim.url, { method: 'POST', path: '/maintenance/schedule', body: '{}' });
      s.drain();
      const r = await v1(sim.url, { type: 'DRAIN_AGENT', drain_agent: { agent_id: o.agent_id, max_grace_period: { seconds: 10 } } });
      expect([r.status, r.text]).to.deep.equal([200, '']);
      const killing = (await s.next('UPDATE')).update!.status;
      expect([killing.state, killing.reason]).to.deep.equal(['TASK_KILLING', 'REASON_AGENT_DRAINING']);
      await ack(sim.url, s, killing);
      await advance(clock, 10_000);
      const killed = (await s.next('UPDATE')).update!.status;
      expect([killed.state, killed.reason]).to.deep.equal(['TASK_KILLED', 'REASON_AGENT_DRAINING']);
      const drainState = async (): Promise<string> =>
        (await v1json(sim.url, { type: 'GET_AGENTS' }))['get_agents']['agents'].find((a: any) => a['agent_info']['hostname'] === 'agent-1')['drain_info']['state'];
      expect(await drainState()).to.equal('DRAINING');
      expect((await v1(sim.url, { type: 'REACTIVATE_AGENT', reactivate_agent: { agent_id: o.agent_id } })).text).to.equal('Agent is still in the DRAINING state');
      await ack(sim.url, s, killed);
      expect(await drainState()).to.equal('DRAINED');
      expect((await v1(sim.url, { type: 'REACTIVATE_AGENT', reactivate_agent: { agent_id: o.agent_id } })).status).to.equal(200);
      s.destroy();
    });
  });
});
