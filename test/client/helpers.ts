/** Shared helpers of the client tests: a log-capturing winston logger and small utilities. */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/util/logger.js';

export interface LogEntry {
  level: string;
  message: string;
  event?: string;
  [k: string]: unknown;
}

export interface CapturedLogger {
  logger: Logger;
  entries: LogEntry[];
  /** Entries whose `event` (or message) is `name`. */
  events(name: string): LogEntry[];
}

/** A winston logger that keeps every entry in memory (set SLUICE_TEST_LOGS=1 to also print them). */
export function captureLogger(): CapturedLogger {
  const entries: LogEntry[] = [];
  const sink = new Writable({
    objectMode: true,
    write(info: LogEntry, _enc, cb) {
      entries.push({ ...info });
      if (process.env.SLUICE_TEST_LOGS === '1') console.error(JSON.stringify(info, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream: sink })] });
  return {
    logger,
    entries,
    events: (name: string) => entries.filter((e) => (e.event ?? e.message) === name),
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Deterministic PRNG (mulberry32) for property-style tests; the seed is printed on failure. */
export { prng as rng } from '../../src/util/prng.js';

/** Splits `buf` into chunks of random sizes in [1, max]; with `max` 1 every byte is its own chunk. */
export function randomChunks(buf: Buffer, rand: () => number, max: number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const n = 1 + Math.floor(rand() * max);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}
