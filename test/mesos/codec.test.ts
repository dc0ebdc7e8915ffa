import { expect } from 'chai';
import { jsonCodec, protobufCodec, decodeJsonText, encodeJsonText } from '../../src/mesos/codec.js';
import { decodeAll } from '../../src/mesos/recordio.js';
import { CodecError } from '../../src/mesos/errors.js';
import { parseJsonLossless, quoteUnsafeTokens, formatDouble } from '../../src/mesos/json.js';
import type { Event, Call } from '../../src/mesos/types.js';
import { readFixture } from '../helpers/fixtures.js';

const EVENT = 'mesos.v1.scheduler.Event';
const CALL = 'mesos.v1.scheduler.Call';

describe('codecs against real Mesos 1.12 recordings', () => {
  for (const file of ['subscribe-json.recordio', 'maint-json.recordio']) {
    it(`${file}: every JSON record decodes and re-encodes to the identical bytes`, () => {
      const records = decodeAll(readFixture('real-mesos-1.12', file));
      expect(records.length).to.be.greaterThan(2);
      for (const rec of records) {
        const ev = jsonCodec.decode<Event>(EVENT, rec);
        expect(ev.type).to.be.a('string');
        const again = jsonCodec.encode(EVENT, ev);
        expect(again.toString('utf8')).to.equal(rec.toString('utf8'));
      }
    });
  }

  it('pb-stream.recordio: every protobuf record decodes and re-encodes to the identical bytes', () => {
    const records = decodeAll(readFixture('real-mesos-1.12', 'pb-stream.recordio'));
    expect(records.length).to.be.greaterThan(2);
    for (const rec of records) {
      const ev = protobufCodec.decode<Event>(EVENT, rec);
      const again = protobufCodec.encode(EVENT, ev);
      expect(Buffer.compare(again, rec), `record of type ${ev.type}`).to.equal(0);
    }
  });

  it('keeps unavailability nanoseconds above 2^53 exactly (JSON)', () => {
    const records = decodeAll(readFixture('real-mesos-1.12', 'maint-json.recordio'));
    const inverse = records
      .map((r) => jsonCodec.decode<Event>(EVENT, r))
      .find((e) => e.type === 'INVERSE_OFFERS');
    expect(inverse, 'the recording holds an INVERSE_OFFERS event').to.exist;
    const io = inverse!.inverse_offers!.inverse_offers![0]!;
    expect(io.unavailability.start.nanoseconds).to.equal(1795422430565157510n);
    expect(io.unavailability.duration!.nanoseconds).to.equal(3600000000000n);
    expect(io.resources, 'maintenance inverse offers carry no resources').to.equal(undefined);
  });

  it('JSON and protobuf decode the same event to deep-equal objects', () => {
    const jsonRecords = decodeAll(readFixture('real-mesos-1.12', 'maint-json.recordio'));
    for (const rec of jsonRecords) {
      const fromJson = jsonCodec.decode<Event>(EVENT, rec);
      const viaPb = protobufCodec.decode<Event>(EVENT, protobufCodec.encode(EVENT, fromJson));
      expect(viaPb).to.deep.equal(fromJson);
    }
    const pbRecords = decodeAll(readFixture('real-mesos-1.12', 'pb-stream.recordio'));
    for (const rec of pbRecords) {
      const fromPb = protobufCodec.decode<Event>(EVENT, rec);
      const viaJson = jsonCodec.decode<Event>(EVENT, jsonCodec.encode(EVENT, fromPb));
      expect(viaJson).to.deep.equal(fromPb);
    }
  });

  it('status update uuid is bytes (16) and round-trips as the same base64 string', () => {
    const records = decodeAll(readFixture('real-mesos-1.12', 'maint-json.recordio'));
    const update = records.map((r) => jsonCodec.decode<Event>(EVENT, r)).find((e) => e.type === 'UPDATE' && e.update!.status.uuid);
    const uuid = update!.update!.status.uuid!;
    expect(uuid).to.be.instanceOf(Uint8Array);
    expect(uuid.byteLength).to.equal(16);
    const ack: Call = {
      type: 'ACKNOWLEDGE',
      framework_id: { value: 'f-0000' },
      acknowledge: { agent_id: update!.update!.status.agent_id!, task_id: update!.update!.status.task_id, uuid },
    };
    const text = jsonCodec.encode(CALL, ack).toString('utf8');
    expect(text).to.contain(`"uuid":"${Buffer.from(uuid).toString('base64')}"`);
  });

  it('decodes the maintenance schedule body posted to the real master', () => {
    const body = readFixture('real-mesos-1.12', 'maintenance-schedule-body.json').toString('utf8');
    const schedule = decodeJsonText<{ windows: Array<{ unavailability: { start: { nanoseconds: bigint } } }> }>(
      'mesos.v1.maintenance.Schedule',
      body,
    );
    expect(schedule.windows[0]!.unavailability.start.nanoseconds).to.equal(1795422430565157510n);
    expect(encodeJsonText('mesos.v1.maintenance.Schedule', schedule)).to.equal(body.trim());
  });
});

