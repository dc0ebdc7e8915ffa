/**
 * The live event feed GET /api/v1/events (src/api/events.ts) over real HTTP:
 * - against a real Sluice on the simulator: a subscriber dropped mid-drain resumes with
 *   Last-Event-ID and, together, its two connections carry exactly the audit entries of the store
 *   (no gap, no duplicate); `sluice events` (child process) prints the same; `sluice events --follow`
 *   and `sluice host query --watch` follow a complete live;
 * - on an API server with a small journal: resync when the backlog no longer holds what is asked,
 *   bad positions refused, the token and origin checks of the rest of the API;
 * - 100 slow subscribers that never read are disconnected, memory per subscriber stays bounded, and
 *   a fast subscriber meanwhile gets every entry.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryJournal } from '../../src/audit/journal.js';
import { AUDIT_COLLECTION, type AuditEntry } from '../../src/audit/types.js';
import { EventFeed, registerEventRoutes, type EventFeedOptions } from '../../src/api/events.js';
import { Router } from '../../src/api/router.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { sseFrames, type SseFrame } from '../../src/cli/commands/events.js';
import { api, childEnv, realDelay, type Env } from '../e2e/workload-helpers.js';
import { hostStates, startWebOnTwelveAgents } from '../e2e/maintenance-helpers.js';
import { waitFor } from './browser.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

/** An open feed: frames collected as they come. */
interface Sub {
  frames: SseFrame[];
  status: number;
  done: Promise<void>;
  close(): void;
}

async function subscribe(url: string, headers: Record<string, string> = {}): Promise<Sub> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const frames: SseFrame[] = [];
  const done = (async () => {
    if (!res.ok || !res.body) return;
    try {
      for await (const f of sseFrames(res.body as unknown as AsyncIterable<Uint8Array>)) frames.push(f);
    } catch {
      /* aborted */
    }
  })();
  return { frames, status: res.status, done, close: () => ac.abort() };
}

const entries = (s: Sub): AuditEntry[] => s.frames.filter((f) => f.id !== undefined && f.event !== 'resync').map((f) => JSON.parse(f.data) as AuditEntry);

