/**
 * Sluice HA replicas as real child processes (`sluice start --ha …`) for test/ha and the HA
 * benchmarks: spawn, wait for a condition, read the role, record the simulator's calls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Subscription } from 'rxjs';
import { projectRoot } from '../helpers/fixtures.js';
import type { Sim } from '../../src/sim/index.js';
import { api, childEnv, realDelay } from '../e2e/workload-helpers.js';

export const MAIN = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');

export interface Replica {
  proc: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  /** kill -9 unless it already exited (also resumes a SIGSTOPped one). */
  kill(): void;
}

export interface CallRec {
  at: number;
  type: string;
  frameworkId?: string;
  streamId?: string;
}

export interface ReplicaOptions {
  sessionTimeout?: string;
  extraArgs?: string[];
}

export function spawnReplica(simUrl: string, haUrl: string, o: ReplicaOptions = {}): Promise<Replica> {
  return spawnSluice(['--ha', haUrl, '--ha-session-timeout', o.sessionTimeout ?? '3s', '--master', simUrl, ...(o.extraArgs ?? [])]);
}

/** `sluice start <args> --api-listen 127.0.0.1:0 --no-demo` as a child process, once its API answers. */
export function spawnSluice(startArgs: string[]): Promise<Replica> {
  const args = [MAIN, 'start', ...startArgs, '--api-listen', '127.0.0.1:0', '--no-demo', '--log-level', 'info'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv({ SLUICE_LOG_FORMAT: 'json' }) });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const kill = () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
    }
  };
  return new Promise<Replica>((resolve, reject) => {
    const check = () => {
      const m = /operator API:\s+(http:\/\/\S+)/.exec(out);
      if (m) {
        proc.stdout!.off('data', check);
        resolve({ proc, url: m[1]!, output: () => out, exited, kill });
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`replica exited (${code}) before it was ready:\n${out.slice(-3000)}`)));
  });
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000, everyMs = 50): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await realDelay(everyMs);
  }
}

/** GET /api/v1/status → the replica's `ha` block (undefined when it does not answer). */
export async function haStatus(r: Replica): Promise<{ role?: string; zk_session?: string; lost_reason?: string } | undefined> {
  try {
    const s = await api(r.url, 'GET', '/api/v1/status');
    return s.body?.ha;
  } catch {
    return undefined;
  }
}

export async function role(r: Replica): Promise<string | undefined> {
  return (await haStatus(r))?.role;
}

/** Records every scheduler call the simulator receives (with wall-clock time). */
export function recordCalls(sim: Sim): { calls: CallRec[]; sub: Subscription } {
  const calls: CallRec[] = [];
  const sub = sim.events$.subscribe((e) => {
    if (e.kind === 'call') calls.push({ at: Date.now(), type: e.type, frameworkId: e.frameworkId, streamId: e.streamId });
  });
  return { calls, sub };
}
