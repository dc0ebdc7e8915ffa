/**
 * The runtime loop with a stub client (no master): write-ahead ordering checked against the store at
 * the moment each call leaves, extensions, call failures, store failures.
 */
import { expect } from 'chai';
import { BehaviorSubject, Subject } from 'rxjs';
import type { ConnectionState } from '../../src/client/client.js';
import type { Call, Event } from '../../src/mesos/types.js';
import { COLLECTIONS } from '../../src/runtime/persist.js';
import { SluiceRuntime, type RuntimeExtension, type SchedulerClientLike } from '../../src/runtime/runtime.js';
import { Store } from '../../src/store/index.js';
import type { TaskRecord } from '../../src/scheduler/state.js';
import { VirtualClock } from '../../src/util/clock.js';
import { tmpDir } from '../e2e/workload-helpers.js';
import { offer, offersEvent, spec, subscribed, update } from './helpers.js';

class StubClient implements SchedulerClientLike {
  readonly events = new Subject<Event>();
  readonly events$ = this.events.asObservable();
  readonly connection$ = new BehaviorSubject<ConnectionState>({ state: 'disconnected' });
  readonly sent: Call[] = [];
  /** Runs when a call is sent (before it resolves): assertions about what is durable. */
  onCall: (c: Call) => void = () => undefined;
  failNext = new Set<string>();
  paused = false;
  start(): void {}
  async stop(): Promise<void> {}
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  async call(c: Call): Promise<void> {
    this.sent.push(c);
    this.onCall(c);
    if (this.failNext.delete(c.type)) throw new Error(`${c.type} refused (test)`);
  }
  subscribe(fw = 'fw-1'): void {
    this.connection$.next({ state: 'subscribed', frameworkId: fw, streamId: 's', masterUrl: 'http://m' });
    this.events.next(subscribed(fw));
  }
}

async function setup(extensions: RuntimeExtension[] = []) {
  const dir = tmpDir('sluice-rt-');
  const store = await Store.open(dir, { fsync: false, logger: { info() {}, warn() {}, error() {} } });
  const client = new StubClient();
  const clock = new VirtualClock();
  const rt = SluiceRuntime.start({
    store,
    masters: ['http://m'],
    framework: { name: 'sluice', user: 'root', roles: ['*'], failoverTimeoutSeconds: 3600 },
    clock,
    tickMs: 1000,
    extensions,
    createClient: () => client,
  });
  return { dir, store, client, clock, rt };
}

