/**
 * Mesos's JSON mapping ("stout"), driven by protobufjs reflection over our .proto files.
 *
 * Converts between three forms of one message:
 *  - Mesos JSON text (exactly what a master writes: declaration order, `15.0`, bare int64 numbers,
 *    base64 bytes, enum names, empty repeated omitted, explicit non-deprecated defaults written);
 *  - the in-memory "Mesos object form" (docs/DESIGN.md): the JSON shape with bigint int64 and
 *    Uint8Array bytes, explicit defaults filled;
 *  - protobufjs messages (for the binary codec).
 *
 * Conversion plans are built once per message type and cached.
 */
import { protobuf } from './proto.js';
import { CodecError } from './errors.js';
import { formatDouble, parseJsonLossless } from './json.js';

export type ScalarKind = 'int64' | 'uint64' | 'int32' | 'uint32' | 'double' | 'bool' | 'string' | 'bytes' | 'enum' | 'message';

export interface FieldPlan {
  readonly name: string;
  /** `"name":` — the JSON key as written. */
  readonly jsonKey: string;
  readonly kind: ScalarKind;
  readonly repeated: boolean;
  readonly isMap: boolean;
  readonly required: boolean;
  readonly signed: boolean;
  /** Value to fill when absent (already in object form), for explicit non-deprecated defaults. */
  readonly fill: unknown;
  readonly hasFill: boolean;
  readonly enumType?: protobuf.Enum;
  readonly messageType?: protobuf.Type;
  plan?: TypePlan;
}

export interface TypePlan {
  readonly type: protobuf.Type;
  readonly fields: FieldPlan[];
  readonly byName: Map<string, FieldPlan>;
  readonly required: FieldPlan[];
  readonly fills: FieldPlan[];
}

const plans = new Map<protobuf.Type, TypePlan>();

const INT64_TYPES = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64_TYPES = new Set(['uint64', 'fixed64']);
const INT32_TYPES = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32_TYPES = new Set(['uint32', 'fixed32']);

function kindOf(field: protobuf.Field): { kind: ScalarKind; signed: boolean } {
  const t = field.type;
  if (INT64_TYPES.has(t)) return { kind: 'int64', signed: true };
  if (UINT64_TYPES.has(t)) return { kind: 'uint64', signed: false };
  if (INT32_TYPES.has(t)) return { kind: 'int32', signed: true };
  if (UINT32_TYPES.has(t)) return { kind: 'uint32', signed: false };
  if (t === 'double' || t === 'float') return { kind: 'double', signed: true };
  if (t === 'bool') return { kind: 'bool', signed: false };
  if (t === 'string') return { kind: 'string', signed: false };
  if (t === 'bytes') return { kind: 'bytes', signed: false };
  if (field.resolvedType instanceof protobuf.Enum) return { kind: 'enum', signed: false };
  if (field.resolvedType instanceof protobuf.Type) return { kind: 'message', signed: false };
  throw new Error(`Unsupported field type ${t} for ${field.fullName}`);
}

export function planFor(type: protobuf.Type): TypePlan {
  const existing = plans.get(type);
  if (existing) return existing;
  const fields: FieldPlan[] = [];
  const plan: TypePlan = { type, fields, byName: new Map(), required: [], fills: [] };
  plans.set(type, plan);
  for (const field of type.fieldsArray) {
    field.resolve();
    const isMap = field instanceof protobuf.MapField;
    const { kind, signed } = kindOf(field);
    const options = field.options ?? {};
    const rawDefault = options['default'] as unknown;
    const deprecated = options['deprecated'] === true;
    const hasFill = rawDefault !== undefined && !deprecated && !field.repeated && !isMap;
    const fp: FieldPlan = {
      name: field.name,
      jsonKey: JSON.stringify(field.name) + ':',
      kind,
      repeated: field.repeated,
      isMap,
      required: field.required,
      signed,
      hasFill,
      fill: hasFill ? defaultInObjectForm(kind, rawDefault, field) : undefined,
      enumType: kind === 'enum' ? (field.resolvedType as protobuf.Enum) : undefined,
      messageType: kind === 'message' ? (field.resolvedType as protobuf.Type) : undefined,
    };
    fields.push(fp);
    plan.byName.set(fp.name, fp);
    if (fp.required) plan.required.push(fp);
    if (fp.hasFill) plan.fills.push(fp);
  }
  return plan;
}

