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
import { formatDouble } from './json.js';

type ScalarKind = 'int64' | 'uint64' | 'int32' | 'uint32' | 'double' | 'bool' | 'string' | 'bytes' | 'enum' | 'message';

interface FieldPlan {
  readonly name: string;
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

/** Parsed JSON value -> Mesos object form (mutates and returns `value`). */
export function fromJsonValue(type: protobuf.Type, value: unknown): Record<string, unknown> {
  return jsonMessageInPlace(planFor(type), value, '');
}

// ---------------------------------------------------------------------------------------------
// Mesos object form -> Mesos JSON text.

function writeScalar(fp: FieldPlan, v: unknown, path: string): string {
  switch (fp.kind) {
    case 'string':
      if (typeof v !== 'string') throw new CodecError('Expecting a string', path);
      return JSON.stringify(v);
    case 'double':
      if (typeof v !== 'number') throw new CodecError('Expecting a number', path);
      return formatDouble(v);
    case 'int32':
    case 'uint32':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new CodecError('Expecting an integer', path);
      return String(v);
    case 'int64':
    case 'uint64':
      if (typeof v === 'bigint') return v.toString();
      if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
      throw new CodecError('Expecting a bigint', path);
    case 'bool':
      if (typeof v !== 'boolean') throw new CodecError('Expecting a boolean', path);
      return v ? 'true' : 'false';
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new CodecError('Expecting bytes (Uint8Array)', path);
      return '"' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') + '"';
    case 'enum':
      if (typeof v !== 'string' || !Object.prototype.hasOwnProperty.call(fp.enumType!.values, v)) {
        throw new CodecError(`Unknown ${fp.enumType!.name} value ${JSON.stringify(v)}`, path);
      }
      return '"' + v + '"';
    case 'message':
      return writeMessage(sub(fp), v, path);
  }
}

function writeMessage(plan: TypePlan, v: unknown, path: string): string {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new CodecError(`Expecting an object for ${plan.type.name}`, path);
  }
  const o = v as Record<string, unknown>;
  let s = '{';
  let first = true;
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const fp = fields[i]!;
    let x = o[fp.name];
    const p = path ? path + '.' + fp.name : fp.name;
    if (x === undefined || x === null) {
      if (!fp.hasFill) {
        if (fp.required) throw new CodecError(`Missing required fields: ${p}`);
        continue;
      }
      x = fp.fill;
    }
    let text: string;
    if (fp.isMap) {
      const m = x as Record<string, unknown>;
      const keys = Object.keys(m);
      if (keys.length === 0) continue;
      text = '{' + keys.map((k) => JSON.stringify(k) + ':' + writeScalar(fp, m[k], `${p}[${k}]`)).join(',') + '}';
    } else if (fp.repeated) {
      if (!Array.isArray(x)) throw new CodecError('Expecting an array', p);
      if (x.length === 0) continue;
      text = '[';
      for (let j = 0; j < x.length; j++) text += (j ? ',' : '') + writeScalar(fp, x[j], `${p}[${j}]`);
      text += ']';
    } else {
      text = writeScalar(fp, x, p);
    }
    s += (first ? '"' : ',"') + fp.name + '":' + text;
    first = false;
  }
  return s + '}';
}

/** Mesos object form -> Mesos JSON text (byte-compatible with a Mesos master's writer). */
export function toJsonText(type: protobuf.Type, obj: unknown): string {
  return writeMessage(planFor(type), obj, '');
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

/** protobufjs message (as returned by Type.decode) -> Mesos object form. */
export function fromProtobufMessage(type: protobuf.Type, msg: object): Record<string, unknown> {
  return pbMessage(planFor(type), msg as Record<string, unknown>);
}

// ---------------------------------------------------------------------------------------------
// Mesos object form -> plain object accepted by protobufjs Type.encode.

function toPbScalar(fp: FieldPlan, v: unknown, path: string): unknown {
  switch (fp.kind) {
    case 'int64':
    case 'uint64': {
      let b: bigint;
      if (typeof v === 'bigint') b = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
      else throw new CodecError('Expecting a bigint', path);
      const u = BigInt.asUintN(64, b);
      return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: !fp.signed };
    }
    case 'enum': {
      if (typeof v !== 'string') throw new CodecError('Expecting an enum name', path);
      const n = fp.enumType!.values[v];
      if (n === undefined) throw new CodecError(`Unknown ${fp.enumType!.name} value ${JSON.stringify(v)}`, path);
      return n;
    }
    case 'message':
      return toPbMessage(sub(fp), v, path);
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new CodecError('Expecting bytes (Uint8Array)', path);
      return v;
    case 'string':
      if (typeof v !== 'string') throw new CodecError('Expecting a string', path);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new CodecError('Expecting a boolean', path);
      return v;
    default:
      if (typeof v !== 'number') throw new CodecError('Expecting a number', path);
      return v;
  }
}

function toPbMessage(plan: TypePlan, v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new CodecError(`Expecting an object for ${plan.type.name}`, path);
  }
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const filled = (o as { [FILLED_DEFAULTS]?: string[] })[FILLED_DEFAULTS];
  for (const fp of plan.fields) {
    const x = o[fp.name];
    const p = path ? path + '.' + fp.name : fp.name;
    if (x === undefined || x === null) {
      if (fp.required) throw new CodecError(`Missing required fields: ${p}`);
      continue;
    }
    if (filled !== undefined && fp.hasFill && x === fp.fill && filled.includes(fp.name)) continue;
    if (fp.isMap) {
      const m: Record<string, unknown> = {};
      for (const k of Object.keys(x as object)) m[k] = toPbScalar(fp, (x as Record<string, unknown>)[k], `${p}[${k}]`);
      out[fp.name] = m;
    } else if (fp.repeated) {
      if (!Array.isArray(x)) throw new CodecError('Expecting an array', p);
      out[fp.name] = x.map((e, j) => toPbScalar(fp, e, `${p}[${j}]`));
    } else {
      out[fp.name] = toPbScalar(fp, x, p);
    }
  }
  return out;
}

export function toProtobufObject(type: protobuf.Type, obj: unknown): Record<string, unknown> {
  return toPbMessage(planFor(type), obj, '');
}
