/**
 * Concurrent maintenance requests (issue 9, item 5). Real HTTP on loopback against an in-process
 * Sluice on the simulator (VirtualClock advanced in the background while requests fly), through a
 * proxy (maintenance-proxy.ts) that lets someone else write the master's schedule at an exact point.
 *
 * Per seed: 20 hosts, each with its own random sequence (start; start then abort; start then
 * complete) fired concurrently with random gaps, windows now / later / bounded. Then Sluice's
 * records (GET /api/v1/hosts) must equal the master's schedule and status host by host, every
 * accepted request must be reflected (a 202 start not followed by an accepted end is still in
 * maintenance, as Sluice's own; an accepted end is UP), no record may have been moved UP as
 * "removed by someone else", and a window posted straight to the master by someone else right
 * after one of Sluice's writes (while other writes of Sluice are queued) is still there.
 */
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { HOSTS_COLLECTION } from '../../src/maintenance/core/loop-state.js';
import { maintenancePlugin } from '../../src/app/maintenance.js';
import type { HostRecord } from '../../src/maintenance/core/host-state.js';
import { startSluice, type SluiceApp } from '../../src/app/app.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';
import { decodeJsonText } from '../../src/mesos/codec.js';
import type { Schedule } from '../../src/mesos/types.js';
import { prng } from '../../src/util/prng.js';
import { api, quietLogger, realDelay, tmpDir } from './workload-helpers.js';
import { startMasterProxy, type MasterProxy } from './maintenance-proxy.js';

const HOSTS = 20;
const SEEDS = Number(process.env['SLUICE_CONCURRENCY_SEEDS'] ?? 10);

interface World {
  clock: VirtualClock;
  sim: Sim;
  proxy: MasterProxy;
  app: SluiceApp;
  close(): Promise<void>;
}

async function world(seed: number): Promise<World> {
  const clock = new VirtualClock();
  const logger = quietLogger();
  const sim = await startSim({ agents: HOSTS + 4, racks: 4, clock, seed, logger });
  const proxy = await startMasterProxy(sim.url);
  const cfg = loadConfig({ master: [proxy.url], store: tmpDir('sluice-conc-'), 'api-listen': '127.0.0.1:0', 'no-demo': true }, {});
  const app = await startSluice(cfg, {
    clock,
    logger,
    plugins: [maintenancePlugin({ reconcileIntervalMs: 1000, downCheckIntervalMs: 1000 })],
    runtime: { tickMs: 1000, client: { random: () => 0.5 } },
  });
  for (let i = 0; i < 200 && !app.runtime.state.frameworkId; i++) {
    await clock.advance(100);
    await realDelay(5);
  }
  expect(app.runtime.state.frameworkId, 'subscribed').to.be.a('string');
  return {
    clock,
    sim,
    proxy,
    app,
    async close() {
      await app.stop();
      await proxy.close();
      await sim.close();
    },
  };
}

type Verb = 'start' | 'abort' | 'complete';
interface Outcome {
  host: string;
  answers: Array<{ verb: Verb; status: number; body: unknown }>;
}

/** The master's schedule, decoded losslessly (int64 nanoseconds as bigint), as host → window in ms. */
async function masterWindows(sim: Sim): Promise<Map<string, { start_ms: number; duration_ms?: number }>> {
  const text = await fetch(sim.url + '/master/maintenance/schedule').then((r) => r.text());
  const sched = decodeJsonText<Schedule>('mesos.v1.maintenance.Schedule', text.trim() ? text : '{}');
  const out = new Map<string, { start_ms: number; duration_ms?: number }>();
  for (const w of sched.windows ?? []) {
    for (const m of w.machine_ids ?? []) {
      const ns = w.unavailability.start.nanoseconds;
      const win: { start_ms: number; duration_ms?: number } = { start_ms: Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6 };
      const d = w.unavailability.duration?.nanoseconds;
      if (d !== undefined) win.duration_ms = Number(d / 1_000_000n) + Number(d % 1_000_000n) / 1e6;
      out.set(m.hostname!, win);
    }
  }
  return out;
}

