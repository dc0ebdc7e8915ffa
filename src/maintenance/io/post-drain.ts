/**
 * The `post_drain` hook: an operator's shell command run once a host is DOWN on the master.
 *
 * It is a shell command with side effects, run as Sluice's user, so it sees as little as possible:
 * - environment: PATH, HOME, LANG, SLUICE_HOST, SLUICE_IP, SLUICE_AGENT_ID, plus only the variable
 *   NAMES the operator lists in `post_drain_env` (--post-drain-env / SLUICE_POST_DRAIN_ENV). Never
 *   passed, even when listed: SLUICE_SECRET, SLUICE_API_TOKEN, and any variable whose value
 *   contains one of the configured secret values (framework secret, API token, passwords in master
 *   URLs).
 * - output: every line is passed through maskSecrets (the configured secret values) and redactText
 *   (credential-looking fragments) BEFORE it is logged, stored in the host record or returned by
 *   GET /api/v1/hosts; lines are cut at MAX_LINE characters, at most MAX_LOGGED_LINES are logged,
 *   and the stored tail is the last MAX_TAIL characters.
 */
import { spawn } from 'node:child_process';
import { maskSecrets, redactText } from '../../util/redact.js';
import type { HookHost, PostDrainResult } from '../core/master.js';

export const NEVER_PASSED: readonly string[] = ['SLUICE_SECRET', 'SLUICE_API_TOKEN'];
const ALWAYS: readonly string[] = ['PATH', 'HOME', 'LANG'];
export const MAX_LINE = 1000;
export const MAX_LOGGED_LINES = 200;
export const MAX_TAIL = 4000;
/** A partial line longer than this is flushed as a line (bounded memory for output without newlines). */
const MAX_PENDING = 64 * 1024;

export interface PostDrainConfig {
  /** Variable names passed through to the hook (besides the fixed ones). */
  passEnv: readonly string[];
  /** Secret values that never reach the hook's environment nor its recorded output. */
  secrets: readonly string[];
  timeoutMs: number;
}

export type { HookHost, PostDrainResult } from '../core/master.js';

/** The hook's whole environment, built from `base` (usually process.env). */
export function hookEnv(base: NodeJS.ProcessEnv, host: HookHost, cfg: Pick<PostDrainConfig, 'passEnv' | 'secrets'>): Record<string, string> {
  const secrets = cfg.secrets.filter((s) => s && s.length >= 4);
  const env: Record<string, string> = {};
  for (const name of [...ALWAYS, ...cfg.passEnv]) {
    const v = base[name];
    if (v === undefined || NEVER_PASSED.includes(name)) continue;
    if (secrets.some((s) => v.includes(s))) continue;
    env[name] = v;
  }
  env['SLUICE_HOST'] = host.hostname;
  env['SLUICE_IP'] = host.ip ?? '';
  env['SLUICE_AGENT_ID'] = host.agent_id ?? '';
  return env;
}

/** One line of hook output as it may be logged, stored or returned. */
export function cleanLine(line: string, secrets: readonly string[]): string {
  const clean = redactText(maskSecrets(line, secrets));
  return clean.length > MAX_LINE ? `${clean.slice(0, MAX_LINE)}… (${clean.length - MAX_LINE} more characters)` : clean;
}

/**
 * Runs the hook to its end (or its timeout: SIGKILL). `onLine` gets every cleaned line (the caller
 * logs it; at most MAX_LOGGED_LINES, then one notice). Never rejects.
 */
export function runPostDrain(command: string, host: HookHost, cfg: PostDrainConfig, onLine: (stream: string, line: string) => void): Promise<PostDrainResult> {
  return new Promise<PostDrainResult>((resolve) => {
    let tail = '';
    let logged = 0;
    let timedOut = false;
    const emit = (stream: string, raw: string): void => {
      const line = cleanLine(raw, cfg.secrets);
      tail = `${tail}${line}\n`.slice(-MAX_TAIL);
      if (!line.trim()) return;
      if (logged < MAX_LOGGED_LINES) onLine(stream, line);
      else if (logged === MAX_LOGGED_LINES) onLine(stream, `(output beyond ${MAX_LOGGED_LINES} lines is not logged; the last ${MAX_TAIL} characters are kept in the host record)`);
      logged++;
    };
    const reader = (stream: string) => {
      let pending = '';
      return {
        data(b: Buffer) {
          pending += b.toString('utf8');
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            emit(stream, pending.slice(0, nl));
            pending = pending.slice(nl + 1);
          }
          if (pending.length > MAX_PENDING) {
            emit(stream, pending);
            pending = '';
          }
        },
        end() {
          if (pending) emit(stream, pending);
          pending = '';
        },
      };
    };
    const out = reader('stdout');
    const err = reader('stderr');
    const child = spawn('sh', ['-c', command], { env: hookEnv(process.env, host, cfg), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => out.data(b));
    child.stderr.on('data', (b: Buffer) => err.data(b));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, cfg.timeoutMs);
    child.on('error', (e) => emit('stderr', e.message));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out.end();
      err.end();
      const r: PostDrainResult = { exit_code: code, timed_out: timedOut, output_tail: tail };
      if (signal) r.signal = signal;
      resolve(r);
    });
  });
}
