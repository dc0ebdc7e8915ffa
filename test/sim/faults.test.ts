/**
 * Fault injection: cut streams, stopped heartbeats, rejected and delayed calls, lost and
 * partitioned agents, crashing tasks, agent restarts; clean shutdown (contract §1.8, §3.2, §3.5).
 */
import { expect } from 'chai';
import type { Offer, TaskStatus } from '../../src/mesos/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { startSim } from '../../src/sim/index.js';
import { type Stream, ack, acceptCall, advance, call, frameworkInfo, request, send, subscribed, taskInfo, tick, withSim } from './helpers.js';

async function offersOf(s: Stream): Promise<Offer[]> {
  return (await s.next('OFFERS')).offers!.offers!;
}

/** A framework with one acknowledged RUNNING task on agent-1. */
async function running(url: string, info: Record<string, unknown>, id = 't'): Promise<{ s: Stream; agentId: string }> {
  const s = await subscribed(url, info);
  const offers = await offersOf(s);
  const o = offers.find((x) => x.hostname === 'agent-1')!;
  await send(url, s, acceptCall(s.frameworkId, [o.id], [taskInfo(id, o.agent_id)]));
  await ack(url, s, (await s.next('UPDATE')).update!.status);
  await ack(url, s, (await s.next('UPDATE')).update!.status);
  return { s, agentId: o.agent_id.value };
}

