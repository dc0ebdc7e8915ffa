/**
 * Property-style tests of RecordIO framing as the client uses it (src/mesos/recordio.ts): random
 * payloads (multi-byte UTF-8 JSON, protobuf bytes containing 0x0a, raw binary), random chunkings
 * down to 1 byte, many records per chunk; and the error cases (oversized record, bad prefixes,
 * truncated stream) that must give RecordIOError, never another error or a silent skip.
 */
import { expect } from 'chai';
import { RecordIODecoder, encodeRecord, decodeAll } from '../../src/mesos/recordio.js';
import { RecordIOError } from '../../src/mesos/errors.js';
import { jsonCodec, protobufCodec } from '../../src/mesos/codec.js';
import type { Event } from '../../src/mesos/types.js';
import { randomChunks, rng } from './helpers.js';

const EVENT = 'mesos.v1.scheduler.Event';
const ALPHABET = ['a', 'Z', '0', ' ', '"', '\\', 'é', 'ß', '€', '中', '文', '😀', '🚀', '\n', '\t', '{', '}'];

function randomString(r: () => number, max: number): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)]!;
  return s;
}

function randomEvent(r: () => number, i: number): Event {
  const k = r();
  if (k < 0.2) return { type: 'HEARTBEAT' };
  if (k < 0.5) return { type: 'ERROR', error: { message: randomString(r, 80) } };
  if (k < 0.8) {
    return {
      type: 'UPDATE',
      update: {
        status: {
          task_id: { value: `t-${i}-${randomString(r, 10)}` },
          state: 'TASK_RUNNING',
          message: randomString(r, 40),
          // 16 random bytes: often contain 0x0a in protobuf, base64 in JSON
          uuid: Buffer.from(Array.from({ length: 16 }, () => (r() < 0.3 ? 0x0a : Math.floor(r() * 256)))),
          data: Buffer.from(Array.from({ length: Math.floor(r() * 40) }, () => (r() < 0.2 ? 0x0a : Math.floor(r() * 256)))),
          timestamp: 1700000000 + r(),
        },
      },
    };
  }
  return {
    type: 'INVERSE_OFFERS',
    inverse_offers: {
      inverse_offers: [
        {
          id: { value: `io-${i}` },
          framework_id: { value: 'fw' },
          agent_id: { value: `agent-${randomString(r, 5)}` },
          unavailability: { start: { nanoseconds: 1795422430565157510n + BigInt(i) }, duration: { nanoseconds: 3600000000000n } },
        },
      ],
    },
  };
}

function feedAll(chunks: Buffer[], maxRecordBytes?: number): Buffer[] {
  const d = new RecordIODecoder({ maxRecordBytes });
  const out: Buffer[] = [];
  for (const c of chunks) for (const rec of d.push(c)) out.push(Buffer.from(rec)); // copy: records may be views
  d.end();
  return out;
}

