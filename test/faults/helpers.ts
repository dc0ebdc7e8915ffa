/**
 * Fault-suite plumbing: the fake master (test/faults/fake-master.ts) and, for memory measurements,
 * the client (test/faults/client-child.ts) each run as real child processes started with `node`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FakeMasterConfig, FakeMasterStats } from './fake-master.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface FakeMaster {
  url: string;
  hostPort: string;
  stats(): Promise<FakeMasterStats>;
  stop(): Promise<void>;
}

/** Child processes started by the current test; `stopChildren()` (afterEach) ends them by pid. */
const children = new Set<ChildProcess>();

export async function stopChildren(): Promise<void> {
  await Promise.all(
    [...children].map(async (c) => {
      children.delete(c);
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    }),
  );
}

/** JSON lines of a child's stdout, as they come; rejects `next()` when the child exits first. */
function jsonLines(proc: ChildProcess): { next(pred: (o: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>>; all: Record<string, unknown>[] } {
  const all: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const rl = readline.createInterface({ input: proc.stdout! });
  rl.on('line', (line) => {
    try {
      all.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return; // not ours
    }
    for (const w of [...waiters]) w();
  });
  proc.on('exit', () => {
    for (const w of [...waiters]) w();
  });
  return {
    all,
    next(pred, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < all.length; seen++) {
            if (pred(all[seen]!)) {
              done();
              return resolve(all[seen]!);
            }
          }
          if (proc.exitCode !== null || proc.signalCode !== null) {
            done();
            reject(new Error(`child exited (${proc.exitCode ?? proc.signalCode}) before ${what}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export async function startFakeMaster(config: FakeMasterConfig): Promise<FakeMaster> {
  const proc = spawn(process.execPath, [path.join(HERE, 'fake-master.js'), JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(proc);
  const lines = jsonLines(proc);
  const { port } = (await lines.next((o) => typeof o['port'] === 'number', 15_000, 'the fake master to listen')) as { port: number };
  const hostPort = `127.0.0.1:${port}`;
  const url = `http://${hostPort}`;
  return {
    url,
    hostPort,
    stats: async () => (await (await fetch(`${url}/_faults/stats`)).json()) as FakeMasterStats,
    stop: async () => {
      children.delete(proc);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

export interface ClientChild {
  /** Resolves with the first report line satisfying `pred`. */
  next(pred: (o: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>>;
  reports: Record<string, unknown>[];
}

/** Runs a SchedulerClient in its own process (client-child.ts) so its RSS can be measured honestly. */
export function startClientChild(opts: { master: string; maxRecordBytes?: number }): ClientChild {
  const proc = spawn(process.execPath, ['--expose-gc', path.join(HERE, 'client-child.js'), JSON.stringify(opts)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(proc);
  const lines = jsonLines(proc);
  return { next: lines.next, reports: lines.all };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
