/**
 * Task lifecycle: STARTING/RUNNING with acknowledgements, the agent's retry schedule, terminal
 * acknowledgement, reconciliation, KILL, simulated task behaviour, ground truth
 * (contract §3; gotchas 6, 7, 28, 29, 34).
 */
import { expect } from 'chai';
import type { Event, Offer, TaskStatus } from '../../src/mesos/types.js';
import type { TaskTransition } from '../../src/sim/index.js';
import { type Stream, ack, acceptCall, advance, frameworkInfo, send, subscribed, taskInfo, tick, withSim } from './helpers.js';

async function offersOf(s: Stream): Promise<Offer[]> {
  return (await s.next('OFFERS')).offers!.offers!;
}

async function update(s: Stream, timeoutMs = 2000): Promise<TaskStatus> {
  return (await s.next('UPDATE', timeoutMs)).update!.status;
}

function updatesIn(events: Event[]): TaskStatus[] {
  return events.filter((e) => e.type === 'UPDATE').map((e) => e.update!.status);
}

/** Subscribes, launches the given tasks on the first offer, returns the stream and offer. */
async function launched(
  url: string,
  tasks: (agent: { value: string }) => Array<Record<string, unknown>>,
  info: Record<string, unknown> = frameworkInfo(),
): Promise<{ s: Stream; offer: Offer }> {
  const s = await subscribed(url, info);
  const [offer] = await offersOf(s);
  await send(url, s, acceptCall(s.frameworkId, [offer!.id], tasks(offer!.agent_id)));
  return { s, offer: offer! };
}

