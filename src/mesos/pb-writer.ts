/**
 * Compiled protobuf writer of the Mesos object form: object -> wire bytes in one pass, for the calls
 * Sluice sends with the protobuf codec (the placement burst's ACCEPTs, scripts/bench/offers.ts).
 *
 * The reference is the generic path, toProtobufObject (stout-writer.ts) + protobufjs's Type.encode:
 * the same bytes (fields in field-number order, protobufjs's varints, zigzag, fixed widths, UTF-8 and
 * map entries; proto2 presence of decoded defaults kept, see FILLED_DEFAULTS), compared over the
 * scheduler's calls and random objects in test/mesos/pb-writer.test.ts. What this writer adds:
 *  - no intermediate objects (no plain-object copy, no protobufjs operation list, no Long);
 *  - the body bytes of deeply frozen objects are kept and reused, as the JSON writer does (the
 *    TaskInfo parts a job version shares, the shared scalar resources of placement.ts);
 *  - output into a shared slab, handed out as views (no copy per call).
 * It never reports errors itself: on anything it does not accept (a value of the wrong kind, a
 * missing required field, an unknown enum name, nesting deeper than protobufjs allows) it throws
 * and codec.ts runs the generic path, whose CodecError is the one reported.
 */
import { protobuf } from './proto.js';
import { FILLED_DEFAULTS, planFor, type FieldPlan } from './stout.js';
import { deeplyFrozen, protobufConverter } from './stout-writer.js';

type BodyWriter = (o: unknown) => void;

const SLAB = 64 * 1024;
/** The document being written is P.buf[P.start, P.pos); positions kept across calls are relative. */
const P = { buf: Buffer.allocUnsafeSlow(SLAB), start: 0, pos: 0, depth: 0 };

class Reject extends Error {}
const REJECT = new Reject('not accepted by the compiled protobuf writer');
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** protobufjs's util.recursionLimit: Type.encode throws beyond it. */
const MAX_DEPTH = 100;

function ensure(n: number): void {
  if (P.pos + n <= P.buf.length) return;
  const len = P.pos - P.start;
  const nb = Buffer.allocUnsafeSlow(Math.max(SLAB, 2 * len + n));
  P.buf.copy(nb, 0, P.start, P.pos);
  P.buf = nb;
  P.start = 0;
  P.pos = len;
}

const LongBits = (protobuf.util as unknown as { LongBits: { fromNumber(n: number): { lo: number; hi: number } } }).LongBits;
const utf8Write = (protobuf.util as unknown as { utf8: { write(s: string, b: Uint8Array, p: number): number } }).utf8.write;