describe('runtime loop', () => {
  it('persists before it sends: LAUNCHING before ACCEPT, the status before ACKNOWLEDGE, the job before 201', async () => {
    const { store, client, rt } = await setup();
    const checked: string[] = [];
    client.onCall = (c) => {
      if (c.type === 'ACCEPT') {
        for (const ti of c.accept!.operations![0]!.launch!.task_infos!) {
          const t = store.get<TaskRecord>(COLLECTIONS.tasks, ti.task_id.value);
          expect(t?.state, `task ${ti.task_id.value} on disk before ACCEPT`).to.equal('LAUNCHING');
          checked.push(ti.task_id.value);
        }
      }
      if (c.type === 'ACKNOWLEDGE') {
        const t = store.get<TaskRecord>(COLLECTIONS.tasks, c.acknowledge!.task_id.value);
        expect(t?.state, 'status on disk before ACKNOWLEDGE').to.equal('TASK_RUNNING');
        checked.push('ack');
      }
    };
    client.subscribe();
    const r = await rt.submit({ type: 'create_job', spec: spec('web', 2) });
    expect(r.outcome).to.equal('created');
    expect(store.get(COLLECTIONS.jobs, 'web')).to.not.equal(undefined);
    expect(store.get<{ framework_id: string }>(COLLECTIONS.framework, 'id')!.framework_id).to.equal('fw-1');
    client.events.next(offersEvent([offer('a1', 'h1')]));
    await rt.whenIdle();
    expect(checked).to.deep.equal(['web.0.1', 'web.1.2']);
    client.events.next(update('web.0.1', 'TASK_RUNNING', { agent: 'a1' }));
    await rt.whenIdle();
    expect(checked).to.include('ack');
    await rt.stop();
    await store.close();
  });

  it('re-sends REVIVE when one failed, and reconciles the tasks of a failed ACCEPT', async () => {
    const { store, client, rt } = await setup();
    client.subscribe();
    await rt.whenIdle();
    expect(client.sent.map((c) => c.type)).to.include('SUPPRESS');
    client.failNext.add('REVIVE');
    await rt.submit({ type: 'create_job', spec: spec('web', 1) });
    await rt.whenIdle();
    await new Promise((r) => setTimeout(r, 20));
    await rt.whenIdle();
    expect(client.sent.filter((c) => c.type === 'REVIVE')).to.have.length(2);
    client.failNext.add('ACCEPT');
    client.events.next(offersEvent([offer('a1', 'h1')]));
    await rt.whenIdle();
    await new Promise((r) => setTimeout(r, 20));
    await rt.whenIdle();
    const rec = client.sent.filter((c) => c.type === 'RECONCILE').pop()!;
    expect(rec.reconcile!.tasks!.map((t) => t.task_id.value)).to.deep.equal(['web.0.1']);
    await rt.stop();
    await store.close();
  });

  it('applies extension steps in the same batch: commands, calls and store operations', async () => {
    const ext: RuntimeExtension = {
      name: 'test-maintenance',
      onStart: () => ({ commands: [{ type: 'set_blocked_hosts', hosts: ['h1'] }] }),
      onEvent: (ev) =>
        ev.type === 'INVERSE_OFFERS'
          ? { calls: [{ type: 'DECLINE_INVERSE_OFFERS', decline_inverse_offers: { inverse_offer_ids: [{ value: 'io1' }] } }], storeOps: [{ op: 'put', collection: 'hosts', key: 'h1', value: { state: 'DRAINING' } }] }
          : undefined,
    };
    const { store, client, rt } = await setup([ext]);
    client.subscribe();
    await rt.submit({ type: 'create_job', spec: spec('web', 1) });
    client.events.next(offersEvent([offer('a1', 'h1')]));
    await rt.whenIdle();
    expect(client.sent.filter((c) => c.type === 'ACCEPT')).to.have.length(0);
    expect(rt.state.placementBlockedHosts.has('h1')).to.equal(true);
    client.events.next({ type: 'INVERSE_OFFERS', inverse_offers: { inverse_offers: [] } });
    await rt.whenIdle();
    expect(store.get('hosts', 'h1')).to.deep.equal({ state: 'DRAINING' });
    expect(client.sent.map((c) => c.type)).to.include('DECLINE_INVERSE_OFFERS');
    const v = await rt.run((ctx) => ({ result: ctx.state.jobs.size }));
    expect(v).to.equal(1);
    await rt.stop();
    await store.close();
  });

  it('stops (fatal) when the store cannot be written, rejecting commands', async () => {
    const { store, client, rt } = await setup();
    client.subscribe();
    await rt.whenIdle();
    let fatal: Error | undefined;
    rt.onFatal((e) => (fatal = e));
    await store.close();
    let err: Error | undefined;
    try {
      await rt.submit({ type: 'create_job', spec: spec('web', 1) });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/Store write failed/);
    expect(fatal?.message).to.match(/Store write failed/);
    await rt.stop();
  });
});

describe('runtime loop: call failures go back to their issuer; reads see the durable state', () => {
  it('a failed call of an extension reaches that extension (not the scheduler); the scheduler\'s own failures stay with it', async () => {
    const failed: Array<{ type: string; error: string }> = [];
    const answer: Call = { type: 'DECLINE_INVERSE_OFFERS', decline_inverse_offers: { inverse_offer_ids: [{ value: 'io-1' }] } } as Call;
    let sent = false;
    const ext: RuntimeExtension = {
      name: 'answers',
      onTick: () => (sent ? undefined : ((sent = true), { calls: [answer] })),
      onCallFailed: (call, error) => {
        failed.push({ type: call.type, error });
        return { storeOps: [{ op: 'put', collection: 'answers', key: 'failed', value: { type: call.type } }] };
      },
    };
    const { store, client, clock, rt } = await setup([ext]);
    client.subscribe();
    client.failNext.add('DECLINE_INVERSE_OFFERS');
    await clock.advance(1000);
    await rt.whenIdle();
    await rt.whenIdle();
    expect(failed).to.have.length(1);
    expect(failed[0]!.type).to.equal('DECLINE_INVERSE_OFFERS');
    expect(failed[0]!.error).to.match(/refused \(test\)/);
    expect(store.get('answers', 'failed'), 'the extension\'s answer to the failure is written like any step').to.deep.equal({ type: 'DECLINE_INVERSE_OFFERS' });
    await rt.stop();
  });

  it('read() answers from the state as the last durable write left it, after the batch it joins is on disk', async () => {
    let writes = 0;
    const ext: RuntimeExtension = { name: 'w', onTick: () => ({ storeOps: [{ op: 'put', collection: 'ticks', key: 'n', value: { n: ++writes } }] }) };
    const { store, clock, rt } = await setup([ext]);
    await clock.advance(1000);
    const seen = await rt.read(() => ({ onDisk: store.get<{ n: number }>('ticks', 'n')?.n, decided: writes }));
    expect(seen.onDisk, 'every decision made before the read is on disk when it is answered').to.equal(seen.decided);
    await rt.stop();
    let refused: Error | undefined;
    await rt.read(() => 1).catch((e: Error) => (refused = e));
    expect(refused?.name).to.equal('RuntimeStoppedError');
  });
});
