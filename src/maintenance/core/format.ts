/**
 * Pure formatting helpers for maintenance reasons and reports. No clock access: every time is a
 * parameter (ms since the Unix epoch, UTC).
 */
import type { SlaStatus } from '../../sla/index.js';
import { describeSla } from '../../sla/index.js';

/** "12:34:56Z" — time of day in UTC, the form used in blocker reasons. */
export function fmtClock(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  return new Date(ms).toISOString().slice(11, 19) + 'Z';
}

/** "2026-11-23T12:34:56Z" — full UTC timestamp without milliseconds. */
export function fmtTime(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "1h2m3s", "45s", "0s", "∞". */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  let s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let out = '';
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (s || !out) out += `${s}s`;
  return out;
}

/**
 * Parse an operator duration: "90" (seconds), "90s", "15m", "2h", "1d", "1h30m", "1500ms".
 * Returns milliseconds, or throws RangeError with a clear message.
 */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    if (m.index !== consumed) break;
    consumed += m[0].length;
    const n = Number(m[1]);
    const unit = m[2];
    total += n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000);
  }
  if (consumed === 0 || consumed !== t.length) {
    throw new RangeError(`invalid duration '${text}' (expected e.g. 90s, 15m, 2h, 1h30m, 1d)`);
  }
  return Math.round(total);
}

/** Levenshtein distance (small strings; used for "did you mean" suggestions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** Up to `max` known names closest to `name` (distance ≤ max(2, len/3)), best first. */
export function suggest(name: string, known: Iterable<string>, max = 3): string[] {
  const lower = name.toLowerCase();
  const limit = Math.max(2, Math.floor(lower.length / 3));
  const scored: Array<[number, string]> = [];
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d <= limit) scored.push([d, k]);
  }
  scored.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  return scored.slice(0, max).map((s) => s[1]);
}

/**
 * One-line reason for an operator, e.g.
 * "job web: SLA 95% over 1800s allows 0 more down until 12:34:56Z (5 of 100 down: 3 killing, 2 starting)".
 */
export function slaBlockerText(st: SlaStatus, now: number): string {
  if (st.unattainable) {
    return `job ${st.job}: ${describeSla(st.sla)} requires ${st.required} up but the job has ${st.instances} instances — cannot be met, nothing may go down`;
  }
  let when: string;
  if (st.budget >= 1) when = '';
  else if (st.refill_at_ms !== undefined) when = ` until ${fmtClock(st.refill_at_ms)}`;
  else if (st.max_budget <= 0) when = ' ever (only make-before-break replacements can move it)';
  else when = ` until ${st.refill_needs_starts} replacement${st.refill_needs_starts === 1 ? ' starts and runs' : 's start and run'} ${Math.round(st.duration_ms / 1000)}s`;
  const down = st.instances - st.up;
  const parts: string[] = [];
  if (st.killing) parts.push(`${st.killing} killing`);
  if (st.starting) parts.push(`${st.starting} starting`);
  if (st.aging) parts.push(`${st.aging} running < ${Math.round(st.duration_ms / 1000)}s`);
  if (st.unhealthy) parts.push(`${st.unhealthy} unhealthy`);
  if (st.pending) parts.push(`${st.pending} pending`);
  const below = st.margin < 0 ? `; below its SLA (${st.up} up < ${st.required} required): no running instance may go, only make-before-break` : '';
  void now;
  return `job ${st.job}: ${describeSla(st.sla)} allows ${st.budget} more down${when} (${down} of ${st.instances} down${parts.length ? ': ' + parts.join(', ') : ''})${below}`;
}