function defaultInObjectForm(kind: ScalarKind, raw: unknown, field: protobuf.Field): unknown {
  switch (kind) {
    case 'int64':
    case 'uint64':
      return BigInt(String(raw));
    case 'int32':
    case 'uint32':
    case 'double':
      return Number(raw);
    case 'bool':
      return raw === true || raw === 'true';
    case 'string':
      return String(raw);
    case 'enum': {
      const e = field.resolvedType as protobuf.Enum;
      if (typeof raw === 'number') return e.valuesById[raw];
      return String(raw);
    }
    default:
      return raw;
  }
}

function sub(fp: FieldPlan): TypePlan {
  if (!fp.plan) fp.plan = planFor(fp.messageType!);
  return fp.plan;
}

function fieldPath(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

// ---------------------------------------------------------------------------------------------
// JSON value (as parsed) -> Mesos object form, in place.

const NUMERIC_STRING = /^-?\d+$/;

function jsonScalar(fp: FieldPlan, v: unknown, path: string): unknown {
  switch (fp.kind) {
    case 'string':
      if (typeof v === 'string') return v;
      throw new CodecError(`Expecting a string`, path);
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'string') {
        const n = v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v.trim() === '' ? NaN : Number(v);
        if (!Number.isNaN(n) || v === 'NaN') return n;
      }
      throw new CodecError(`Expecting a number`, path);
    case 'int32':
    case 'uint32': {
      const n = typeof v === 'string' && NUMERIC_STRING.test(v) ? Number(v) : v;
      if (typeof n === 'number' && Number.isInteger(n)) {
        if (fp.kind === 'uint32' ? n < 0 || n > 0xffffffff : n < -0x80000000 || n > 0x7fffffff) {
          throw new CodecError(`Integer ${n} out of range for ${fp.kind}`, path);
        }
        return n;
      }
      throw new CodecError(`Expecting an integer`, path);
    }
    case 'int64':
    case 'uint64': {
      let b: bigint;
      if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
      else if (typeof v === 'string' && NUMERIC_STRING.test(v)) b = BigInt(v);
      else throw new CodecError(`Expecting an integer`, path);
      if (fp.kind === 'uint64' ? b < 0n || b > 0xffffffffffffffffn : b < -0x8000000000000000n || b > 0x7fffffffffffffffn) {
        throw new CodecError(`Integer ${b} out of range for ${fp.kind}`, path);
      }
      return b;
    }
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 'true') return true;
      if (v === 'false') return false;
      throw new CodecError(`Expecting a boolean`, path);
    case 'bytes':
      if (typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0) return Buffer.from(v, 'base64');
      throw new CodecError(`Expecting base64 bytes`, path);
    case 'enum': {
      const values = fp.enumType!.values;
      // Mesos's parser takes enum values as name strings only; an unknown name is dropped
      // (required fields then fail the required check), any other JSON type is an error.
      if (typeof v !== 'string') throw new CodecError(`Expecting an enum name string for ${fp.enumType!.name}`, path);
      return Object.prototype.hasOwnProperty.call(values, v) ? v : undefined;
    }
    case 'message':
      return jsonMessageInPlace(sub(fp), v, path);
  }
}

function jsonField(fp: FieldPlan, v: unknown, path: string): unknown {
  if (fp.isMap) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CodecError('Expecting a JSON object (map)', path);
    const m = v as Record<string, unknown>;
    for (const k of Object.keys(m)) m[k] = jsonScalar(fp, m[k], `${path}[${JSON.stringify(k)}]`);
    return m;
  }
  if (fp.repeated) {
    if (!Array.isArray(v)) throw new CodecError('Expecting a JSON array', path);
    if (v.length === 0) return undefined;
    let w = 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x === null) throw new CodecError('null element in array', `${path}[${i}]`);
      const c = jsonScalar(fp, x, `${path}[${i}]`);
      if (c !== undefined) v[w++] = c;
    }
    v.length = w;
    return w === 0 ? undefined : v;
  }
  return jsonScalar(fp, v, path);
}

function jsonMessageInPlace(plan: TypePlan, v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CodecError(`Expecting a JSON object for ${plan.type.name}`, path);
  }
  const o = v as Record<string, unknown>;
  const byName = plan.byName;
  for (const k in o) {
    const fp = byName.get(k);
    const x = o[k];
    if (fp === undefined || x === null) {
      delete o[k]; // unknown keys are ignored, null means "not set" (Mesos behaviour)
      continue;
    }
    const c = jsonField(fp, x, path ? path + '.' + k : k);
    if (c === undefined) delete o[k];
    else o[k] = c;
  }
  finish(plan, o, path);
  return o;
}

