/**
 * Fault suite: the Sluice scheduler client against misbehaving masters, each served by a REAL
 * CHILD PROCESS (test/faults/fake-master.ts). Timings are real but short and every assertion is a
 * bound with a generous margin (this machine is shared): "at most N attempts in T seconds",
 * "abandoned and retried within T", "peak RSS below k × the record size".
 */
import { expect } from 'chai';
import { Subscription } from 'rxjs';
import { SchedulerClient, StreamError, MesosHttpError, CallTimeoutError, type ConnectionState, type SchedulerClientOptions } from '../../src/client/index.js';
import type { Event } from '../../src/mesos/types.js';
import { captureLogger, type CapturedLogger } from '../client/helpers.js';
import { startClientChild, startFakeMaster, sleep, stopChildren, type FakeMaster } from './helpers.js';
import type { FakeMasterConfig } from './fake-master.js';

const MiB = 1024 * 1024;

interface Harness {
  client: SchedulerClient;
  log: CapturedLogger;
  events: Event[];
  states: ConnectionState[];
  errors: Error[];
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await stopChildren();
});

/** Default backoff of the suite: 100 ms doubling to 3 s, 50 % jitter (like production, 5× faster). */
const FAST_BACKOFF = { initialMs: 100, maxMs: 3000, factor: 2, jitter: 0.5 };

function startClient(master: FakeMaster, opts: Partial<SchedulerClientOptions> = {}): Harness {
  const log = captureLogger();
  const client = new SchedulerClient({
    masters: [master.url],
    frameworkInfo: { user: 'sluice', name: 'sluice-faults', failover_timeout: 3600, roles: ['web'], capabilities: [{ type: 'MULTI_ROLE' }] },
    logger: log.logger,
    backoff: FAST_BACKOFF,
    ...opts,
  });
  const h: Harness = { client, log, events: [], states: [], errors: [] };
  const subs = new Subscription();
  subs.add(client.events$.subscribe((e) => h.events.push(e)));
  subs.add(client.connection$.subscribe((s) => h.states.push(s)));
  subs.add(client.clientErrors$.subscribe((e) => h.errors.push(e)));
  cleanups.push(async () => {
    subs.unsubscribe();
    await client.stop();
  });
  client.start();
  return h;
}

async function fakeMaster(config: FakeMasterConfig): Promise<FakeMaster> {
  const m = await startFakeMaster(config);
  cleanups.push(() => m.stop());
  return m;
}

/** Attempt numbers of the `reconnecting` log lines (1, 2, 3… while the backoff grows; all 1 in a storm). */
function reconnectAttempts(h: Harness): number[] {
  return h.log.events('reconnecting').map((e) => e['attempt'] as number);
}

function expectGrowingBackoff(h: Harness, atLeast: number): void {
  const attempts = reconnectAttempts(h);
  expect(attempts.length, 'reconnects seen').to.be.at.least(atLeast);
  expect(attempts, 'the backoff grows: attempt numbers never go back to 1').to.deep.equal(attempts.map((_, i) => i + 1));
}

