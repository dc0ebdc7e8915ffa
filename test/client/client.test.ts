import { expect } from 'chai';
import { Subscription } from 'rxjs';
import {
  SchedulerClient,
  ClientStoppedError,
  FrameworkRemovedError,
  MesosHttpError,
  NotSubscribedError,
  StreamError,
  type ConnectionState,
  type SchedulerClientOptions,
} from '../../src/client/index.js';
import { jsonCodec, protobufCodec } from '../../src/mesos/codec.js';
import { decodeAll } from '../../src/mesos/recordio.js';
import type { Event, FrameworkInfo } from '../../src/mesos/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { readFixture } from '../helpers/fixtures.js';
import { ScriptedMaster, StreamControl, redirectTo, reply, waitUntil } from './scripted-master.js';
import { captureLogger, delay, randomChunks, rng, type CapturedLogger } from './helpers.js';

const EVENT = 'mesos.v1.scheduler.Event';
const FRAMEWORK_INFO: FrameworkInfo = {
  user: 'sluice',
  name: 'sluice-test',
  failover_timeout: 604800,
  roles: ['web'],
  capabilities: [{ type: 'MULTI_ROLE' }],
};
const TINY_BACKOFF = { initialMs: 5, maxMs: 20, factor: 2, jitter: 0 };

interface Harness {
  client: SchedulerClient;
  log: CapturedLogger;
  events: Event[];
  states: ConnectionState[];
  errors: Error[];
}

const cleanups: Array<() => Promise<void> | void> = [];

function makeClient(masters: string[], opts: Partial<SchedulerClientOptions> = {}): Harness {
  const log = captureLogger();
  const client = new SchedulerClient({
    masters,
    frameworkInfo: FRAMEWORK_INFO,
    logger: log.logger,
    backoff: TINY_BACKOFF,
    ...opts,
  });
  const events: Event[] = [];
  const states: ConnectionState[] = [];
  const errors: Error[] = [];
  const subs = new Subscription();
  subs.add(client.events$.subscribe((e) => events.push(e)));
  subs.add(client.connection$.subscribe((s) => states.push(s)));
  subs.add(client.clientErrors$.subscribe((e) => errors.push(e)));
  cleanups.push(async () => {
    subs.unsubscribe();
    await client.stop();
  });
  return { client, log, events, states, errors };
}

async function startMaster(frameworkId?: string): Promise<ScriptedMaster> {
  const m = await ScriptedMaster.start({ frameworkId });
  cleanups.push(() => m.close());
  return m;
}

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function subscribedState(h: Harness): Extract<ConnectionState, { state: 'subscribed' }> | undefined {
  const s = h.client.state;
  return s.state === 'subscribed' ? s : undefined;
}