/**
 * Names of fields a decoder filled from explicit proto defaults (they were absent on the wire).
 * Kept as a non-enumerable symbol property, so deep equality ignores it while the protobuf encoder
 * can leave those fields out again (proto2 presence is preserved across a decode/encode round trip).
 */
export const FILLED_DEFAULTS: unique symbol = Symbol('mesos.filledDefaults');

/** Fill explicit defaults, then check required fields. */
function finish(plan: TypePlan, o: Record<string, unknown>, path: string): void {
  const fills = plan.fills;
  let filled: string[] | undefined;
  for (let i = 0; i < fills.length; i++) {
    const fp = fills[i]!;
    if (o[fp.name] === undefined) {
      o[fp.name] = fp.fill;
      (filled ??= []).push(fp.name);
    }
  }
  if (filled) Object.defineProperty(o, FILLED_DEFAULTS, { value: filled, enumerable: false, configurable: true });
  const required = plan.required;
  for (let i = 0; i < required.length; i++) {
    if (o[required[i]!.name] === undefined) {
      const missing = required.filter((r) => o[r.name] === undefined).map((r) => fieldPath(path, r.name));
      throw new CodecError(`Missing required fields: ${missing.join(', ')}`);
    }
  }
}

/** Interpretive reference of fromJsonValue (same semantics; the compiled walk below is used). */
export function fromJsonValueInterpreted(type: protobuf.Type, value: unknown): Record<string, unknown> {
  return jsonMessageInPlace(planFor(type), value, '');
}

// ---------------------------------------------------------------------------------------------
// Mesos object form -> Mesos JSON text.

// The writer builds no path strings on the way down: an error is thrown as a PathError relative to
// the value being written, and each enclosing message prefixes the field it was writing.

/** A value as an error message shows it (JSON.stringify throws on a bigint). */
export function shown(v: unknown): string {
  return typeof v === 'bigint' ? String(v) : String(JSON.stringify(v));
}

export function writeScalar(fp: FieldPlan, v: unknown): string {
  switch (fp.kind) {
    case 'string':
      if (typeof v !== 'string') throw new PathError('Expecting a string', '');
      return JSON.stringify(v);
    case 'double':
      if (typeof v !== 'number') throw new PathError('Expecting a number', '');
      return formatDouble(v);
    case 'int32':
    case 'uint32':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new PathError('Expecting an integer', '');
      return String(v);
    case 'int64':
    case 'uint64':
      if (typeof v === 'bigint') return v.toString();
      if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
      throw new PathError('Expecting a bigint', '');
    case 'bool':
      if (typeof v !== 'boolean') throw new PathError('Expecting a boolean', '');
      return v ? 'true' : 'false';
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new PathError('Expecting bytes (Uint8Array)', '');
      return '"' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') + '"';
    case 'enum':
      if (typeof v !== 'string' || !Object.prototype.hasOwnProperty.call(fp.enumType!.values, v)) {
        throw new PathError(`Unknown ${fp.enumType!.name} value ${shown(v)}`, '');
      }
      return '"' + v + '"';
    case 'message':
      return writeMessage(sub(fp), v);
  }
}

function writeMessage(plan: TypePlan, v: unknown): string {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new PathError(`Expecting an object for ${plan.type.name}`, '');
  }
  const o = v as Record<string, unknown>;
  let s = '{';
  const fields = plan.fields;
  let i = 0;
  let j = -1;
  let missing: string | undefined;
  try {
    for (; i < fields.length; i++) {
      const fp = fields[i]!;
      let x = o[fp.name];
      if (x === undefined || x === null) {
        if (!fp.hasFill) {
          if (fp.required) {
            missing = fp.name;
            break;
          }
          continue;
        }
        x = fp.fill;
      }
      let text: string;
      if (fp.isMap) {
        const m = x as Record<string, unknown>;
        const keys = Object.keys(m);
        if (keys.length === 0) continue;
        text = '{';
        for (j = 0; j < keys.length; j++) text += (j ? ',' : '') + JSON.stringify(keys[j]) + ':' + writeScalar(fp, m[keys[j]!]);
        text += '}';
        j = -1;
      } else if (fp.repeated) {
        if (!Array.isArray(x)) throw new PathError('Expecting an array', '');
        if (x.length === 0) continue;
        text = '[';
        for (j = 0; j < x.length; j++) text += (j ? ',' : '') + writeScalar(fp, x[j]);
        text += ']';
        j = -1;
      } else {
        text = writeScalar(fp, x);
      }
      s += (s.length === 1 ? fp.jsonKey : ',' + fp.jsonKey) + text;
    }
  } catch (e) {
    if (!(e instanceof PathError)) throw e;
    const fp = fields[i]!;
    throw prefixed(e, j >= 0 ? (fp.isMap ? `${fp.name}[${Object.keys(o[fp.name] as object)[j]}]` : `${fp.name}[${j}]`) : fp.name);
  }
  if (missing !== undefined) throw new PathError('', '', [missing]);
  return s + '}';
}

