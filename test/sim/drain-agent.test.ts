/**
 * The simulator's DRAIN_AGENT as Sluice's drain_agent mode uses it, checked against Mesos 1.12
 * (src/master/http.cpp drainAgent / _reactivateAgent, readonly_handler.cpp, master.cpp
 * _removeSlave): refused while the machine is in any window of the schedule, then, once the machine
 * is out of it, the agent deactivated and every framework's task on it killed within
 * max_grace_period (one that answers inverse offers and one that ignores them alike), drain_info
 * DRAINING -> DRAINED, the window put back and machine down accepted, and machine down removing the
 * agent, which clears its deactivation (REACTIVATE_AGENT: "Agent is not deactivated").
 * Everything over real HTTP on loopback; ground truth from the simulator.
 */
import { expect } from 'chai';
import { jsonCodec } from '../../src/mesos/codec.js';
import { type HttpResult, advance, request, tick, withSim } from './helpers.js';

const v1 = (url: string, body: Record<string, unknown>): Promise<HttpResult> =>
  request(url, { method: 'POST', path: '/api/v1', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: jsonCodec.encode('mesos.v1.master.Call', body) });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const getJson = async (url: string, path: string): Promise<Record<string, any>> => JSON.parse((await request(url, { path })).text) as Record<string, any>;
const post = (url: string, path: string, body: string): Promise<HttpResult> => request(url, { method: 'POST', path, body, headers: { 'Content-Type': 'application/json' } });

const A1 = '{"hostname":"agent-1","ip":"127.0.1.1"}';
const A2 = '{"hostname":"agent-2","ip":"127.0.1.2"}';
const START = 1795422430565157510n;
const window = (machines: string): string => `{"machine_ids":[${machines}],"unavailability":{"start":{"nanoseconds":${START}},"duration":{"nanoseconds":3600000000000}}}`;

describe('sim DRAIN_AGENT with other frameworks (drain_agent mode)', () => {
  it('refused while scheduled; out of the schedule: deactivated, every task killed within max_grace_period, DRAINED; window back, machine down; reactivation then "not deactivated"', async () => {
    await withSim(
      {
        agents: 2,
        otherFrameworks: [
          { name: 'polite', behaviour: 'accept-when-empty', agents: ['agent-1'], killGracePeriodSeconds: 60 },
          { name: 'legacy', behaviour: 'never', agents: ['agent-1', 'agent-2'], killGracePeriodSeconds: 60 },
        ],
      },
      async (sim, clock) => {
        await tick(10);
        const agentId = sim.findAgent('agent-1').id;
        const drain = { type: 'DRAIN_AGENT', drain_agent: { agent_id: { value: agentId }, max_grace_period: { seconds: 5n }, mark_gone: false } };
        // both machines in one window (another operator's on agent-2 too): refused, whichever window holds it
        expect((await post(sim.url, '/master/maintenance/schedule', `{"windows":[${window(`${A2},${A1}`)}]}`)).status).to.equal(200);
        const refused = await v1(sim.url, drain);
        expect([refused.status, refused.text]).to.deep.equal([400, `Agent ${agentId} is part of a maintenance schedule under Machine agent-1 (127.0.1.1)`]);
        // window out for agent-1 only: the other machine's window stays
        expect((await post(sim.url, '/master/maintenance/schedule', `{"windows":[${window(A2)}]}`)).status).to.equal(200);
        const t0 = clock.now();
        const ok = await v1(sim.url, drain);
        expect([ok.status, ok.text]).to.deep.equal([200, '']);
        const slave = async () => (await getJson(sim.url, '/master/state'))['slaves'].find((s: { id: string }) => s.id === agentId);
        let s = await slave();
        expect([s['active'], s['deactivated'], s['drain_info']]).to.deep.equal([false, true, { state: 'DRAINING', config: { mark_gone: false, max_grace_period: { nanoseconds: 5_000_000_000 } } }]);
        expect(s['estimated_drain_start_time_seconds']).to.equal(t0 / 1000);
        // both frameworks' tasks on agent-1 run until max_grace_period (not their own 60 s), then end; agent-2's stays
        await advance(clock, 4000);
        expect(sim.groundTruth().filter((t) => t.hostname === 'agent-1').map((t) => t.state)).to.deep.equal(['TASK_RUNNING', 'TASK_RUNNING']);
        await advance(clock, 2000);
        await tick(20);
        expect(sim.groundTruth().filter((t) => t.hostname === 'agent-1')).to.deep.equal([]);
        expect(sim.groundTruth().filter((t) => t.hostname === 'agent-2').map((t) => t.state)).to.deep.equal(['TASK_RUNNING']);
        const fws = (await getJson(sim.url, '/master/state'))['frameworks'] as Array<{ name: string; completed_tasks: Array<{ state: string; statuses: Array<{ state: string }> }> }>;
        for (const name of ['polite', 'legacy']) {
          const done = fws.find((f) => f.name === name)!.completed_tasks;
          expect(done.map((t) => t.state), name).to.deep.equal(['TASK_KILLED']);
        }
        s = await slave();
        expect(s['drain_info']['state']).to.equal('DRAINED');

        // window back (together with the other machine's), machine down accepted: the agent is removed
        expect((await post(sim.url, '/master/maintenance/schedule', `{"windows":[${window(A2)},${window(A1)}]}`)).status).to.equal(200);
        expect((await post(sim.url, '/master/machine/down', `[${A1}]`)).status).to.equal(200);
        await tick(10);
        expect(await slave()).to.equal(undefined);
        const r = await v1(sim.url, { type: 'REACTIVATE_AGENT', reactivate_agent: { agent_id: { value: agentId } } });
        expect([r.status, r.text]).to.deep.equal([400, 'Agent is not deactivated']);
      },
    );
  });

  it('REACTIVATE_AGENT of a DRAINED agent still registered: active again, drain info and the estimated start time gone', async () => {
    await withSim({ agents: 1, otherFrameworks: [{ name: 'legacy', behaviour: 'never' }] }, async (sim, clock) => {
      await tick(10);
      const agentId = sim.findAgent('agent-1').id;
      expect((await v1(sim.url, { type: 'DRAIN_AGENT', drain_agent: { agent_id: { value: agentId }, max_grace_period: { seconds: 1n } } })).status).to.equal(200);
      const early = await v1(sim.url, { type: 'REACTIVATE_AGENT', reactivate_agent: { agent_id: { value: agentId } } });
      expect([early.status, early.text]).to.deep.equal([400, 'Agent is still in the DRAINING state']);
      await advance(clock, 5000);
      await tick(20);
      const ok = await v1(sim.url, { type: 'REACTIVATE_AGENT', reactivate_agent: { agent_id: { value: agentId } } });
      expect([ok.status, ok.text]).to.deep.equal([200, '']);
      const s = (await getJson(sim.url, '/master/state'))['slaves'][0];
      expect([s['active'], s['deactivated'], s['drain_info'], s['estimated_drain_start_time_seconds']]).to.deep.equal([true, false, undefined, undefined]);
    });
  });
});