describe('SchedulerClient: subscribing', () => {
  for (const [name, file, headersFile, contentType] of [
    ['JSON', 'subscribe-json.recordio', 'subscribe-json.headers', 'application/json'],
    ['protobuf', 'pb-stream.recordio', 'pb-stream.headers', 'application/x-protobuf'],
  ] as const) {
    for (const maxChunk of [1, 7, 64, 4096]) {
      it(`${name}: decodes the real Mesos 1.12 recording split in random chunks of 1..${maxChunk} bytes`, async function () {
        this.timeout(20000);
        const bytes = readFixture('real-mesos-1.12', file);
        const streamId = /Mesos-Stream-Id: (\S+)/.exec(readFixture('real-mesos-1.12', headersFile).toString())![1]!;
        const codec = contentType === 'application/json' ? jsonCodec : protobufCodec;
        const expected = decodeAll(bytes).map((r) => codec.decode<Event>(EVENT, r));
        const master = await startMaster();
        const seed = 1000 + maxChunk;
        master.onSubscribe(async (_req, s) => {
          s.open({ streamId, contentType });
          await s.writeChunked(bytes, randomChunks(bytes, rng(seed), maxChunk).map((c) => c.length));
        });
        const h = makeClient([master.url], { contentType });
        h.client.start();
        await waitUntil(() => h.events.length >= expected.length, 15000, `${expected.length} events`);
        expect(h.events).to.deep.equal(expected);
        const stats = h.client.stats;
        expect(stats.bytes).to.equal(bytes.length);
        expect(stats.records).to.equal(expected.length);
        // the chunking really reaches the client (one loop turn per server write on loopback)
        if (maxChunk === 1) expect(stats.chunks).to.be.greaterThan(bytes.length / 2);
        const sub = subscribedState(h)!;
        expect(sub, 'subscribed').to.exist;
        expect(sub.streamId).to.equal(streamId);
        expect(sub.frameworkId).to.equal(expected[0]!.subscribed!.framework_id.value);
        expect(sub.masterUrl).to.equal(master.url);
        expect(h.client.currentFrameworkId).to.equal(sub.frameworkId);

        // the SUBSCRIBE request itself
        const req = master.subscribes[0]!;
        expect(req.method).to.equal('POST');
        expect(req.path).to.equal('/api/v1/scheduler');
        expect(req.headers['content-type']).to.equal(contentType);
        expect(req.headers['accept']).to.equal(contentType);
        expect(req.headers['mesos-stream-id']).to.equal(undefined);
        expect(req.call!.framework_id).to.equal(undefined);
        expect(req.call!.subscribe!.framework_info.name).to.equal('sluice-test');
        expect(req.call!.subscribe!.framework_info.id).to.equal(undefined);
        expect(h.log.events('subscribed')[0]).to.include({ framework_id: sub.frameworkId, stream_id: streamId, master: master.url });
        expect(h.errors).to.deep.equal([]);
      });
    }
  }

  it('typed observables carry the payloads', async () => {
    const master = await startMaster();
    const bytes = readFixture('real-mesos-1.12', 'maint-json.recordio');
    const all = decodeAll(bytes).map((r) => jsonCodec.decode<Event>(EVENT, r));
    master.onSubscribe((_req, s) => {
      s.open().write(bytes);
    });
    const h = makeClient([master.url]);
    const got: Record<string, unknown[]> = {};
    const c = h.client;
    const track = (name: string, o: { subscribe(f: (x: unknown) => void): unknown }) => {
      got[name] = [];
      o.subscribe((x) => got[name]!.push(x));
    };
    track('subscribed', c.subscribed$);
    track('offers', c.offers$);
    track('inverseOffers', c.inverseOffers$);
    track('rescind', c.rescind$);
    track('rescindInverseOffer', c.rescindInverseOffer$);
    track('updates', c.updates$);
    track('failures', c.failures$);
    track('heartbeats', c.heartbeats$);
    c.start();
    await waitUntil(() => h.events.length >= all.length, 5000, 'all events');
    const count = (t: string) => all.filter((e) => e.type === t).length;
    expect(got['subscribed']).to.have.length(count('SUBSCRIBED'));
    expect(got['offers']).to.have.length(count('OFFERS'));
    expect(got['offers']![0]).to.deep.equal(all.find((e) => e.type === 'OFFERS')!.offers!.offers);
    expect(got['inverseOffers']).to.have.length(count('INVERSE_OFFERS')).and.length.greaterThan(0);
    expect(got['rescind']).to.have.length(count('RESCIND')).and.length.greaterThan(0);
    expect(got['rescindInverseOffer']).to.have.length(count('RESCIND_INVERSE_OFFER'));
    expect(got['updates']).to.have.length(count('UPDATE')).and.length.greaterThan(0);
    expect(got['failures']).to.have.length(count('FAILURE'));
    expect(got['heartbeats']).to.have.length(count('HEARTBEAT'));
    expect(typeof got['heartbeats']![0]).to.equal('number');
  });

  it('sends HTTP Basic credentials on SUBSCRIBE and on calls', async () => {
    const master = await startMaster();
    const h = makeClient([master.url], { auth: { principal: 'sluice', secret: 's3cr3t' } });
    h.client.start();
    await h.client.ready(5000);
    await h.client.revive();
    const expected = 'Basic ' + Buffer.from('sluice:s3cr3t').toString('base64');
    expect(master.subscribes[0]!.headers['authorization']).to.equal(expected);
    expect(master.calls[0]!.headers['authorization']).to.equal(expected);
  });

  it('rejects zk:// masters with a clear "not supported yet" error', () => {
    expect(() => new SchedulerClient({ masters: ['zk://zk1:2181,zk2:2181/mesos'], frameworkInfo: FRAMEWORK_INFO })).to.throw(
      /ZooKeeper master detection is not supported yet/,
    );
  });
});

