/**
 * MaintenanceOperatorClient against the real simulator over loopback HTTP (no mocks of our
 * modules): 307 leader following with protocol-relative Locations, 503 backoff (bounded), typed
 * 400s with the master's exact text, and the read-modify-write of the schedule racing another
 * writer. Every HTTP request the client puts on the wire is observed through undici's diagnostics
 * channel; the master's state is checked with direct requests to the leader.
 */
import diagnostics from 'node:diagnostics_channel';
import { expect } from 'chai';
import { Agent, getGlobalDispatcher, request, setGlobalDispatcher, type Dispatcher } from 'undici';
import { MaintenanceOperatorClient, MasterHttpError, MasterRequestError } from '../../src/maintenance/io/operator-client.js';
import { decodeJsonText } from '../../src/mesos/codec.js';
import type { MachineID, Schedule, Window } from '../../src/mesos/types.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';

// beyond 2^53: a lossy number path would change these
const T1 = 1795422430565157511n;
const T2 = 1795426030565157523n;
const HOUR = 3600000000000n;

/** A dispatcher of our own, so direct requests are not affected by the test's interceptors. */
const direct = new Agent();
let rawCreating = false;

async function raw(url: string, method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; text: string }> {
  rawCreating = true; // undici publishes request:create synchronously: keep these out of wireLog
  const pending = request(url + path, { method, body, dispatcher: direct, headers: body ? { 'content-type': 'application/json' } : {} });
  rawCreating = false;
  const r = await pending;
  return { status: r.statusCode, text: await r.body.text() };
}

async function leaderSchedule(sim: Sim): Promise<Schedule> {
  const r = await raw(sim.url, 'GET', '/master/maintenance/schedule');
  expect(r.status).to.equal(200);
  return decodeJsonText<Schedule>('mesos.v1.maintenance.Schedule', r.text);
}

function win(machines: MachineID[], start: bigint, duration = HOUR): Window {
  return { machine_ids: machines, unavailability: { start: { nanoseconds: start }, duration: { nanoseconds: duration } } };
}
const mid = (sim: Sim, i: number): MachineID => {
  const a = sim.agents()[i]!;
  return { hostname: a.hostname, ip: a.ip };
};

/** Records every request the client creates (origin + method + path, virtual time), in order. */
function wireLog(clock?: VirtualClock): { reqs: string[]; at: number[]; inflight: () => number; stop: () => void } {
  const reqs: string[] = [];
  const at: number[] = [];
  const open = new Set<unknown>();
  const onCreate = (m: unknown): void => {
    if (rawCreating) return;
    const r = (m as { request: { origin: string; method: string; path: string } }).request;
    open.add(r);
    reqs.push(`${r.method} ${r.origin}${r.path}`);
    at.push(clock?.now() ?? 0);
  };
  const onEnd = (m: unknown): void => void open.delete((m as { request: unknown }).request);
  diagnostics.subscribe('undici:request:create', onCreate);
  diagnostics.subscribe('undici:request:trailers', onEnd);
  diagnostics.subscribe('undici:request:error', onEnd);
  return {
    reqs,
    at,
    inflight: () => open.size,
    stop: () => {
      diagnostics.unsubscribe('undici:request:create', onCreate);
      diagnostics.unsubscribe('undici:request:trailers', onEnd);
      diagnostics.unsubscribe('undici:request:error', onEnd);
    },
  };
}

