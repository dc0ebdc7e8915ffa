/** Running `sluice doctor` as a child process (the real CLI), shared by the doctor tests. */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { startSim, type Sim, type SimOptions } from '../../src/sim/index.js';
import type { DoctorReport } from '../../src/doctor/checks.js';
import { projectRoot } from '../helpers/fixtures.js';

const MAIN = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

export function doctor(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, 'doctor', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', ...env },
      cwd: cwd ?? projectRoot(),
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

export async function doctorJson(args: string[], env: Record<string, string> = {}): Promise<{ run: Run; report: DoctorReport }> {
  const run = await doctor([...args, '--json'], env);
  let report: DoctorReport;
  try {
    report = JSON.parse(run.out) as DoctorReport;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${run.code}): ${run.out}\n${run.err}`);
  }
  return { run, report };
}

export const byId = (r: DoctorReport, id: string) => {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
};

export async function withSim<T>(opts: SimOptions, fn: (sim: Sim) => Promise<T>): Promise<T> {
  const sim = await startSim({ agents: 4, racks: 2, seed: 11, ...opts });
  try {
    return await fn(sim);
  } finally {
    await sim.close();
  }
}

/** A loopback port nobody listens on. */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