/**
 * Interpretive reference of the JSON writer: Mesos object form -> Mesos JSON text (byte-compatible
 * with a Mesos master's writer). The compiled writer in stout-writer.ts is used; both are compared
 * in test/mesos/writer-compiled.test.ts.
 */
export function toJsonTextInterpreted(type: protobuf.Type, obj: unknown): string {
  try {
    return writeMessage(planFor(type), obj);
  } catch (e) {
    throw toCodecError(e);
  }
}

// ---------------------------------------------------------------------------------------------
// protobufjs decoded message -> Mesos object form.

interface LongLike {
  low: number;
  high: number;
}

function longToBigInt(v: LongLike | number, signed: boolean): bigint {
  if (typeof v === 'number') return BigInt(v);
  const u = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return signed ? BigInt.asIntN(64, u) : u;
}

function pbScalar(fp: FieldPlan, v: unknown): unknown {
  switch (fp.kind) {
    case 'int64':
    case 'uint64':
      return longToBigInt(v as LongLike, fp.signed);
    case 'enum': {
      const name = fp.enumType!.valuesById[v as number];
      return name; // unknown numbers are dropped, as an unknown enum value would be
    }
    case 'message':
      return pbMessage(sub(fp), v as Record<string, unknown>);
    case 'bytes':
      return Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
    default:
      return v;
  }
}

function pbMessage(plan: TypePlan, msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = Object.keys(msg);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const fp = plan.byName.get(k);
    if (fp === undefined) continue;
    const v = msg[k];
    if (v === undefined || v === null) continue;
    if (fp.isMap) {
      const m: Record<string, unknown> = {};
      for (const mk of Object.keys(v as object)) m[mk] = pbScalar(fp, (v as Record<string, unknown>)[mk]);
      out[k] = m;
    } else if (fp.repeated) {
      const arr = v as unknown[];
      if (arr.length === 0) continue;
      const res: unknown[] = [];
      for (let j = 0; j < arr.length; j++) {
        const c = pbScalar(fp, arr[j]);
        if (c !== undefined) res.push(c);
      }
      if (res.length) out[k] = res;
    } else {
      const c = pbScalar(fp, v);
      if (c !== undefined) out[k] = c;
    }
  }
  finish(plan, out, '');
  return out;
}

/** Interpretive reference of fromProtobufMessage (same semantics; the compiled converter below is used). */
export function fromProtobufMessageInterpreted(type: protobuf.Type, msg: object): Record<string, unknown> {
  return pbMessage(planFor(type), msg as Record<string, unknown>);
}

// ---------------------------------------------------------------------------------------------
// Mesos object form -> plain object accepted by protobufjs Type.encode.

// Like the JSON writer, no path strings are built on the way down (PathError, prefixed on the way up).

function toPbScalar(fp: FieldPlan, v: unknown): unknown {
  switch (fp.kind) {
    case 'int64':
    case 'uint64': {
      let b: bigint;
      if (typeof v === 'bigint') b = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
      else throw new PathError('Expecting a bigint', '');
      const u = BigInt.asUintN(64, b);
      return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: !fp.signed };
    }
    case 'enum': {
      if (typeof v !== 'string') throw new PathError('Expecting an enum name', '');
      const n = fp.enumType!.values[v];
      if (n === undefined) throw new PathError(`Unknown ${fp.enumType!.name} value ${JSON.stringify(v)}`, '');
      return n;
    }
    case 'message':
      return toPbMessage(sub(fp), v);
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new PathError('Expecting bytes (Uint8Array)', '');
      return v;
    case 'string':
      if (typeof v !== 'string') throw new PathError('Expecting a string', '');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new PathError('Expecting a boolean', '');
      return v;
    default:
      if (typeof v !== 'number') throw new PathError('Expecting a number', '');
      return v;
  }
}

