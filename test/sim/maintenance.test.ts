/**
 * Maintenance primitives: schedule validation and effects, machine matching, inverse offers and
 * their re-sending, /machine/down and /machine/up, the operator API equivalents
 * (contract §2.3, §2.7, §4; gotchas 8-17, 27, 35).
 */
import { expect } from 'chai';
import { jsonCodec } from '../../src/mesos/codec.js';
import type { Event, InverseOffer, Offer } from '../../src/mesos/types.js';
import { readFixture } from '../helpers/fixtures.js';
import { type HttpResult, type Stream, ack, acceptCall, advance, frameworkInfo, request, send, subscribed, taskInfo, tick, withSim } from './helpers.js';

const START = 1795422430565157510n;

function windowJson(machines: Array<Record<string, string>>, start = START, duration: bigint | undefined = 3600000000000n): string {
  const un = duration === undefined ? `{"start":{"nanoseconds":${start}}}` : `{"start":{"nanoseconds":${start}},"duration":{"nanoseconds":${duration}}}`;
  return `{"machine_ids":${JSON.stringify(machines)},"unavailability":${un}}`;
}
const schedule = (...windows: string[]): string => `{"windows":[${windows.join(',')}]}`;

const post = (url: string, body: string, path = '/master/maintenance/schedule'): Promise<HttpResult> =>
  request(url, { method: 'POST', path, body, headers: { 'Content-Type': 'application/json' } });
const getSchedule = async (url: string): Promise<string> => (await request(url, { path: '/master/maintenance/schedule' })).text;
const getStatus = async (url: string): Promise<Record<string, unknown>> =>
  jsonCodec.decode('mesos.v1.maintenance.ClusterStatus', (await request(url, { path: '/master/maintenance/status' })).body);
const down = (url: string, machines: Array<Record<string, string>>): Promise<HttpResult> =>
  request(url, { method: 'POST', path: '/master/machine/down', body: JSON.stringify(machines) });
const up = (url: string, machines: Array<Record<string, string>>): Promise<HttpResult> =>
  request(url, { method: 'POST', path: '/master/machine/up', body: JSON.stringify(machines) });

const A1 = { hostname: 'agent-1', ip: '127.0.1.1' };
const A2 = { hostname: 'agent-2', ip: '127.0.1.2' };

async function offersOf(s: Stream): Promise<Offer[]> {
  return (await s.next('OFFERS')).offers!.offers!;
}
async function inverseOf(s: Stream, timeoutMs = 2000): Promise<InverseOffer[]> {
  return (await s.next('INVERSE_OFFERS', timeoutMs)).inverse_offers!.inverse_offers!;
}
function typesOf(events: Event[]): string[] {
  return events.map((e) => e.type).filter((t) => t !== 'HEARTBEAT');
}

/** A framework with one running (acknowledged) task on agent-1. */
async function withTaskOnAgent1(url: string, info: Record<string, unknown> = frameworkInfo()): Promise<{ s: Stream; offers: Offer[] }> {
  const s = await subscribed(url, info);
  const offers = await offersOf(s);
  const o1 = offers.find((o) => o.hostname === 'agent-1')!;
  await send(url, s, acceptCall(s.frameworkId, [o1.id], [taskInfo('on-a1', o1.agent_id)], { refuse_seconds: 0 }));
  await ack(url, s, (await s.next('UPDATE')).update!.status);
  await ack(url, s, (await s.next('UPDATE')).update!.status);
  return { s, offers: offers.filter((o) => o.hostname !== 'agent-1') };
}

