/** Human output helpers for the CLI. */
import { redactText } from '../util/redact.js';
import { escapeControls } from '../util/text.js';

/**
 * Aligned columns; `rows` are arrays of cells. A cell is one line of inert text: control characters
 * (newlines, terminal escape sequences from a hostile host or job name...) are shown as `\uXXXX`.
 */
export function table(header: string[], rows: Array<Array<string | number | undefined>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === undefined ? '-' : escapeControls(String(c)))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function ago(ms: number | undefined, now: number): string {
  if (ms === undefined) return '-';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

/**
 * An API error `{error, details}` for humans: the error, then each detail on its own line
 * (`path: message` / `hostname: message`) unless the error already says it (maintenance errors
 * repeat their problems in the message), so nothing is printed twice. Credentials are masked.
 */
export function renderApiError(status: number, body: unknown): string {
  const head = `error (HTTP ${status}): `;
  if (!body || typeof body !== 'object' || !('error' in body)) return redactText(head + (typeof body === 'string' ? body : JSON.stringify(body)));
  const b = body as { error: unknown; details?: unknown };
  const error = typeof b.error === 'string' ? b.error : JSON.stringify(b.error);
  const lines = [head + error];
  const details = Array.isArray(b.details) ? (b.details as unknown[]) : b.details === undefined ? [] : [b.details];
  for (const d of details) {
    let line: string;
    if (typeof d === 'string') line = d;
    else if (d && typeof d === 'object' && typeof (d as { message?: unknown }).message === 'string') {
      const o = d as { path?: unknown; hostname?: unknown; message: string };
      const where = typeof o.path === 'string' && o.path ? o.path : typeof o.hostname === 'string' && o.hostname ? o.hostname : '';
      line = where ? `${where}: ${o.message}` : o.message;
    } else line = JSON.stringify(d);
    const message = d && typeof d === 'object' && typeof (d as { message?: unknown }).message === 'string' ? (d as { message: string }).message : line;
    if (!line || error.includes(line) || error.includes(message) || lines.includes(`  ${line}`)) continue;
    lines.push(`  ${line}`);
  }
  return redactText(lines.join('\n'));
}
