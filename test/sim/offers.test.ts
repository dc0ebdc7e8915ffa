/**
 * Offers: wire shape against the real master's recording, DECLINE filters, REVIVE / SUPPRESS, and
 * ACCEPT validation (contract §2.1, §2.5, §2.6, §2.8; gotchas 4, 24, 25, 26, 36).
 */
import { expect } from 'chai';
import { jsonCodec } from '../../src/mesos/codec.js';
import { decodeAll, encodeRecord } from '../../src/mesos/recordio.js';
import type { Event, Offer } from '../../src/mesos/types.js';
import { readFixture } from '../helpers/fixtures.js';
import {
  EVENT,
  type Stream,
  ack,
  acceptCall,
  advance,
  frameworkInfo,
  send,
  subscribed,
  taskInfo,
  tick,
  withSim,
} from './helpers.js';

const MASTER_ID = '40f70b3c-4931-4bd5-9732-f311965457d3';
const MULTI = frameworkInfo({ roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }] });

function recorded(file: string): { raw: Buffer[]; events: Event[] } {
  const raw = decodeAll(readFixture('real-mesos-1.12', file));
  return { raw, events: raw.map((r) => jsonCodec.decode<Event>(EVENT, r)) };
}

async function offersOf(s: Stream): Promise<Offer[]> {
  return (await s.next('OFFERS')).offers!.offers!;
}

/** Offers received on `s` after advancing the clock by `ms` (in 1 s steps). */
async function offersWithin(clock: import('../../src/util/clock.js').VirtualClock, s: Stream, ms: number): Promise<Offer[]> {
  s.drain();
  await advance(clock, ms);
  await tick(5);
  return s
    .drain()
    .filter((e) => e.type === 'OFFERS')
    .flatMap((e) => e.offers!.offers!);
}