describe('sim fault injection', () => {
  it('cutStream: the framework is disconnected (403), and removed when failover_timeout is 0', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const keep = await subscribed(sim.url, frameworkInfo({ failover_timeout: 60 }));
      const drop = await subscribed(sim.url);
      expect(sim.faults.cutStream(keep.frameworkId)).to.equal(true);
      expect(sim.faults.cutStream(drop.frameworkId)).to.equal(true);
      await keep.waitEnd();
      await drop.waitEnd();
      await tick(5);
      const r = await call(sim.url, { framework_id: { value: keep.frameworkId }, type: 'REVIVE' }, { streamId: keep.streamId });
      expect([r.status, r.text]).to.deep.equal([403, 'Framework is not subscribed']);
      const gone = await call(sim.url, { framework_id: { value: drop.frameworkId }, type: 'REVIVE' }, { streamId: drop.streamId });
      expect([gone.status, gone.text]).to.deep.equal([400, 'Framework cannot be found']);
    });
  });

  it('stopHeartbeats / resumeHeartbeats', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const s = await subscribed(sim.url);
      sim.faults.stopHeartbeats(s.frameworkId);
      s.drain();
      await advance(clock, 60_000, 15_000);
      expect(s.drain().filter((e) => e.type === 'HEARTBEAT')).to.have.length(0);
      sim.faults.resumeHeartbeats();
      await advance(clock, 15_000, 15_000);
      await s.next('HEARTBEAT');
      s.destroy();
    });
  });

  it('rejectCalls: the next N matching calls get the injected status', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const s = await subscribed(sim.url);
      sim.faults.rejectCalls(2, { status: 503, body: 'Master has not finished recovery', types: ['REVIVE'] });
      const sup = await call(sim.url, { framework_id: { value: s.frameworkId }, type: 'SUPPRESS' }, { streamId: s.streamId });
      expect(sup.status).to.equal(202);
      for (let i = 0; i < 2; i++) {
        const r = await call(sim.url, { framework_id: { value: s.frameworkId }, type: 'REVIVE' }, { streamId: s.streamId });
        expect([r.status, r.text]).to.deep.equal([503, 'Master has not finished recovery']);
      }
      const ok = await call(sim.url, { framework_id: { value: s.frameworkId }, type: 'REVIVE' }, { streamId: s.streamId });
      expect(ok.status).to.equal(202);
      s.destroy();
    });
  });

  it('delayCalls: the response is held for the given clock time', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const s = await subscribed(sim.url);
      sim.faults.delayCalls(30_000);
      let done = false;
      const p = call(sim.url, { framework_id: { value: s.frameworkId }, type: 'SUPPRESS' }, { streamId: s.streamId }).then((r) => {
        done = true;
        return r;
      });
      const queued = sim.timers.size;
      for (let i = 0; i < 100 && sim.timers.size === queued; i++) await new Promise((r) => setTimeout(r, 5));
      await advance(clock, 29_000);
      await new Promise((r) => setTimeout(r, 20));
      expect(done).to.equal(false);
      await advance(clock, 1000);
      expect((await p).status).to.equal(202);
      s.destroy();
    });
  });

  it('loseAgent: TASK_LOST for plain frameworks, TASK_UNREACHABLE (+unreachable_time) for PARTITION_AWARE ones, FAILURE to all', async () => {
    await withSim({ agents: 2 }, async (sim, clock) => {
      const plain = await running(sim.url, frameworkInfo(), 'p');
      const pa = await running(sim.url, frameworkInfo({ capabilities: [{ type: 'PARTITION_AWARE' }] }), 'q');
      sim.faults.loseAgent('agent-1');
      const a = (await plain.s.next('UPDATE')).update!.status;
      const b = (await pa.s.next('UPDATE')).update!.status;
      expect([a.state, a.reason, a.source, a.message]).to.deep.equal(['TASK_LOST', 'REASON_AGENT_REMOVED', 'SOURCE_MASTER', 'health check timed out']);
      expect(b.state).to.equal('TASK_UNREACHABLE');
      expect(b.unreachable_time!.nanoseconds).to.equal(BigInt(clock.now()) * 1_000_000n);
      expect(b.uuid).to.equal(undefined);
      for (const s of [plain.s, pa.s]) expect((await s.next('FAILURE')).failure!.agent_id!.value).to.equal(plain.agentId);
      // Reconciling the task on the unreachable agent.
      await send(sim.url, pa.s, { type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'q' }, agent_id: { value: pa.agentId } }] } });
      const r = (await pa.s.next('UPDATE')).update!.status;
      expect([r.state, r.message]).to.deep.equal(['TASK_UNREACHABLE', 'Reconciliation: Task is unreachable']);
      // The task still runs on the (partitioned) host; healing brings it back to the master.
      expect(sim.groundTruth().map((t) => t.taskId).sort()).to.deep.equal(['p', 'q']);
      sim.faults.healAgent('agent-1');
      await send(sim.url, pa.s, { type: 'RECONCILE', reconcile: {} });
      expect((await pa.s.next('UPDATE')).update!.status.state).to.equal('TASK_RUNNING');
      plain.s.destroy();
      pa.s.destroy();
    });
  });

  it('partitionAgent: offers rescinded at once, tasks unreachable only after 5 x 15 s ping timeouts', async () => {
    await withSim({ agents: 2 }, async (sim, clock) => {
      const { s } = await running(sim.url, frameworkInfo({ capabilities: [{ type: 'PARTITION_AWARE' }] }));
      // agent-2's offer is outstanding.
      sim.faults.partitionAgent('agent-1');
      await advance(clock, 74_000, 2000);
      expect(s.drain().filter((e) => e.type === 'UPDATE')).to.have.length(0);
      await advance(clock, 1000);
      const st = (await s.next('UPDATE')).update!.status;
      expect(st.state).to.equal('TASK_UNREACHABLE');
      await s.next('FAILURE');
      s.destroy();
    });
  });

  it('a KILL while the agent is disconnected is delivered when it reconnects', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const { s } = await running(sim.url, frameworkInfo());
      sim.faults.partitionAgent('agent-1');
      await send(sim.url, s, { type: 'KILL', kill: { task_id: { value: 't' }, kill_policy: { grace_period: { nanoseconds: 0n } } } });
      await advance(clock, 5000);
      expect(s.drain().filter((e) => e.type === 'UPDATE')).to.have.length(0);
      expect(sim.groundTruth()).to.have.length(1);
      sim.faults.healAgent('agent-1');
      const st = (await s.next('UPDATE')).update!.status;
      expect(st.state).to.equal('TASK_KILLED');
      s.destroy();
    });
  });

  it('killTask: the task crashes (executor update with uuid, delivered reliably)', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const { s } = await running(sim.url, frameworkInfo());
      expect(sim.faults.killTask(s.frameworkId, 't', { message: 'Command exited with status 137' })).to.equal(true);
      const st: TaskStatus = (await s.next('UPDATE')).update!.status;
      expect([st.state, st.message, st.source]).to.deep.equal(['TASK_FAILED', 'Command exited with status 137', 'SOURCE_EXECUTOR']);
      expect(st.uuid).to.have.length(16);
      expect(sim.faults.killTask(s.frameworkId, 'nope')).to.equal(false);
      s.destroy();
    });
  });

  it('stopAgent then restartAgent: the agent reconnects with the same id and its tasks', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const { s, agentId } = await running(sim.url, frameworkInfo());
      sim.faults.stopAgent('agent-1');
      expect(sim.agents()[0]!.active).to.equal(false);
      sim.faults.restartAgent('agent-1');
      expect(sim.agents()[0]).to.include({ id: agentId, active: true, registered: true, tasks: 1 });
      s.destroy();
    });
  });

  it('restartAgent fresh: the old agent is removed (TASK_LOST) and a new agent id registers', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const { s, agentId } = await running(sim.url, frameworkInfo());
      sim.faults.restartAgent('agent-1', { fresh: true });
      const st = (await s.next('UPDATE')).update!.status;
      expect([st.state, st.message]).to.deep.equal(['TASK_LOST', 'Agent agent-1 removed: the agent unregistered']);
      const offers = await offersOf(s);
      expect(offers[0]!.agent_id.value).to.not.equal(agentId);
      s.destroy();
    });
  });

  it('close() ends streams and servers and leaves no clock timers behind', async () => {
    const clock = new VirtualClock();
    const sim = await startSim({ agents: 3, masters: 2, clock, seed: 1 });
    const s = await subscribed(sim.url);
    await offersOf(s);
    const url = sim.url;
    await sim.close();
    await s.waitEnd();
    expect(clock.pending).to.equal(0);
    let refused = false;
    try {
      await request(url, { path: '/health' });
    } catch {
      refused = true;
    }
    expect(refused).to.equal(true);
  });
});
