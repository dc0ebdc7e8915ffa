/**
 * Sluice as a child process (`node dist/src/cli/main.js start`) for the crash tests: its store on
 * disk, its API on an ephemeral loopback port, its JSON log collected for the test to read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../helpers/fixtures.js';
import { childEnv, realDelay } from './workload-helpers.js';

const MAIN = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');

export interface Child {
  proc: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  args?: string[];
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export function spawnSluice(masterUrl: string, storeDir: string, o: SpawnOptions = {}): Promise<Child> {
  const args = [MAIN, 'start', '--master', masterUrl, '--store', storeDir, '--api-listen', '127.0.0.1:0', '--no-demo', '--log-level', 'info', ...(o.args ?? [])];
  // childEnv: the codec under test (SLUICE_TEST_CODEC) reaches the child; a given env replaces the rest
  const base = childEnv({ SLUICE_LOG_FORMAT: 'json' });
  const env = o.env ? { ...o.env, ...(base['SLUICE_CODEC'] ? { SLUICE_CODEC: base['SLUICE_CODEC'] } : {}), SLUICE_LOG_FORMAT: 'json' } : base;
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise<Child>((resolve, reject) => {
    const check = () => {
      const m = /operator API:\s+(http:\/\/\S+)/.exec(out);
      if (m) {
        proc.stdout!.off('data', check);
        resolve({ proc, url: m[1]!, output: () => out, exited });
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`sluice exited (${code}) before it was ready:\n${out.slice(-3000)}`)));
  });
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await realDelay(20);
  }
  if (process.env['SLUICE_TEST_TIMING']) console.log(`    [${what}: ${Date.now() - t0} ms]`);
}