describe('sim maintenance', () => {
  describe('/maintenance/schedule', () => {
    it('GET is {} at first; POST is 200 with an empty body; GET returns what was posted, byte for byte', async () => {
      await withSim({ agents: [{ hostname: 'agent-1', ip: '127.0.0.1' }] }, async (sim) => {
        const empty = await request(sim.url, { path: '/master/maintenance/schedule' });
        expect([empty.status, empty.text, empty.headers['content-type']]).to.deep.equal([200, '{}', 'application/json']);
        const body = readFixture('real-mesos-1.12', 'maintenance-schedule-body.json').toString('utf8').trim();
        const r = await post(sim.url, body, '/maintenance/schedule');
        expect([r.status, r.text]).to.deep.equal([200, '']);
        expect(await getSchedule(sim.url)).to.equal(body);
        const jsonp = await request(sim.url, { path: '/maintenance/schedule?jsonp=cb' });
        expect(jsonp.text).to.equal(`cb(${body})`);
        expect(jsonp.headers['content-type']).to.equal('text/javascript');
      });
    });

    it('405 with Allow: GET, POST', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const r = await request(sim.url, { method: 'PUT', path: '/master/maintenance/schedule' });
        expect(r.status).to.equal(405);
        expect(r.headers['allow']).to.equal('GET, POST');
        const st = await request(sim.url, { method: 'POST', path: '/master/maintenance/status' });
        expect([st.status, st.headers['allow']]).to.deep.equal([405, 'GET']);
      });
    });

    it('validation texts, first failure wins, state unchanged (§4.4, gotchas 10, 15)', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        const cases: Array<[string, string]> = [
          ['[]', 'Unexpected JSON type parsed'],
          ['{"windows":[{"machine_ids":[{"hostname":"a"}]}]}', 'Missing required fields: windows[0].unavailability'],
          [schedule(windowJson([])), 'List of machines in the maintenance window is empty'],
          [schedule(windowJson([{ hostname: 'x' }], START, -1n)), "Unavailability 'duration' is negative"],
          [schedule(windowJson([{ hostname: '', ip: '' }])), "Both 'hostname' and 'ip' for a machine are empty"],
          [schedule(windowJson([{ hostname: 'x', ip: '10.0.0.300' }])), 'Failed to parse IPv4: 10.0.0.300'],
          [schedule(windowJson([{ hostname: 'x', ip: '10.0.0.01' }])), 'Failed to parse IPv4: 10.0.0.01'],
          [
            schedule(windowJson([A1]), windowJson([{ hostname: 'AGENT-1', ip: '127.0.1.1' }])),
            'Machine \'{"hostname":"AGENT-1","ip":"127.0.1.1"}\' appears more than once in the schedule',
          ],
          [schedule(windowJson([]), windowJson([A1, A1])), 'List of machines in the maintenance window is empty'],
        ];
        for (const [body, message] of cases) {
          const r = await post(sim.url, body);
          expect([r.status, r.text], body).to.deep.equal([400, message]);
          expect(r.headers['content-type']).to.equal('text/plain; charset=utf-8');
        }
        expect(await getSchedule(sim.url)).to.equal('{}');
        // Negative or past start is fine; a missing duration too.
        expect((await post(sim.url, schedule(windowJson([A1], -5n, undefined)))).status).to.equal(200);
      });
    });

    it('machines need not have agents; an empty schedule cancels every DRAINING machine', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        expect((await post(sim.url, schedule(windowJson([{ hostname: 'ghost' }]), windowJson([A1])))).status).to.equal(200);
        expect(((await getStatus(sim.url))['draining_machines'] as unknown[]).length).to.equal(2);
        expect((await post(sim.url, '{"windows":[]}')).status).to.equal(200);
        expect(await getStatus(sim.url)).to.deep.equal({});
        expect(await getSchedule(sim.url)).to.equal('{}');
      });
    });
  });

  describe('effects of a schedule POST (§4.5, gotcha 8)', () => {
    it('rescinds every outstanding offer on every agent, even unchanged or UP machines; new offers carry unavailability only for scheduled agents', async () => {
      await withSim({ agents: 3 }, async (sim) => {
        const s = await subscribed(sim.url);
        const first = await offersOf(s);
        expect((await post(sim.url, schedule(windowJson([A1])))).status).to.equal(200);
        const rescinded: string[] = [];
        for (let i = 0; i < 3; i++) rescinded.push((await s.next('RESCIND')).rescind!.offer_id.value);
        expect(rescinded.sort()).to.deep.equal(first.map((o) => o.id.value).sort());
        const again: Offer[] = [];
        while (again.length < 3) again.push(...(await offersOf(s)));
        for (const o of again) {
          if (o.hostname === 'agent-1') {
            expect(o.unavailability!.start.nanoseconds).to.equal(START);
            expect(o.unavailability!.duration!.nanoseconds).to.equal(3600000000000n);
          } else {
            expect(o.unavailability).to.equal(undefined);
          }
        }
        // Re-posting the very same schedule rescinds everything again.
        s.drain();
        expect((await post(sim.url, schedule(windowJson([A1])))).status).to.equal(200);
        for (let i = 0; i < 3; i++) await s.next('RESCIND');
        s.destroy();
      });
    });

    it('hostname matching is case-insensitive (the posted spelling is kept); entries without ip never match an agent (gotchas 9, 10)', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        const s = await subscribed(sim.url);
        await offersOf(s);
        await post(sim.url, schedule(windowJson([{ hostname: 'AGENT-1', ip: '127.0.1.1' }, { hostname: 'agent-2' }])));
        const got: Offer[] = [];
        while (got.length < 2) {
          const e = await s.next();
          if (e.type === 'OFFERS') got.push(...e.offers!.offers!);
        }
        expect(got.find((o) => o.hostname === 'agent-1')!.unavailability).to.not.equal(undefined);
        expect(got.find((o) => o.hostname === 'agent-2')!.unavailability).to.equal(undefined);
        expect(await getSchedule(sim.url)).to.contain('"hostname":"AGENT-1"');
        s.destroy();
      });
    });
  });

  describe('inverse offers (§2.3, §2.7, gotchas 11, 12, 27)', () => {
    it('go to frameworks with tasks or offers on the agent, not to others; no resources field; SUPPRESS does not stop them', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        const { s } = await withTaskOnAgent1(sim.url);
        await send(sim.url, s, { type: 'SUPPRESS' });
        // The bystander gets agent-1's leftovers, gives everything back and suppresses: it then
        // has nothing offered or allocated on agent-1.
        const bystander = await subscribed(sim.url);
        const its = await offersOf(bystander);
        await send(sim.url, bystander, { type: 'SUPPRESS' });
        await send(sim.url, bystander, { type: 'DECLINE', decline: { offer_ids: its.map((o) => o.id), filters: { refuse_seconds: 3600 } } });
        await post(sim.url, schedule(windowJson([A1])));
        const [io] = await inverseOf(s);
        expect(io!.agent_id!.value).to.equal(sim.findAgent('agent-1').id);
        expect(io!.framework_id.value).to.equal(s.frameworkId);
        expect(io!.unavailability.start.nanoseconds).to.equal(START);
        expect(io!.resources).to.equal(undefined);
        expect(io!.url).to.deep.equal({ scheme: 'http', address: { hostname: 'agent-1', ip: '127.0.1.1', port: 5051 }, path: '/slave(1)' });
        const raw = s.raw[s.events.findIndex((e) => e.type === 'INVERSE_OFFERS')]!.toString();
        expect(raw).to.match(/^\{"type":"INVERSE_OFFERS","inverse_offers":\{"inverse_offers":\[\{"id":\{"value":"[^"]+-O\d+"\},"url":/);
        expect(await bystander.none('INVERSE_OFFERS', 100)).to.equal(true);
        s.destroy();
        bystander.destroy();
      });
    });

    it('ACCEPT records the status with a timestamp, removes the inverse offer silently, and a new one comes after the 5 s filter', async () => {
      await withSim({ agents: 2 }, async (sim, clock) => {
        const { s } = await withTaskOnAgent1(sim.url);
        await post(sim.url, schedule(windowJson([A1])));
        const [io] = await inverseOf(s);
        await send(sim.url, s, { type: 'ACCEPT_INVERSE_OFFERS', accept_inverse_offers: { inverse_offer_ids: [io!.id] } });
        const status = await getStatus(sim.url);
        const dm = (status['draining_machines'] as Array<{ id: unknown; statuses: Array<{ status: string; framework_id: { value: string }; timestamp: { nanoseconds: bigint } }> }>)[0]!;
        expect(dm.id).to.deep.equal(A1);
        expect(dm.statuses).to.have.length(1);
        expect(dm.statuses[0]!.status).to.equal('ACCEPT');
        expect(dm.statuses[0]!.framework_id.value).to.equal(s.frameworkId);
        expect(dm.statuses[0]!.timestamp.nanoseconds).to.equal(BigInt(clock.now()) * 1_000_000n);
        s.drain();
        await advance(clock, 4000);
        expect(typesOf(s.drain())).to.not.include('INVERSE_OFFERS');
        expect(s.events.some((e) => e.type === 'RESCIND_INVERSE_OFFER')).to.equal(false);
        await advance(clock, 2000);
        const [again] = await inverseOf(s);
        expect(again!.id.value).to.not.equal(io!.id.value);
        s.destroy();
      });
    });

    it('DECLINE with refuse_seconds 30 waits 30 s; REVIVE clears the inverse-offer filter at once', async () => {
      await withSim({ agents: 2 }, async (sim, clock) => {
        const { s } = await withTaskOnAgent1(sim.url);
        await post(sim.url, schedule(windowJson([A1])));
        const [io] = await inverseOf(s);
        await send(sim.url, s, { type: 'DECLINE_INVERSE_OFFERS', decline_inverse_offers: { inverse_offer_ids: [io!.id], filters: { refuse_seconds: 30 } } });
        const st = await getStatus(sim.url);
        expect((st['draining_machines'] as Array<{ statuses: Array<{ status: string }> }>)[0]!.statuses[0]!.status).to.equal('DECLINE');
        s.drain();
        await advance(clock, 20_000);
        expect(typesOf(s.drain())).to.not.include('INVERSE_OFFERS');
        await send(sim.url, s, { type: 'REVIVE' });
        await inverseOf(s);
        s.destroy();
      });
    });

    it('a schedule POST resets recorded statuses and rescinds outstanding inverse offers', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        const { s } = await withTaskOnAgent1(sim.url);
        await post(sim.url, schedule(windowJson([A1])));
        const [io] = await inverseOf(s);
        await send(sim.url, s, { type: 'ACCEPT_INVERSE_OFFERS', accept_inverse_offers: { inverse_offer_ids: [io!.id] } });
        const before = (await getStatus(sim.url))['draining_machines'] as Array<{ statuses?: unknown[] }>;
        expect(before[0]!.statuses).to.have.length(1);
        await post(sim.url, schedule(windowJson([A1], START + 1000n)));
        expect((await getStatus(sim.url))['draining_machines']).to.deep.equal([{ id: A1 }]);
        const [io2] = await inverseOf(s);
        expect(io2!.unavailability.start.nanoseconds).to.equal(START + 1000n);
        await post(sim.url, schedule(windowJson([A1], START + 2000n)));
        const r = await s.next('RESCIND_INVERSE_OFFER');
        expect(r.rescind_inverse_offer!.inverse_offer_id.value).to.equal(io2!.id.value);
        s.destroy();
      });
    });

    it('a re-subscribing framework gets a new inverse offer (the old one vanished without rescind)', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        const info = frameworkInfo({ failover_timeout: 600 });
        const { s } = await withTaskOnAgent1(sim.url, info);
        await post(sim.url, schedule(windowJson([A1])));
        const [io] = await inverseOf(s);
        const { Stream, subscribeCall } = await import('./helpers.js');
        const b = await Stream.open(sim.url, subscribeCall(info, s.frameworkId));
        await b.next('SUBSCRIBED');
        const [io2] = await inverseOf(b);
        expect(io2!.id.value).to.not.equal(io!.id.value);
        expect(b.events.some((e) => e.type === 'RESCIND_INVERSE_OFFER')).to.equal(false);
        b.destroy();
      });
    });
  });

  describe('/machine/down and /machine/up (§4.6-4.8, gotchas 14-16, 35)', () => {
    it('validation: empty list, duplicates, unknown machine, not DRAINING, not DOWN', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        expect((await down(sim.url, [])).text).to.equal('List of machines is empty');
        expect((await down(sim.url, [A1, { hostname: 'AGENT-1', ip: '127.0.1.1' }])).text).to.equal(
          'Machine \'{"hostname":"AGENT-1","ip":"127.0.1.1"}\' appears more than once in the schedule',
        );
        expect((await down(sim.url, [{ hostname: 'nobody' }])).text).to.equal('Machine \'{"hostname":"nobody"}\' is not part of a maintenance schedule');
        const r = await down(sim.url, [A1]);
        expect([r.status, r.text]).to.deep.equal([400, 'Machine \'{"hostname":"agent-1","ip":"127.0.1.1"}\' is not in DRAINING mode and cannot be brought down']);
        expect((await up(sim.url, [A1])).text).to.equal('Machine \'{"hostname":"agent-1","ip":"127.0.1.1"}\' is not in DOWN mode and cannot be brought up');
        const bad = await request(sim.url, { method: 'POST', path: '/master/machine/down', body: '{}' });
        expect([bad.status, bad.text]).to.deep.equal([400, 'Unexpected JSON type parsed']);
        const get = await request(sim.url, { method: 'GET', path: '/master/machine/down' });
        expect([get.status, get.headers['allow']]).to.deep.equal([405, 'POST']);
      });
    });

    it('down: TASK_LOST (no uuid, even for PARTITION_AWARE), then RESCIND, RESCIND_INVERSE_OFFER, FAILURE to every connected framework', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        const { s } = await withTaskOnAgent1(sim.url, frameworkInfo({ capabilities: [{ type: 'PARTITION_AWARE' }] }));
        const other = await subscribed(sim.url); // nothing on agent-1
        await post(sim.url, schedule(windowJson([A1])));
        await inverseOf(s);
        // s holds an offer for agent-1's leftovers (re-offered with the unavailability).
        const fw = sim.master!.frameworks.get(s.frameworkId)!;
        expect([...fw.offers].some((o) => o.agent.hostname === 'agent-1')).to.equal(true);
        s.drain();
        other.drain();
        const agentId = sim.findAgent('agent-1').id;
        const r = await down(sim.url, [A1]);
        expect([r.status, r.text]).to.deep.equal([200, '']);
        const lost = await s.next('UPDATE');
        const st = lost.update!.status;
        expect(st.state).to.equal('TASK_LOST');
        expect(st.reason).to.equal('REASON_AGENT_REMOVED');
        expect(st.source).to.equal('SOURCE_MASTER');
        expect(st.message).to.equal("Agent agent-1 removed: Operator initiated 'Machine DOWN'");
        expect(st.uuid).to.equal(undefined);
        expect(st.executor_id).to.equal(undefined);
        await s.next('FAILURE');
        expect(typesOf(s.events.slice(s.events.indexOf(lost)))).to.deep.equal(['UPDATE', 'RESCIND', 'RESCIND_INVERSE_OFFER', 'FAILURE']);
        expect((await other.next('FAILURE')).failure).to.deep.equal({ agent_id: { value: agentId } });
        expect(sim.groundTruth()).to.have.length(0);
        const status = await getStatus(sim.url);
        expect(status['down_machines']).to.deep.equal([A1]);
        expect(status['draining_machines']).to.equal(undefined);
        // The raw UPDATE matches the recorded shape.
        const raw = s.raw[s.events.indexOf(lost)]!.toString();
        expect(raw).to.match(
          /^\{"type":"UPDATE","update":\{"status":\{"task_id":\{"value":"on-a1"\},"state":"TASK_LOST","message":"Agent agent-1 removed: Operator initiated 'Machine DOWN'","source":"SOURCE_MASTER","reason":"REASON_AGENT_REMOVED","agent_id":\{"value":"[^"]+"\},"timestamp":[0-9.]+\}\}\}$/,
        );
        s.destroy();
        other.destroy();
      });
    });

    it('a DOWN machine must stay in every schedule; its agent cannot come back while DOWN', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        await post(sim.url, schedule(windowJson([A1])));
        expect((await down(sim.url, [A1])).status).to.equal(200);
        const r = await post(sim.url, schedule(windowJson([A2])));
        expect([r.status, r.text]).to.deep.equal([400, 'Machine \'{"hostname":"agent-1","ip":"127.0.1.1"}\' is deactivated and cannot be removed from the schedule']);
        expect((await post(sim.url, '{}')).status).to.equal(400);
        expect((await post(sim.url, schedule(windowJson([A1, A2])))).status).to.equal(200);
        sim.faults.restartAgent('agent-1');
        await tick(5);
        expect(sim.agents()[0]!.registered).to.equal(false);
        expect(sim.agents()[0]!.up).to.equal(false);
      });
    });

    it('up: 200, machine leaves the schedule, no event; the restarted agent re-registers with its old id and offers lack unavailability', async () => {
      await withSim({ agents: 2 }, async (sim) => {
        const s = await subscribed(sim.url);
        await offersOf(s);
        await post(sim.url, schedule(windowJson([A1, A2])));
        const agentId = sim.findAgent('agent-1').id;
        expect((await down(sim.url, [A1])).status).to.equal(200);
        await s.next('FAILURE');
        s.drain();
        const r = await up(sim.url, [A1]);
        expect([r.status, r.text]).to.deep.equal([200, '']);
        expect(await s.none(undefined, 100)).to.equal(true);
        expect(await getSchedule(sim.url)).to.equal(`{"windows":[${windowJson([A2])}]}`);
        expect(await getStatus(sim.url)).to.deep.equal({ draining_machines: [{ id: A2 }] });
        // The operator restarts the agent: it comes back with its checkpointed id (as recorded on 1.12).
        sim.faults.restartAgent('agent-1');
        const offers: Offer[] = [];
        while (!offers.some((o) => o.hostname === 'agent-1')) offers.push(...(await offersOf(s)));
        const o1 = offers.find((o) => o.hostname === 'agent-1')!;
        expect(o1.agent_id.value).to.equal(agentId);
        expect(o1.unavailability).to.equal(undefined);
        s.destroy();
      });
    });
  });

  describe('operator API v1 (§4.9, gotcha 17)', () => {
    const v1 = (url: string, body: Record<string, unknown>, accept = 'application/json'): Promise<HttpResult> =>
      request(url, { method: 'POST', path: '/api/v1', headers: { 'Content-Type': 'application/json', Accept: accept }, body: jsonCodec.encode('mesos.v1.master.Call', body) });

    it('UPDATE_MAINTENANCE_SCHEDULE / START_MAINTENANCE / STOP_MAINTENANCE answer 200 with an empty body; GET_* have the documented shapes', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const sched = jsonCodec.decode('mesos.v1.maintenance.Schedule', Buffer.from(schedule(windowJson([A1]))));
        const u = await v1(sim.url, { type: 'UPDATE_MAINTENANCE_SCHEDULE', update_maintenance_schedule: { schedule: sched } });
        expect([u.status, u.text]).to.deep.equal([200, '']);
        const g = await v1(sim.url, { type: 'GET_MAINTENANCE_SCHEDULE' });
        expect(g.headers['content-type']).to.equal('application/json');
        expect(g.text).to.equal(`{"type":"GET_MAINTENANCE_SCHEDULE","get_maintenance_schedule":{"schedule":${schedule(windowJson([A1]))}}}`);
        const d = await v1(sim.url, { type: 'START_MAINTENANCE', start_maintenance: { machines: [A1] } });
        expect([d.status, d.text]).to.deep.equal([200, '']);
        const st = await v1(sim.url, { type: 'GET_MAINTENANCE_STATUS' });
        expect(st.text).to.equal(`{"type":"GET_MAINTENANCE_STATUS","get_maintenance_status":{"status":{"down_machines":[${JSON.stringify(A1)}]}}}`);
        const again = await v1(sim.url, { type: 'START_MAINTENANCE', start_maintenance: { machines: [A1] } });
        expect([again.status, again.text]).to.deep.equal([400, 'Machine \'{"hostname":"agent-1","ip":"127.0.1.1"}\' is not in DRAINING mode and cannot be brought down']);
        const s = await v1(sim.url, { type: 'STOP_MAINTENANCE', stop_maintenance: { machines: [A1] } });
        expect([s.status, s.text]).to.deep.equal([200, '']);
        expect((await v1(sim.url, { type: 'GET_MAINTENANCE_STATUS' })).text).to.equal('{"type":"GET_MAINTENANCE_STATUS","get_maintenance_status":{"status":{}}}');
        const bad = await v1(sim.url, { type: 'UPDATE_MAINTENANCE_SCHEDULE' });
        expect([bad.status, bad.text]).to.deep.equal([400, "Failed to validate master::Call: Expecting 'update_maintenance_schedule' to be present"]);
        const pb = await v1(sim.url, { type: 'GET_MAINTENANCE_STATUS' }, 'application/x-protobuf');
        expect(pb.headers['content-type']).to.equal('application/x-protobuf');
        const na = await v1(sim.url, { type: 'GET_MAINTENANCE_STATUS' }, 'text/html');
        expect(na.status).to.equal(406);
      });
    });
  });
});