describe('SchedulerClient: calls', () => {
  for (const contentType of ['application/json', 'application/x-protobuf'] as const) {
    it(`${contentType}: every call carries Mesos-Stream-Id, framework_id and the exact Content-Type`, async () => {
      const master = await startMaster('fw-calls');
      const h = makeClient([master.url], { contentType });
      h.client.start();
      const sub = await h.client.ready(5000);
      const c = h.client;
      const uuid = Buffer.from('0123456789abcdef');
      await c.accept(['o-1'], [{ type: 'LAUNCH', launch: { task_infos: [] } }], { refuse_seconds: 30 });
      await c.decline([{ value: 'o-2' }], { refuse_seconds: 3600 });
      await c.acceptInverseOffers(['io-1']);
      await c.declineInverseOffers(['io-2'], { refuse_seconds: 60 });
      await c.revive(['web']);
      await c.suppress();
      await c.kill('t-1', 'a-1', { grace_period: { nanoseconds: 30_000_000_000n } });
      await c.acknowledge('a-1', 't-1', uuid);
      await c.reconcile([{ task_id: 't-1', agent_id: 'a-1' }, { task_id: 't-2' }]);
      await c.reconcile([]);
      await c.message('a-1', 'e-1', Buffer.from('hi'));
      await c.shutdown('e-1', 'a-1');
      const got = master.calls;
      expect(got.map((r) => r.call!.type)).to.deep.equal([
        'ACCEPT',
        'DECLINE',
        'ACCEPT_INVERSE_OFFERS',
        'DECLINE_INVERSE_OFFERS',
        'REVIVE',
        'SUPPRESS',
        'KILL',
        'ACKNOWLEDGE',
        'RECONCILE',
        'RECONCILE',
        'MESSAGE',
        'SHUTDOWN',
      ]);
      for (const r of got) {
        expect(r.method).to.equal('POST');
        expect(r.path).to.equal('/api/v1/scheduler');
        expect(r.headers['content-type']).to.equal(contentType);
        expect(r.headers['mesos-stream-id']).to.equal(sub.streamId);
        expect(r.call!.framework_id).to.deep.equal({ value: 'fw-calls' });
      }
      const [accept, decline, , , revive, suppress, kill, ack, rec1, rec2] = got.map((r) => r.call!);
      expect(accept!.accept!.offer_ids).to.deep.equal([{ value: 'o-1' }]);
      expect(accept!.accept!.filters).to.deep.equal({ refuse_seconds: 30 });
      expect(decline!.decline!.filters!.refuse_seconds).to.equal(3600);
      expect(revive!.revive!.roles).to.deep.equal(['web']);
      expect(suppress!.suppress!.roles).to.equal(undefined);
      expect(kill!.kill!.kill_policy!.grace_period!.nanoseconds).to.equal(30_000_000_000n);
      expect(Buffer.from(ack!.acknowledge!.uuid).equals(uuid)).to.equal(true);
      expect(rec1!.reconcile!.tasks).to.deep.equal([{ task_id: { value: 't-1' }, agent_id: { value: 'a-1' } }, { task_id: { value: 't-2' } }]);
      expect(rec2!.reconcile!.tasks).to.equal(undefined);
      if (contentType === 'application/json') {
        // int64 travels as a bare JSON number, bytes as base64
        const killText = got[6]!.body.toString();
        expect(killText).to.include('"nanoseconds":30000000000');
        expect(got[7]!.body.toString()).to.include(`"uuid":"${uuid.toString('base64')}"`);
      }
    });
  }

  it('4xx answers reject with a typed MesosHttpError carrying the body', async () => {
    const master = await startMaster();
    const h = makeClient([master.url]);
    h.client.start();
    await h.client.ready(5000);
    for (const [status, body] of [
      [400, 'The stream ID specified in the request does not match'],
      [401, ''],
      [405, 'Expecting POST'],
      [409, 'Framework is being removed'],
      [415, 'Expecting Content-Type of application/json or application/x-protobuf'],
      [501, 'Received unexpected call type UNKNOWN'],
    ] as const) {
      master.onCall(reply(status, body));
      const err = await h.client.decline(['o-1']).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `HTTP ${status}`).to.be.instanceOf(MesosHttpError);
      const he = err as MesosHttpError;
      expect(he.status).to.equal(status);
      expect(he.body).to.equal(body);
      expect(he.callType).to.equal('DECLINE');
    }
    expect(h.log.events('call_failed').map((e) => e['status'])).to.deep.equal([400, 401, 405, 409, 415, 501]);
    expect(h.log.events('call_failed')[0]).to.include({ type: 'DECLINE', body: 'The stream ID specified in the request does not match' });
    expect(master.subscribes).to.have.length(1, 'none of these re-subscribes');
  });

  it('403 "Framework is not subscribed" rejects and triggers a re-SUBSCRIBE with the same framework id', async () => {
    const master = await startMaster('fw-403');
    const h = makeClient([master.url]);
    h.client.start();
    const first = await h.client.ready(5000);
    master.onCall(reply(403, 'Framework is not subscribed'));
    const err = await h.client.revive().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(MesosHttpError);
    expect((err as MesosHttpError).status).to.equal(403);
    await waitUntil(() => master.subscribes.length === 2 && subscribedState(h)?.streamId !== first.streamId, 5000, 're-subscribe');
    const again = master.subscribes[1]!.call!;
    expect(again.framework_id).to.deep.equal({ value: 'fw-403' });
    expect(again.subscribe!.framework_info.id).to.deep.equal({ value: 'fw-403' });
    await h.client.revive();
    expect(master.calls.at(-1)!.headers['mesos-stream-id']).to.equal(subscribedState(h)!.streamId);
  });

  it('503 on a call is retried with backoff, a bounded number of times', async () => {
    const master = await startMaster();
    const h = makeClient([master.url], { maxCallRetries: 2 });
    h.client.start();
    await h.client.ready(5000);
    master.onCall(reply(503, 'Master has not finished recovery')).onCall(reply(404));
    await h.client.reconcile([]);
    expect(master.calls).to.have.length(3);
    for (let i = 0; i < 3; i++) master.onCall(reply(503, 'No leader elected'));
    const err = await h.client.reconcile([]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(MesosHttpError);
    expect((err as MesosHttpError).status).to.equal(503);
    expect(master.calls).to.have.length(6);
    expect(h.log.events('call_retry')).to.have.length(4);
  });

  it('follows a 307 on a call to the new leader and tells the detector', async () => {
    const a = await startMaster('fw-307');
    const b = await startMaster('fw-307');
    const h = makeClient([a.url]);
    h.client.start();
    const sub = await h.client.ready(5000);
    a.onCall(redirectTo(b.hostPort));
    await h.client.kill('t-1');
    expect(a.calls).to.have.length(1);
    expect(b.calls).to.have.length(1);
    const r = b.calls[0]!;
    expect(r.call!.type).to.equal('KILL');
    expect(r.headers['mesos-stream-id']).to.equal(sub.streamId);
    expect(r.headers['content-type']).to.equal('application/json');
    expect(h.log.events('redirected')[0]).to.include({ from: a.url, to: b.url, call: 'KILL' });
    // the next subscription goes straight to the new leader
    a.lastStream!.cut();
    await waitUntil(() => b.subscribes.length === 1, 5000, 'subscribe at the new leader');
    expect(b.subscribes[0]!.call!.framework_id).to.deep.equal({ value: 'fw-307' });
  });

  it('offer-scoped calls reject at once when not subscribed; other calls wait for the subscription', async () => {
    const master = await startMaster();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    master.onSubscribe(async (req, s) => {
      await gate;
      master.defaultSubscribe(req, s);
    });
    const h = makeClient([master.url]);
    h.client.start();
    const declined = await h.client.decline(['o-1']).catch((e: unknown) => e);
    expect(declined).to.be.instanceOf(NotSubscribedError);
    const accepted = await h.client.accept(['o-1'], []).catch((e: unknown) => e);
    expect(accepted).to.be.instanceOf(NotSubscribedError);
    const pending = h.client.reconcile([]);
    await delay(30);
    expect(master.calls).to.have.length(0);
    release();
    await pending;
    expect(master.calls).to.have.length(1);
    expect(master.calls[0]!.headers['mesos-stream-id']).to.equal(subscribedState(h)!.streamId);
  });

  it('a waiting call rejects with NotSubscribedError after the call timeout (VirtualClock)', async () => {
    const master = await startMaster();
    master.onSubscribe(() => undefined); // never answers
    const clock = new VirtualClock();
    const h = makeClient([master.url], { clock, callTimeoutMs: 75_000 });
    h.client.start();
    const p = h.client.reconcile([]).catch((e: unknown) => e);
    await waitUntil(() => master.subscribes.length === 1, 5000, 'subscribe');
    await clock.advance(74_999);
    let settled = false;
    void p.then(() => (settled = true));
    await delay(10);
    expect(settled).to.equal(false);
    await clock.advance(1);
    const err = await p;
    expect(err).to.be.instanceOf(NotSubscribedError);
    expect(master.calls).to.have.length(0);
  });

  it('teardown sends TEARDOWN and stops the client', async () => {
    const master = await startMaster('fw-td');
    const h = makeClient([master.url]);
    h.client.start();
    await h.client.ready(5000);
    await h.client.teardown();
    expect(master.calls.map((r) => r.call!.type)).to.deep.equal(['TEARDOWN']);
    expect(master.calls[0]!.call!.framework_id).to.deep.equal({ value: 'fw-td' });
    expect(h.client.state.state).to.equal('stopped');
    const err = await h.client.revive().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ClientStoppedError);
    await delay(30);
    expect(master.subscribes).to.have.length(1);
  });
});

