/**
 * The scheduler client against the Mesos master simulator (src/sim): the same code paths as against
 * a real master — SUBSCRIBE over loopback HTTP, calls with the stream id, stream cuts, heartbeat
 * loss, leader failover across several masters, transient 503s, a removed framework.
 * One VirtualClock drives both (heartbeats, watchdog, backoff, task lifetimes).
 */
import { expect } from 'chai';
import { Subscription } from 'rxjs';
import { SchedulerClient, FrameworkRemovedError, type ConnectionState, type SchedulerClientOptions } from '../../src/client/index.js';
import { startSim, type Sim, type SimOptions } from '../../src/sim/index.js';
import type { Event, FrameworkInfo, Offer, TaskStatus } from '../../src/mesos/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { captureLogger, type CapturedLogger } from './helpers.js';

const FRAMEWORK: FrameworkInfo = {
  user: 'sluice',
  name: 'sluice-client-test',
  failover_timeout: 3600,
  roles: ['web'],
  capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }, { type: 'TASK_KILLING_STATE' }],
};

interface Ctx {
  sim: Sim;
  clock: VirtualClock;
  client: SchedulerClient;
  log: CapturedLogger;
  events: Event[];
  states: ConnectionState[];
  errors: Error[];
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(simOpts: SimOptions = {}, clientOpts: Partial<SchedulerClientOptions> = {}): Promise<Ctx> {
  const clock = new VirtualClock();
  const sim = await startSim({ agents: 3, racks: 3, clock, seed: 11, ...simOpts });
  cleanups.push(() => sim.close());
  const log = captureLogger();
  const client = new SchedulerClient({
    masters: sim.urls,
    frameworkInfo: FRAMEWORK,
    clock,
    logger: log.logger,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
    ...clientOpts,
  });
  const ctx: Ctx = { sim, clock, client, log, events: [], states: [], errors: [] };
  const subs = new Subscription();
  subs.add(client.events$.subscribe((e) => ctx.events.push(e)));
  subs.add(client.connection$.subscribe((s) => ctx.states.push(s)));
  subs.add(client.clientErrors$.subscribe((e) => ctx.errors.push(e)));
  cleanups.push(async () => {
    subs.unsubscribe();
    await client.stop();
  });
  return ctx;
}

/** Lets real I/O happen and moves the virtual clock in small steps until `pred` holds. */
async function pump(ctx: Ctx, pred: () => boolean, what: string, stepMs = 50, timeoutMs = 8000): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
    await ctx.clock.advance(stepMs);
  }
}

function subscribedTo(ctx: Ctx): Extract<ConnectionState, { state: 'subscribed' }> | undefined {
  const s = ctx.client.state;
  return s.state === 'subscribed' ? s : undefined;
}

function offersSince(ctx: Ctx, from = 0): Offer[] {
  return ctx.events.slice(from).flatMap((e) => (e.type === 'OFFERS' ? e.offers!.offers ?? [] : []));
}

