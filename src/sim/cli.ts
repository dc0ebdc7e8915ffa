/**
 * `sluice sim`: runs the Mesos master simulator alone (real time) and prints the URL(s) to point any
 * Mesos client at, until SIGINT/SIGTERM.
 *
 *   sluice sim --agents 12 --racks 3 [--port 5050] [--masters 1] [--seed N] [--zk zk://host:2181/mesos]
 */
import { createLogger, type Logger } from '../util/logger.js';
import { redactUrl } from '../util/redact.js';
import { parseZkUrl } from '../zk/url.js';
import { startSim, type Sim } from './cluster.js';
import { readFileSync } from 'node:fs';
import { parseCredentialsFile, type SimAuthenticate, type SimCredential } from './auth.js';
import { SIM_USAGE } from './usage.js';
import { INVERSE_OFFER_BEHAVIOURS, type InverseOfferBehaviour, otherFrameworkSpecs } from './others.js';

export { SIM_USAGE };

export interface SimCliOptions {
  agents: number;
  racks: number;
  port: number;
  masters: number;
  seed?: number;
  allocationIntervalMs: number;
  startupDelayMs: number;
  logLevel: string;
  credentials?: SimCredential[];
  authenticate?: SimAuthenticate;
  clockOffsetMs?: number;
  zk?: string;
  otherFrameworks?: number;
  otherBehaviours?: InverseOfferBehaviour[];
  otherTasksPerAgent?: number;
}

export class SimCliError extends Error {}

