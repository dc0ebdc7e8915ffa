/**
 * Lossless JSON text handling for Mesos's JSON mapping.
 *
 * Mesos writes int64 values (TimeInfo nanoseconds ~1.8e18) as bare JSON numbers above 2^53 and may
 * write non-finite doubles as bare `Infinity`/`NaN` tokens. `JSON.parse` would round the former and
 * reject the latter. `parseJsonLossless` keeps both: integers with 16 or more digits and non-finite
 * tokens outside strings are turned into strings before `JSON.parse`; the schema walk (stout.ts)
 * then turns them into bigint / number according to the field type. Text without a 16-digit run,
 * or whose long runs all look like integer tokens, takes the fast path (a skipping scan, quoting
 * those runs, then plain `JSON.parse`; only if that throws, e.g. on bare Infinity/NaN tokens or a
 * digit run inside a string, is the whole text scanned exactly and parsed again).
 */
import { CodecError } from './errors.js';

export function parseJsonLossless(text: string): unknown {
  // fast path: no integer can exceed 2^53 (that needs 16 digits), or every long digit run is a
  // number token that quoteLongNumbers could quote without knowing where strings are; bare
  // Infinity/NaN make JSON.parse throw, and so does invalid JSON (then the exact path below runs
  // and throws with its message)
  const quick = hasLongDigitRun(text) ? quoteLongNumbers(text) : text;
  if (quick !== undefined) {
    try {
      return JSON.parse(quick);
    } catch {
      /* fall through */
    }
  }
  return parseOrThrow(quoteUnsafeTokens(text));
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * quoteUnsafeTokens for the common case, without scanning the whole text: finds every run of 16
 * or more digits (looking at every 16th character, as hasLongDigitRun does) and quotes it when it
 * has the shape of an integer token — an optional '-', preceded by ',' ':' or '[' and followed by
 * ',' '}' or ']' (JSON whitespace allowed between). Any other long run (in a fraction, an
 * exponent, a string) gives undefined: the caller takes the exact path.
 *
 * Why a successful JSON.parse of the result equals JSON.parse(quoteUnsafeTokens(text)): take the
 * first quote inserted inside a string of the original text (everything before it was quoted
 * exactly as quoteUnsafeTokens does). That quote is unescaped (the character before it is not a
 * backslash) and closes the string, and the next character is a digit or '-': no JSON value may
 * follow a string directly, so JSON.parse throws. If it does not throw, every run was quoted
 * outside strings, i.e. exactly the runs quoteUnsafeTokens quotes (and bare Infinity/NaN, which
 * are left alone here, would have made it throw).
 */
export function quoteLongNumbers(text: string): string | undefined {
  const n = text.length;
  let out = '';
  let copied = 0;
  let i = 15;
  while (i < n) {
    if (!isDigit(text.charCodeAt(i))) {
      i += 16;
      continue;
    }
    let a = i;
    while (a > 0 && isDigit(text.charCodeAt(a - 1))) a--;
    let b = i + 1;
    while (b < n && isDigit(text.charCodeAt(b))) b++;
    if (b - a >= 16) {
      const start = a > 0 && text.charCodeAt(a - 1) === 0x2d ? a - 1 : a;
      let p = start - 1;
      while (p >= 0 && isSpace(text.charCodeAt(p))) p--;
      const before = p >= 0 ? text.charCodeAt(p) : 0;
      let q = b;
      while (q < n && isSpace(text.charCodeAt(q))) q++;
      const after = q < n ? text.charCodeAt(q) : 0;
      if ((before !== 0x2c && before !== 0x3a && before !== 0x5b) || (after !== 0x2c && after !== 0x7d && after !== 0x5d)) return undefined;
      out += text.slice(copied, start) + '"' + text.slice(start, b) + '"';
      copied = b;
    }
    i = b + 16;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * True if `text` holds 16 or more consecutive ASCII digits anywhere (inside strings too: this is a
 * cheap pre-check, quoteUnsafeTokens does the exact work). Looks at every 16th character only: a
 * run of 16 digits must cover one of them. About 20x cheaper than the regular expression
 * /\d{16}/ on Mesos events, i.e. a few per cent of JSON.parse.
 */
export function hasLongDigitRun(text: string): boolean {
  const n = text.length;
  let i = 15;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c > 0x39 || c < 0x30) {
      i += 16;
      continue;
    }
    let run = 1;
    for (let j = i - 1; j >= 0 && run < 16; j--) {
      c = text.charCodeAt(j);
      if (c > 0x39 || c < 0x30) break;
      run++;
    }
    if (run >= 16) return true;
    let k = i + 1;
    for (; k < n; k++) {
      c = text.charCodeAt(k);
      if (c > 0x39 || c < 0x30) break;
      if (++run >= 16) return true;
    }
    i = k + 16;
  }
  return false;
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
      // skip a string literal: jump to the next quote (native search) that no odd run of
      // backslashes escapes
      let q = i + 1;
      for (;;) {
        q = text.indexOf('"', q);
        if (q < 0) {
          q = n;
          break;
        }
        let b = 0;
        while (text.charCodeAt(q - 1 - b) === 0x5c) b++;
        if ((b & 1) === 0) break;
        q++;
      }
      i = q + 1;
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