function toPbMessage(plan: TypePlan, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new PathError(`Expecting an object for ${plan.type.name}`, '');
  }
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const filled = (o as { [FILLED_DEFAULTS]?: string[] })[FILLED_DEFAULTS];
  const fields = plan.fields;
  let i = 0;
  let j = -1;
  let missing: string | undefined;
  try {
    for (; i < fields.length; i++) {
      const fp = fields[i]!;
      const x = o[fp.name];
      if (x === undefined || x === null) {
        if (fp.required) {
          missing = fp.name;
          break;
        }
        continue;
      }
      if (filled !== undefined && fp.hasFill && x === fp.fill && filled.includes(fp.name)) continue;
      if (fp.isMap) {
        const m: Record<string, unknown> = {};
        const keys = Object.keys(x as object);
        for (j = 0; j < keys.length; j++) m[keys[j]!] = toPbScalar(fp, (x as Record<string, unknown>)[keys[j]!]);
        j = -1;
        out[fp.name] = m;
      } else if (fp.repeated) {
        if (!Array.isArray(x)) throw new PathError('Expecting an array', '');
        const arr = new Array<unknown>(x.length);
        for (j = 0; j < x.length; j++) arr[j] = toPbScalar(fp, x[j]);
        j = -1;
        out[fp.name] = arr;
      } else {
        out[fp.name] = toPbScalar(fp, x);
      }
    }
  } catch (e) {
    if (!(e instanceof PathError)) throw e;
    const fp = fields[i]!;
    throw prefixed(e, j >= 0 ? (fp.isMap ? `${fp.name}[${Object.keys(o[fp.name] as object)[j]}]` : `${fp.name}[${j}]`) : fp.name);
  }
  if (missing !== undefined) throw new PathError('', '', [missing]);
  return out;
}

