/**
 * Differential tests of the compiled decoders in src/mesos/stout.ts (added for the client's decode
 * throughput, see scripts/bench/decode.ts) against the interpretive reference walks: same objects,
 * same filled-defaults markers, same CodecError messages, int64 kept exact.
 */
import { expect } from 'chai';
import { jsonCodec, protobufCodec, decodeJsonText } from '../../src/mesos/codec.js';
import { lookupType } from '../../src/mesos/proto.js';
import { hasLongDigitRun, parseJsonLossless, quoteUnsafeTokens } from '../../src/mesos/json.js';
import { FILLED_DEFAULTS, fromJsonValueInterpreted, fromProtobufMessageInterpreted } from '../../src/mesos/stout.js';
import { decodeAll } from '../../src/mesos/recordio.js';
import { CodecError } from '../../src/mesos/errors.js';
import type { Event } from '../../src/mesos/types.js';
import { generateEvents } from '../../scripts/bench/decode.js';
import { readFixture } from '../helpers/fixtures.js';
import { rng } from './helpers.js';

const EVENT = 'mesos.v1.scheduler.Event';
const CALL = 'mesos.v1.scheduler.Call';

function reference(type: string, text: string): unknown {
  return fromJsonValueInterpreted(lookupType(type), parseJsonLossless(text));
}

/** Collects the FILLED_DEFAULTS markers of every object, by path. */
function filledMarkers(v: unknown, path = '', out: Record<string, string[]> = {}): Record<string, string[]> {
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const f = (v as { [FILLED_DEFAULTS]?: string[] })[FILLED_DEFAULTS];
    if (f) out[path] = [...f];
    for (const [k, x] of Object.entries(v)) filledMarkers(x, `${path}.${k}`, out);
  }
  return out;
}

function outcome(f: () => unknown): { ok: unknown } | { error: string; type: string } {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: (e as Error).message, type: (e as Error).constructor.name };
  }
}

describe('compiled decoders (src/mesos/stout.ts) agree with the interpretive reference', () => {
  const texts: string[] = [];
  const pbs: Buffer[] = [];
  before(() => {
    for (const f of ['subscribe-json.recordio', 'maint-json.recordio']) for (const r of decodeAll(readFixture('real-mesos-1.12', f))) texts.push(r.toString('utf8'));
    for (const r of decodeAll(readFixture('real-mesos-1.12', 'pb-stream.recordio'))) pbs.push(r);
    for (const e of generateEvents(800, 7)) {
      texts.push(jsonCodec.encode(EVENT, e).toString('utf8'));
      pbs.push(protobufCodec.encode(EVENT, e));
    }
  });

  it('JSON: same objects and filled-default markers for the real recordings and 800 generated events', () => {
    let lossy = 0;
    for (const t of texts) {
      const got = jsonCodec.decode<Event>(EVENT, Buffer.from(t));
      const ref = reference(EVENT, t);
      expect(got).to.deep.equal(ref);
      expect(filledMarkers(got)).to.deep.equal(filledMarkers(ref));
      if (/\d{16}/.test(t)) lossy++;
    }
    expect(lossy, 'some records hold int64 values above 2^53').to.be.greaterThan(10);
  });

  it('protobuf: same objects and filled-default markers', () => {
    const type = lookupType(EVENT);
    for (const b of pbs) {
      const got = protobufCodec.decode(EVENT, b);
      const ref = fromProtobufMessageInterpreted(type, type.decode(b));
      expect(got).to.deep.equal(ref);
      expect(filledMarkers(got)).to.deep.equal(filledMarkers(ref));
    }
  });

  it('int64 values beyond 2^53 stay exact wherever they are (nested, repeated, negative, exponent form)', () => {
    const big = '1795422430565157511';
    const ev = jsonCodec.decode<Event>(
      EVENT,
      Buffer.from(
        `{"type":"INVERSE_OFFERS","inverse_offers":{"inverse_offers":[{"id":{"value":"i"},"framework_id":{"value":"f"},"unavailability":{"start":{"nanoseconds":${big}},"duration":{"nanoseconds":-9223372036854775808}}}]}}`,
      ),
    );
    const io = ev.inverse_offers!.inverse_offers![0]!;
    expect(io.unavailability.start.nanoseconds).to.equal(BigInt(big));
    expect(io.unavailability.duration!.nanoseconds).to.equal(-9223372036854775808n);
    const offer = jsonCodec.decode<Event>(
      EVENT,
      Buffer.from(
        '{"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h","resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":18446744073709551615,"end":1e18}]}}]}]}}',
      ),
    );
    const range = offer.offers!.offers![0]!.resources![0]!.ranges!.range![0]!;
    expect(range.begin).to.equal(18446744073709551615n);
    expect(range.end).to.equal(1000000000000000000n);
    // digits inside strings are left alone
    const msg = '12345678901234567890 Infinity NaN';
    const e2 = jsonCodec.decode<Event>(EVENT, Buffer.from(`{"type":"ERROR","error":{"message":"${msg}"}}`));
    expect(e2.error!.message).to.equal(msg);
  });

  it('same CodecError messages for malformed documents', () => {
    const cases: Array<[string, string]> = [
      [CALL, '{'],
      [CALL, '[]'],
      [CALL, '"x"'],
      [CALL, '{"type":1.5}'],
      [CALL, '{"framework_id":"x"}'],
      [CALL, '{"decline":{"offer_ids":{}}}'],
      [CALL, '{"decline":{"offer_ids":[null]}}'],
      [CALL, '{"decline":{"offer_ids":[{"value":"a"},{"value":3}]}}'],
      [CALL, '{"acknowledge":{"uuid":"@@"}}'],
      [CALL, '{"type":"ACKNOWLEDGE","acknowledge":{"task_id":{"value":"t"}}}'],
      [CALL, '{"type":"DECLINE","decline":{"filters":{"refuse_seconds":"abc"}}}'],
      [CALL, '{"type":"DECLINE","decline":{"filters":{"refuse_seconds":Infinity}}}'],
      [CALL, '{"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":"x"}}}}'],
      [CALL, '{"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":99999999999999999999}}}}'],
      [CALL, '{"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":1.5}}}}'],
      [CALL, '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","checkpoint":"yes"}}}'],
      [CALL, '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","capabilities":[{"type":7}]}}}'],
      [CALL, '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","capabilities":[{"type":"NOPE"},{"type":"MULTI_ROLE"}]}}}'],
      [CALL, '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","offer_filters":{"web":{"min_allocatable_resources":{"quantities":[]}}}}}}'],
      [CALL, '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","offer_filters":[]}}}'],
      [EVENT, '{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"master_info":{"id":"m","ip":-1,"port":5050}}}'],
      [EVENT, '{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"master_info":{"id":"m","ip":"7","port":"5050","hostname":"h"}}}'],
      [EVENT, '{"type":"FAILURE","failure":{"status":4294967296}}'],
      [EVENT, '{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"AAAA","healthy":"true","timestamp":"12.5"}}}'],
      [EVENT, '{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_BOGUS"}}}'],
      [EVENT, '{"type":"UNKNOWN_TYPE","bogus":{"x":1},"heartbeat":null}'],
    ];
    for (const [type, text] of cases) {
      const got = outcome(() => decodeJsonText(type as typeof CALL, text));
      const ref = outcome(() => reference(type, text));
      expect(got, text).to.deep.equal(ref);
      if ('error' in got) expect(got.type, text).to.equal(CodecError.name);
    }
  });
});