describe('faults: misbehaving masters (fake master in a child process)', function () {
  this.timeout(60_000);

  it('drop after SUBSCRIBED: bounded reconnect rate, the backoff keeps growing (no storm)', async () => {
    const master = await fakeMaster({ mode: 'drop-after-subscribed', heartbeatSeconds: 1 });
    const h = startClient(master);
    await sleep(5000);
    const n = (await master.stats()).subscribes.length;
    // 100 ms doubling to 3 s: ≤ 8 attempts fit in 5 s; a storm (backoff reset by each SUBSCRIBED) makes 30+.
    expect(n, 'SUBSCRIBE attempts in 5 s').to.be.within(3, 10);
    expectGrowingBackoff(h, 3);
    expect(h.events.filter((e) => e.type === 'SUBSCRIBED').length, 'each attempt did subscribe').to.be.at.least(3);
  });

  it('a stream that stays healthy resets the backoff (healthyStreamMs)', async () => {
    const master = await fakeMaster({ mode: 'healthy', heartbeatSeconds: 0.2, dropAfterMs: 1000 });
    const h = startClient(master, { healthyStreamMs: 500, backoff: { initialMs: 100, maxMs: 200, factor: 2, jitter: 0 } });
    await sleep(3500);
    const attempts = reconnectAttempts(h);
    expect(attempts.length, 'streams dropped after 1 s of heartbeats').to.be.at.least(2);
    expect(attempts, 'each stream was healthy for 1 s > 500 ms: the backoff starts over every time').to.deep.equal(attempts.map(() => 1));
  });

  it('a stream that ends cleanly (EOF after SUBSCRIBED) is re-established, at a bounded rate', async () => {
    const master = await fakeMaster({ mode: 'end-after-subscribed', heartbeatSeconds: 1 });
    const h = startClient(master);
    await sleep(4000);
    expect((await master.stats()).subscribes.length).to.be.within(2, 9);
    expect(h.errors.some((e) => e instanceof StreamError && e.reason === 'eof')).to.equal(true);
    expectGrowingBackoff(h, 2);
  });

  it('slow drip before SUBSCRIBED: the attempt is abandoned after subscribedTimeoutMs and retried', async () => {
    const master = await fakeMaster({ mode: 'slow-drip', dripMs: 250 });
    const h = startClient(master, { subscribedTimeoutMs: 1500 });
    await master.stats(); // warm
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000 && (await master.stats()).subscribes.length < 2) await sleep(100);
    // the SUBSCRIBED record (~200 bytes at 4 bytes/s) would take ~50 s to arrive
    expect((await master.stats()).subscribes.length, 'retried after the bound').to.be.at.least(2);
    expect(Date.now() - t0, 'well before the drip could finish').to.be.below(15_000);
    const closed = h.log.events('stream_closed').map((e) => e['reason']);
    expect(closed).to.include('subscribe_timeout');
    expect(h.events, 'nothing was delivered').to.have.length(0);
  });

  it('drip after SUBSCRIBED: bytes do not feed the heartbeat watchdog, complete events do', async () => {
    const master = await fakeMaster({ mode: 'drip-after-subscribed', heartbeatSeconds: 1, dripMs: 100 });
    const h = startClient(master, { heartbeatTimeoutFactor: 2 });
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000 && h.log.events('heartbeat_missed').length === 0) await sleep(100);
    expect(h.log.events('heartbeat_missed'), 'watchdog fired while bytes kept coming').to.have.length.at.least(1);
    await sleep(500);
    expect((await master.stats()).subscribes.length).to.be.at.least(2);
  });

  it('no response headers: the SUBSCRIBE is abandoned after subscribeTimeoutMs and retried', async () => {
    const master = await fakeMaster({ mode: 'no-headers' });
    const h = startClient(master, { subscribeTimeoutMs: 1000 });
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000 && (await master.stats()).subscribes.length < 2) await sleep(100);
    expect((await master.stats()).subscribes.length).to.be.at.least(2);
    expect(h.errors.some((e) => e instanceof CallTimeoutError)).to.equal(true);
  });

  for (const [name, garbage, expected] of [
    ['a letter in the length prefix', 'abc\n', /not a decimal digit/],
    ['digits then a non-digit', '12x\n{}', /not a decimal digit/],
    ['a negative length', '-5\nhello', /not a decimal digit/],
    ['an empty length prefix', '\n', /Empty RecordIO length prefix/],
    ['a length beyond u64', '123456789012345678901234567890\n', /too large/],
  ] as const) {
    for (const afterSubscribed of [false, true]) {
      it(`garbage RecordIO (${name}${afterSubscribed ? ', after SUBSCRIBED' : ''}): typed error, reconnect with growing backoff`, async () => {
        const master = await fakeMaster({ mode: 'garbage', garbage, garbageAfterSubscribed: afterSubscribed, heartbeatSeconds: 1 });
        const h = startClient(master);
        await sleep(3000);
        const errs = h.errors.filter((e): e is StreamError => e instanceof StreamError && e.reason === 'recordio_error');
        expect(errs.length, 'every stream failed with a RecordIO error').to.be.at.least(2);
        expect(errs[0]!.message).to.match(expected);
        expect(h.log.events('bad_record').length).to.be.at.least(2);
        expect((await master.stats()).subscribes.length, 'no storm').to.be.at.most(9);
        expectGrowingBackoff(h, 2);
      });
    }
  }

  it('endless 307 redirects: bounded per attempt, clear error, growing backoff', async () => {
    const master = await fakeMaster({ mode: 'redirect-loop' });
    const h = startClient(master, { maxRedirects: 3 });
    await sleep(3000);
    const loops = h.errors.filter((e): e is MesosHttpError => e instanceof MesosHttpError && e.status === 307);
    expect(loops.length).to.be.at.least(2);
    expect(loops[0]!.message).to.match(/too many redirects/);
    const attempts = h.log.events('reconnecting').length;
    const subscribes = (await master.stats()).subscribes.length;
    expect(subscribes, 'maxRedirects + 1 requests per attempt at most').to.be.at.most((attempts + 1) * 4);
    expect(subscribes, 'no storm').to.be.at.most(40);
    expectGrowingBackoff(h, 2);
    expect(h.log.events('reconnecting').every((e) => e['reason'] === 'redirect_loop')).to.equal(true);
  });

  it('HTTP 500 on SUBSCRIBE: typed error with the body, growing backoff, no storm', async () => {
    const master = await fakeMaster({ mode: 'status', status: 500 });
    const h = startClient(master);
    await sleep(3000);
    expect((await master.stats()).subscribes.length).to.be.within(2, 9);
    const e = h.errors.find((x): x is MesosHttpError => x instanceof MesosHttpError);
    expect(e?.status).to.equal(500);
    expect(e?.body).to.equal('Internal fault injected by the fake master');
    expectGrowingBackoff(h, 2);
  });

  it('200 with a wrong Content-Type (text/html): clear error, growing backoff', async () => {
    const master = await fakeMaster({ mode: 'wrong-content-type' });
    const h = startClient(master);
    await sleep(3000);
    const e = h.errors.find((x): x is StreamError => x instanceof StreamError);
    expect(e?.reason).to.equal('bad_response');
    expect(e?.message).to.match(/unsupported Content-Type "text\/html"/);
    expect((await master.stats()).subscribes.length).to.be.within(2, 9);
    expectGrowingBackoff(h, 2);
  });
});