describe('RecordIO framing (property-style)', () => {
  it('worked example of the contract: 20\\n{"type":"HEARTBEAT"} and byte (not char) lengths', () => {
    const rec = encodeRecord(Buffer.from('{"type":"HEARTBEAT"}'));
    expect(rec.toString('hex')).to.equal('32300a7b2274797065223a22484541525442454154227d');
    const nonAscii = Buffer.from('{"type":"ERROR","error":{"message":"é"}}', 'utf8');
    expect(encodeRecord(nonAscii).subarray(0, 3).toString()).to.equal('41\n');
    expect(decodeAll(Buffer.concat([rec, rec])).map((b) => b.toString())).to.deep.equal(['{"type":"HEARTBEAT"}', '{"type":"HEARTBEAT"}']);
  });

  for (const [name, codec] of [
    ['JSON (multi-byte UTF-8)', jsonCodec],
    ['protobuf (payload bytes include 0x0a)', protobufCodec],
  ] as const) {
    it(`${name}: random events survive random chunkings, 1-byte chunks and whole-stream chunks`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const r = rng(seed);
        const events = Array.from({ length: 1 + Math.floor(r() * 60) }, (_, i) => randomEvent(r, i));
        const payloads = events.map((e) => codec.encode(EVENT, e));
        const stream = Buffer.concat(payloads.map(encodeRecord));
        if (codec === protobufCodec && seed === 1) {
          expect(payloads.some((p) => p.includes(0x0a)), 'some protobuf payload holds 0x0a').to.equal(true);
        }
        for (const max of [1, 2, 3, 17, 256, stream.length]) {
          const chunks = randomChunks(stream, r, max);
          const got = feedAll(chunks);
          expect(got.length, `seed ${seed} max ${max}`).to.equal(payloads.length);
          for (let i = 0; i < got.length; i++) {
            expect(got[i]!.equals(payloads[i]!), `seed ${seed} max ${max} record ${i}`).to.equal(true);
          }
          // and they decode back to the same events
          expect(got.map((g) => codec.decode<Event>(EVENT, g))).to.deep.equal(payloads.map((p) => codec.decode<Event>(EVENT, p)));
        }
      }
    });
  }

  it('raw binary payloads of every length 0..300 (including all-0x0a and digit-only payloads)', () => {
    const r = rng(7);
    const payloads: Buffer[] = [];
    for (let n = 0; n <= 300; n++) {
      const kind = n % 3;
      payloads.push(
        Buffer.from(Array.from({ length: n }, () => (kind === 0 ? 0x0a : kind === 1 ? 0x30 + Math.floor(r() * 10) : Math.floor(r() * 256)))),
      );
    }
    const stream = Buffer.concat(payloads.map(encodeRecord));
    for (const max of [1, 5, 64, 1 << 20]) {
      const got = feedAll(randomChunks(stream, r, max));
      expect(got.map((b) => b.toString('hex'))).to.deep.equal(payloads.map((b) => b.toString('hex')));
    }
  });

  it('many records in one chunk, and a length prefix split across chunks', () => {
    const rec = encodeRecord(Buffer.from('{"type":"HEARTBEAT"}'));
    const many = Buffer.concat(Array.from({ length: 10_000 }, () => rec));
    const d = new RecordIODecoder();
    expect(d.push(many)).to.have.length(10_000);
    expect(d.idle).to.equal(true);
    const big = encodeRecord(Buffer.alloc(123456, 0x41)); // prefix "123456\n"
    const d2 = new RecordIODecoder();
    expect(d2.push(big.subarray(0, 3))).to.deep.equal([]);
    expect(d2.idle).to.equal(false);
    expect(d2.push(big.subarray(3, 10))).to.deep.equal([]);
    const out = d2.push(big.subarray(10));
    expect(out).to.have.length(1);
    expect(out[0]!.length).to.equal(123456);
  });

  it('oversized records give RecordIOError as soon as the prefix exceeds the limit', () => {
    const d = new RecordIODecoder({ maxRecordBytes: 1000 });
    expect(d.push(Buffer.from('1000\n'))).to.deep.equal([]);
    const d2 = new RecordIODecoder({ maxRecordBytes: 1000 });
    expect(() => d2.push(Buffer.from('1001'))).to.throw(RecordIOError, /too large/);
    // sticky: the decoder stays failed
    expect(() => d2.push(Buffer.from('1\nx'))).to.throw(RecordIOError);
    // a u64 longer than 20 digits is rejected even with a huge limit
    const d3 = new RecordIODecoder({ maxRecordBytes: Number.MAX_SAFE_INTEGER });
    expect(() => d3.push(Buffer.from('9'.repeat(21)))).to.throw(RecordIOError);
  });

  for (const bad of ['-5\nabcde', '+5\nabcde', ' 5\nabcde', '5 \nabcde', '\nabc', 'x\n', '5\r\nabcde', '0x10\n']) {
    it(`bad prefix ${JSON.stringify(bad)} gives RecordIOError with the stream offset`, () => {
      const good = encodeRecord(Buffer.from('{"type":"HEARTBEAT"}'));
      const d = new RecordIODecoder();
      const seen: Buffer[] = [];
      let err: unknown;
      try {
        d.feed(Buffer.concat([good, Buffer.from(bad)]), (rec) => seen.push(rec));
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(RecordIOError);
      expect((err as RecordIOError).offset).to.equal(good.length);
      expect(seen, 'the record before the bad prefix is handed out by feed()').to.have.length(1);
    });
  }

  it('a record spanning chunks is copied once into a buffer of its size; the chunks are not retained', () => {
    // The HTTP layer may reuse or free a chunk once the decoder returns. If the decoder kept views
    // of the chunks (and concatenated them at the end) a record would hold every chunk plus a copy:
    // overwriting each chunk after feeding it would then corrupt the record.
    const payload = Buffer.from(JSON.stringify({ type: 'MESSAGE', pad: 'x'.repeat(10_000) }));
    const framed = encodeRecord(payload);
    const d = new RecordIODecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < framed.length; i += 777) {
      const chunk = Buffer.from(framed.subarray(i, i + 777)); // a private copy, as a socket read would be
      d.feed(chunk, (r) => out.push(r));
      chunk.fill(0x21); // the chunk's memory is gone/reused
    }
    expect(out).to.have.length(1);
    expect(out[0]!.equals(payload), 'record intact').to.equal(true);
    expect(out[0]!.buffer.byteLength, 'one buffer of exactly the record size').to.equal(payload.length);
    // a record inside one chunk is a view of it (no copy)
    const small = encodeRecord(Buffer.from('{"type":"HEARTBEAT"}'));
    const [rec] = new RecordIODecoder().push(small);
    expect(rec!.buffer).to.equal(small.buffer);
  });

  it('the default limit is 16 MiB: a larger length prefix fails before any payload byte', () => {
    const d = new RecordIODecoder();
    expect(() => d.push(Buffer.from(`${16 * 1024 * 1024 + 1}\n`))).to.throw(RecordIOError, /too large/);
    expect(new RecordIODecoder().push(Buffer.from(`${16 * 1024 * 1024}\n`))).to.deep.equal([]);
  });

  it('a stream ending inside a record or a prefix is reported by end()', () => {
    const rec = encodeRecord(Buffer.from('{"type":"HEARTBEAT"}'));
    const d = new RecordIODecoder();
    d.push(Buffer.concat([rec, rec.subarray(0, 10)]));
    expect(() => d.end()).to.throw(RecordIOError, /ended inside a RecordIO record \(7 of 20 bytes/);
    const d2 = new RecordIODecoder();
    d2.push(Buffer.from('2'));
    expect(() => d2.end()).to.throw(RecordIOError, /length prefix/);
    const d3 = new RecordIODecoder();
    d3.push(rec);
    expect(() => d3.end()).not.to.throw();
  });
});
