/**
 * Helpers of the workload end-to-end tests: the real simulator (src/sim) and a real Sluice
 * (startSluice: store on disk, runtime, SchedulerClient over loopback HTTP, operator API), sharing
 * a VirtualClock, plus ground-truth checks against the simulator's agents.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig, type FlagValues } from '../../src/config.js';
import { startSluice, type SluiceApp, type StartOptions } from '../../src/app/app.js';
import { startSim, type Sim, type SimOptions } from '../../src/sim/index.js';
import type { TaskTransition } from '../../src/sim/index.js';
import { parseTaskId } from '../../src/scheduler/task-id.js';
import { VirtualClock } from '../../src/util/clock.js';
import { createLogger, type Logger } from '../../src/util/logger.js';

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function quietLogger(): Logger {
  return createLogger({ level: process.env['SLUICE_TEST_LOG'] ? 'debug' : 'error', silent: !process.env['SLUICE_TEST_LOG'] });
}

/** The codec Sluice speaks to the simulator in the e2e suites: SLUICE_TEST_CODEC=json|protobuf
 *  (unset: Sluice's default). `npm test` runs the e2e suites once more under the non-default one. */
export const TEST_CODEC: string | undefined = process.env['SLUICE_TEST_CODEC'] || undefined;

/** Environment for a spawned `sluice start` that honours SLUICE_TEST_CODEC. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...(TEST_CODEC ? { SLUICE_CODEC: TEST_CODEC } : {}), ...extra };
}

export const realDelay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ApiResponse {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function api(base: string, method: string, p: string, body?: unknown): Promise<ApiResponse> {
  const res = await fetch(base + p, {
    method,
    // the API refuses mutating requests that are not JSON (415), even without a body
    headers: body === undefined && method === 'GET' ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Live tasks (agent-side truth) of one framework, by `job.index`. */
export function liveByInstance(sim: Sim, frameworkId: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of sim.groundTruth()) {
    if (t.frameworkId !== frameworkId) continue;
    const p = parseTaskId(t.taskId);
    const key = p ? `${p.job}.${p.index}` : t.taskId;
    const list = out.get(key) ?? [];
    list.push(t.taskId);
    out.set(key, list);
  }
  return out;
}

/**
 * Watches every agent-side transition and records the worst moment: the most tasks that were alive
 * at once for one instance (must stay 1), and every task ever launched.
 */
export class DuplicateWatch {
  readonly launched: string[] = [];
  maxAlive = 0;
  worst: string | undefined;
  private readonly alive = new Map<string, Set<string>>();
  private readonly ignored = new Set<string>();
  private readonly off: () => void;

  /** Stop counting a task (e.g. one on an agent the test partitioned on purpose: it is replaced while still alive). */
  ignore(taskId: string): void {
    this.ignored.add(taskId);
    for (const set of this.alive.values()) set.delete(taskId);
  }

  constructor(sim: Sim, private readonly frameworkId: () => string | undefined) {
    this.off = sim.onTaskTransition((t) => this.on(t));
  }

  private on(t: TaskTransition): void {
    const fw = this.frameworkId();
    if ((fw && t.frameworkId !== fw) || this.ignored.has(t.taskId)) return;
    const p = parseTaskId(t.taskId);
    const key = p ? `${p.job}.${p.index}` : t.taskId;
    let set = this.alive.get(key);
    if (!set) this.alive.set(key, (set = new Set()));
    if (t.from === undefined || t.cause === 'launch') {
      if (!this.launched.includes(t.taskId)) this.launched.push(t.taskId);
    }
    const terminal = ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR'].includes(t.to);
    if (terminal) set.delete(t.taskId);
    else set.add(t.taskId);
    if (set.size > this.maxAlive) {
      this.maxAlive = set.size;
      this.worst = `${key}: ${[...set].join(', ')}`;
    }
  }

  stop(): void {
    this.off();
  }
}

export interface Env {
  clock: VirtualClock;
  sim: Sim;
  app: SluiceApp;
  storeDir: string;
  url: string;
  /** Advances virtual time in steps, letting real I/O (HTTP on loopback) run between steps. */
  advance(ms: number, step?: number): Promise<void>;
  /** Advances until `cond` holds (or fails after `maxMs` of virtual time). */
  until(what: string, cond: () => boolean | Promise<boolean>, maxMs?: number, step?: number): Promise<void>;
  restartSluice(): Promise<void>;
  frameworkId(): string;
  stop(): Promise<void>;
}

/** `flags`: extra `sluice start` flags (principal, secret, rack-attribute...); `logger`: Sluice's logger. */
export async function startEnv(
  o: { sim?: SimOptions; storeDir?: string; flags?: FlagValues; logger?: Logger; master?: string; runtime?: NonNullable<StartOptions['runtime']> } = {},
): Promise<Env> {
  const clock = new VirtualClock();
  const logger = o.logger ?? quietLogger();
  const sim = await startSim({ agents: 12, racks: 3, clock, seed: 7, taskStartupDelayMs: 500, logger: quietLogger(), ...o.sim });
  const storeDir = o.storeDir ?? tmpDir('sluice-e2e-');
  const cfg = loadConfig({ master: [o.master ?? sim.url], store: storeDir, 'api-listen': '127.0.0.1:0', 'no-demo': true, codec: TEST_CODEC, ...o.flags }, {});
  const start = () =>
    startSluice(cfg, {
      clock,
      logger,
      runtime: { tickMs: 1000, client: { random: () => 0.5 }, ...o.runtime },
    });
  let app = await start();
  const env: Env = {
    clock,
    sim,
    get app() {
      return app;
    },
    storeDir,
    get url() {
      return app.api.url;
    },
    async advance(ms, step = 250) {
      let left = ms;
      while (left > 0) {
        const d = Math.min(step, left);
        await clock.advance(d);
        await realDelay(1);
        left -= d;
      }
    },
    async until(what, cond, maxMs = 120_000, step = 250) {
      let spent = 0;
      for (;;) {
        if (await cond()) return;
        if (spent >= maxMs) throw new Error(`timed out after ${maxMs} ms of virtual time waiting for: ${what}`);
        await clock.advance(step);
        await realDelay(2);
        spent += step;
      }
    },
    async restartSluice() {
      await app.stop();
      app = await start();
    },
    frameworkId() {
      const id = app.runtime.state.frameworkId;
      expect(id, 'framework id').to.be.a('string');
      return id!;
    },
    async stop() {
      await app.stop();
      await sim.close();
    },
  };
  return env;
}