describe('SchedulerClient: failures and reconnection', () => {
  it('follows a 307 on SUBSCRIBE to the leader', async () => {
    const a = await startMaster();
    const b = await startMaster('fw-b');
    a.redirectHandler = reply(503, 'No leader elected'); // detection falls through to SUBSCRIBE at a
    a.onSubscribe((_req, s) => {
      s.res.writeHead(307, { Location: `//${b.hostPort}/api/v1/scheduler` });
      s.res.end();
    });
    const h = makeClient([a.url, b.url]);
    h.client.start();
    const sub = await h.client.ready(5000);
    expect(sub.masterUrl).to.equal(b.url);
    expect(sub.frameworkId).to.equal('fw-b');
  });

  it('detects the leader with /master/redirect (protocol-relative Location)', async () => {
    const a = await startMaster();
    const b = await startMaster('fw-leader');
    a.redirectHandler = reply(307, '', { Location: `//${b.hostPort}` });
    const h = makeClient([a.url]);
    h.client.start();
    const sub = await h.client.ready(5000);
    expect(sub.masterUrl).to.equal(b.url);
    expect(a.subscribes).to.have.length(0);
    expect(a.requests[0]!.path).to.equal('/master/redirect');
  });

  it('503 on SUBSCRIBE backs off (capped exponential, VirtualClock) and retries', async () => {
    const master = await startMaster();
    master.onSubscribe((_r, s) => reply(503, 'Master has not finished recovery')(_r, s.res));
    master.onSubscribe((_r, s) => reply(503, 'Master has not finished recovery')(_r, s.res));
    master.onSubscribe((_r, s) => reply(404)(_r, s.res));
    const clock = new VirtualClock();
    const h = makeClient([master.url], { clock, backoff: { initialMs: 1000, maxMs: 3000, factor: 2, jitter: 0 } });
    h.client.start();
    const backingOff = (n: number) => h.states.filter((s) => s.state === 'backing-off').length >= n;
    await waitUntil(() => backingOff(1), 5000, 'first backoff');
    expect(h.client.state).to.deep.include({ state: 'backing-off', attempt: 1, delayMs: 1000, reason: 'http_error' });
    expect(h.errors[0]).to.be.instanceOf(MesosHttpError);
    expect((h.errors[0] as MesosHttpError).body).to.equal('Master has not finished recovery');
    await clock.advance(999);
    await delay(20);
    expect(master.subscribes).to.have.length(1);
    await clock.advance(1);
    await waitUntil(() => backingOff(2), 5000, 'second backoff');
    expect(h.client.state).to.deep.include({ attempt: 2, delayMs: 2000 });
    await clock.advance(2000);
    await waitUntil(() => backingOff(3), 5000, 'third backoff');
    expect(h.client.state).to.deep.include({ attempt: 3, delayMs: 3000 }, 'capped');
    await clock.advance(3000);
    await h.client.ready(5000);
    expect(master.subscribes).to.have.length(4);
    expect(h.log.events('reconnecting').map((e) => e['delay_ms'])).to.deep.equal([1000, 2000, 3000]);
  });

  it('connection refused: rotates through the masters', async () => {
    const dead = await ScriptedMaster.start();
    const deadUrl = dead.url;
    await dead.close();
    const live = await startMaster('fw-live');
    const h = makeClient([deadUrl, live.url]);
    h.client.start();
    const sub = await h.client.ready(5000);
    expect(sub.masterUrl).to.equal(live.url);
  });

  it('other 4xx on SUBSCRIBE: typed error on clientErrors$ and connection$, then retries (never silently dead)', async () => {
    const master = await startMaster();
    master.onSubscribe((r, s) => reply(401, 'Unauthorized')(r, s.res));
    master.onSubscribe((r, s) => reply(400, "Expecting 'framework_id' to match")(r, s.res));
    const h = makeClient([master.url]);
    h.client.start();
    await h.client.ready(5000);
    expect(h.errors.map((e) => (e as MesosHttpError).status)).to.deep.equal([401, 400]);
    const backoffs = h.states.filter((s): s is Extract<ConnectionState, { state: 'backing-off' }> => s.state === 'backing-off');
    expect(backoffs[0]!.error).to.be.instanceOf(MesosHttpError);
    expect(master.subscribes).to.have.length(3);
  });

  it('stream cut mid-record: reconnects, re-subscribes with the same framework id, uses the new stream id', async () => {
    const master = await startMaster('fw-cut');
    master.onSubscribe((_req, s) => {
      s.open().subscribed('fw-cut').heartbeat();
      const rec = s.record({ type: 'HEARTBEAT' });
      s.write(rec.subarray(0, 5));
      setTimeout(() => s.cut(), 20);
    });
    const h = makeClient([master.url]);
    h.client.start();
    await waitUntil(() => master.subscribes.length === 2 && h.client.state.state === 'subscribed', 5000, 're-subscribed');
    const second = master.subscribes[1]!.call!;
    expect(second.framework_id).to.deep.equal({ value: 'fw-cut' });
    expect(second.subscribe!.framework_info.id).to.deep.equal({ value: 'fw-cut' });
    expect(master.subscribes[1]!.headers['mesos-stream-id']).to.equal(undefined);
    const sub = subscribedState(h)!;
    expect(sub.streamId).to.equal(master.streams[1]!.streamId);
    await h.client.revive();
    expect(master.calls[0]!.headers['mesos-stream-id']).to.equal(master.streams[1]!.streamId);
    expect(h.log.events('stream_closed')[0]).to.include({ reason: 'connection_error', stream_id: master.streams[0]!.streamId });
    expect(h.log.events('reconnecting')).to.have.length.greaterThan(0);
    expect(h.events.filter((e) => e.type === 'SUBSCRIBED')).to.have.length(2);
  });

  it('clean EOF of the stream: reconnects', async () => {
    const master = await startMaster('fw-eof');
    master.onSubscribe((_req, s) => {
      s.open().subscribed('fw-eof');
      setTimeout(() => s.end(), 10);
    });
    const h = makeClient([master.url]);
    h.client.start();
    await waitUntil(() => master.subscribes.length === 2 && h.client.state.state === 'subscribed', 5000, 're-subscribed');
    expect(h.log.events('stream_closed')[0]).to.include({ reason: 'eof' });
    expect(h.errors[0]).to.be.instanceOf(StreamError);
  });

  it('heartbeat loss: no byte for 5 × heartbeat_interval_seconds → heartbeat_missed, reconnect (VirtualClock)', async () => {
    const master = await startMaster('fw-hb');
    master.onSubscribe((_req, s) => {
      s.open().subscribed('fw-hb', 10).heartbeat(); // then silence
    });
    const clock = new VirtualClock();
    const h = makeClient([master.url], { clock, backoff: { initialMs: 100, maxMs: 100, factor: 2, jitter: 0 } });
    h.client.start();
    await h.client.ready(5000);
    await delay(20);
    await clock.advance(49_000);
    await delay(20);
    expect(h.log.events('heartbeat_missed')).to.have.length(0);
    // a heartbeat resets the watchdog
    master.streams[0]!.heartbeat();
    await waitUntil(() => h.events.filter((e) => e.type === 'HEARTBEAT').length === 2, 5000, 'second heartbeat');
    await clock.advance(49_000);
    await delay(20);
    expect(h.log.events('heartbeat_missed')).to.have.length(0);
    await clock.advance(1_000);
    await waitUntil(() => h.log.events('heartbeat_missed').length === 1, 5000, 'heartbeat_missed');
    expect(h.log.events('heartbeat_missed')[0]).to.include({ timeout_ms: 50_000 });
    await master.streams[0]!.closed;
    await clock.advance(100);
    await waitUntil(() => master.subscribes.length === 2 && h.client.state.state === 'subscribed', 5000, 're-subscribed');
    expect(master.subscribes[1]!.call!.framework_id).to.deep.equal({ value: 'fw-hb' });
  });

  it('ERROR event: emitted on errors$, then reconnect with backoff', async () => {
    const master = await startMaster('fw-err');
    master.onSubscribe((_req, s) => {
      s.open().subscribed('fw-err').error('Framework failed over');
    });
    const h = makeClient([master.url]);
    const errs: string[] = [];
    h.client.errors$.subscribe((e) => errs.push(e.message));
    h.client.start();
    await waitUntil(() => master.subscribes.length === 2 && h.client.state.state === 'subscribed', 5000, 're-subscribed');
    expect(errs).to.deep.equal(['Framework failed over']);
    expect(h.log.events('error_event')[0]).to.include({ error_message: 'Framework failed over' });
    expect(h.log.events('stream_closed')[0]).to.include({ reason: 'error_event' });
  });

  it('SUBSCRIBE refused with 200 + a single ERROR event (gotcha 1): reconnects with backoff', async () => {
    const master = await startMaster('fw-refused');
    master.onSubscribe((_req, s) => {
      s.open().error("Role 'web' is not present in the master's --roles");
      s.end();
    });
    const h = makeClient([master.url]);
    h.client.start();
    await h.client.ready(5000);
    expect(master.subscribes).to.have.length(2);
    expect(h.events[0]).to.deep.equal({ type: 'ERROR', error: { message: "Role 'web' is not present in the master's --roles" } });
  });

  it('"Framework has been removed": fatal FrameworkRemovedError, client stops, no retry with that id', async () => {
    const master = await startMaster();
    master.onSubscribe((_req, s) => {
      s.open().error('Framework has been removed');
      s.end();
    });
    const h = makeClient([master.url], { frameworkInfo: { ...FRAMEWORK_INFO, id: { value: 'fw-dead' } } });
    const ready = h.client.ready();
    h.client.start();
    const err = await ready.catch((e: unknown) => e);
    expect(err).to.be.instanceOf(FrameworkRemovedError);
    expect((err as FrameworkRemovedError).frameworkId).to.equal('fw-dead');
    expect(h.client.state.state).to.equal('stopped');
    expect((h.client.state as { error?: Error }).error).to.be.instanceOf(FrameworkRemovedError);
    expect(h.errors.some((e) => e instanceof FrameworkRemovedError)).to.equal(true);
    expect(master.subscribes[0]!.call!.framework_id).to.deep.equal({ value: 'fw-dead' });
    await delay(50);
    expect(master.subscribes).to.have.length(1);
    expect(h.log.events('framework_removed')).to.have.length(1);
  });

  it('malformed RecordIO prefix: events before it are delivered, error surfaced, reconnect, no crash', async () => {
    const master = await startMaster('fw-bad');
    master.onSubscribe((_req, s) => {
      s.open();
      // one chunk: a good SUBSCRIBED record followed by garbage
      s.write(Buffer.concat([s.record({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-bad' } } }), Buffer.from('2x\n{}')]));
    });
    const h = makeClient([master.url]);
    h.client.start();
    await waitUntil(() => master.subscribes.length === 2 && h.client.state.state === 'subscribed', 5000, 're-subscribed');
    expect(h.events[0]!.type).to.equal('SUBSCRIBED');
    const err = h.errors.find((e) => e instanceof StreamError) as StreamError;
    expect(err.reason).to.equal('recordio_error');
    const bad = h.log.events('bad_record')[0]!;
    expect(bad).to.include({ kind: 'recordio' });
    expect(bad['offset']).to.be.a('number').greaterThan(0);
    expect(master.subscribes[1]!.call!.framework_id).to.deep.equal({ value: 'fw-bad' });
  });

  it('oversized record (maxRecordBytes) and a bad JSON record: error surfaced, reconnect', async () => {
    const master = await startMaster('fw-big');
    master.onSubscribe((_req, s) => {
      s.open().subscribed('fw-big').write('999999\n{');
    });
    master.onSubscribe((_req, s) => {
      s.open().subscribed('fw-big').write('12\n{"type":tru}').heartbeat();
    });
    const h = makeClient([master.url], { maxRecordBytes: 1000 });
    h.client.start();
    await waitUntil(() => master.subscribes.length === 3 && h.client.state.state === 'subscribed', 5000, 'third subscription');
    const reasons = h.errors.filter((e): e is StreamError => e instanceof StreamError).map((e) => e.reason);
    expect(reasons).to.deep.equal(['recordio_error', 'codec_error']);
    expect(h.errors[0]!.message).to.match(/too large/);
    const codecLog = h.log.events('bad_record').find((e) => e['kind'] === 'codec')!;
    expect(codecLog['preview']).to.equal('{"type":tru}');
    expect(codecLog['offset']).to.equal(master.streams[1]!.record({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-big' }, heartbeat_interval_seconds: 15, master_info: { id: 'scripted-master', ip: 16777343, port: 5050, hostname: '127.0.0.1' } } }).length);
    // the HEARTBEAT after the bad record was not delivered (the stream was dropped)
    expect(h.events.map((e) => e.type)).to.deep.equal(['SUBSCRIBED', 'SUBSCRIBED', 'SUBSCRIBED', 'HEARTBEAT']);
  });

  it('slow consumer: pause() buffers events, the body is paused at maxBufferedEvents and slow_consumer is logged', async () => {
    const master = await startMaster('fw-slow');
    let stream!: StreamControl;
    master.onSubscribe((_req, s) => {
      stream = s;
      s.open().subscribed('fw-slow');
    });
    const h = makeClient([master.url], { maxBufferedEvents: 50 });
    h.client.start();
    await h.client.ready(5000);
    await waitUntil(() => h.events.length === 1, 2000, 'SUBSCRIBED delivered');
    h.client.pause();
    const big = Buffer.concat(
      Array.from({ length: 5000 }, (_, i) =>
        stream.record(i % 2 ? { type: 'HEARTBEAT' } : { type: 'RESCIND', rescind: { offer_id: { value: `o-${i}` } } }),
      ),
    );
    stream.write(big);
    await waitUntil(() => h.log.events('slow_consumer').length === 1, 5000, 'slow_consumer');
    expect(h.events).to.have.length(1, 'nothing delivered while paused');
    const logged = h.log.events('slow_consumer')[0]!;
    expect(logged['buffered_events']).to.be.at.least(50);
    await delay(50);
    // bounded: the client stopped reading, so at most one chunk of records beyond the limit
    expect(h.client.bufferedEvents).to.be.lessThan(5000);
    h.client.resume();
    await waitUntil(() => h.events.length === 5001, 5000, 'all events after resume');
    // order preserved
    const rescinds = h.events.filter((e) => e.type === 'RESCIND').map((e) => e.rescind!.offer_id.value);
    expect(rescinds.slice(0, 3)).to.deep.equal(['o-0', 'o-2', 'o-4']);
    expect(rescinds).to.have.length(2500);
    expect(h.log.events('heartbeat_missed')).to.have.length(0);
  });

  it('stop(): closes the stream and sockets, clears every timer, completes observables, rejects pending calls', async () => {
    const master = await startMaster('fw-stop');
    const clock = new VirtualClock();
    const h = makeClient([master.url], { clock });
    let completed = false;
    h.client.events$.subscribe({ complete: () => (completed = true) });
    h.client.start();
    await h.client.ready(5000);
    master.onCall(() => undefined); // never answers
    const hanging = h.client.revive().catch((e: unknown) => e);
    await waitUntil(() => master.calls.length === 1, 5000, 'call sent');
    await h.client.stop();
    expect(await hanging).to.be.instanceOf(ClientStoppedError);
    expect(completed).to.equal(true);
    expect(h.client.state.state).to.equal('stopped');
    expect(clock.pending).to.equal(0, 'no timers left');
    await master.streams[0]!.closed;
    await waitUntil(() => master.openConnections === 0, 5000, 'all sockets closed');
    await delay(20);
    expect(master.subscribes).to.have.length(1);
  });
});