function cli(args: string[]): ChildProcess & { out: string[] } {
  const child = spawn(process.execPath, [MAIN, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & { out: string[] };
  child.out = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    child.out.push(...lines);
  });
  return child;
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

describe('events feed: resume on the simulator', function () {
  this.timeout(180_000);
  let env: Env;
  before(async () => {
    env = await startWebOnTwelveAgents();
  });
  after(async () => {
    await env?.stop();
  });

  it('a subscriber dropped mid-drain resumes with Last-Event-ID and misses nothing; the CLI prints the same', async () => {
    const rack = env.sim.agents().filter((a) => a.rack === 'rack-1').map((a) => a.hostname);
    const first = await subscribe(`${env.url}/api/v1/events`);
    expect(first.status).to.equal(200);
    await waitFor('hello', async () => first.frames.some((f) => f.event === 'hello'));
    const from = (JSON.parse(first.frames.find((f) => f.event === 'hello')!.data) as { last_seq: number }).last_seq; // the feed starts now
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: rack, group_by: 'rack' });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.until('a few events', async () => {
      await realDelay(5);
      return entries(first).length >= 5;
    }, 120_000, 500);
    first.close(); // the connection drops mid-drain
    await first.done;
    const got1 = entries(first);
    const lastId = got1[got1.length - 1]!.seq;

    // the drain goes on while nobody listens
    await env.until('rack DOWN', async () => {
      const hs = await hostStates(env);
      return rack.every((h) => hs.get(h)?.state === 'DOWN');
    }, 3 * 3600_000, 2000);
    const everything = () => env.app.store.list<AuditEntry>(AUDIT_COLLECTION).map(([, e]) => e).sort((a, b) => a.seq - b.seq);
    const stored = () => everything().filter((e) => e.seq > from);
    expect(stored()[stored().length - 1]!.seq, 'events happened while disconnected').to.be.greaterThan(lastId);

    // reconnect as EventSource does
    const second = await subscribe(`${env.url}/api/v1/events`, { 'last-event-id': String(lastId) });
    const want = stored();
    await waitFor('the resumed feed to catch up', async () => entries(second).length && entries(second)[entries(second).length - 1]!.seq >= want[want.length - 1]!.seq);
    second.close();
    expect(second.frames.some((f) => f.event === 'resync'), 'no resync needed').to.equal(false);
    const all = [...got1, ...entries(second)];
    expect(all.map((e) => e.seq), 'ids: no gap, no duplicate').to.deep.equal(want.map((e) => e.seq));
    expect(all, 'the entries, exactly as stored').to.deep.equal(want);
    // and the host history they tell: every rack host UP → SCHEDULED → DRAINING → DRAINED → DOWN
    for (const h of rack) {
      const steps = all.filter((e) => e.kind === 'host_transition' && e.host === h).map((e) => `${e.from}→${e.to}`);
      expect(steps.slice(0, 2), h).to.deep.equal(['UP→SCHEDULED', 'SCHEDULED→DRAINING']);
      expect(steps.slice(-2), h).to.deep.equal(['DRAINING→DRAINED', 'DRAINED→DOWN']);
    }

    // `sluice events --json` (backlog, then exit) prints the same entries
    const dump = cli(['events', '--json', '--api', env.url]);
    expect(await exited(dump)).to.equal(0);
    expect(dump.out.map((l) => JSON.parse(l) as AuditEntry)).to.deep.equal(everything());
    const tail = cli(['events', '--since', String(lastId), '--api', env.url]);
    expect(await exited(tail)).to.equal(0);
    expect(tail.out.length).to.equal(stored().filter((e) => e.seq > lastId).length);
    expect(tail.out[0]).to.match(new RegExp(`#${lastId + 1}  host_transition`));
  });

  it('sluice events --follow and host query --watch follow a complete as it happens', async () => {
    const rack = env.sim.agents().filter((a) => a.rack === 'rack-1').map((a) => a.hostname);
    const follow = cli(['events', '--follow', '--json', '--api', env.url]);
    const watch = cli(['host', 'query', '--watch', '--json', '--api', env.url]);
    try {
      // both are connected once the watcher has drawn and the feed has a second subscriber
      await waitFor('watch drawn', async () => watch.out.some((l) => l.includes('"DOWN"')));
      await realDelay(300);
      const drawsBefore = watch.out.filter((l) => l.startsWith('{')).length;
      const done = await api(env.url, 'POST', '/api/v1/hosts/maintenance/complete', { hosts: rack });
      expect(done.status, JSON.stringify(done.body)).to.equal(200);
      await waitFor('--follow prints the transitions to UP', async () => {
        const ups = follow.out.map((l) => JSON.parse(l) as AuditEntry).filter((e) => e.kind === 'host_transition' && e.to === 'UP');
        return rack.every((h) => ups.some((e) => e.host === h));
      });
      await waitFor('--watch redraws with the hosts UP', async () => {
        const draws = watch.out.filter((l) => l.startsWith('{'));
        if (draws.length <= drawsBefore) return false;
        const lastDraw = JSON.parse(draws[draws.length - 1]!) as { hosts: Array<{ hostname: string; state: string }> };
        return rack.every((h) => lastDraw.hosts.find((x) => x.hostname === h)?.state === 'UP');
      });
    } finally {
      follow.kill('SIGINT');
      watch.kill('SIGINT');
    }
    expect(await exited(follow)).to.equal(0);
    expect(await exited(watch)).to.equal(0);
  });
});

function entry(seq: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return { seq, kind: 'host_transition', ts_ms: 1_700_000_000_000 + seq, actor: 'sluice', host: `h${seq % 7}`, from: 'UP', to: 'SCHEDULED', ...extra };
}

