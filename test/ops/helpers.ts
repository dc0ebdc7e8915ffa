/**
 * Helpers of the identity / audit tests: real tokens files on disk, HTTP calls with a bearer token,
 * and a logger whose every line the test can read (to prove no token is ever logged).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import winston from 'winston';
import { main } from '../../src/cli/main.js';
import type { Logger } from '../../src/util/logger.js';
import { sink } from '../helpers/sink.js';
import { tmpDir } from '../e2e/workload-helpers.js';

export interface Identity {
  name: string;
  role: 'viewer' | 'operator' | 'admin';
  token: string;
}

export const newToken = (): string => crypto.randomBytes(24).toString('base64url');
export const sha256hex = (t: string): string => crypto.createHash('sha256').update(t).digest('hex');

/** The people of the tests: one per role, each with a fresh random token. */
export function people(): Identity[] {
  return [
    { name: 'vera', role: 'viewer', token: newToken() },
    { name: 'otto', role: 'operator', token: newToken() },
    { name: 'ada', role: 'admin', token: newToken() },
  ];
}

export function tokensFileText(ids: readonly Identity[]): string {
  return ['# name  role  sha256 of the token', ...ids.map((i) => `${i.name}  ${i.role}  sha256:${sha256hex(i.token)}`)].join('\n') + '\n';
}

/** Writes a tokens file (mode 600) in a fresh directory; returns its path. */
export function writeTokensFile(ids: readonly Identity[], dir = tmpDir('sluice-tokens-')): string {
  const file = path.join(dir, 'tokens');
  fs.writeFileSync(file, tokensFileText(ids), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

export async function call(base: string, method: string, p: string, o: { token?: string; body?: unknown } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (method !== 'GET' || o.body !== undefined) headers['content-type'] = 'application/json';
  if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
  // redirects are the caller's business (an HA standby answers 307; fetch would drop the token)
  const res = await fetch(base + p, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), redirect: 'manual' });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* text (metrics) */
  }
  return { status: res.status, body, headers: res.headers };
}

/** A logger writing JSON lines into `text()` (and nowhere else). */
export function recordingLogger(): { logger: Logger; text: () => string } {
  const stream = new PassThrough();
  let buf = '';
  stream.on('data', (d: Buffer) => (buf += d.toString()));
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] }) as unknown as Logger;
  return { logger, text: () => buf };
}

/** Runs the CLI in-process (`sluice ...argv`) with this environment. */
export async function cli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(argv, { stdout, stderr, env, cwd: process.cwd() });
  return { code, out: stdout.text, err: stderr.text };
}
