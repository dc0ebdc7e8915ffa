/**
 * The quick quoting of long integer tokens (quoteLongNumbers in src/mesos/json.ts, added for the
 * placement burst and the client's decode throughput): parseJsonLossless must give exactly what
 * the exact pre-pass gives — JSON.parse(quoteUnsafeTokens(text)) — on valid and invalid texts,
 * with long digit runs in numbers, strings, fractions, exponents, keys and next to escapes.
 */
import { expect } from 'chai';
import { parseJsonLossless, quoteLongNumbers, quoteUnsafeTokens } from '../../src/mesos/json.js';
import { jsonCodec } from '../../src/mesos/codec.js';
import type { Event } from '../../src/mesos/types.js';
import { generateEvents } from '../../scripts/bench/decode.js';
import { prng } from '../../src/util/prng.js';

function outcome(f: () => unknown): { ok: unknown } | { error: string } {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The exact pre-pass alone (what parseJsonLossless did for every text with a long digit run). */
function exact(text: string): unknown {
  try {
    return JSON.parse(quoteUnsafeTokens(text));
  } catch (e) {
    throw new Error(`Invalid JSON: ${(e as Error).message}`);
  }
}


const LONG = ['1795422430565157511', '18446744073709551615', '1234567890123456', '9007199254740993', '00000000000000000001'];
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Random JSON-like text: mostly valid, with long digit runs in every kind of place. */
function randomJson(r: () => number, depth = 0): string {
  const ws = () => pick(r, ['', '', ' ', '\n', '\t ']);
  const k = r();
  if (depth > 3 || k < 0.45) {
    // a scalar
    return pick(r, [
      () => `${r() < 0.3 ? '-' : ''}${pick(r, LONG)}`,
      () => `${pick(r, LONG)}.${pick(r, LONG)}`,
      () => `1e${r() < 0.5 ? '-' : ''}${pick(r, LONG)}`,
      () => `${pick(r, LONG)}e5`,
      () => `"${pick(r, ['S', ':', ',', '[', ' ', 'x\\"', '\\\\', ''])}${pick(r, LONG)}${pick(r, ['"', ',"', ']"', ' }"', 'x"', '\\""'])}`,
      () => `"a:${pick(r, LONG)},"`,
      () => `${Math.floor(r() * 1e6)}`,
      () => pick(r, ['true', 'null', 'Infinity', '-Infinity', 'NaN', '"NaN"', '1.5', '15.0']),
      () => pick(r, ['"unterminated', '{', ']', `${pick(r, LONG)}${pick(r, LONG)}x`, `0x${pick(r, LONG)}`]),
    ])();
  }
  const n = Math.floor(r() * 4);
  if (k < 0.7) {
    const items = Array.from({ length: n }, () => ws() + randomJson(r, depth + 1) + ws());
    return '[' + items.join(',') + ']';
  }
  const items = Array.from({ length: n }, (_, i) => `${ws()}"${r() < 0.2 ? pick(r, LONG) : 'k' + i}"${ws()}:${ws()}${randomJson(r, depth + 1)}${ws()}`);
  return '{' + items.join(',') + '}';
}

describe('lossless JSON: quick quoting of long integer tokens (src/mesos/json.ts)', () => {
  it('agrees with the exact pre-pass on 20,000 random texts (valid and invalid)', () => {
    const r = prng(15);
    let quick = 0;
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = randomJson(r);
      const got = outcome(() => parseJsonLossless(text));
      expect(got, text).to.deep.equal(outcome(() => exact(text)));
      if ('ok' in got) valid++;
      if (quoteLongNumbers(text) !== undefined && /\d{16}/.test(text)) quick++;
    }
    // both paths and both outcomes are exercised
    expect(valid).to.be.greaterThan(3000);
    expect(quick).to.be.greaterThan(1000);
  });

  it('quotes the int64 tokens of real-shaped events and leaves everything else as the exact pass does', () => {
    let withLong = 0;
    for (const e of generateEvents(2000, 3)) {
      const text = jsonCodec.encode('mesos.v1.scheduler.Event', e).toString('utf8');
      if (!/\d{16}/.test(text)) continue;
      withLong++;
      expect(quoteLongNumbers(text)).to.equal(quoteUnsafeTokens(text));
      expect(jsonCodec.decode<Event>('mesos.v1.scheduler.Event', Buffer.from(text))).to.deep.equal(e);
    }
    expect(withLong).to.be.greaterThan(20);
  });

  it('gives up (exact path) for runs that are not integer tokens, and the result is still exact', () => {
    for (const text of [
      '{"s":"1234567890123456789"}',
      '{"d":1.12345678901234567}',
      '{"d":1e-12345678901234567}',
      '[12345678901234567890x]',
    ]) {
      expect(quoteLongNumbers(text), text).to.equal(undefined);
    }
    // a run that looks like a token inside a string: quoted by the quick pass, rejected by JSON.parse
    const tricky = '{"s":"a,1234567890123456789]","n":[12345678901234567890]}';
    expect(quoteLongNumbers(tricky)).to.be.a('string');
    expect(() => JSON.parse(quoteLongNumbers(tricky)!)).to.throw(SyntaxError);
    expect(parseJsonLossless(tricky)).to.deep.equal({ s: 'a,1234567890123456789]', n: ['12345678901234567890'] });
    expect(parseJsonLossless('{"s":"x:1234567890123456789,"}')).to.deep.equal({ s: 'x:1234567890123456789,' });
  });
});