describe('Mesos JSON mapping rules', () => {
  it('writes integral doubles as 15.0 and explicit defaults, omits empty repeated', () => {
    const text = encodeJsonText(CALL, {
      type: 'DECLINE',
      framework_id: { value: 'f' },
      decline: { offer_ids: [{ value: 'o1' }], filters: {} },
    });
    expect(text).to.equal('{"framework_id":{"value":"f"},"type":"DECLINE","decline":{"offer_ids":[{"value":"o1"}],"filters":{"refuse_seconds":5.0}}}');
    expect(encodeJsonText(CALL, { type: 'REVIVE', framework_id: { value: 'f' }, revive: { roles: [] } })).to.equal(
      '{"framework_id":{"value":"f"},"type":"REVIVE","revive":{}}',
    );
  });

  it('accepts int64 as numeric strings and numbers, doubles as strings (Mesos input rules)', () => {
    const s = decodeJsonText<{ windows: Array<{ unavailability: { start: { nanoseconds: bigint }; duration: { nanoseconds: bigint } } }> }>(
      'mesos.v1.maintenance.Schedule',
      '{"windows":[{"machine_ids":[{"hostname":"a","ip":"1.2.3.4"}],"unavailability":{"start":{"nanoseconds":"1700000000123456789"},"duration":{"nanoseconds":60}}}]}',
    );
    expect(s.windows[0]!.unavailability.start.nanoseconds).to.equal(1700000000123456789n);
    expect(s.windows[0]!.unavailability.duration.nanoseconds).to.equal(60n);
    const d = decodeJsonText<Call>(CALL, '{"type":"DECLINE","framework_id":{"value":"f"},"decline":{"filters":{"refuse_seconds":"Infinity"}}}');
    expect(d.decline!.filters!.refuse_seconds).to.equal(Infinity);
  });

  it('ignores unknown keys, drops unknown enum names on optional fields, treats null as unset', () => {
    const c = decodeJsonText<Call>(CALL, '{"type":"SUBSCRIBEX","bogus":1,"framework_id":null}');
    expect(c).to.not.have.property('type');
    expect(c).to.not.have.property('bogus');
    expect(c).to.not.have.property('framework_id');
  });

  it('rejects missing required fields with their path', () => {
    expect(() => decodeJsonText(CALL, '{"type":"ACKNOWLEDGE","acknowledge":{"task_id":{"value":"t"}}}')).to.throw(
      CodecError,
      /Missing required fields: acknowledge\.agent_id, acknowledge\.uuid/,
    );
  });

  it('rejects wrong JSON types and invalid JSON with CodecError, never another error type', () => {
    const bad = ['{', '[]', '{"type":1.5}', '{"framework_id":"x"}', '{"decline":{"offer_ids":{}}}', '{"acknowledge":{"uuid":"@@"}}', '\u0000'];
    for (const text of bad) {
      expect(() => decodeJsonText(CALL, text), text).to.throw(CodecError);
    }
    expect(() => jsonCodec.decode(CALL, Buffer.from([0xff, 0xfe]))).to.throw(CodecError, /UTF-8/);
  });

  it('rejects malformed protobuf with CodecError', () => {
    expect(() => protobufCodec.decode(EVENT, Buffer.from([0x12, 0x05, 0x0a]))).to.throw(CodecError);
  });

  it('quotes only big integers and non-finite tokens outside strings', () => {
    const text = '{"a":"12345678901234567890 Infinity NaN","b":12345678901234567890,"c":-Infinity,"d":NaN,"e":1.5e300,"f":123}';
    expect(quoteUnsafeTokens(text)).to.equal(
      '{"a":"12345678901234567890 Infinity NaN","b":"12345678901234567890","c":"-Infinity","d":"NaN","e":1.5e300,"f":123}',
    );
    expect(parseJsonLossless('{"s":"a\\"12345678901234567890"}')).to.deep.equal({ s: 'a"12345678901234567890' });
  });

  it('formats doubles like the Mesos writer', () => {
    expect(formatDouble(15)).to.equal('15.0');
    expect(formatDouble(3.5)).to.equal('3.5');
    expect(formatDouble(1795422368.558314)).to.equal('1795422368.558314');
    expect(formatDouble(Infinity)).to.equal('Infinity');
  });
});

describe('encoders report where an object does not fit the schema', () => {
  const launch = (resources: unknown[]) => ({
    type: 'ACCEPT',
    framework_id: { value: 'f' },
    accept: { offer_ids: [{ value: 'o' }], operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: 't', task_id: { value: 't' }, agent_id: { value: 'a' }, resources }] } }] },
  });
  for (const [name, codec] of [['json', jsonCodec], ['protobuf', protobufCodec]] as const) {
    it(`${name}: wrong type deep inside an array names the full path`, () => {
      expect(() => codec.encode(CALL, launch([{ name: 'cpus', type: 'SCALAR', scalar: { value: '1' } }]))).to.throw(
        CodecError,
        /Expecting a number \(at accept\.operations\[0\]\.launch\.task_infos\[0\]\.resources\[0\]\.scalar\.value\)/,
      );
    });
    it(`${name}: missing required field names the full path`, () => {
      expect(() => codec.encode(CALL, launch([{ type: 'SCALAR', scalar: { value: 1 } }]))).to.throw(
        CodecError,
        /Missing required fields: accept\.operations\[0\]\.launch\.task_infos\[0\]\.resources\[0\]\.name/,
      );
    });
    it(`${name}: unknown enum value is refused`, () => {
      expect(() => codec.encode(CALL, { type: 'NOPE' })).to.throw(CodecError, /Unknown Type value "NOPE" \(at type\)/);
    });
  }
});