/** The string-skipping loop quoteUnsafeTokens had before it used indexOf (reference semantics). */
function quoteReference(text: string): string {
  let out = '';
  let copied = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i += 2;
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
      while (j < n && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
      const digits = j - (isMinus ? start + 1 : start);
      const next = j < n ? text.charCodeAt(j) : 0;
      if (next !== 0x2e && next !== 0x65 && next !== 0x45 && digits >= 16) {
        out += text.slice(copied, start) + '"' + text.slice(start, j) + '"';
        copied = j;
        i = j;
        continue;
      }
      while (j < n) {
        const d = text.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) j++;
        else break;
      }
      i = j;
      continue;
    }
    if (d0 === 0x49 && text.startsWith('Infinity', j)) {
      out += text.slice(copied, start) + '"' + text.slice(start, j + 8) + '"';
      copied = j + 8;
      i = copied;
      continue;
    }
    if (!isMinus && c === 0x4e && text.startsWith('NaN', i)) {
      out += text.slice(copied, i) + '"NaN"';
      copied = i + 3;
      i = copied;
      continue;
    }
    i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

describe('lossless JSON pre-pass (src/mesos/json.ts)', () => {
  const PIECES = ['"', '\\', '\\"', 'a', ':', ',', '{', '}', '1234567890', '12345678', '-', '.', 'e', 'Infinity', 'NaN', '-Infinity', '9', ' ', '\\\\'];
  it('quoteUnsafeTokens (indexOf string skipping) matches the reference loop on random texts', () => {
    const r = rng(99);
    for (let t = 0; t < 20000; t++) {
      let s = '';
      const n = Math.floor(r() * 30);
      for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)]!;
      expect(quoteUnsafeTokens(s), JSON.stringify(s)).to.equal(quoteReference(s));
    }
  });

  it('hasLongDigitRun agrees with /\\d{16}/ on random digit/non-digit texts', () => {
    const r = rng(5);
    for (let t = 0; t < 20000; t++) {
      let s = '';
      const n = Math.floor(r() * 80);
      for (let i = 0; i < n; i++) s += r() < 0.85 ? String(Math.floor(r() * 10)) : 'x';
      expect(hasLongDigitRun(s), s).to.equal(/\d{16}/.test(s));
    }
  });
});