describe('sim tasks', () => {
  it('LAUNCH -> TASK_STARTING, and TASK_RUNNING only after STARTING is acknowledged', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const { s, offer } = await launched(sim.url, (a) => [taskInfo('web-1', a)]);
      const starting = await update(s);
      expect(starting.state).to.equal('TASK_STARTING');
      expect(await s.none('UPDATE', 100)).to.equal(true);
      await ack(sim.url, s, starting);
      const running = await update(s);
      expect(running.state).to.equal('TASK_RUNNING');
      for (const st of [starting, running]) {
        expect(st.task_id.value).to.equal('web-1');
        expect(st.source).to.equal('SOURCE_EXECUTOR');
        expect(st.executor_id!.value).to.equal('web-1');
        expect(st.agent_id!.value).to.equal(offer.agent_id.value);
        expect(st.uuid).to.have.length(16);
        expect(st.timestamp).to.be.a('number');
        const cs = st.container_status as { container_id: { value: string }; network_infos: Array<{ ip_addresses: Array<{ ip_address: string }> }> };
        expect(cs.container_id.value).to.match(/^[0-9a-f-]{36}$/);
        expect(cs.network_infos[0]!.ip_addresses[0]!.ip_address).to.equal('127.0.1.1');
      }
      expect(Buffer.from(starting.uuid!).equals(Buffer.from(running.uuid!))).to.equal(false);
      s.destroy();
    });
  });

  it('the JSON of an executor update has the recorded field order and base64 uuid', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const { s } = await launched(sim.url, (a) => [taskInfo('sleeper-1', a)]);
      await update(s);
      const raw = s.raw[s.raw.length - 1]!.toString('utf8');
      expect(raw).to.match(
        /^\{"type":"UPDATE","update":\{"status":\{"task_id":\{"value":"sleeper-1"\},"state":"TASK_STARTING","source":"SOURCE_EXECUTOR","agent_id":\{"value":"[^"]+"\},"executor_id":\{"value":"sleeper-1"\},"timestamp":\d+(\.\d+)?,"uuid":"[A-Za-z0-9+/]{22}==","container_status":\{"container_id":\{"value":"[0-9a-f-]{36}"\},"network_infos":\[\{"ip_addresses":\[\{"protocol":"IPv4","ip_address":"127\.0\.1\.1"\}\]\}\],"executor_pid":\d+\}\}\}\}$/,
      );
      s.destroy();
    });
  });

  it('unacknowledged updates are re-sent after 10 s, 20 s, 40 s ... (same uuid), capped at 10 min (gotcha 7)', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const { s } = await launched(sim.url, (a) => [taskInfo('t', a)]);
      const first = await update(s);
      const times: number[] = [];
      const t0 = clock.now();
      for (let elapsed = 0; elapsed < 2_000_000; elapsed += 5000) {
        await clock.advance(5000);
        await tick(2);
        for (const st of updatesIn(s.drain())) {
          expect(st.state).to.equal('TASK_STARTING');
          expect(Buffer.from(st.uuid!).equals(Buffer.from(first.uuid!))).to.equal(true);
          times.push(Math.round((clock.now() - t0) / 1000));
        }
      }
      const gaps = times.map((t, i) => t - (i === 0 ? 0 : times[i - 1]!));
      expect(gaps.slice(0, 7)).to.deep.equal([10, 20, 40, 80, 160, 320, 600]);
      expect(gaps.slice(7).every((g) => g === 600)).to.equal(true);
      s.destroy();
    });
  });

  it('a wrong uuid does not advance the queue; the right one does', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const { s } = await launched(sim.url, (a) => [taskInfo('t', a)]);
      const starting = await update(s);
      const wrong = Buffer.alloc(16, 7);
      wrong[6] = 0x41;
      await ack(sim.url, s, { ...starting, uuid: wrong });
      expect(await s.none('UPDATE', 100)).to.equal(true);
      await ack(sim.url, s, starting);
      expect((await update(s)).state).to.equal('TASK_RUNNING');
      s.destroy();
    });
  });

  it('startup delay (label) and fail-after (label) give TASK_FAILED "Command exited with status N"', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const { s } = await launched(sim.url, (a) => [
        taskInfo('crashy', a, { labels: { 'sim.startup_delay_ms': '3000', 'sim.fail_after_seconds': '10', 'sim.exit_code': '3' } }),
      ]);
      await ack(sim.url, s, await update(s));
      expect(await s.none('UPDATE', 50)).to.equal(true);
      await advance(clock, 3000);
      const running = await update(s);
      expect(running.state).to.equal('TASK_RUNNING');
      await ack(sim.url, s, running);
      await advance(clock, 9000);
      expect(updatesIn(s.drain())).to.have.length(0);
      await advance(clock, 1000);
      const failed = await update(s);
      expect(failed.state).to.equal('TASK_FAILED');
      expect(failed.message).to.equal('Command exited with status 3');
      expect(failed.source).to.equal('SOURCE_EXECUTOR');
      s.destroy();
    });
  });

  it('command markers and the taskBehaviour hook also set behaviour', async () => {
    await withSim(
      { agents: 1, taskBehaviour: (info) => (info.task_id.value === 'hooked' ? { finishAfterMs: 2000 } : undefined) },
      async (sim, clock) => {
        const { s } = await launched(sim.url, (a) => [taskInfo('marked', a, { command: 'run # sim:fail-after=1', cpus: 1 }), taskInfo('hooked', a, { cpus: 1 })]);
        for (let i = 0; i < 4; i++) await ack(sim.url, s, await update(s));
        await advance(clock, 3000);
        const ends = new Map<string, TaskStatus>();
        for (let i = 0; i < 2; i++) {
          const st = await update(s);
          ends.set(st.task_id.value, st);
        }
        expect(ends.get('marked')!.state).to.equal('TASK_FAILED');
        expect(ends.get('hooked')!.state).to.equal('TASK_FINISHED');
        expect(ends.get('hooked')!.message).to.equal('Command exited with status 0');
        s.destroy();
      },
    );
  });

  it('after the terminal update is acknowledged, the task is forgotten (explicit reconcile: unknown to the agent)', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const { s, offer } = await launched(sim.url, (a) => [taskInfo('done', a, { labels: { 'sim.finish_after_seconds': '1' } })]);
      await ack(sim.url, s, await update(s));
      await ack(sim.url, s, await update(s));
      await advance(clock, 1000);
      const fin = await update(s);
      expect(fin.state).to.equal('TASK_FINISHED');
      // Before the ack the master still reports it.
      await send(sim.url, s, { type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'done' }, agent_id: offer.agent_id }] } });
      expect((await update(s)).state).to.equal('TASK_FINISHED');
      await ack(sim.url, s, fin);
      await send(sim.url, s, { type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'done' }, agent_id: offer.agent_id }] } });
      const r = await update(s);
      expect(r.state).to.equal('TASK_LOST');
      expect(r.message).to.equal('Reconciliation: Task is unknown to the agent');
      expect(r.reason).to.equal('REASON_RECONCILIATION');
      expect(r.uuid).to.equal(undefined);
      expect(sim.master!.frameworks.get(s.frameworkId)!.completed.map((c) => c.task.id)).to.deep.equal(['done']);
      s.destroy();
    });
  });

  describe('RECONCILE (§3.4)', () => {
    it('implicit: one update per tracked task with the latest state known to the master, SOURCE_MASTER, no uuid', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const { s } = await launched(sim.url, (a) => [taskInfo('r1', a), taskInfo('r2', a)]);
        const st1 = await update(s);
        await update(s);
        await ack(sim.url, s, st1); // r1 -> RUNNING comes next; r2 stays at STARTING (unacked)
        await update(s);
        await send(sim.url, s, { type: 'RECONCILE', reconcile: {} });
        const got = new Map<string, TaskStatus>();
        for (let i = 0; i < 2; i++) {
          const st = await update(s);
          got.set(st.task_id.value, st);
        }
        expect(got.get(st1.task_id.value)!.state).to.equal('TASK_RUNNING');
        const other = [...got.keys()].find((k) => k !== st1.task_id.value)!;
        expect(got.get(other)!.state).to.equal('TASK_STARTING');
        for (const st of got.values()) {
          expect(st.source).to.equal('SOURCE_MASTER');
          expect(st.reason).to.equal('REASON_RECONCILIATION');
          expect(st.message).to.equal('Reconciliation: Latest task state');
          expect(st.uuid).to.equal(undefined);
          expect(st.executor_id).to.equal(undefined);
        }
        s.destroy();
      });
    });

    it('explicit: unknown task with a registered agent -> TASK_GONE (PARTITION_AWARE) / TASK_LOST; unknown agent -> TASK_UNKNOWN / TASK_LOST', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const pa = await subscribed(sim.url, frameworkInfo({ capabilities: [{ type: 'PARTITION_AWARE' }] }));
        const [o] = await offersOf(pa);
        await send(sim.url, pa, {
          type: 'RECONCILE',
          reconcile: { tasks: [{ task_id: { value: 'x' }, agent_id: o!.agent_id }, { task_id: { value: 'y' }, agent_id: { value: 'nope' } }, { task_id: { value: 'z' } }] },
        });
        const a = await update(pa);
        const b = await update(pa);
        const c = await update(pa);
        expect([a.state, a.message]).to.deep.equal(['TASK_GONE', 'Reconciliation: Task is unknown to the agent']);
        expect([b.state, b.message, b.agent_id?.value]).to.deep.equal(['TASK_UNKNOWN', 'Reconciliation: Task is unknown', 'nope']);
        expect([c.state, c.agent_id]).to.deep.equal(['TASK_UNKNOWN', undefined]);
        const plain = await subscribed(sim.url);
        await send(sim.url, plain, { type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'x' }, agent_id: o!.agent_id }] } });
        expect((await update(plain)).state).to.equal('TASK_LOST');
        pa.destroy();
        plain.destroy();
      });
    });
  });

  describe('KILL (§3.6, gotcha 28)', () => {
    it('TASK_KILLING first (TASK_KILLING_STATE), TASK_KILLED at the end of the kill_policy grace period', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const { s } = await launched(sim.url, (a) => [taskInfo('k', a, { killGraceSeconds: 20 })], frameworkInfo({ capabilities: [{ type: 'TASK_KILLING_STATE' }] }));
        await ack(sim.url, s, await update(s));
        await ack(sim.url, s, await update(s));
        await send(sim.url, s, { type: 'KILL', kill: { task_id: { value: 'k' } } });
        const killing = await update(s);
        expect(killing.state).to.equal('TASK_KILLING');
        await ack(sim.url, s, killing);
        await advance(clock, 19_000);
        expect(updatesIn(s.drain())).to.have.length(0);
        await advance(clock, 1000);
        const killed = await update(s);
        expect(killed.state).to.equal('TASK_KILLED');
        expect(killed.message).to.equal('Command terminated with signal Killed');
        s.destroy();
      });
    });

    it('without TASK_KILLING_STATE no TASK_KILLING; a KILL with a shorter grace period escalates', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const { s } = await launched(sim.url, (a) => [taskInfo('k', a, { killGraceSeconds: 60 })]);
        await ack(sim.url, s, await update(s));
        await ack(sim.url, s, await update(s));
        await send(sim.url, s, { type: 'KILL', kill: { task_id: { value: 'k' } } });
        await advance(clock, 5000);
        await send(sim.url, s, { type: 'KILL', kill: { task_id: { value: 'k' }, kill_policy: { grace_period: { nanoseconds: 2_000_000_000n } } } });
        await advance(clock, 1000);
        const st = await update(s);
        expect(st.state).to.equal('TASK_KILLED');
        expect(updatesIn(s.events).some((u) => u.state === 'TASK_KILLING')).to.equal(false);
        s.destroy();
      });
    });

    it('a task that exits on SIGTERM is TASK_KILLED at once ("signal Terminated")', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const { s } = await launched(sim.url, (a) => [taskInfo('k', a, { labels: { 'sim.exit_on_sigterm': 'true' } })]);
        await ack(sim.url, s, await update(s));
        await ack(sim.url, s, await update(s));
        await send(sim.url, s, { type: 'KILL', kill: { task_id: { value: 'k' } } });
        const st = await update(s);
        expect([st.state, st.message]).to.deep.equal(['TASK_KILLED', 'Command terminated with signal Terminated']);
        s.destroy();
      });
    });

    it('KILL of an unknown task is answered like an explicit reconcile; a wrong agent_id is ignored', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const { s, offer } = await launched(sim.url, (a) => [taskInfo('k', a)]);
        await ack(sim.url, s, await update(s));
        await ack(sim.url, s, await update(s));
        await send(sim.url, s, { type: 'KILL', kill: { task_id: { value: 'ghost' }, agent_id: offer.agent_id } });
        const r = await update(s);
        expect([r.task_id.value, r.state, r.reason, r.message]).to.deep.equal([
          'ghost',
          'TASK_LOST',
          'REASON_RECONCILIATION',
          'Reconciliation: Task is unknown to the agent',
        ]);
        await send(sim.url, s, { type: 'KILL', kill: { task_id: { value: 'k' }, agent_id: { value: 'elsewhere' } } });
        await advance(clock, 10_000);
        expect(updatesIn(s.drain())).to.have.length(0);
        expect(sim.groundTruth().map((t) => t.state)).to.deep.equal(['TASK_RUNNING']);
        s.destroy();
      });
    });
  });

  it('RECONCILE_OPERATIONS: 202, answers come as UPDATE_OPERATION_STATUS events (no operations exist here)', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const s = await subscribed(sim.url);
      const [o] = await offersOf(s);
      const r = await send(sim.url, s, {
        type: 'RECONCILE_OPERATIONS',
        reconcile_operations: { operations: [{ operation_id: { value: 'op1' }, agent_id: o!.agent_id }, { operation_id: { value: 'op2' } }] },
      });
      expect([r.status, r.text]).to.deep.equal([202, '']);
      const a = (await s.next('UPDATE_OPERATION_STATUS')).update_operation_status!.status as Record<string, unknown>;
      const b = (await s.next('UPDATE_OPERATION_STATUS')).update_operation_status!.status as Record<string, unknown>;
      expect(a).to.deep.include({ state: 'OPERATION_UNKNOWN', message: 'Reconciliation: Operation is unknown' });
      expect(b).to.deep.include({ state: 'OPERATION_UNKNOWN', message: "Reconciliation: Operation is unknown and no 'agent_id' was provided" });
      s.destroy();
    });
  });

  it('SHUTDOWN of a command task\'s executor kills the task', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const { s, offer } = await launched(sim.url, (a) => [taskInfo('sd', a)]);
      await ack(sim.url, s, await update(s));
      await ack(sim.url, s, await update(s));
      await send(sim.url, s, { type: 'SHUTDOWN', shutdown: { executor_id: { value: 'sd' }, agent_id: offer.agent_id } });
      await advance(clock, 5000);
      expect((await update(s)).state).to.equal('TASK_KILLED');
      s.destroy();
    });
  });

  it('ground truth and the transition observer show what runs where at every instant', async () => {
    await withSim({ agents: 2 }, async (sim, clock) => {
      const seen: TaskTransition[] = [];
      const off = sim.onTaskTransition((t) => seen.push(t));
      const { s, offer } = await launched(sim.url, (a) => [taskInfo('gt', a, { labels: { 'sim.fail_after_seconds': '5' } })]);
      await ack(sim.url, s, await update(s));
      await ack(sim.url, s, await update(s));
      const truth = sim.groundTruth();
      expect(truth).to.have.length(1);
      expect(truth[0]).to.include({ taskId: 'gt', frameworkId: s.frameworkId, agentId: offer.agent_id.value, hostname: offer.hostname, state: 'TASK_RUNNING' });
      await advance(clock, 5000);
      expect(sim.groundTruth()).to.have.length(0);
      expect(seen.map((t) => t.to)).to.deep.equal(['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
      expect(seen[3]!.at - seen[2]!.at).to.equal(5000);
      off();
      s.destroy();
    });
  });
});
