/**
 * Structured logging (winston, one event per line: JSON for machines, a readable line on a terminal). Field names are stable and documented in
 * README ("Log events"): event, host, agent_id, task_id, job, state_from, state_to, reason, ...
 */
import winston from 'winston';
import { CONTROL_CHARS, escapeControls, quoteText } from './text.js';

export type Logger = winston.Logger;

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level?: string;
  /** 'json' (for machines) or 'pretty' (for a person); default: defaultLogFormat(stderr is a TTY). */
  format?: LogFormat;
  /** Colour the level in the pretty format (default: only when stderr is a terminal and NO_COLOR is unset). */
  colour?: boolean;
  /** Extra static fields on every line, e.g. { component: 'sim' }. */
  defaultMeta?: Record<string, unknown>;
  /** Write to stderr (default) so stdout stays free for command output. */
  silent?: boolean;
}

/** Logs go to stderr: JSON unless a person is watching it (a terminal). */
export function defaultLogFormat(stderrIsTTY: boolean): LogFormat {
  return stderrIsTTY ? 'pretty' : 'json';
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info';
  const tty = process.stderr.isTTY === true;
  const envFormat = process.env.SLUICE_LOG_FORMAT;
  const chosen = opts.format ?? (envFormat === 'json' || envFormat === 'pretty' ? envFormat : defaultLogFormat(tty));
  const colour = opts.colour ?? (tty && !process.env.NO_COLOR);
  const format =
    chosen === 'pretty'
      ? winston.format.printf((info) => formatPretty(info, { colour, now: new Date() }))
      : winston.format.combine(winston.format.timestamp(), jsonLine());
  return winston.createLogger({
    level,
    format,
    defaultMeta: opts.defaultMeta,
    silent: opts.silent ?? process.env.SLUICE_LOG_SILENT === '1',
    transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
  });
}

const LEVEL_COLOUR: Record<string, string> = { error: '31', warn: '33', info: '32', http: '36', verbose: '36', debug: '90', silly: '90' };
/** Fields that say where a line came from rather than what happened: shown last. */
const QUIET_KEYS = new Set(['service', 'component']);

/**
 * One readable line: `HH:MM:SS level event message key=value ...`. The message is left out when it
 * only repeats the event; values without spaces or quotes are bare, others JSON-quoted; objects are
 * JSON. `colour` wraps the level in an ANSI colour. Nothing from a field can act on the terminal or
 * start a line of its own: control characters (newlines, ESC sequences, C1, bidi overrides) in the
 * event, message, keys and values are written as `\uXXXX` (src/util/text.ts); JSON does the same.
 */
export function formatPretty(info: Record<string | symbol, unknown>, o: { colour: boolean; now: Date }): string {
  const { level, message, event, timestamp: _ts, ...rest } = info as Record<string, unknown>;
  const t = o.now;
  const hh = (n: number) => String(n).padStart(2, '0');
  const time = `${hh(t.getHours())}:${hh(t.getMinutes())}:${hh(t.getSeconds())}`;
  const lvl = String(level ?? 'info');
  const padded = lvl.padEnd(5);
  const parts = [time, o.colour ? `\x1b[${LEVEL_COLOUR[lvl] ?? '0'}m${padded}\x1b[0m` : padded];
  const msg = message === undefined ? '' : String(message);
  if (event !== undefined) parts.push(escapeControls(String(event)));
  if (msg && msg !== event) parts.push(escapeControls(msg));
  const keys = Object.keys(rest);
  const ordered = [...keys.filter((k) => !QUIET_KEYS.has(k)), ...keys.filter((k) => QUIET_KEYS.has(k))];
  for (const k of ordered) {
    const v = rest[k];
    if (v === undefined) continue;
    parts.push(`${escapeControls(k)}=${prettyValue(v)}`);
  }
  return parts.join(' ');
}

function prettyValue(v: unknown): string {
  if (typeof v === 'string') return v !== '' && /^[^\s"'=\\]+$/.test(v) && !CONTROL_CHARS.test(v) ? v : quoteText(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return escapeControls(safeStringify(v) ?? String(v));
}

/** JSON format that survives bigint and Buffer values in metadata. */
function jsonLine(): winston.Logform.Format {
  return winston.format.printf((info) => escapeControls(safeStringify(info)));
}

export function safeStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return { name: v.name, message: v.message };
    return v;
  });
}

/** A logger that drops everything (for benchmarks and library use without logging). */
export function nullLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
