/**
 * Structured logging (winston, JSON, one event per line). Field names are stable and documented in
 * README ("Log events"): event, host, agent_id, task_id, job, state_from, state_to, reason, ...
 */
import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: string;
  /** 'json' (default, for machines) or 'pretty' (for a terminal). */
  format?: 'json' | 'pretty';
  /** Extra static fields on every line, e.g. { component: 'sim' }. */
  defaultMeta?: Record<string, unknown>;
  /** Write to stderr (default) so stdout stays free for command output. */
  silent?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info';
  const format =
    (opts.format ?? (process.env.SLUICE_LOG_FORMAT as 'json' | 'pretty' | undefined)) === 'pretty'
      ? winston.format.combine(
          winston.format.timestamp(),
          winston.format.printf((info) => {
            const { level: lvl, message, timestamp, ...rest } = info;
            const extra = Object.keys(rest).length ? ' ' + safeStringify(rest) : '';
            return `${String(timestamp)} ${lvl} ${String(message)}${extra}`;
          }),
        )
      : winston.format.combine(winston.format.timestamp(), jsonLine());
  return winston.createLogger({
    level,
    format,
    defaultMeta: opts.defaultMeta,
    silent: opts.silent ?? process.env.SLUICE_LOG_SILENT === '1',
    transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
  });
}

/** JSON format that survives bigint and Buffer values in metadata. */
function jsonLine(): winston.Logform.Format {
  return winston.format.printf((info) => safeStringify(info));
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