/** Interpretive reference of toProtobufObject (stout-writer.ts holds the compiled one that is used). */
export function toProtobufObjectInterpreted(type: protobuf.Type, obj: unknown): Record<string, unknown> {
  try {
    return toPbMessage(planFor(type), obj);
  } catch (e) {
    throw toCodecError(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Compiled decoders (the hot path of every received event).
//
// The interpretive walks above visit each field through a Map lookup, a kind switch and an eagerly
// built path string. The decoders below are generated once per message type with `new Function`
// (as protobufjs does for its own codecs): a `for…in` over the object with a `switch` on the key,
// one specialised check per field kind, paths built only when an error is thrown. Semantics are
// those of the interpretive versions (kept as `fromJsonValueInterpreted` /
// `fromProtobufMessageInterpreted`, and compared against them in test/client/codec-compiled.test.ts).
//
/** Error carrying a path relative to the object being decoded; turned into a CodecError at the top. */
export class PathError {
  constructor(
    readonly msg: string,
    public path: string,
    readonly missing?: string[],
  ) {}
}

export function prefixed(e: unknown, seg: string): unknown {
  if (e instanceof PathError) e.path = e.path === '' ? seg : e.path.charCodeAt(0) === 0x5b /* [ */ ? seg + e.path : seg + '.' + e.path;
  return e;
}

export function toCodecError(e: unknown): unknown {
  if (!(e instanceof PathError)) return e;
  if (e.missing) return new CodecError(`Missing required fields: ${e.missing.map((m) => (e.path ? e.path + '.' + m : m)).join(', ')}`);
  return new CodecError(e.msg, e.path);
}

/** Runtime shared by the generated code. */
const RT = {
  PathError,
  FILLED: FILLED_DEFAULTS as symbol,
  prefixed,
  str(v: unknown): unknown {
    if (typeof v === 'string') return v;
    throw new PathError('Expecting a string', '');
  },
  dbl(v: unknown): unknown {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
      const n = v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v.trim() === '' ? NaN : Number(v);
      if (!Number.isNaN(n) || v === 'NaN') return n;
    }
    throw new PathError('Expecting a number', '');
  },
  i32(v: unknown): unknown {
    return RT.int32(v, false);
  },
  u32(v: unknown): unknown {
    return RT.int32(v, true);
  },
  int32(v: unknown, unsigned: boolean): unknown {
    const n = typeof v === 'string' && NUMERIC_STRING.test(v) ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n)) {
      if (unsigned ? n < 0 || n > 0xffffffff : n < -0x80000000 || n > 0x7fffffff) {
        throw new PathError(`Integer ${n} out of range for ${unsigned ? 'uint32' : 'int32'}`, '');
      }
      return n;
    }
    throw new PathError('Expecting an integer', '');
  },
  i64(v: unknown): unknown {
    return RT.int64(v, false);
  },
  u64(v: unknown): unknown {
    return RT.int64(v, true);
  },
  int64(v: unknown, unsigned: boolean): unknown {
    let b: bigint;
    if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
    else if (typeof v === 'string' && NUMERIC_STRING.test(v)) b = BigInt(v);
    else throw new PathError('Expecting an integer', '');
    if (unsigned ? b < 0n || b > 0xffffffffffffffffn : b < -0x8000000000000000n || b > 0x7fffffffffffffffn) {
      throw new PathError(`Integer ${b} out of range for ${unsigned ? 'uint64' : 'int64'}`, '');
    }
    return b;
  },
  bool(v: unknown): unknown {
    if (typeof v === 'boolean') return v;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new PathError('Expecting a boolean', '');
  },
  bytes(v: unknown): unknown {
    if (typeof v === 'string' && v.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(v)) return Buffer.from(v, 'base64');
    throw new PathError('Expecting base64 bytes', '');
  },
  /** Converts array elements in place, dropping undefined results; returns the new length. */
  rep(v: unknown[], conv: (x: unknown) => unknown): number {
    let w = 0;
    const n = v.length;
    for (let i = 0; i < n; i++) {
      const x = v[i];
      if (x === null) throw new PathError('null element in array', `[${i}]`);
      let c: unknown;
      try {
        c = conv(x);
      } catch (e) {
        throw prefixed(e, `[${i}]`);
      }
      if (c !== undefined) v[w++] = c;
    }
    if (w !== n) v.length = w;
    return w;
  },
  map(v: unknown, conv: (x: unknown) => unknown): unknown {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PathError('Expecting a JSON object (map)', '');
    const m = v as Record<string, unknown>;
    for (const k of Object.keys(m)) {
      try {
        m[k] = conv(m[k]);
      } catch (e) {
        throw prefixed(e, `[${JSON.stringify(k)}]`);
      }
    }
    return m;
  },
  missing(o: Record<string, unknown>, names: string[]): PathError {
    return new PathError('', '', names.filter((n) => o[n] === undefined));
  },
  long(v: LongLike | number, signed: boolean): bigint {
    if (typeof v === 'number') return BigInt(v);
    const lo = v.low >>> 0;
    if (signed) {
      const hi = v.high | 0;
      if (hi >= -0x200000 && hi < 0x200000) return BigInt(hi * 4294967296 + lo);
    } else {
      const hi = v.high >>> 0;
      if (hi < 0x200000) return BigInt(hi * 4294967296 + lo);
    }
    return longToBigInt(v, signed);
  },
  buf(v: unknown): unknown {
    return Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
  },
  pbRep(v: unknown[], conv: (x: unknown) => unknown): unknown[] | undefined {
    const res: unknown[] = [];
    for (let j = 0; j < v.length; j++) {
      const c = conv(v[j]);
      if (c !== undefined) res.push(c);
    }
    return res.length ? res : undefined;
  },
  pbMap(v: unknown, conv: (x: unknown) => unknown): Record<string, unknown> {
    const m: Record<string, unknown> = {};
    for (const mk of Object.keys(v as object)) m[mk] = conv((v as Record<string, unknown>)[mk]);
    return m;
  },
};

type Conv = (x: unknown) => unknown;

interface Compiled {
  json?: Conv;
  pb?: Conv;
}
const compiled = new Map<protobuf.Type, Compiled>();

function compiledFor(type: protobuf.Type): Compiled {
  let c = compiled.get(type);
  if (!c) {
    c = {};
    compiled.set(type, c);
  }
  return c;
}

/** Element/value converter of a field for the JSON walk (used for repeated, map and message fields). */
function jsonElemConv(fp: FieldPlan): Conv {
  switch (fp.kind) {
    case 'string':
      return RT.str;
    case 'double':
      return RT.dbl;
    case 'int32':
      return RT.i32;
    case 'uint32':
      return RT.u32;
    case 'int64':
      return RT.i64;
    case 'uint64':
      return RT.u64;
    case 'bool':
      return RT.bool;
    case 'bytes':
      return RT.bytes;
    case 'enum': {
      const names = new Set(Object.keys(fp.enumType!.values));
      const msg = `Expecting an enum name string for ${fp.enumType!.name}`;
      return (v) => {
        if (typeof v !== 'string') throw new PathError(msg, '');
        return names.has(v) ? v : undefined;
      };
    }
    case 'message':
      return jsonDecoder(fp.messageType!);
  }
}

