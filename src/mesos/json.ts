/**
 * Lossless JSON text handling for Mesos's JSON mapping.
 *
 * Mesos writes int64 values (TimeInfo nanoseconds ~1.8e18) as bare JSON numbers above 2^53 and may
 * write non-finite doubles as bare `Infinity`/`NaN` tokens. `JSON.parse` would round the former and
 * reject the latter. `parseJsonLossless` keeps both: integers with 16 or more digits and non-finite
 * tokens outside strings are turned into strings before `JSON.parse`; the schema walk (stout.ts)
 * then turns them into bigint / number according to the field type. Text without such tokens takes
 * the fast path (a single regular-expression test, then plain `JSON.parse`).
 */
import { CodecError } from './errors.js';

const BIG_OR_SPECIAL = /\d{16}|Infinity|NaN/;

export function parseJsonLossless(text: string): unknown {
  if (!BIG_OR_SPECIAL.test(text)) return parseOrThrow(text);
  return parseOrThrow(quoteUnsafeTokens(text));
}

function parseOrThrow(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CodecError(`Invalid JSON: ${(e as Error).message}`);
  }
}

/**
 * Rewrites, outside string literals only, integer literals of 16+ digits and the bare tokens
 * Infinity, -Infinity, NaN into JSON strings. Everything else is copied unchanged.
 */
export function quoteUnsafeTokens(text: string): string {
  let out = '';
  let copied = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // skip a string literal
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    const isMinus = c === 0x2d;
    const start = i;
    let j = isMinus ? i + 1 : i;
    const d0 = text.charCodeAt(j);
    if (d0 >= 0x30 && d0 <= 0x39) {
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) j++;
        else break;
      }
      const digits = j - (isMinus ? start + 1 : start);
      const next = j < n ? text.charCodeAt(j) : 0;
      const isInteger = next !== 0x2e /* . */ && next !== 0x65 /* e */ && next !== 0x45; /* E */
      if (isInteger && digits >= 16) {
        out += text.slice(copied, start) + '"' + text.slice(start, j) + '"';
        copied = j;
        i = j;
        continue;
      }
      // skip the rest of a number (fraction/exponent)
      while (j < n) {
        const d = text.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) j++;
        else break;
      }
      i = j;
      continue;
    }
    if (d0 === 0x49 /* I */ && text.startsWith('Infinity', j)) {
      out += text.slice(copied, start) + '"' + text.slice(start, j + 8) + '"';
      copied = j + 8;
      i = copied;
      continue;
    }
    if (!isMinus && c === 0x4e /* N */ && text.startsWith('NaN', i)) {
      out += text.slice(copied, i) + '"NaN"';
      copied = i + 3;
      i = copied;
      continue;
    }
    i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Formats a double as Mesos's JSON writer does: shortest round-trip digits, integral values with a
 * trailing ".0" (`15.0`, `4096.0`), non-finite values as bare tokens (as the master writes them).
 */
export function formatDouble(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  const s = String(v);
  if (Number.isInteger(v) && s.indexOf('e') < 0) return s + '.0';
  return s;
}