async function feedServer(journal: MemoryJournal, token: string | undefined, feed: Partial<EventFeedOptions> = {}): Promise<{ server: ApiServer; feed: EventFeed }> {
  const router = new Router();
  const f = new EventFeed({ journal, ...feed });
  registerEventRoutes(router, f);
  const server = await startApiServer({ listen: '127.0.0.1:0', token, router });
  return { server, feed: f };
}

describe('events feed: resync, positions, auth', function () {
  this.timeout(30_000);
  let server: ApiServer;
  let journal: MemoryJournal;
  const TOKEN = 'feed-test-token-5e1f';
  const auth = { authorization: `Bearer ${TOKEN}` };
  before(async () => {
    journal = new MemoryJournal(5);
    journal.publish(Array.from({ length: 10 }, (_, i) => entry(i + 1)));
    ({ server } = await feedServer(journal, TOKEN));
  });
  after(async () => {
    await server?.close();
  });

  const backlog = async (q: string, headers: Record<string, string> = {}) => {
    const s = await subscribe(`${server.url}/api/v1/events?follow=false${q}`, { ...auth, ...headers });
    await s.done;
    return s;
  };

  it('replays what the backlog holds, and says resync when it no longer holds what was asked', async () => {
    const ok = await backlog('&since=7');
    expect(entries(ok).map((e) => e.seq)).to.deep.equal([8, 9, 10]);
    expect(ok.frames[0]!.event).to.equal('hello');
    const gone = await backlog('&since=2');
    const rs = gone.frames.find((f) => f.event === 'resync')!;
    expect(rs, 'resync event').to.not.equal(undefined);
    expect(rs.id, 'resync says where the feed continues').to.equal('10');
    expect(entries(gone), 'nothing silently skipped: no partial replay').to.deep.equal([]);
    const future = await backlog('', { 'last-event-id': '99' });
    expect(future.frames.some((f) => f.event === 'resync')).to.equal(true);
    // header beats the query (what EventSource sends on reconnect)
    const both = await backlog('&since=6', { 'last-event-id': '9' });
    expect(entries(both).map((e) => e.seq)).to.deep.equal([10]);
    const tail = await backlog('&tail=2');
    expect(entries(tail).map((e) => e.seq)).to.deep.equal([9, 10]);
  });

  it('names unknown kinds safely and refuses bad positions', async () => {
    journal.publish([entry(11, { kind: 'machine_down' }), entry(12, { kind: 'Bad kind\ninjected: 1' as AuditEntry['kind'] })]);
    const s = await backlog('&since=10');
    expect(s.frames.filter((f) => f.id).map((f) => f.event)).to.deep.equal(['machine_down', 'audit']);
    expect(JSON.parse(s.frames.find((f) => f.id === '12')!.data).kind).to.equal('Bad kind\ninjected: 1');
    for (const [q, h] of [['since=abc', {}], ['since=-1', {}], ['', { 'last-event-id': '1e3' }], ['follow=maybe', {}], ['tail=x', {}]] as const) {
      const r = await fetch(`${server.url}/api/v1/events?${q}`, { headers: { ...auth, ...h } });
      expect(r.status, q + JSON.stringify(h)).to.equal(400);
    }
  });

  it('is guarded like the rest of the API: token, origin', async () => {
    const none = await fetch(`${server.url}/api/v1/events`);
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer/);
    const wrong = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).to.equal(401);
    const cross = await fetch(`${server.url}/api/v1/events`, { headers: { ...auth, origin: 'http://evil.example' } });
    expect(cross.status).to.equal(403);
    expect(cross.headers.get('access-control-allow-origin')).to.equal(null);
  });
});