/** Runtime shared by the generated code. */
const R = {
  REJECT,
  FILLED: FILLED_DEFAULTS as symbol,
  notObject(v: unknown): boolean {
    return typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array;
  },
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    ensure(n);
    const b = P.buf;
    let p = P.pos;
    for (let i = 0; i < n; i++) b[p++] = bytes[i]!;
    P.pos = p;
  },
  varint(v: number): void {
    // v: uint32
    ensure(5);
    const b = P.buf;
    let p = P.pos;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p++] = v;
    P.pos = p;
  },
  varint64(lo: number, hi: number): void {
    ensure(10);
    const b = P.buf;
    let p = P.pos;
    while (hi) {
      b[p++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      b[p++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    b[p++] = lo;
    P.pos = p;
  },
  fixed32(v: number): void {
    ensure(4);
    const b = P.buf;
    const p = P.pos;
    b[p] = v & 255;
    b[p + 1] = (v >>> 8) & 255;
    b[p + 2] = (v >>> 16) & 255;
    b[p + 3] = v >>> 24;
    P.pos = p + 4;
  },
  // scalar values, as protobufjs's Writer methods write them (after the generic path's checks)
  int32(v: unknown): void {
    if (typeof v !== 'number') throw REJECT;
    if (v < 0) {
      const bits = LongBits.fromNumber(v);
      R.varint64(bits.lo, bits.hi);
    } else R.varint(v >>> 0);
  },
  uint32(v: unknown): void {
    if (typeof v !== 'number') throw REJECT;
    R.varint(v >>> 0);
  },
  sint32(v: unknown): void {
    if (typeof v !== 'number') throw REJECT;
    R.varint(((v << 1) ^ (v >> 31)) >>> 0);
  },
  fixed32v(v: unknown): void {
    if (typeof v !== 'number') throw REJECT;
    R.fixed32(v >>> 0);
  },
  double(v: unknown): void {
    if (typeof v !== 'number') throw REJECT;
    ensure(8);
    P.buf.writeDoubleLE(v, P.pos);
    P.pos += 8;
  },
  float(v: unknown): void {
    if (typeof v !== 'number') throw REJECT;
    ensure(4);
    P.buf.writeFloatLE(v, P.pos);
    P.pos += 4;
  },
  bool(v: unknown): void {
    if (typeof v !== 'boolean') throw REJECT;
    ensure(1);
    P.buf[P.pos++] = v ? 1 : 0;
  },
  /** The 64-bit pattern of an int64-like value (what the generic path's pbLong + LongBits.from give). */
  bits(v: unknown): { lo: number; hi: number } {
    if (typeof v === 'bigint') {
      if (v <= MAX_SAFE && v >= -MAX_SAFE) return LongBits.fromNumber(Number(v));
      const u = BigInt.asUintN(64, v);
      return { lo: Number(u & 0xffffffffn) >>> 0, hi: Number(u >> 32n) >>> 0 };
    }
    if (typeof v === 'number' && Number.isSafeInteger(v)) return LongBits.fromNumber(v);
    throw REJECT;
  },
  int64(v: unknown): void {
    const b = R.bits(v);
    R.varint64(b.lo, b.hi);
  },
  sint64(v: unknown): void {
    const b = R.bits(v);
    const mask = b.hi >> 31;
    R.varint64(((b.lo << 1) ^ mask) >>> 0, (((b.hi << 1) | (b.lo >>> 31)) ^ mask) >>> 0);
  },
  fixed64(v: unknown): void {
    const b = R.bits(v);
    R.fixed32(b.lo);
    R.fixed32(b.hi);
  },
  string(v: unknown): void {
    if (typeof v !== 'string') throw REJECT;
    const n = v.length;
    // ASCII: length known, bytes copied as they are checked
    ensure(n + 5);
    const start = P.pos;
    R.varint(n);
    const b = P.buf;
    let p = P.pos;
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c > 0x7f) {
        P.pos = start;
        R.utf8(v);
        return;
      }
      b[p++] = c;
    }
    P.pos = p;
  },
  /** protobufjs's BufferWriter.string: Buffer.byteLength, then its own encoder below 40 characters. */
  utf8(v: string): void {
    const len = Buffer.byteLength(v);
    R.varint(len);
    ensure(len);
    if (v.length < 40) utf8Write(v, P.buf, P.pos);
    else P.buf.write(v, P.pos, len, 'utf8');
    P.pos += len;
  },
  bytes(v: unknown): void {
    if (!(v instanceof Uint8Array)) throw REJECT;
    R.varint(v.length);
    R.raw(v);
  },
  enumValue(values: Record<string, number>, v: unknown): number {
    if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(values, v)) return values[v]!;
    throw REJECT;
  },
  /** Starts a length-delimited value: one byte reserved for its length (most are shorter than 128). */
  open(): number {
    if (++P.depth > MAX_DEPTH) throw REJECT;
    ensure(1);
    return P.pos++ - P.start;
  },
  /** Writes the length of the value opened at `at`, moving its bytes when the length needs more. */
  close(at: number): void {
    P.depth--;
    let abs = P.start + at;
    const len = P.pos - abs - 1;
    if (len < 128) {
      P.buf[abs] = len;
      return;
    }
    const k = len < 1 << 14 ? 2 : len < 1 << 21 ? 3 : len < 1 << 28 ? 4 : 5;
    ensure(k - 1);
    abs = P.start + at;
    P.buf.copyWithin(abs + k, abs + 1, P.pos);
    P.pos += k - 1;
    let v = len;
    let p = abs;
    const b = P.buf;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p] = v;
  },
  pos(): number {
    return P.pos - P.start;
  },
  /** May the kept bytes of a frozen object (at most 32 levels deep) be used here? */
  shallow(): boolean {
    return P.depth <= MAX_DEPTH - 33;
  },
  memoEnd(m: WeakMap<object, Uint8Array | null>, o: object, start: number): void {
    m.set(o, deeplyFrozen(o, 0) ? new Uint8Array(P.buf.subarray(P.start + start, P.pos)) : null); // a copy
  },
  /** Body bytes by the generic path (types this writer does not compile). */
  generic(type: protobuf.Type, conv: (o: unknown) => unknown, o: unknown): void {
    R.raw(type.encode(conv(o) as protobuf.Message).finish());
  },
};