/**
 * The generated converter of a message type for one direction, cached. While it is being generated
 * the cache holds a forwarding stub, so recursive message types refer to themselves safely.
 */
function compiledConv(type: protobuf.Type, slot: keyof Compiled, generate: (t: protobuf.Type) => Conv): Conv {
  const c = compiledFor(type);
  const existing = c[slot];
  if (existing) return existing;
  let impl: Conv | undefined;
  c[slot] = (x) => (impl ??= generate(type))(x);
  impl = generate(type);
  c[slot] = impl;
  return impl;
}

/** The compiled in-place JSON walk of a message type (lazily generated, cached). */
function jsonDecoder(type: protobuf.Type): Conv {
  return compiledConv(type, 'json', generateJsonDecoder);
}

/**
 * Generated tail shared by both decoders: fill explicit defaults (remembering which, see
 * FILLED_DEFAULTS), check required fields, return the object held in `v`.
 */
function emitFinish(L: string[], plan: TypePlan, v: string, dep: (x: unknown) => string): void {
  if (plan.fills.length) {
    L.push('let filled;');
    for (const fp of plan.fills) {
      const K = JSON.stringify(fp.name);
      L.push(`if (${v}[${K}] === undefined) { ${v}[${K}] = ${dep(fp.fill)}; (filled || (filled = [])).push(${K}); }`);
    }
    L.push(`if (filled !== undefined) Object.defineProperty(${v}, RT.FILLED, { value: filled, enumerable: false, configurable: true });`);
  }
  if (plan.required.length) {
    const cond = plan.required.map((fp) => `${v}[${JSON.stringify(fp.name)}] === undefined`).join(' || ');
    L.push(`if (${cond}) throw RT.missing(${v}, ${JSON.stringify(plan.required.map((fp) => fp.name))});`);
  }
  L.push(`return ${v};`);
}

function generateJsonDecoder(type: protobuf.Type): Conv {
  const plan = planFor(type);
  const deps: unknown[] = [];
  const dep = (x: unknown) => {
    deps.push(x);
    return `D[${deps.length - 1}]`;
  };
  const L: string[] = [];
  L.push(`if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new RT.PathError(${JSON.stringify(`Expecting a JSON object for ${type.name}`)}, '');`);
  L.push('let k, v;');
  L.push('try {');
  L.push('for (k in o) {');
  L.push('switch (k) {');
  for (const fp of plan.fields) {
    const K = JSON.stringify(fp.name);
    const A = `o[${K}]`;
    L.push(`case ${K}:`);
    L.push(`v = ${A}; if (v === null) { delete ${A}; break; }`);
    if (fp.isMap) {
      L.push(`RT.map(v, ${dep(jsonElemConv(fp))});`);
    } else if (fp.repeated) {
      L.push(`if (!Array.isArray(v)) throw new RT.PathError('Expecting a JSON array', '');`);
      L.push(`if (v.length === 0 || RT.rep(v, ${dep(jsonElemConv(fp))}) === 0) delete ${A};`);
    } else {
      switch (fp.kind) {
        case 'string':
          L.push(`if (typeof v !== 'string') throw new RT.PathError('Expecting a string', '');`);
          break;
        case 'double':
          L.push(`if (typeof v !== 'number') ${A} = RT.dbl(v);`);
          break;
        case 'int32':
          L.push(`if (typeof v !== 'number' || (v | 0) !== v) ${A} = RT.i32(v);`);
          break;
        case 'uint32':
          L.push(`if (typeof v !== 'number' || (v >>> 0) !== v) ${A} = RT.u32(v);`);
          break;
        case 'int64':
          L.push(`${A} = (typeof v === 'number' && Number.isSafeInteger(v)) ? BigInt(v) : RT.i64(v);`);
          break;
        case 'uint64':
          L.push(`${A} = (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) ? BigInt(v) : RT.u64(v);`);
          break;
        case 'bool':
          L.push(`if (typeof v !== 'boolean') ${A} = RT.bool(v);`);
          break;
        case 'bytes':
          L.push(`${A} = RT.bytes(v);`);
          break;
        case 'enum': {
          const names = dep(new Set(Object.keys(fp.enumType!.values)));
          L.push(
            `if (typeof v !== 'string') throw new RT.PathError(${JSON.stringify(`Expecting an enum name string for ${fp.enumType!.name}`)}, '');`,
          );
          L.push(`if (!${names}.has(v)) delete ${A};`);
          break;
        }
        case 'message':
          L.push(`${dep(jsonDecoder(fp.messageType!))}(v);`);
          break;
      }
    }
    L.push('break;');
  }
  L.push('default: delete o[k];');
  L.push('}'); // switch
  L.push('}'); // for
  L.push('} catch (e) { throw RT.prefixed(e, k); }');
  emitFinish(L, plan, 'o', dep);
  const body = L.join('\n');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('RT', 'D', `return function decode_${type.name}(o) {\n${body}\n};`) as (rt: typeof RT, d: unknown[]) => Conv;
  return factory(RT, deps);
}