/** Real-time wait until the client has no request in flight and its continuations have run. */
async function quiet(w: { inflight: () => number }): Promise<void> {
  for (let i = 0; i < 400 && w.inflight() > 0; i++) await new Promise((r) => setTimeout(r, 2));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('maintenance operator client against the simulator', function () {
  this.timeout(20_000);
  let sim: Sim;
  let clock: VirtualClock;

  beforeEach(async () => {
    clock = new VirtualClock();
    sim = await startSim({ agents: 4, masters: 3, clock, seed: 5 });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('pointed at a non-leading master, follows the 307 for GET/POST schedule and machine down/up; the leader sees every change', async () => {
    const follower = sim.urls.find((u) => u !== sim.url)!;
    expect(follower, 'a non-leading master').to.be.a('string');
    // the follower really redirects, protocol-relative
    const probe = await request(follower + '/master/maintenance/schedule', { dispatcher: direct });
    await probe.body.text();
    expect(probe.statusCode).to.equal(307);
    const leaderHostPort = new URL(sim.url).host;
    expect(probe.headers['location']).to.equal(`//${leaderHostPort}/master/maintenance/schedule`);

    const client = new MaintenanceOperatorClient({ masters: [follower], clock, retryDelayMs: 1 });
    const wire = wireLog();
    try {
      expect(await client.getSchedule()).to.deep.equal({});
      const s: Schedule = { windows: [win([mid(sim, 0)], T1)] };
      await client.postSchedule(s);
      expect(await leaderSchedule(sim)).to.deep.equal(s);
      expect(await client.getSchedule()).to.deep.equal(s);

      await client.machineDown([mid(sim, 0)]);
      let st = decodeJsonText<{ down_machines?: MachineID[] }>('mesos.v1.maintenance.ClusterStatus', (await raw(sim.url, 'GET', '/master/maintenance/status')).text);
      expect(st.down_machines).to.deep.equal([mid(sim, 0)]);
      await client.machineUp([mid(sim, 0)]);
      st = decodeJsonText<{ down_machines?: MachineID[] }>('mesos.v1.maintenance.ClusterStatus', (await raw(sim.url, 'GET', '/master/maintenance/status')).text);
      expect(st.down_machines ?? []).to.deep.equal([]);
      expect(await leaderSchedule(sim), 'machine up removes the machine (and its empty window)').to.deep.equal({});
    } finally {
      wire.stop();
    }
    // the first request went to the follower, was redirected to the leader, and the client then
    // stayed on the leader
    const leaderOrigin = new URL(sim.url).origin;
    const followerOrigin = new URL(follower).origin;
    expect(wire.reqs).to.deep.equal([
      `GET ${followerOrigin}/master/maintenance/schedule`,
      `GET ${leaderOrigin}/master/maintenance/schedule`,
      `POST ${leaderOrigin}/master/maintenance/schedule`,
      `GET ${leaderOrigin}/master/maintenance/schedule`,
      `POST ${leaderOrigin}/master/machine/down`,
      `POST ${leaderOrigin}/master/machine/up`,
    ]);
  });

  it('a fresh client pointed at a follower also follows the 307 for POST and machine down (no leader learned yet)', async () => {
    const follower = sim.urls.find((u) => u !== sim.url)!;
    const s: Schedule = { windows: [win([mid(sim, 1)], T2)] };
    await new MaintenanceOperatorClient({ masters: [follower], clock }).postSchedule(s);
    expect(await leaderSchedule(sim)).to.deep.equal(s);
    await new MaintenanceOperatorClient({ masters: [follower], clock }).machineDown([mid(sim, 1)]);
    const st = decodeJsonText<{ down_machines?: MachineID[] }>('mesos.v1.maintenance.ClusterStatus', (await raw(sim.url, 'GET', '/master/maintenance/status')).text);
    expect(st.down_machines).to.deep.equal([mid(sim, 1)]);
    await new MaintenanceOperatorClient({ masters: [follower], clock }).machineUp([mid(sim, 1)]);
    expect(await leaderSchedule(sim)).to.deep.equal({});
  });

  it('503 "No leader elected" is retried with exponential backoff on the client clock, then succeeds once a leader is elected', async () => {
    const old = sim.url;
    const failover = sim.faults.failover({ gapMs: 10_000 }); // no leader for 10 s of virtual time
    const asked = sim.urls.find((u) => u !== old)!;
    expect((await raw(asked, 'GET', '/master/maintenance/schedule')).text).to.equal('No leader elected');
    const client = new MaintenanceOperatorClient({ masters: [asked], clock, retryDelayMs: 1000, maxRetries: 6 });
    const wire = wireLog(clock);
    const t0 = clock.now();
    let result: Schedule | undefined;
    let failed: unknown;
    const p = client.getSchedule().then((s) => (result = s), (e: unknown) => (failed = e));
    try {
      // virtual time in 250 ms steps, each after the client's request has been answered
      for (let i = 0; i < 80 && result === undefined && failed === undefined; i++) {
        await quiet(wire);
        await clock.advance(250);
      }
      await p;
      await failover;
    } finally {
      wire.stop();
    }
    expect(failed).to.equal(undefined);
    expect(result).to.deep.equal({});
    // leader elected at t0+10000: attempts at 0, +1 s, +2 s, +4 s, then +5 s (doubling, capped at 5 s)
    expect(wire.at.map((t) => t - t0)).to.deep.equal([0, 1000, 3000, 7000, 12000]);
    expect(new Set(wire.reqs)).to.deep.equal(new Set([`GET ${new URL(asked).origin}/master/maintenance/schedule`]));
    expect(sim.leader, 'a leader after the gap').to.not.equal(undefined);
  });

  it('a persistent 503 ends in a typed MasterHttpError (status 503, the master\'s text) after exactly maxRetries + 1 attempts', async () => {
    void sim.faults.failover({ gapMs: 1e12 }); // never a leader again (within this test)
    const client = new MaintenanceOperatorClient({ masters: [sim.urls[1]!], clock, retryDelayMs: 1, maxRetries: 3 });
    const wire = wireLog();
    let err: unknown;
    const p = client.postSchedule({ windows: [win([mid(sim, 0)], T1)] }).catch((e: unknown) => (err = e));
    try {
      for (let i = 0; i < 50 && err === undefined; i++) {
        await clock.advance(10);
        await new Promise((r) => setTimeout(r, 2));
      }
      await p;
    } finally {
      wire.stop();
    }
    expect(err).to.be.instanceOf(MasterHttpError);
    expect(err).to.not.be.instanceOf(MasterRequestError);
    const e = err as MasterHttpError;
    expect(e.status).to.equal(503);
    expect(e.body).to.equal('No leader elected');
    expect(e.message).to.contain('POST maintenance schedule').and.to.contain('503');
    expect(wire.reqs).to.deep.equal(Array(4).fill(`POST ${new URL(sim.urls[1]!).origin}/master/maintenance/schedule`));
  });

  it('400s are MasterRequestErrors carrying the master\'s exact text (machine down/up in the wrong mode, invalid schedule)', async () => {
    const client = new MaintenanceOperatorClient({ masters: sim.urls, clock });
    const m0 = mid(sim, 0);
    const m1 = mid(sim, 1);
    await client.postSchedule({ windows: [win([m0], T1)] });

    const cases: Array<[string, () => Promise<void>, string, string]> = [
      ['down, not in a schedule', () => client.machineDown([m1]), '/master/machine/down', JSON.stringify([m1])],
      ['up, DRAINING not DOWN', () => client.machineUp([m0]), '/master/machine/up', JSON.stringify([m0])],
      ['overlapping windows', () => client.postSchedule({ windows: [win([m0], T1), win([m0], T2)] }), '/master/maintenance/schedule',
        `{"windows":[{"machine_ids":[${JSON.stringify(m0)}],"unavailability":{"start":{"nanoseconds":"${T1}"},"duration":{"nanoseconds":"${HOUR}"}}},{"machine_ids":[${JSON.stringify(m0)}],"unavailability":{"start":{"nanoseconds":"${T2}"},"duration":{"nanoseconds":"${HOUR}"}}}]}`],
    ];
    for (const [what, call, path, body] of cases) {
      let err: unknown;
      await call().catch((e: unknown) => (err = e));
      // what the master answers the same request directly
      const r = await raw(sim.url, 'POST', path, body);
      expect(r.status, what).to.equal(400);
      expect(r.text, what).to.not.equal('');
      expect(err, what).to.be.instanceOf(MasterRequestError);
      expect((err as MasterRequestError).status, what).to.equal(400);
      expect((err as MasterRequestError).body, what).to.equal(r.text);
      expect((err as MasterRequestError).message, what).to.contain(r.text.trim());
    }
    expect(cases.length).to.equal(3);
    // the master's state is unchanged by the refused calls
    expect(await leaderSchedule(sim)).to.deep.equal({ windows: [win([m0], T1)] });
  });

  it('read-modify-write: a window another party posts between our GET and our POST survives our update (int64 ns exact)', async () => {
    const m0 = mid(sim, 0);
    const m1 = mid(sim, 1);
    const theirs = win([m1], T2, 2n * HOUR + 7n);
    const ours = win([m0], T1);
    const client = new MaintenanceOperatorClient({ masters: [sim.url], clock });

    // Hold every request of the client while the other party's POST (sent from inside our edit,
    // i.e. after our GET) is on its way: it lands strictly between our GET and our next request.
    let gate: Promise<unknown> | undefined;
    const prev = getGlobalDispatcher();
    const gated = new Agent().compose((dispatch: Dispatcher['dispatch']) => (opts, handler) => {
      const g = gate;
      if (!g) return dispatch(opts, handler);
      void g.then(() => dispatch(opts, handler));
      return true;
    });
    setGlobalDispatcher(gated);
    let edits = 0;
    let final: Schedule;
    try {
      final = await client.updateSchedule((s) => {
        edits++;
        if (edits === 1) gate = raw(sim.url, 'POST', '/master/maintenance/schedule', JSON.stringify({ windows: [{ machine_ids: [m1], unavailability: { start: { nanoseconds: T2.toString() }, duration: { nanoseconds: (2n * HOUR + 7n).toString() } } }] }))
          .then((r) => expect(r.status, r.text).to.equal(200));
        return { windows: [...(s.windows ?? []), ours] };
      });
      await gate;
    } finally {
      setGlobalDispatcher(prev);
      await gated.close();
    }
    const onMaster = await leaderSchedule(sim);
    const starts = (onMaster.windows ?? []).map((w) => w.unavailability.start.nanoseconds);
    expect(starts.every((n) => typeof n === 'bigint')).to.equal(true);
    expect(onMaster.windows, JSON.stringify(onMaster, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).to.have.deep.members([theirs, ours]);
    expect(final).to.deep.equal(onMaster);
  });
});
