/**
 * Health checks (issue 12 item 1): HealthCheck / TaskInfo.health_check / TaskStatus.healthy and
 * REASON_TASK_HEALTH_CHECK_STATUS_UPDATED on the wire (JSON and protobuf, byte for byte, field
 * numbers as include/mesos/v1/mesos.proto), and the simulator's executor-side health checking
 * (src/checks/health_checker.cpp + src/launcher/executor.cpp): delay, interval, grace period,
 * consecutive failures, the kill after too many failures, driven by the `sim.health` label.
 */
import { expect } from 'chai';
import { jsonCodec, protobufCodec } from '../../src/mesos/codec.js';
import type { HealthCheck, TaskStatus } from '../../src/mesos/types.js';
import { healthPasses, parseHealthBehaviour } from '../../src/sim/health.js';
import type { VirtualClock } from '../../src/util/clock.js';
import { type Stream, ack, acceptCall, frameworkInfo, request, send, subscribed, taskInfo, tick, withSim } from './helpers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const HC = 'mesos.v1.HealthCheck';

describe('sim health checks', () => {
  describe('wire', () => {
    it('HealthCheck (HTTP) encodes to the field numbers of mesos.proto, in number order, and round-trips byte for byte', () => {
      const hc: HealthCheck = { type: 'HTTP', http: { port: 8080, path: '/health', scheme: 'http', statuses: [200, 204] }, consecutive_failures: 5, grace_period_seconds: 30 };
      // 1 http {1 port, 2 path, 3 scheme, 4 statuses (proto2: not packed)}, 5 consecutive_failures, 6 grace (double), 8 type
      const expected =
        '0a18' + '08903f' + '1207' + Buffer.from('/health').toString('hex') + '1a04' + Buffer.from('http').toString('hex') + '20c801' + '20cc01' +
        '2805' + '31' + '0000000000003e40' + '4002';
      const bytes = protobufCodec.encode(HC, hc);
      expect(hex(bytes)).to.equal(expected);
      expect(hex(protobufCodec.encode(HC, protobufCodec.decode(HC, bytes)))).to.equal(expected);
    });

    it('HealthCheck JSON: declaration order with the mesos.proto defaults, as Mesos writes it; TCP and COMMAND round-trip', () => {
      const http = jsonCodec.encode(HC, { type: 'HTTP', http: { port: 80, path: '/h', statuses: [200] } });
      expect(Buffer.from(http).toString()).to.equal(
        '{"delay_seconds":15.0,"interval_seconds":10.0,"timeout_seconds":20.0,"consecutive_failures":3,"grace_period_seconds":10.0,"type":"HTTP","http":{"protocol":"IPv4","port":80,"path":"/h","statuses":[200]}}',
      );
      for (const hc of [
        { type: 'TCP', tcp: { port: 31000, protocol: 'IPv6' }, delay_seconds: 1.5, interval_seconds: 2, timeout_seconds: 0 },
        { type: 'COMMAND', command: { value: 'curl -f localhost:8080/health', shell: true }, consecutive_failures: 1 },
      ] as HealthCheck[]) {
        const j = jsonCodec.encode(HC, hc);
        expect(Buffer.from(jsonCodec.encode(HC, jsonCodec.decode(HC, j))).toString()).to.equal(Buffer.from(j).toString());
        const p = protobufCodec.encode(HC, hc);
        expect(hex(protobufCodec.encode(HC, protobufCodec.decode(HC, p)))).to.equal(hex(p));
        expect(jsonCodec.decode<HealthCheck>(HC, j)).to.deep.include({ type: hc.type });
      }
      // 8 type TCP = 3, 9 tcp {1 port 31000, 2 protocol IPv6 = 2}
      expect(hex(protobufCodec.encode(HC, { type: 'TCP', tcp: { port: 31000, protocol: 'IPv6' } }))).to.equal('4003' + '4a06' + '0898f201' + '1002');
    });

    it('TaskInfo.health_check (8), TaskStatus.healthy (8) and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED (29)', () => {
      const status = { task_id: { value: 't' }, state: 'TASK_RUNNING', reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', healthy: true };
      expect(hex(protobufCodec.encode('mesos.v1.TaskStatus', status))).to.equal('0a030a0174' + '1001' + '4001' + '501d');
      expect(Buffer.from(jsonCodec.encode('mesos.v1.TaskStatus', status)).toString()).to.equal(
        '{"task_id":{"value":"t"},"state":"TASK_RUNNING","reason":"REASON_TASK_HEALTH_CHECK_STATUS_UPDATED","healthy":true}',
      );
      const ti = { name: 'n', task_id: { value: 't' }, agent_id: { value: 'a' }, health_check: { type: 'TCP', tcp: { port: 1 } } };
      const pb = protobufCodec.encode('mesos.v1.TaskInfo', ti);
      // 1 name, 2 task_id, 3 agent_id, 8 health_check {8 type TCP = 3, 9 tcp {1 port}}
      expect(hex(pb)).to.equal('0a016e' + '12030a0174' + '1a030a0161' + '4206' + '4003' + '4a020801');
      expect(hex(protobufCodec.encode('mesos.v1.TaskInfo', protobufCodec.decode('mesos.v1.TaskInfo', pb)))).to.equal(hex(pb));
    });

    it('sim.health values', () => {
      expect(['healthy', 'unhealthy', 'flap', 'recover-after:30', 'recover-after:1.5', 'sick', 'recover-after:'].map(parseHealthBehaviour)).to.deep.equal([
        { kind: 'healthy' },
        { kind: 'unhealthy' },
        { kind: 'flap' },
        { kind: 'recover', recoverAfterMs: 30000 },
        { kind: 'recover', recoverAfterMs: 1500 },
        undefined,
        undefined,
      ]);
      expect([0, 1, 2, 3].map((n) => healthPasses({ kind: 'flap' }, n, 0))).to.deep.equal([true, false, true, false]);
      expect([29999, 30000].map((ms) => healthPasses({ kind: 'recover', recoverAfterMs: 30000 }, 0, ms))).to.deep.equal([false, true]);
    });
  });

  describe('simulated executor', () => {
    // checks at +5 s, then every 10 s; failures ignored for 20 s until a first success; 3 in a row kill
    const CHECK = { type: 'TCP', tcp: { port: 31000 }, delay_seconds: 5, interval_seconds: 10, grace_period_seconds: 20, consecutive_failures: 3 };

    /** Launches one task with CHECK (and `health` as sim.health), acknowledging every update. */
    async function run(
      url: string,
      clock: VirtualClock,
      o: { health?: string; check?: Record<string, unknown> | null; info?: Record<string, unknown> },
      seconds: number,
    ): Promise<{ seen: Array<{ at: number; status: TaskStatus }>; s: Stream }> {
      const s = await subscribed(url, o.info ?? frameworkInfo());
      const offer = (await s.next('OFFERS')).offers!.offers![0]!;
      const extra = o.check === null ? {} : { health_check: o.check ?? CHECK };
      const labels = o.health ? { 'sim.health': o.health } : undefined;
      await send(url, s, acceptCall(s.frameworkId, [offer.id], [taskInfo('hc', offer.agent_id, { labels, extra })]));
      const t0 = clock.now();
      const seen: Array<{ at: number; status: TaskStatus }> = [];
      const collect = async (): Promise<void> => {
        for (let round = 0; round < 5; round++) {
          await tick(5);
          const ups = s.drain().filter((e) => e.type === 'UPDATE');
          if (!ups.length) return;
          for (const e of ups) {
            const st = e.update!.status;
            seen.push({ at: (clock.now() - t0) / 1000, status: st });
            await ack(url, s, st);
          }
        }
      };
      await collect();
      for (let i = 0; i < seconds; i++) {
        await clock.advance(1000);
        await collect();
      }
      return { seen, s };
    }

    const health = (seen: Array<{ at: number; status: TaskStatus }>): Array<[number, string, boolean | undefined]> =>
      seen.filter((x) => x.status.healthy !== undefined || x.status.state !== 'TASK_RUNNING' || x.status.reason).map((x) => [x.at, x.status.state, x.status.healthy]);

    it('healthy (default): one TASK_RUNNING healthy=true at the first check, SOURCE_EXECUTOR, REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, with a uuid', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const { seen, s } = await run(sim.url, clock, {}, 40);
        expect(seen.map((x) => [x.at, x.status.state, x.status.healthy])).to.deep.equal([
          [0, 'TASK_STARTING', undefined],
          [0, 'TASK_RUNNING', undefined],
          [5, 'TASK_RUNNING', true],
        ]);
        const h = seen[2]!.status;
        expect([h.source, h.reason, h.executor_id?.value, h.uuid?.length]).to.deep.equal(['SOURCE_EXECUTOR', 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', 'hc', 16]);
        // the master keeps it: /master/state's last status of the task says healthy
        const state = JSON.parse((await request(sim.url, { path: '/master/state' })).text) as Record<string, any>;
        const statuses = state['frameworks'][0]['tasks'][0]['statuses'] as Array<Record<string, unknown>>;
        expect(statuses[statuses.length - 1]).to.include({ state: 'TASK_RUNNING', healthy: true });
        // the agent-side task stayed RUNNING since launch (a health update is not a transition)
        expect(sim.groundTruth()[0]!.since).to.equal(clock.now() - 40000);
        s.destroy();
      });
    });

    it('unhealthy: failures ignored in the grace period, then healthy=false per failure, killed after 3 (TASK_KILLING, TASK_KILLED healthy=false)', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const { seen, s } = await run(sim.url, clock, { health: 'unhealthy', info: frameworkInfo({ capabilities: [{ type: 'TASK_KILLING_STATE' }] }) }, 60);
        s.destroy();
        expect(health(seen)).to.deep.equal([
          [0, 'TASK_STARTING', undefined],
          [25, 'TASK_RUNNING', false],
          [35, 'TASK_RUNNING', false],
          [45, 'TASK_RUNNING', false],
          [45, 'TASK_KILLING', undefined],
          [48, 'TASK_KILLED', false],
        ]);
        const killed = seen[seen.length - 1]!.status;
        expect([killed.message, killed.source]).to.deep.equal(['Command terminated with signal Killed', 'SOURCE_EXECUTOR']);
        expect(sim.groundTruth()).to.deep.equal([]);
      });
    });

    it('flap: healthy and unhealthy in turn, never killed while failures are not consecutive', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const { seen, s } = await run(sim.url, clock, { health: 'flap' }, 50);
        s.destroy();
        expect(health(seen).slice(1)).to.deep.equal([
          [5, 'TASK_RUNNING', true],
          [15, 'TASK_RUNNING', false],
          [25, 'TASK_RUNNING', true],
          [35, 'TASK_RUNNING', false],
          [45, 'TASK_RUNNING', true],
        ]);
        expect(sim.groundTruth().map((t) => t.state)).to.deep.equal(['TASK_RUNNING']);
      });
    });

    it('recover-after:30: unhealthy once out of the grace period, healthy from the first passing check; reconcile reports healthy', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const { seen, s } = await run(sim.url, clock, { health: 'recover-after:30' }, 50);
        expect(health(seen).slice(1)).to.deep.equal([
          [25, 'TASK_RUNNING', false],
          [35, 'TASK_RUNNING', true],
        ]);
        await send(sim.url, s, { type: 'RECONCILE', reconcile: { tasks: [] } });
        const rec = (await s.next('UPDATE')).update!.status;
        expect([rec.state, rec.healthy, rec.reason, rec.source]).to.deep.equal(['TASK_RUNNING', true, 'REASON_RECONCILIATION', 'SOURCE_MASTER']);
        const v1 = await request(sim.url, {
          method: 'POST',
          path: '/api/v1',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ type: 'GET_TASKS' }),
        });
        const statuses = (JSON.parse(v1.text) as Record<string, any>)['get_tasks']['tasks'][0]['statuses'] as Array<Record<string, unknown>>;
        expect(statuses[statuses.length - 1]).to.include({ state: 'TASK_RUNNING', healthy: true });
        s.destroy();
      });
    });

    it('the label alone does nothing without a health_check; a health_check with default fields checks after 15 s', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const none = await run(sim.url, clock, { health: 'unhealthy', check: null }, 60);
        expect(none.seen.map((x) => x.status.state)).to.deep.equal(['TASK_STARTING', 'TASK_RUNNING']);
        none.s.destroy();
      });
      await withSim({ agents: 1 }, async (sim, clock) => {
        const dflt = await run(sim.url, clock, { check: { type: 'HTTP', http: { port: 31000, path: '/health' } } }, 30);
        expect(health(dflt.seen).slice(1)).to.deep.equal([[15, 'TASK_RUNNING', true]]);
        dflt.s.destroy();
      });
    });
  });
});