describe('faults: huge records (client in its own child process, RSS measured there)', function () {
  this.timeout(120_000);

  it('a record declared near 64 MiB is refused by the default limit before any of it is buffered', async () => {
    const master = await fakeMaster({ mode: 'huge-record', hugeBytes: 60 * MiB, prefixOnly: true });
    const child = startClientChild({ master: master.url });
    const base = await child.next((o) => o['kind'] === 'subscribed', 20_000, 'subscribed');
    const err = await child.next((o) => o['kind'] === 'client_error', 20_000, 'the oversized record to be refused');
    expect(err['message']).to.match(/too large/);
    // Allocating the declared 60 MiB would show as ≥ 60 MiB of growth; what remains under load is
    // noise (lazy module loading, GC timing: up to ~36 MiB seen on a loaded 2-core machine). The exact
    // property (no buffer before the length is accepted) is asserted in test/client/recordio.test.ts.
    expect((err['maxRss'] as number) - (base['rss'] as number), 'nothing allocated for the declared size').to.be.below(0.75 * 60 * MiB);
  });

  /** Peak RSS growth of the client child while it receives and decodes one record of `size` bytes. */
  async function peakGrowth(size: number, hugeKind: 'message' | 'padded', eventType: string): Promise<number> {
    const master = await fakeMaster({ mode: 'huge-record', hugeBytes: size, hugeKind });
    const child = startClientChild({ master: master.url, maxRecordBytes: 64 * MiB });
    const base = await child.next((o) => o['kind'] === 'subscribed', 20_000, 'subscribed');
    // the padded HEARTBEAT is followed by a small one: wait for the second heartbeat
    let heartbeats = 0;
    const got = await child.next(
      (o) => o['kind'] === 'event' && o['type'] === eventType && (eventType !== 'HEARTBEAT' || ++heartbeats === 2),
      60_000,
      `the huge ${eventType}`,
    );
    const growth = (got['maxRss'] as number) - (base['rss'] as number);
    console.log(`      ${hugeKind} record of ${size / MiB} MiB: peak RSS +${(growth / MiB).toFixed(0)} MiB (${(growth / size).toFixed(2)}× the record)`);
    if (eventType === 'MESSAGE') expect(got['bytes'], 'decoded payload').to.be.above(size * 0.7);
    return growth;
  }

  // RSS bounds with a wide margin: external memory (HTTP chunks already copied) is collected when
  // V8 decides, so a loaded machine adds up to ~0.6× of noise. The framing's exact property (one
  // copy, no chunk retained) is asserted deterministically in test/client/recordio.test.ts.
  it('a 48 MiB record that is cheap to decode: peak RSS < 3.5× the record (quiet machine: ~2.1×; 3.0× when chunks were kept)', async () => {
    const size = 48 * MiB;
    // the record buffer (1×) + its UTF-8 text for JSON.parse (1×) + chunk churn
    expect(await peakGrowth(size, 'padded', 'HEARTBEAT')).to.be.below(3.5 * size);
  });

  it('a 48 MiB MESSAGE with base64 data: peak RSS < 6.5× the record, decode included (quiet machine: ~4.6×; 5.6× when chunks were kept)', async () => {
    const size = 48 * MiB;
    // record + text + the parsed string + the decoded bytes (0.75×) + base64 decoding's transient copy
    expect(await peakGrowth(size, 'message', 'MESSAGE')).to.be.below(6.5 * size);
  });
});