const cache = new Map<protobuf.Type, BodyWriter>();

function bodyWriter(type: protobuf.Type): BodyWriter {
  let w = cache.get(type);
  if (w) return w;
  let impl: BodyWriter | undefined;
  // a forwarding stub while generating, so recursive types work
  cache.set(type, (o) => (impl ??= generate(type))(o));
  impl = generate(type);
  cache.set(type, impl);
  return impl;
}

/** Wire type and the R method writing one value of a protobuf scalar type. */
const SCALARS: Record<string, [number, string]> = {
  double: [1, 'double'],
  float: [5, 'float'],
  int32: [0, 'int32'],
  uint32: [0, 'uint32'],
  sint32: [0, 'sint32'],
  fixed32: [5, 'fixed32v'],
  sfixed32: [5, 'fixed32v'],
  int64: [0, 'int64'],
  uint64: [0, 'int64'],
  sint64: [0, 'sint64'],
  fixed64: [1, 'fixed64'],
  sfixed64: [1, 'fixed64'],
  bool: [0, 'bool'],
  string: [2, 'string'],
  bytes: [2, 'bytes'],
};

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v > 127) {
    out.push((v & 127) | 128);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** Is this field beyond what the compiled writer does (then its type goes the generic way)? */
function unsupported(f: protobuf.Field): boolean {
  if (f.delimited) return true;
  if (f.repeated && f.packed && !(f.resolvedType instanceof protobuf.Type)) return true;
  if (f instanceof protobuf.MapField && f.keyType !== 'string') return true;
  return false;
}

function generate(type: protobuf.Type): BodyWriter {
  const plan = planFor(type);
  const fields = type.fieldsArray.map((f) => f.resolve());
  if (fields.some(unsupported)) {
    const conv = protobufConverter(type);
    return (o) => R.generic(type, conv, o);
  }
  const deps: unknown[] = [];
  const dep = (x: unknown) => {
    deps.push(x);
    return `D[${deps.length - 1}]`;
  };
  const L: string[] = [];
  const memo = dep(new WeakMap<object, Uint8Array | null>());
  L.push('if (R.notObject(o)) throw R.REJECT;');
  L.push(`let start = -1; if (Object.isFrozen(o) && R.shallow()) { const m = ${memo}.get(o); if (m) { R.raw(m); return; } if (m === undefined) start = R.pos(); }`);
  L.push('const filled = o[R.FILLED]; let x, at;');
  const byName = new Map(plan.fields.map((fp) => [fp.name, fp] as const));
  const sorted = fields.slice().sort((a, b) => a.id - b.id);
  /** Statements writing value `v` (tag included) of field f. */
  const valueStmt = (f: protobuf.Field, fp: FieldPlan, v: string): string => {
    if (f.resolvedType instanceof protobuf.Type) {
      const tag = dep(Uint8Array.from(varintBytes(((f.id << 3) | 2) >>> 0)));
      return `R.raw(${tag}); at = R.open(); ${dep(bodyWriter(f.resolvedType))}(${v}); R.close(at);`;
    }
    const tn = f.resolvedType instanceof protobuf.Enum ? 'int32' : f.type;
    const [wire, method] = SCALARS[tn]!;
    const tag = dep(Uint8Array.from(varintBytes(((f.id << 3) | wire) >>> 0)));
    const val = fp.kind === 'enum' ? `R.enumValue(${dep(fp.enumType!.values)}, ${v})` : v;
    return `R.raw(${tag}); R.${method}(${val});`;
  };
  for (const f of sorted) {
    const fp = byName.get(f.name)!;
    const N = JSON.stringify(f.name);
    L.push(`x = o[${N}];`);
    L.push(`if (x === undefined || x === null) { ${fp.required ? 'throw R.REJECT;' : ''} }`);
    if (fp.hasFill) L.push(`else if (filled !== undefined && x === ${dep(fp.fill)} && filled.includes(${N})) {}`);
    L.push('else {');
    if (f instanceof protobuf.MapField) {
      // entries as protobufjs writes them: key (field 1, string), value (field 2)
      const entryTag = dep(Uint8Array.from(varintBytes(((f.id << 3) | 2) >>> 0)));
      let valueCode: string;
      if (f.resolvedType instanceof protobuf.Type) {
        valueCode = `R.raw(${dep(Uint8Array.of(18))}); const vat = R.open(); ${dep(bodyWriter(f.resolvedType))}(x[ks[j]]); R.close(vat);`;
      } else {
        const tn = f.resolvedType instanceof protobuf.Enum ? 'int32' : f.type;
        const [wire, method] = SCALARS[tn]!;
        const val = fp.kind === 'enum' ? `R.enumValue(${dep(fp.enumType!.values)}, x[ks[j]])` : 'x[ks[j]]';
        valueCode = `R.raw(${dep(Uint8Array.of(16 | wire))}); R.${method}(${val});`;
      }
      L.push('if (R.notObject(x)) throw R.REJECT; const ks = Object.keys(x);');
      L.push(`for (let j = 0; j < ks.length; j++) { R.raw(${entryTag}); const eat = R.open(); R.raw(${dep(Uint8Array.of(10))}); R.string(ks[j]); ${valueCode} R.close(eat); }`);
    } else if (f.repeated) {
      L.push('if (!Array.isArray(x)) throw R.REJECT;');
      L.push(`for (let j = 0; j < x.length; j++) { const e = x[j]; ${valueStmt(f, fp, 'e')} }`);
    } else {
      L.push(valueStmt(f, fp, 'x'));
    }
    L.push('}');
  }
  L.push(`if (start >= 0) R.memoEnd(${memo}, o, start);`);
  const factory = new Function('R', 'D', `return function pbw_${type.name}(o) {\n${L.join('\n')}\n};`) as (r: typeof R, d: unknown[]) => BodyWriter;
  return factory(R, deps);
}

/**
 * Mesos object form -> protobuf wire bytes (a view of the writer's slab, never written again).
 * Throws when the object is not accepted; the caller then runs the generic path for its error.
 */
export function toProtobufBytes(type: protobuf.Type, obj: unknown): Buffer {
  const w = bodyWriter(type);
  P.start = P.pos;
  P.depth = 0;
  try {
    w(obj);
  } catch (e) {
    P.pos = P.start;
    throw e;
  }
  const out = P.buf.subarray(P.start, P.pos);
  P.start = P.pos;
  if (P.pos > P.buf.length - 1024 || P.buf.length > 4 * SLAB) {
    P.buf = Buffer.allocUnsafeSlow(SLAB);
    P.pos = P.start = 0;
  }
  return out;
}