export function parseSimArgs(argv: string[]): SimCliOptions | 'help' {
  const o: SimCliOptions = { agents: 12, racks: 3, port: 5050, masters: 1, allocationIntervalMs: 1000, startupDelayMs: 0, logLevel: 'warn' };
  const int = (flag: string, v: string | undefined, min: number): number => {
    if (v === undefined || !/^\d+$/.test(v)) throw new SimCliError(`${flag} needs a whole number`);
    const n = Number(v);
    if (n < min) throw new SimCliError(`${flag} must be at least ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf('=');
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string | undefined => (eq > 0 ? raw.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--agents':
        o.agents = int(flag, value(), 0);
        break;
      case '--racks':
        o.racks = int(flag, value(), 1);
        break;
      case '--port':
        o.port = int(flag, value(), 0);
        if (o.port > 65535) throw new SimCliError('--port must be at most 65535');
        break;
      case '--masters':
        o.masters = int(flag, value(), 1);
        break;
      case '--seed':
        o.seed = int(flag, value(), 0);
        break;
      case '--allocation-interval':
        o.allocationIntervalMs = int(flag, value(), 1);
        break;
      case '--startup-delay':
        o.startupDelayMs = int(flag, value(), 0);
        break;
      case '--credentials': {
        const v = value();
        if (!v) throw new SimCliError('--credentials needs principal:secret or a file');
        (o.credentials ??= []).push(...credentialsArg(v));
        break;
      }
      case '--authenticate': {
        const v = value() ?? '';
        const realms = v.split(',').map((x) => x.trim()).filter(Boolean);
        const bad = realms.filter((r) => r !== 'frameworks' && r !== 'readonly' && r !== 'readwrite');
        if (!realms.length || bad.length) throw new SimCliError('--authenticate takes frameworks, readonly, readwrite (comma-separated)');
        o.authenticate = { frameworks: realms.includes('frameworks'), readonly: realms.includes('readonly'), readwrite: realms.includes('readwrite') };
        break;
      }
      case '--clock-offset': {
        const v = value();
        if (v === undefined || !/^[-+]?\d+$/.test(v)) throw new SimCliError('--clock-offset needs a whole number of milliseconds');
        o.clockOffsetMs = Number(v);
        break;
      }
      case '--zk': {
        const v = value();
        if (!v) throw new SimCliError('--zk needs a zk://host:port/path URL');
        try {
          parseZkUrl(v);
        } catch (e) {
          throw new SimCliError(`--zk: ${(e as Error).message}`);
        }
        o.zk = v;
        break;
      }
      case '--other-frameworks':
        o.otherFrameworks = int(flag, value(), 0);
        break;
      case '--other-tasks-per-agent':
        o.otherTasksPerAgent = int(flag, value(), 0);
        break;
      case '--other-behaviour':
      case '--other-behavior': {
        const list = (value() ?? '').split(',').map((x) => x.trim()).filter(Boolean);
        const bad = list.filter((b) => !(INVERSE_OFFER_BEHAVIOURS as readonly string[]).includes(b));
        if (!list.length || bad.length) throw new SimCliError(`--other-behaviour takes ${INVERSE_OFFER_BEHAVIOURS.join(', ')} (comma-separated)`);
        o.otherBehaviours = list as InverseOfferBehaviour[];
        break;
      }
      case '--log-level': {
        const v = value();
        if (!v) throw new SimCliError('--log-level needs a value');
        o.logLevel = v;
        break;
      }
      default:
        throw new SimCliError(`unknown argument ${raw}`);
    }
  }
  if (o.authenticate && !o.credentials?.length) throw new SimCliError('--authenticate needs --credentials');
  if ((o.otherBehaviours || o.otherTasksPerAgent !== undefined) && !o.otherFrameworks) {
    throw new SimCliError('--other-behaviour and --other-tasks-per-agent need --other-frameworks N');
  }
  return o;
}

/** `principal:secret`, or a path (contains no `:` before a `/`, or starts with `/`, `.` or `file://`). */
function credentialsArg(v: string): SimCredential[] {
  const isPath = v.startsWith('/') || v.startsWith('.') || v.startsWith('file://') || !v.includes(':');
  if (!isPath) {
    const i = v.indexOf(':');
    if (i === 0) throw new SimCliError('--credentials: the principal is empty');
    return [{ principal: v.slice(0, i), secret: v.slice(i + 1) }];
  }
  const file = v.replace(/^file:\/\//, '');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SimCliError(`--credentials ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`);
  }
  try {
    return parseCredentialsFile(text, `--credentials ${file}`);
  } catch (e) {
    throw new SimCliError((e as Error).message);
  }
}

export interface SimCliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Resolves when the process should stop (default: SIGINT or SIGTERM). */
  until?: Promise<void>;
  logger?: Logger;
  /** Called with the running simulator (tests). */
  onStarted?: (sim: Sim) => void;
}

function signals(): { promise: Promise<void>; dispose: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const on = (): void => resolve();
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** Entry point of `sluice sim`. Returns the exit code. */
export async function runSimCli(argv: string[], ctx?: unknown, io?: SimCliIo): Promise<number> {
  void ctx;
  const out = io?.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = io?.err ?? ((l: string) => process.stderr.write(l + '\n'));
  let o: SimCliOptions | 'help';
  try {
    o = parseSimArgs(argv);
  } catch (e) {
    err(`sluice sim: ${(e as Error).message}`);
    err(SIM_USAGE);
    return 2;
  }
  if (o === 'help') {
    out(SIM_USAGE);
    return 0;
  }
  const logger = io?.logger ?? createLogger({ level: o.logLevel, defaultMeta: { component: 'sim' } });
  let sim: Sim;
  try {
    sim = await startSim({
      agents: o.agents,
      racks: o.racks,
      port: o.port,
      masters: o.masters,
      seed: o.seed,
      allocationIntervalMs: o.allocationIntervalMs,
      taskStartupDelayMs: o.startupDelayMs,
      credentials: o.credentials,
      authenticate: o.authenticate,
      clockOffsetMs: o.clockOffsetMs,
      zk: o.zk,
      otherFrameworks: o.otherFrameworks ? otherFrameworkSpecs(o.otherFrameworks, o.otherBehaviours, o.otherTasksPerAgent) : undefined,
      logger,
    });
  } catch (e) {
    err(`sluice sim: cannot start: ${(e as Error).message}`);
    return 1;
  }
  const sig = io?.until ? undefined : signals();
  try {
    out(`Mesos master simulator (Mesos 1.12 API): ${o.agents} agents on ${o.racks} racks, ${o.masters} master(s)`);
    out(`leader: ${sim.url}`);
    if (sim.urls.length > 1) out(`masters: ${sim.urls.join(' ')}`);
    if (o.zk) out(`ZooKeeper: masters registered under ${redactUrl(o.zk)} (run Sluice with --master ${redactUrl(o.zk)})`);
    out(`scheduler API: ${sim.url}/api/v1/scheduler   operator API: ${sim.url}/api/v1   state: ${sim.url}/master/state`);
    if (o.credentials?.length) {
      const a = o.authenticate ?? { frameworks: true };
      const realms = (['frameworks', 'readonly', 'readwrite'] as const).filter((r) => a[r]);
      out(`HTTP Basic authentication: ${realms.join(', ') || 'none'} (${o.credentials.length} principal(s): ${o.credentials.map((c) => c.principal).join(', ')})`);
    }
    for (const v of sim.others.views()) out(`other framework ${v.name} (${v.frameworkId}): inverse offers ${v.behaviour}`);
    if (o.clockOffsetMs) out(`cluster clock offset: ${o.clockOffsetMs > 0 ? '+' : ''}${o.clockOffsetMs} ms`);
    out('Press Ctrl-C to stop.');
    io?.onStarted?.(sim);
    await (io?.until ?? sig!.promise);
  } finally {
    sig?.dispose();
    await sim.close();
  }
  out('simulator stopped');
  return 0;
}