/** protobufjs message -> object form converter of one field's values. */
function pbElemConv(fp: FieldPlan): Conv | undefined {
  switch (fp.kind) {
    case 'int64':
    case 'uint64': {
      const signed = fp.signed;
      return (v) => RT.long(v as LongLike, signed);
    }
    case 'enum': {
      const byId = fp.enumType!.valuesById;
      return (v) => byId[v as number];
    }
    case 'message':
      return pbDecoder(fp.messageType!);
    case 'bytes':
      return RT.buf;
    default:
      return undefined; // as is
  }
}

function pbDecoder(type: protobuf.Type): Conv {
  return compiledConv(type, 'pb', generatePbDecoder);
}

function generatePbDecoder(type: protobuf.Type): Conv {
  const plan = planFor(type);
  const deps: unknown[] = [];
  const dep = (x: unknown) => {
    deps.push(x);
    return `D[${deps.length - 1}]`;
  };
  const L: string[] = [];
  L.push('const out = {};');
  L.push('const ks = Object.keys(m);');
  L.push('for (let i = 0; i < ks.length; i++) {');
  L.push('const k = ks[i];');
  L.push('switch (k) {');
  for (const fp of plan.fields) {
    const K = JSON.stringify(fp.name);
    const conv = pbElemConv(fp);
    L.push(`case ${K}: {`);
    L.push(`const v = m[${K}]; if (v === undefined || v === null) break;`);
    if (fp.isMap) {
      L.push(conv ? `out[${K}] = RT.pbMap(v, ${dep(conv)});` : `out[${K}] = RT.pbMap(v, (x) => x);`);
    } else if (fp.repeated) {
      L.push('if (v.length === 0) break;');
      if (conv) L.push(`const r = RT.pbRep(v, ${dep(conv)}); if (r !== undefined) out[${K}] = r;`);
      else L.push(`out[${K}] = v.slice();`);
    } else if (fp.kind === 'int64' || fp.kind === 'uint64') {
      L.push(`out[${K}] = RT.long(v, ${fp.signed});`);
    } else if (fp.kind === 'enum') {
      L.push(`const n = ${dep(fp.enumType!.valuesById)}[v]; if (n !== undefined) out[${K}] = n;`);
    } else if (conv) {
      L.push(`out[${K}] = ${dep(conv)}(v);`);
    } else {
      L.push(`out[${K}] = v;`);
    }
    L.push('break; }');
  }
  L.push('}'); // switch
  L.push('}'); // for
  emitFinish(L, plan, 'out', dep);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('RT', 'D', `return function pb_${type.name}(m) {\n${L.join('\n')}\n};`) as (rt: typeof RT, d: unknown[]) => Conv;
  return factory(RT, deps);
}

/** Parsed JSON value (lossless: big integers as strings) -> Mesos object form, in place. */
export function fromJsonValue(type: protobuf.Type, value: unknown): Record<string, unknown> {
  try {
    return jsonDecoder(type)(value) as Record<string, unknown>;
  } catch (e) {
    throw toCodecError(e);
  }
}

/** Mesos JSON text -> Mesos object form (lossless parse, then the compiled walk). Throws CodecError. */
export function fromJsonText(type: protobuf.Type, text: string): Record<string, unknown> {
  return fromJsonValue(type, parseJsonLossless(text));
}

/** protobufjs message (as returned by Type.decode) -> Mesos object form. */
export function fromProtobufMessage(type: protobuf.Type, msg: object): Record<string, unknown> {
  try {
    return pbDecoder(type)(msg) as Record<string, unknown>;
  } catch (e) {
    throw toCodecError(e);
  }
}