describe('SchedulerClient against the simulator (src/sim)', function () {
  this.timeout(20000);

  for (const contentType of ['application/json', 'application/x-protobuf'] as const) {
    it(`${contentType}: subscribes, receives offers, launches a task and acknowledges its updates`, async () => {
      const ctx = await setup({}, { contentType });
      ctx.client.start();
      await pump(ctx, () => offersSince(ctx).length >= 3, 'offers from three agents');
      const sub = subscribedTo(ctx)!;
      expect(sub.masterUrl).to.equal(ctx.sim.url);
      expect(ctx.events[0]!.type).to.equal('SUBSCRIBED');
      expect(sub.frameworkId).to.equal(ctx.events[0]!.subscribed!.framework_id.value);

      const offer = offersSince(ctx)[0]!;
      const role = offer.allocation_info?.role ?? 'web';
      const updates: TaskStatus[] = [];
      ctx.client.updates$.subscribe((s) => {
        updates.push(s);
        void ctx.client.acknowledgeUpdate(s);
      });
      await ctx.client.accept(
        [offer.id],
        [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: [
                {
                  name: 'web-1',
                  task_id: { value: 'web-1' },
                  agent_id: offer.agent_id,
                  resources: [
                    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 }, allocation_info: { role } },
                    { name: 'mem', type: 'SCALAR', scalar: { value: 64 }, allocation_info: { role } },
                  ],
                  command: { value: 'sleep 1000', shell: true },
                },
              ],
            },
          },
        ],
        { refuse_seconds: 5 },
      );
      const rest = offersSince(ctx).slice(1).map((o) => o.id);
      await ctx.client.decline(rest, { refuse_seconds: 3600 });
      await pump(ctx, () => updates.some((u) => u.state === 'TASK_RUNNING'), 'TASK_RUNNING');
      expect(updates.map((u) => u.state)).to.include.members(['TASK_STARTING', 'TASK_RUNNING']);
      expect(ctx.sim.groundTruth().map((t) => [t.taskId, t.state])).to.deep.equal([['web-1', 'TASK_RUNNING']]);
      expect(ctx.errors).to.deep.equal([]);
    });
  }

  it('stream cut by the master: re-subscribes with the same framework id and keeps working on the new stream', async () => {
    const ctx = await setup();
    ctx.client.start();
    await pump(ctx, () => subscribedTo(ctx) !== undefined, 'subscribed');
    const first = subscribedTo(ctx)!;
    expect(ctx.sim.faults.cutStream(first.frameworkId)).to.equal(true);
    await pump(ctx, () => (subscribedTo(ctx)?.streamId ?? first.streamId) !== first.streamId, 're-subscribed');
    const second = subscribedTo(ctx)!;
    expect(second.frameworkId).to.equal(first.frameworkId);
    expect(ctx.events.filter((e) => e.type === 'SUBSCRIBED').map((e) => e.subscribed!.framework_id.value)).to.deep.equal([
      first.frameworkId,
      first.frameworkId,
    ]);
    // a call on the new stream id is accepted (the master would answer 400 to the old one)
    await ctx.client.reconcile([]);
    await ctx.client.revive();
    expect(ctx.log.events('stream_closed')[0]).to.include({ stream_id: first.streamId });
  });

  it('heartbeats stop: the watchdog fires after 5 × 15 s of silence and the client re-subscribes', async () => {
    const ctx = await setup();
    ctx.client.start();
    await pump(ctx, () => subscribedTo(ctx) !== undefined, 'subscribed');
    const first = subscribedTo(ctx)!;
    // decline everything for a long time so offers do not count as traffic
    await ctx.client.decline(offersSince(ctx).map((o) => o.id), { refuse_seconds: 100000 });
    await ctx.client.suppress();
    ctx.sim.faults.stopHeartbeats(first.frameworkId);
    const t0 = ctx.clock.now();
    await pump(ctx, () => ctx.log.events('heartbeat_missed').length === 1, 'heartbeat_missed', 1000, 15000);
    const waited = ctx.clock.now() - t0;
    expect(waited).to.be.within(60_000, 76_000); // the last byte was a heartbeat ≤ 15 s before
    expect(ctx.log.events('heartbeat_missed')[0]).to.include({ timeout_ms: 75_000 });
    await pump(ctx, () => (subscribedTo(ctx)?.streamId ?? first.streamId) !== first.streamId, 're-subscribed');
    expect(subscribedTo(ctx)!.frameworkId).to.equal(first.frameworkId);
  });

  it('leader failover across three masters (gap, then 503 while recovering): follows the new leader with the same id', async () => {
    const ctx = await setup({ masters: 3 });
    ctx.client.start();
    await pump(ctx, () => subscribedTo(ctx) !== undefined, 'subscribed');
    const first = subscribedTo(ctx)!;
    expect(first.masterUrl).to.equal(ctx.sim.urls[0]);
    void ctx.sim.faults.failover({ to: 2, gapMs: 2000, recoveryMs: 3000 });
    await pump(ctx, () => subscribedTo(ctx)?.masterUrl === ctx.sim.urls[2], 'subscribed at the new leader', 100, 15000);
    const now = subscribedTo(ctx)!;
    expect(now.frameworkId).to.equal(first.frameworkId);
    expect(now.streamId).to.not.equal(first.streamId);
    const backoffs = ctx.states.filter((s) => s.state === 'backing-off');
    expect(backoffs.length).to.be.greaterThan(0);
    await ctx.client.reconcile([]);
  });

  it('transient 503s on calls are retried', async () => {
    const ctx = await setup();
    ctx.client.start();
    await pump(ctx, () => subscribedTo(ctx) !== undefined, 'subscribed');
    ctx.sim.faults.rejectCalls(2, { status: 503, body: 'Master has not finished recovery', types: ['REVIVE'] });
    let done = false;
    const p = ctx.client.revive().finally(() => (done = true));
    await pump(ctx, () => done, 'the call to succeed after two retries'); // backoff sleeps run on the virtual clock
    await p;
    expect(ctx.log.events('call_retry').map((e) => e['status'])).to.deep.equal([503, 503]);
  });

  it('after TEARDOWN, re-subscribing with that id is fatal: FrameworkRemovedError, no retry loop', async () => {
    const ctx = await setup();
    ctx.client.start();
    await pump(ctx, () => subscribedTo(ctx) !== undefined, 'subscribed');
    const fid = subscribedTo(ctx)!.frameworkId;
    await ctx.client.teardown();
    expect(ctx.client.state.state).to.equal('stopped');

    const log = captureLogger();
    const again = new SchedulerClient({
      masters: ctx.sim.urls,
      frameworkInfo: { ...FRAMEWORK, id: { value: fid } },
      clock: ctx.clock,
      logger: log.logger,
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
    });
    cleanups.push(() => again.stop());
    const ready = again.ready().catch((e: unknown) => e);
    again.start();
    const err = await ready;
    expect(err).to.be.instanceOf(FrameworkRemovedError);
    expect((err as FrameworkRemovedError).frameworkId).to.equal(fid);
    expect(again.state.state).to.equal('stopped');
    await ctx.clock.advance(10_000);
    expect(log.events('subscribe_attempt')).to.have.length(1);
  });
});