describe('events feed: progress view', function () {
  this.timeout(30_000);

  it('sends the hosts in maintenance in full on connect, then only what changed, however large', async () => {
    const journal = new MemoryJournal(100);
    // 400 hosts: one full view is far larger than a socket's write buffer
    let hosts = Array.from({ length: 400 }, (_, i) => ({ hostname: `host-${i}`, state: 'DRAINING', tasks_left: 3, blockers: [{ reason: `job web: SLA 90% allows 0 more down ${'.'.repeat(80)}` }] }));
    const { server } = await feedServer(journal, undefined, { progress: async () => hosts, progressMs: 50 });
    try {
      const sub = await subscribe(`${server.url}/api/v1/events`);
      const views = () => sub.frames.filter((f) => f.event === 'progress').map((f) => JSON.parse(f.data) as { full: boolean; hosts: Array<{ hostname: string; state: string }>; removed: string[] });
      await waitFor('the full view', async () => views().length === 1);
      await realDelay(500); // ten refreshes, nothing changed
      expect(views().length, 'nothing changed: nothing more sent').to.equal(1);
      expect(views()[0]!.full).to.equal(true);
      expect(views()[0]!.hosts).to.have.length(400);
      hosts = hosts.slice(1).map((h) => (h.hostname === 'host-7' ? { ...h, state: 'DRAINED', tasks_left: 0 } : h));
      await waitFor('the change', async () => views().length === 2);
      expect(views()[1]).to.deep.include({ full: false, removed: ['host-0'] });
      expect(views()[1]!.hosts.map((h) => `${h.hostname} ${h.state}`)).to.deep.equal(['host-7 DRAINED']);
      sub.close();
    } finally {
      await server.close();
    }
  });
});

describe('events feed: 100 slow subscribers', function () {
  this.timeout(120_000);

  it('disconnects subscribers that stop reading, keeps memory per subscriber bounded, and a fast one gets everything', async () => {
    const journal = new MemoryJournal(50_000);
    const MAX_BUFFERED = 256 * 1024;
    const { server, feed } = await feedServer(journal, undefined, { slowMs: 500, maxBufferedBytes: MAX_BUFFERED, maxSubscribers: 200, maxPerIdentity: 200 });
    const slow: net.Socket[] = [];
    const closed = new Set<net.Socket>();
    try {
      for (let i = 0; i < 100; i++) {
        const s = net.connect(server.port, '127.0.0.1');
        await new Promise<void>((r) => s.once('connect', () => r()));
        s.write(`GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAccept: text/event-stream\r\n\r\n`);
        await new Promise<void>((r) => s.once('data', () => r()));
        s.pause(); // never reads again
        s.on('close', () => closed.add(s));
        s.on('error', () => undefined);
        slow.push(s);
      }
      const fast = await subscribe(`${server.url}/api/v1/events`);
      await waitFor('all subscribed', async () => feed.stats().subscribers === 101);

      const pad = 'x'.repeat(1000);
      let seq = 0;
      while (feed.stats().dropped_slow < 100) {
        expect(seq, 'slow subscribers are cut before 40,000 entries').to.be.lessThan(40_000);
        journal.publish(Array.from({ length: 200 }, () => entry(++seq, { reason: pad })));
        await new Promise((r) => setImmediate(r));
        await realDelay(5);
      }
      // a paused socket sees the server's FIN only once it reads what was queued before it
      for (const s of slow) s.resume();
      await waitFor('the slow sockets closed by the server', async () => closed.size === 100);
      const stats = feed.stats();
      expect(stats.subscribers, 'only the fast subscriber is left').to.equal(1);
      expect(stats.max_buffered, 'bytes ever queued for one subscriber').to.be.at.most(MAX_BUFFERED);
      await waitFor('the fast subscriber got everything', async () => entries(fast).length === seq, 30_000);
      expect(entries(fast).map((e) => e.seq)).to.deep.equal(Array.from({ length: seq }, (_, i) => i + 1));
      fast.close();
      await waitFor('no subscriber left', async () => feed.stats().subscribers === 0 && journal.subscribers === 0);
      if (process.env['SLUICE_TEST_VERBOSE']) console.log({ published: seq, ...stats });
    } finally {
      for (const s of slow) s.destroy();
      await server.close();
    }
  });
});