async function masterJson(sim: Sim, p: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const text = await fetch(sim.url + p).then((r) => r.text());
  return text ? JSON.parse(text) : {};
}

describe('e2e: concurrent maintenance requests against one master schedule', function () {
  this.timeout(60_000 + SEEDS * 30_000);

  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}: ${HOSTS} hosts of concurrent start/abort/complete — Sluice's records equal the master's schedule, nothing accepted is lost, an external window is kept`, async () => {
      const w = await world(seed);
      try {
        await storm(w, seed);
      } finally {
        await w.close();
      }
    });
  }
});

async function storm(w: World, seed: number): Promise<void> {
  const rnd = prng(seed * 7919);
  const names = w.sim.agents().map((a) => a.hostname);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  const hosts = names.slice(0, HOSTS);
  const extHost = names[HOSTS]!;
  const ext = w.sim.agents().find((a) => a.hostname === extHost)!;

  // Someone else posts straight to the master right after the master took the k-th write of
  // Sluice (before Sluice hears back), while Sluice's other writes are queued behind it.
  // Queued writes are coalesced into one POST, so only the first two POSTs are certain to happen
  // (the first request's, then everything queued behind it); how many more depends on timing.
  const k = 1 + Math.floor(rnd() * 2);
  let schedulePosts = 0;
  let externalPosted = false;
  const extStartNs = BigInt(w.clock.now() + 7 * 24 * 3600_000) * 1_000_000n;
  w.proxy.onAnswer = async (req, status) => {
    if (req.method !== 'POST' || req.path !== '/master/maintenance/schedule' || status !== 200) return;
    if (++schedulePosts !== k || externalPosted) return;
    const cur = await fetch(w.sim.url + '/master/maintenance/schedule').then((r) => r.text());
    const doc = cur.trim() ? JSON.parse(cur) : {};
    const windows = [...(doc.windows ?? []).map((x: unknown) => JSON.stringify(x)), `{"machine_ids":[{"hostname":"${ext.hostname}","ip":"${ext.ip}"}],"unavailability":{"start":{"nanoseconds":${extStartNs}}}}`];
    const res = await fetch(w.sim.url + '/master/maintenance/schedule', { method: 'POST', body: `{"windows":[${windows.join(',')}]}` });
    expect(res.status, await res.text()).to.equal(200);
    externalPosted = true;
  };

  let running = true;
  const ticker = (async () => {
    while (running) {
      await w.clock.advance(250);
      await realDelay(2);
    }
  })();
  const plans: Verb[][] = hosts.map(() => {
    const r = rnd();
    return r < 0.4 ? ['start'] : r < 0.7 ? ['start', 'abort'] : ['start', 'complete'];
  });
  const windows = hosts.map(() => {
    const r = rnd();
    return r < 0.3 ? { start: '+1d', duration: '2h' } : r < 0.5 ? { start: '+30m', duration: '4h' } : undefined;
  });
  const gaps = hosts.map(() => [Math.floor(rnd() * 40), Math.floor(rnd() * 40)]);
  let outcomes: Outcome[];
  try {
    outcomes = await Promise.all(
      hosts.map(async (host, i) => {
        const answers: Outcome['answers'] = [];
        for (let s = 0; s < plans[i]!.length; s++) {
          await realDelay(gaps[i]![s]!);
          const verb = plans[i]![s]!;
          const body = verb === 'start' ? { hosts: [host], ...(windows[i] ? { window: windows[i] } : {}) } : { hosts: [host] };
          const r = await api(w.app.api.url, 'POST', `/api/v1/hosts/maintenance/${verb}`, body);
          answers.push({ verb, status: r.status, body: r.body });
        }
        return { host, answers };
      }),
    );
  } finally {
    running = false;
    await ticker;
  }
  // let downs, reconciliations and queued writes settle
  for (let i = 0; i < 20; i++) {
    await w.clock.advance(500);
    await realDelay(10);
  }
  await w.app.runtime.whenIdle();

  for (const o of outcomes) {
    const start = o.answers[0]!;
    expect(start.status, `${o.host}: start answered ${JSON.stringify(start.body)}`).to.equal(202);
    for (const a of o.answers.slice(1)) expect(a.status, `${o.host}: ${a.verb} answered ${JSON.stringify(a.body)}`).to.be.oneOf([200, 409]);
  }
  const hs = await api(w.app.api.url, 'GET', '/api/v1/hosts');
  expect(hs.status).to.equal(200);
  const sluice = new Map<string, { state: string; origin: string; request_id?: string; window?: { start_ms: number; duration_ms?: number } }>(
    hs.body.hosts.map((h: { hostname: string }) => [h.hostname, h]),
  );
  const sched = await masterWindows(w.sim);
  const down = new Set(((await masterJson(w.sim, '/master/maintenance/status')).down_machines ?? []).map((m: { hostname: string }) => m.hostname));

  const problems: string[] = [];
  // 1. host by host, Sluice's view equals the master's
  for (const host of hosts) {
    const s = sluice.get(host);
    const state = s?.state ?? 'UP';
    const m = sched.get(host);
    if (state === 'UP') {
      if (m || down.has(host)) problems.push(`${host}: UP in Sluice but ${down.has(host) ? 'DOWN' : 'scheduled'} on the master`);
    } else if (state === 'DOWN') {
      if (!down.has(host)) problems.push(`${host}: DOWN in Sluice, not down on the master`);
    } else if (!m) {
      problems.push(`${host}: ${state} in Sluice but not in the master's schedule`);
    } else if (m.start_ms !== s!.window?.start_ms || m.duration_ms !== s!.window?.duration_ms) {
      problems.push(`${host}: window ${JSON.stringify(s!.window)} in Sluice, ${JSON.stringify(m)} on the master`);
    }
  }
  // 2. every accepted request is reflected
  for (const o of outcomes) {
    const s = sluice.get(o.host);
    const ended = o.answers.slice(1).some((a) => a.status === 200);
    const requestId = (o.answers[0]!.body as { request_id: string }).request_id;
    if (ended) {
      if (s?.state !== 'UP') problems.push(`${o.host}: ${o.answers[1]!.verb} accepted but the host is ${s?.state}`);
    } else if (!s || s.state === 'UP' || s.origin !== 'sluice' || s.request_id !== requestId) {
      problems.push(`${o.host}: start ${requestId} accepted but Sluice holds ${JSON.stringify(s && { state: s.state, origin: s.origin, request_id: s.request_id })}`);
    }
  }
  // 3. no window of ours was taken for "removed by someone else"
  for (const [, rec] of w.app.store.list<HostRecord>(HOSTS_COLLECTION)) {
    for (const t of rec.history) if (/removed from the master's schedule by someone else/.test(t.reason)) problems.push(`${rec.hostname}: ${t.from} → ${t.to} (${t.reason})`);
  }
  // 4. the external writer's window is still there, untouched
  expect(externalPosted, `the external write happened (after Sluice's write #${k}; Sluice posted ${schedulePosts} times)`).to.equal(true);
  const e = sched.get(extHost);
  if (!e || BigInt(e.start_ms) * 1_000_000n !== extStartNs) problems.push(`${extHost}: the external window is ${JSON.stringify(e)} on the master`);
  if (sluice.get(extHost) && sluice.get(extHost)!.origin !== 'external') problems.push(`${extHost}: Sluice holds it as ${sluice.get(extHost)!.origin}`);
  expect(problems, problems.join('\n')).to.deep.equal([]);
  if (process.env['SLUICE_TEST_VERBOSE']) {
    const states = new Map<string, number>();
    for (const h of hosts) states.set(sluice.get(h)?.state ?? 'UP', (states.get(sluice.get(h)?.state ?? 'UP') ?? 0) + 1);
    console.log(`    seed ${seed}: ${schedulePosts} schedule POSTs for ${outcomes.reduce((n, o) => n + o.answers.length, 0)} requests; ${JSON.stringify(Object.fromEntries(states))}`);
  }
}