describe('sim offers', () => {
  it('an offer is byte-identical to the recorded one except ids (record framing included)', async () => {
    // Same cluster as the recording's agent-1: 127.0.0.1:5051, rack-1, cpus 4, mem 4096, disk 10000, ports 31000-32000.
    await withSim({ agents: [{ hostname: 'agent-1', ip: '127.0.0.1', port: 5051, rack: 'rack-1' }], masterId: MASTER_ID }, async (sim) => {
      const s = await subscribed(sim.url, MULTI);
      await s.next('OFFERS');
      const mine = s.raw[2]!.toString('utf8');
      const rec = recorded('maint-json.recordio');
      const last = rec.raw[rec.raw.length - 1]!; // OFFERS O10 from agent-1 (S2) to framework -0001
      expect(rec.events[rec.events.length - 1]!.offers!.offers!).to.have.length(1);
      const adjusted = mine
        .replace(`${MASTER_ID}-O0"`, `${MASTER_ID}-O10"`)
        .replace(`${MASTER_ID}-0000"`, `${MASTER_ID}-0001"`)
        .replace(`${MASTER_ID}-S0"`, `${MASTER_ID}-S2"`);
      expect(adjusted).to.equal(last.toString('utf8'));
      expect(encodeRecord(Buffer.from(adjusted)).toString()).to.equal(`${last.length}\n${last.toString('utf8')}`);
      s.destroy();
    });
  });

  it('several offers are double-nested in one OFFERS event with the recorded key order (gotcha 4)', async () => {
    await withSim({ agents: 3 }, async (sim) => {
      const s = await subscribed(sim.url, MULTI);
      await s.next('OFFERS');
      const raw = s.raw[2]!.toString('utf8');
      expect(raw.startsWith('{"type":"OFFERS","offers":{"offers":[{"id":')).to.equal(true);
      const mine = jsonCodec.decode<Event>(EVENT, s.raw[2]!).offers!.offers![0]!;
      const theirs = recorded('subscribe-json.recordio').events[2]!.offers!.offers![0]!;
      expect(Object.keys(mine)).to.deep.equal(Object.keys(theirs));
      expect(mine.resources!.map((r) => r.name)).to.deep.equal(['ports', 'cpus', 'mem', 'disk']);
      expect(mine.resources!.map((r) => Object.keys(r))).to.deep.equal(theirs.resources!.map((r) => Object.keys(r)));
      expect(Object.keys(mine.url!.address)).to.deep.equal(Object.keys(theirs.url!.address));
      s.destroy();
    });
  });

  it('non-MULTI_ROLE frameworks get no allocation_info; RESERVATION_REFINEMENT ones no deprecated role', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const a = await subscribed(sim.url, frameworkInfo());
      const o = (await offersOf(a))[0]!;
      expect(o.allocation_info).to.equal(undefined);
      expect(o.resources!.every((r) => r.allocation_info === undefined && r.role === '*')).to.equal(true);
      a.destroy();
    });
    await withSim({ agents: 1 }, async (sim) => {
      const b = await subscribed(sim.url, frameworkInfo({ roles: ['web'], capabilities: [{ type: 'MULTI_ROLE' }, { type: 'RESERVATION_REFINEMENT' }] }));
      const o = (await offersOf(b))[0]!;
      expect(o.allocation_info).to.deep.equal({ role: 'web' });
      expect(o.resources!.every((r) => r.role === undefined && r.allocation_info?.role === 'web')).to.equal(true);
      b.destroy();
    });
  });

  describe('DECLINE and filters (§2.6, gotcha 26)', () => {
    const declineAll = async (url: string, s: Stream, offers: Offer[], filters?: Record<string, unknown>): Promise<void> => {
      const decline: Record<string, unknown> = { offer_ids: offers.map((o) => o.id) };
      if (filters) decline['filters'] = filters;
      await send(url, s, { type: 'DECLINE', decline });
    };

    it('without filters the agent is not re-offered for 5 s, then it is', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const s = await subscribed(sim.url);
        await declineAll(sim.url, s, await offersOf(s));
        expect(await offersWithin(clock, s, 4000)).to.have.length(0);
        expect(await offersWithin(clock, s, 2000)).to.have.length(1);
        s.destroy();
      });
    });

    it('refuse_seconds 0: no filter, re-offered at the next allocation', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const s = await subscribed(sim.url);
        await declineAll(sim.url, s, await offersOf(s), { refuse_seconds: 0 });
        expect(await offersWithin(clock, s, 1000)).to.have.length(1);
        s.destroy();
      });
    });

    it('refuse_seconds 30 holds for 30 s; negative means the 5 s default', async () => {
      await withSim({ agents: 2 }, async (sim, clock) => {
        const s = await subscribed(sim.url);
        const [o1, o2] = await offersOf(s);
        await declineAll(sim.url, s, [o1!], { refuse_seconds: 30 });
        await declineAll(sim.url, s, [o2!], { refuse_seconds: -1 });
        const early = await offersWithin(clock, s, 6000);
        expect(early.map((o) => o.agent_id.value)).to.deep.equal([o2!.agent_id.value]);
        await declineAll(sim.url, s, early, { refuse_seconds: 1000 });
        expect(await offersWithin(clock, s, 22_000)).to.have.length(0);
        const late = await offersWithin(clock, s, 3000);
        expect(late.map((o) => o.agent_id.value)).to.deep.equal([o1!.agent_id.value]);
        s.destroy();
      });
    });

    it('a filter lasts at least one allocation interval: max(refuse_seconds, allocation_interval)', async () => {
      await withSim({ agents: 2, allocationIntervalMs: 10_000 }, async (sim, clock) => {
        const s = await subscribed(sim.url);
        const offers = await offersOf(s);
        const first = offers.find((o) => o.hostname === 'agent-1')!;
        const second = offers.find((o) => o.hostname === 'agent-2')!;
        await declineAll(sim.url, s, [first], { refuse_seconds: 1 });
        await declineAll(sim.url, s, [second], { refuse_seconds: 0 });
        await advance(clock, 5000);
        s.drain();
        // An event-triggered allocation at t=5 s (an agent re-registers): agent-1 is still filtered.
        sim.faults.stopAgent('agent-2');
        sim.faults.restartAgent('agent-2');
        await tick(10);
        const got = s.drain().filter((e) => e.type === 'OFFERS').flatMap((e) => e.offers!.offers!);
        expect(got.map((o) => o.hostname)).to.deep.equal(['agent-2']);
        const later = await offersWithin(clock, s, 16_000);
        expect(later.map((o) => o.hostname)).to.deep.equal(['agent-1']);
        s.destroy();
      });
    });

    it('a filter only blocks subsets of what was refused: freed resources are offered despite it', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const s = await subscribed(sim.url);
        const [o] = await offersOf(s);
        // Launch a task that fails after 2 s; the rest is implicitly declined for an hour.
        const t = taskInfo('short', o!.agent_id, { cpus: 1, mem: 128, labels: { 'sim.fail_after_seconds': '2' } });
        await send(sim.url, s, acceptCall(s.frameworkId, [o!.id], [t], { refuse_seconds: 3600 }));
        // Acknowledge STARTING and RUNNING so the agent reports the failure right away.
        await ack(sim.url, s, (await s.next('UPDATE')).update!.status);
        await ack(sim.url, s, (await s.next('UPDATE')).update!.status);
        const got = await offersWithin(clock, s, 4000);
        expect(s.events.some((e) => e.update?.status.state === 'TASK_FAILED')).to.equal(true);
        expect(got).to.have.length(1);
        const cpus = got[0]!.resources!.find((r) => r.name === 'cpus')!.scalar!.value;
        expect(cpus).to.equal(4);
        s.destroy();
      });
    });

    it('REVIVE clears the filters and offers at once (no clock advance needed)', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const s = await subscribed(sim.url);
        await declineAll(sim.url, s, await offersOf(s), { refuse_seconds: 3600 });
        await send(sim.url, s, { type: 'REVIVE' });
        expect(await offersOf(s)).to.have.length(1);
        s.destroy();
      });
    });

    it('SUPPRESS stops offers (outstanding ones stay); REVIVE resumes them', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const s = await subscribed(sim.url);
        const offers = await offersOf(s);
        await send(sim.url, s, { type: 'SUPPRESS' });
        expect(s.events.some((e) => e.type === 'RESCIND')).to.equal(false);
        await declineAll(sim.url, s, offers, { refuse_seconds: 1 });
        expect(await offersWithin(clock, s, 10_000)).to.have.length(0);
        await send(sim.url, s, { type: 'REVIVE' });
        expect(await offersOf(s)).to.have.length(1);
        s.destroy();
      });
    });

    it('SUPPRESS/REVIVE with a role that is not the framework\'s drops the whole call', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const s = await subscribed(sim.url, frameworkInfo({ roles: ['a'], capabilities: [{ type: 'MULTI_ROLE' }] }));
        const offers = await offersOf(s);
        await send(sim.url, s, { type: 'SUPPRESS', suppress: { roles: ['a', 'zzz'] } });
        await declineAll(sim.url, s, offers, { refuse_seconds: 0 });
        expect(await offersWithin(clock, s, 2000)).to.have.length(1);
        s.destroy();
      });
    });
  });

  describe('ACCEPT validation (§2.5, gotchas 24, 25)', () => {
    const lostFor = async (s: Stream): Promise<Event[]> => {
      const out: Event[] = [];
      out.push(await s.next('UPDATE'));
      return out;
    };

    it('an unknown offer id voids the whole ACCEPT: TASK_LOST REASON_INVALID_OFFERS per task, no uuid, good offers back without filter', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const s = await subscribed(sim.url);
        const [o] = await offersOf(s);
        const tasks = [taskInfo('t1', o!.agent_id), taskInfo('t2', o!.agent_id)];
        await send(sim.url, s, acceptCall(s.frameworkId, [o!.id, { value: 'bogus' }], tasks));
        const u1 = await s.next('UPDATE');
        const u2 = await s.next('UPDATE');
        for (const [u, id] of [
          [u1, 't1'],
          [u2, 't2'],
        ] as const) {
          const st = u.update!.status;
          expect(st.task_id.value).to.equal(id);
          expect(st.state).to.equal('TASK_LOST');
          expect(st.source).to.equal('SOURCE_MASTER');
          expect(st.reason).to.equal('REASON_INVALID_OFFERS');
          expect(st.message).to.equal('Task launched with invalid offers: Offer bogus is no longer valid');
          expect(st.uuid).to.equal(undefined);
          expect(st.agent_id!.value).to.equal(o!.agent_id.value);
        }
        expect(sim.groundTruth()).to.have.length(0);
        // The valid offer came back without a filter: re-offered at the next allocation.
        expect(await offersWithin(clock, s, 1000)).to.have.length(1);
        void lostFor;
        s.destroy();
      });
    });

    it('PARTITION_AWARE frameworks get TASK_DROPPED instead', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const s = await subscribed(sim.url, frameworkInfo({ capabilities: [{ type: 'PARTITION_AWARE' }] }));
        const [o] = await offersOf(s);
        await send(sim.url, s, acceptCall(s.frameworkId, [{ value: 'bogus' }], [taskInfo('t1', o!.agent_id)]));
        const u = await s.next('UPDATE');
        expect(u.update!.status.state).to.equal('TASK_DROPPED');
        s.destroy();
      });
    });

    it('validation texts: empty list, duplicate id, another framework\'s offer', async () => {
      await withSim({ agents: 2 }, async (sim, clock) => {
        const a = await subscribed(sim.url);
        const oa = await offersOf(a);
        const b = await subscribed(sim.url);
        // a gives agent-2 away; b gets it at the next allocation.
        const give = oa.find((o) => o.hostname === 'agent-2')!;
        await send(sim.url, a, { type: 'DECLINE', decline: { offer_ids: [give.id], filters: { refuse_seconds: 1000 } } });
        await advance(clock, 1000);
        const ob = await offersOf(b);
        const keep = oa.find((o) => o.hostname === 'agent-1')!;
        const msg = async (offerIds: Array<{ value: string }>): Promise<string> => {
          await send(sim.url, a, acceptCall(a.frameworkId, offerIds, [taskInfo('x', keep.agent_id)]));
          return (await a.next('UPDATE')).update!.status.message!;
        };
        expect(await msg([])).to.equal('Task launched with invalid offers: No offers specified');
        expect(await msg([keep.id, keep.id])).to.equal(`Task launched with invalid offers: Duplicate offer ${keep.id.value} in offer list`);
        const other = ob[0]!;
        // keep.id was returned by the previous failed ACCEPT, so only the framework check fails now.
        expect(await msg([other.id])).to.equal(
          `Task launched with invalid offers: Offer ${other.id.value} has invalid framework ${b.frameworkId} while framework ${a.frameworkId} is expected`,
        );
        // As in Master::accept, every live offer listed in a failed ACCEPT is discarded, even one of
        // another framework; b is not told (no RESCIND) and its later ACCEPT of it fails.
        await send(sim.url, b, acceptCall(b.frameworkId, [other.id], [taskInfo('y', other.agent_id)]));
        expect(b.events.some((e) => e.type === 'RESCIND')).to.equal(false);
        expect((await b.next('UPDATE')).update!.status.state).to.equal('TASK_LOST');
        a.destroy();
        b.destroy();
      });
    });

    it('offers from two agents cannot be aggregated (gotcha 25)', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        const s = await subscribed(sim.url);
        const [o1, o2] = await offersOf(s);
        await send(sim.url, s, acceptCall(s.frameworkId, [o1!.id, o2!.id], [taskInfo('x', o1!.agent_id)]));
        const st = (await s.next('UPDATE')).update!.status;
        expect(st.message).to.equal(
          `Task launched with invalid offers: Aggregated offers must belong to one single agent. Offer ${o2!.id.value} uses agent ${o2!.agent_id.value} and agent ${o1!.agent_id.value}`,
        );
        s.destroy();
      });
    });

    it('a task asking more than offered gets TASK_ERROR REASON_TASK_INVALID with the master\'s text', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const s = await subscribed(sim.url, MULTI);
        const [o] = await offersOf(s);
        await send(sim.url, s, acceptCall(s.frameworkId, [o!.id], [taskInfo('big', o!.agent_id, { cpus: 8, mem: 64 })]));
        const st = (await s.next('UPDATE')).update!.status;
        expect(st.state).to.equal('TASK_ERROR');
        expect(st.reason).to.equal('REASON_TASK_INVALID');
        expect(st.source).to.equal('SOURCE_MASTER');
        expect(st.uuid).to.equal(undefined);
        expect(st.message).to.equal(
          'Total resources cpus(allocated: *):8; mem(allocated: *):64 required by task and its executor is more than available ' +
            'ports(allocated: *):[31000-32000]; cpus(allocated: *):4; mem(allocated: *):4096; disk(allocated: *):10000',
        );
        s.destroy();
      });
    });

    it('the second task of an ACCEPT only gets what the first one left', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const s = await subscribed(sim.url);
        const [o] = await offersOf(s);
        await send(
          sim.url,
          s,
          acceptCall(s.frameworkId, [o!.id], [taskInfo('a', o!.agent_id, { cpus: 3 }), taskInfo('b', o!.agent_id, { cpus: 3 })]),
        );
        const seen = new Map<string, string>();
        for (let i = 0; i < 2; i++) {
          const st = (await s.next('UPDATE')).update!.status;
          seen.set(st.task_id.value, st.state);
        }
        expect(seen.get('a')).to.equal('TASK_STARTING');
        expect(seen.get('b')).to.equal('TASK_ERROR');
        s.destroy();
      });
    });

    it('MULTI_ROLE: resources allocated to another role are an error; missing allocation_info is injected from the offer', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const s = await subscribed(sim.url, frameworkInfo({ roles: ['web'], capabilities: [{ type: 'MULTI_ROLE' }] }));
        const [o] = await offersOf(s);
        await send(
          sim.url,
          s,
          acceptCall(s.frameworkId, [o!.id], [taskInfo('wrong', o!.agent_id, { role: 'db' }), taskInfo('injected', o!.agent_id), taskInfo('right', o!.agent_id, { role: 'web' })]),
        );
        const states = new Map<string, string>();
        for (let i = 0; i < 3; i++) {
          const st = (await s.next('UPDATE')).update!.status;
          states.set(st.task_id.value, st.state);
        }
        expect(states.get('wrong')).to.equal('TASK_ERROR');
        expect(states.get('injected')).to.equal('TASK_STARTING');
        expect(states.get('right')).to.equal('TASK_STARTING');
        s.destroy();
      });
    });

    it('duplicate task ids and wrong agent ids are TASK_ERROR', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const s = await subscribed(sim.url);
        const [o] = await offersOf(s);
        await send(
          sim.url,
          s,
          acceptCall(s.frameworkId, [o!.id], [taskInfo('d', o!.agent_id), taskInfo('d', o!.agent_id), taskInfo('w', { value: 'other-agent' })]),
        );
        const msgs: string[] = [];
        for (let i = 0; i < 3; i++) {
          const st = (await s.next('UPDATE')).update!.status;
          if (st.state === 'TASK_ERROR') msgs.push(st.message!);
        }
        expect(msgs).to.have.members(['Task has duplicate ID: d', `Task uses invalid agent other-agent while agent ${o!.agent_id.value} is expected`]);
        s.destroy();
      });
    });

    it('unused resources are implicitly declined with accept.filters (default 5 s)', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const s = await subscribed(sim.url);
        const [o] = await offersOf(s);
        await send(sim.url, s, acceptCall(s.frameworkId, [o!.id], [taskInfo('t', o!.agent_id)]));
        expect(await offersWithin(clock, s, 4000)).to.have.length(0);
        const got = await offersWithin(clock, s, 2000);
        expect(got).to.have.length(1);
        expect(got[0]!.resources!.find((r) => r.name === 'cpus')!.scalar!.value).to.equal(3.5);
        expect(got[0]!.resources!.find((r) => r.name === 'mem')!.scalar!.value).to.equal(4032);
        s.destroy();
      });
    });

    it('an ACCEPT without operations behaves like DECLINE', async () => {
      await withSim({ agents: 1 }, async (sim, clock) => {
        const s = await subscribed(sim.url);
        const [o] = await offersOf(s);
        await send(sim.url, s, acceptCall(s.frameworkId, [o!.id], [], { refuse_seconds: 20 }));
        expect(await offersWithin(clock, s, 15_000)).to.have.length(0);
        expect(await offersWithin(clock, s, 6000)).to.have.length(1);
        s.destroy();
      });
    });

    it('LAUNCH_GROUP launches every task under the given executor', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const s = await subscribed(sim.url);
        const [o] = await offersOf(s);
        const executor = {
          type: 'DEFAULT',
          executor_id: { value: 'exec-1' },
          framework_id: { value: s.frameworkId },
          resources: [
            { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
            { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
            { name: 'disk', type: 'SCALAR', scalar: { value: 10 } },
          ],
        };
        const tasks = [taskInfo('g1', o!.agent_id), taskInfo('g2', o!.agent_id)].map((t) => {
          delete t['command'];
          return t;
        });
        await send(sim.url, s, {
          type: 'ACCEPT',
          accept: { offer_ids: [o!.id], operations: [{ type: 'LAUNCH_GROUP', launch_group: { executor, task_group: { tasks } } }] },
        });
        const a = (await s.next('UPDATE')).update!.status;
        const b = (await s.next('UPDATE')).update!.status;
        expect([a.task_id.value, b.task_id.value].sort()).to.deep.equal(['g1', 'g2']);
        expect(a.state).to.equal('TASK_STARTING');
        expect(a.executor_id!.value).to.equal('exec-1');
        s.destroy();
      });
    });
  });

  it('two frameworks share the agents (DRF)', async () => {
    await withSim({ agents: 4 }, async (sim) => {
      const a = await subscribed(sim.url);
      const oa = await offersOf(a);
      expect(oa).to.have.length(4);
      const b = await subscribed(sim.url);
      // a declines everything; b subscribed later gets the agents a refuses.
      await send(sim.url, a, { type: 'DECLINE', decline: { offer_ids: oa.map((o) => o.id), filters: { refuse_seconds: 100 } } });
      await send(sim.url, b, { type: 'REVIVE' });
      const ob = await offersOf(b);
      expect(ob).to.have.length(4);
      a.destroy();
      b.destroy();
    });
  });
});
