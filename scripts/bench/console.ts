/**
 * Console benchmark: the maintenance console in headless Chromium against a real Sluice on the
 * simulator (VirtualClock), at 10,000 hosts with a drain of 1,000 in progress — and the same at
 * 1,000 hosts with a drain of 100, the baseline measured in the same run.
 *
 * Cluster: N agents in N/100 racks, a job of N/2 instances (SLA 90% over 300 s, aged past it).
 * Drain: N/1000 × 10 racks = 10% of the hosts (1,000 at 10,000), started through the API.
 * Measured in the page (window.sluiceConsole, src/console/web/main.ts) and by Chromium's metrics:
 *   - time to first render: navigation start → first frame with every host placed in its rack;
 *   - update cost while the drain moves: main-thread task time per feed message (audit events and
 *     progress views), and the longest DOM update (one animation frame's flush of changed tiles);
 *   - JS heap of the page.
 *
 * Usage: node dist/scripts/bench/console.js [--hosts 10000] [--baseline 1000] [--steps 20] [--step-seconds 30]
 * (Sluice, the simulator and the measuring script share one Node process: at 10,000 agents the
 * setup takes minutes on a small machine.)
 */
import { performance } from 'node:perf_hooks';
import puppeteer from 'puppeteer-core';
import { loadConfig } from '../../src/config.js';
import { startSluice } from '../../src/app/app.js';
import { startSim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/logger.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const CHROMIUM = process.env['SLUICE_CHROMIUM'] || '/usr/bin/chromium';
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const quiet = createLogger({ level: 'error', silent: true });

interface Result {
  hosts: number;
  draining: number;
  first_render_ms: number;
  render_ms: number;
  load_to_live_ms: number;
  tiles_in_dom: number;
  messages: number;
  tiles_repainted: number;
  busy_ms_per_s: number;
  task_ms_per_message: number;
  max_flush_ms: number;
  heap_mb: number;
}

async function run(hosts: number, steps: number): Promise<Result> {
  const clock = new VirtualClock();
  const racks = Math.max(1, Math.round(hosts / 100));
  const sim = await startSim({ agents: hosts, racks, clock, seed: 7, taskStartupDelayMs: 500, logger: quiet });
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-console-'));
  const cfg = loadConfig({ master: [sim.url], store, 'api-listen': '127.0.0.1:0', 'no-demo': true }, {});
  const app = await startSluice(cfg, { clock, logger: quiet, runtime: { tickMs: 1000, client: { random: () => 0.5 } } });
  const advance = async (ms: number, step = 1000) => {
    for (let t = 0; t < ms; t += step) {
      await clock.advance(step);
      await delay(2);
    }
  };
  const post = async (p: string, body: unknown) => {
    const r = await fetch(app.api.url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  let browser: Awaited<ReturnType<typeof puppeteer.launch>> | undefined;
  try {
    const instances = hosts / 2;
    await post('/api/v1/jobs', {
      name: 'web',
      instances,
      resources: { cpus: 0.5, mem: 128 },
      command: { value: 'sleep 1000000' },
      sla: { kind: 'percentage', percentage: 90, duration_seconds: 300 },
    });
    const log = (m: string) => process.stderr.write(`[${hosts}] ${m}\n`);
    log('job submitted');
    for (let i = 0; i < 600; i++) {
      const running = [...app.runtime.state.tasks.values()].filter((t) => t.state === 'TASK_RUNNING').length;
      if (running >= instances && app.runtime.state.agents.size >= hosts) break;
      await advance(2000);
    }
    log(`running: ${[...app.runtime.state.tasks.values()].filter((t) => t.state === 'TASK_RUNNING').length}, agents ${app.runtime.state.agents.size}`);
    await advance(6 * 60_000, 10_000);
    const drainRacks = Array.from({ length: Math.max(1, racks / 10) }, (_, i) => `rack-${i + 1}`);
    const started = (await post('/api/v1/hosts/maintenance/start', { racks: drainRacks, group_by: 'host' })) as { hosts: unknown[] };
    await advance(5000);
    log(`drain started: ${started.hosts.length} hosts`);

    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--disable-gpu', '--disable-dev-shm-usage', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
      defaultViewport: { width: 1600, height: 1000 },
      protocolTimeout: 600_000,
    });
    browser.on('disconnected', () => log('browser disconnected'));
    // a warm browser (the first navigation starts Chromium's processes), then the measured load
    const page = await browser.newPage();
    page.setDefaultNavigationTimeout(600_000);
    page.setDefaultTimeout(600_000);
    await page.goto(app.api.url + '/', { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(`window.sluiceConsole && window.sluiceConsole.feed === 'live'`, { timeout: 300_000 });
    const t0 = performance.now();
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForFunction(`window.sluiceConsole && window.sluiceConsole.firstRenderMs !== undefined && window.sluiceConsole.feed === 'live'`, { timeout: 300_000 });
    const loadToLive = performance.now() - t0;
    log('page loaded');
    const st = (await page.evaluate(`({ first: window.sluiceConsole.firstRenderMs, data: window.sluiceConsole.dataAtMs, tiles: document.querySelectorAll('.tile').length })`)) as { first: number; data: number; tiles: number };
    log(`first render ${Math.round(st.first)} ms after navigation (rendering ${Math.round(st.first - st.data)} ms), ${st.tiles} tiles in the DOM`);

    // the drain moves: the page's main-thread time per second and per feed message
    await delay(1000);
    const m0 = await page.metrics();
    const w0 = performance.now();
    const s0 = (await page.evaluate(`({ e: window.sluiceConsole.events, p: window.sluiceConsole.progressViews, u: window.sluiceConsole.render.tilesUpdated })`)) as { e: number; p: number; u: number };
    for (let i = 0; i < steps; i++) {
      await clock.advance(stepMs);
      await delay(500); // real time for the feed to reach the page
    }
    await delay(1000);
    const m1 = await page.metrics();
    const wall = (performance.now() - w0) / 1000;
    const s1 = (await page.evaluate(`({ e: window.sluiceConsole.events, p: window.sluiceConsole.progressViews, u: window.sluiceConsole.render.tilesUpdated, max: window.sluiceConsole.render.maxFlushMs })`)) as { e: number; p: number; u: number; max: number };
    const messages = s1.e - s0.e + (s1.p - s0.p);
    const taskMs = ((m1.TaskDuration ?? 0) - (m0.TaskDuration ?? 0)) * 1000;
    const heap = (await page.evaluate(`performance.memory ? performance.memory.usedJSHeapSize : 0`)) as number;
    return {
      hosts,
      draining: started.hosts.length,
      first_render_ms: Math.round(st.first),
      render_ms: Math.round(st.first - st.data),
      load_to_live_ms: Math.round(loadToLive),
      tiles_in_dom: st.tiles,
      messages,
      tiles_repainted: s1.u - s0.u,
      busy_ms_per_s: Math.round(taskMs / wall),
      task_ms_per_message: messages ? Math.round((taskMs / messages) * 10) / 10 : NaN,
      max_flush_ms: Math.round(s1.max * 10) / 10,
      heap_mb: Math.round((heap / 1e6) * 10) / 10,
    };
  } finally {
    await browser?.close();
    await app.stop();
    await sim.close();
    fs.rmSync(store, { recursive: true, force: true });
  }
}

const big = arg('hosts', 10_000);
const base = arg('baseline', 1000);
const steps = arg('steps', 20);
const stepMs = arg('step-seconds', 30) * 1000;
const b = await run(base, steps);
console.log(JSON.stringify(b));
const r = await run(big, steps);
console.log(JSON.stringify(r));
console.log(
  `console at ${r.hosts} hosts, ${r.draining} draining: first render ${r.first_render_ms} ms after navigation (of which rendering ${r.render_ms} ms; ` +
    `baseline ${b.hosts} hosts: ${b.first_render_ms} ms / ${b.render_ms} ms, ×${(r.first_render_ms / b.first_render_ms).toFixed(1)}), ${r.tiles_in_dom} tiles in the DOM; ` +
    `while the drain moves: main thread busy ${r.busy_ms_per_s} ms/s (baseline ${b.busy_ms_per_s}), ${r.task_ms_per_message} ms per feed message (baseline ${b.task_ms_per_message}), ` +
    `longest tile flush ${r.max_flush_ms} ms (baseline ${b.max_flush_ms}); page heap ${r.heap_mb} MB (baseline ${b.heap_mb})`,
);
