/**
 * One codec interface, two encodings (the two media types a Mesos master speaks). Both decode to
 * the same Mesos object form (docs/DESIGN.md), so nothing above this layer knows which one is used.
 */
import { lookupType, protobuf } from './proto.js';
import { fromJsonText, fromProtobufMessage } from './stout.js';
import { toJsonBytes, toJsonText, toProtobufObject } from './stout-writer.js';
import { toProtobufBytes } from './pb-writer.js';
import { CodecError } from './errors.js';

export type MediaType = 'application/json' | 'application/x-protobuf';

export const MESSAGE = {
  Event: 'mesos.v1.scheduler.Event',
  Call: 'mesos.v1.scheduler.Call',
  Schedule: 'mesos.v1.maintenance.Schedule',
  ClusterStatus: 'mesos.v1.maintenance.ClusterStatus',
  MachineID: 'mesos.v1.MachineID',
  MasterCall: 'mesos.v1.master.Call',
  MasterResponse: 'mesos.v1.master.Response',
  MasterInfo: 'mesos.v1.MasterInfo',
  Offer: 'mesos.v1.Offer',
  TaskStatus: 'mesos.v1.TaskStatus',
} as const;
export type MessageName = (typeof MESSAGE)[keyof typeof MESSAGE] | `mesos.v1.${string}`;

export interface Codec {
  readonly mediaType: MediaType;
  /** Mesos object form -> wire bytes. Throws CodecError for objects that do not fit the schema. */
  encode(type: MessageName, obj: unknown): Buffer;
  /** Wire bytes -> Mesos object form. Throws CodecError with a clear message on bad input. */
  decode<T = Record<string, unknown>>(type: MessageName, bytes: Uint8Array): T;
}

const typeCache = new Map<string, protobuf.Type>();
function typeOf(name: MessageName): protobuf.Type {
  let t = typeCache.get(name);
  if (!t) {
    t = lookupType(name);
    typeCache.set(name, t);
  }
  return t;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const jsonCodec: Codec = {
  mediaType: 'application/json',
  encode(type, obj) {
    return toJsonBytes(typeOf(type), obj);
  },
  decode<T>(type: MessageName, bytes: Uint8Array): T {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new CodecError(`Invalid UTF-8 in JSON ${shortName(type)}`);
    }
    return fromJsonText(typeOf(type), text) as T;
  },
};

export const protobufCodec: Codec = {
  mediaType: 'application/x-protobuf',
  encode(type, obj) {
    const t = typeOf(type);
    try {
      return toProtobufBytes(t, obj);
    } catch {
      // not accepted by the compiled writer: the generic path gives the same bytes or the CodecError
    }
    return protobufEncodeGeneric(t, obj);
  },
  decode<T>(type: MessageName, bytes: Uint8Array): T {
    const t = typeOf(type);
    let msg: protobuf.Message;
    try {
      msg = t.decode(bytes);
    } catch (e) {
      throw new CodecError(`Invalid protobuf ${shortName(type)}: ${(e as Error).message}`);
    }
    return fromProtobufMessage(t, msg) as T;
  },
};

/**
 * The generic protobuf encoding: toProtobufObject (its CodecErrors) + protobufjs's Type.encode. The
 * reference for src/mesos/pb-writer.ts (test/mesos/pb-writer.test.ts).
 */
export function protobufEncodeGeneric(t: protobuf.Type, obj: unknown): Buffer {
  const plain = toProtobufObject(t, obj);
  const u = t.encode(plain as unknown as protobuf.Message).finish();
  // protobufjs's writer hands out a buffer of its own (a Buffer on Node): no copy
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Parses a Mesos JSON document (e.g. a schedule body) given as text. */
export function decodeJsonText<T = Record<string, unknown>>(type: MessageName, text: string): T {
  return fromJsonText(typeOf(type), text) as T;
}

/** Mesos JSON text of an object in Mesos object form. */
export function encodeJsonText(type: MessageName, obj: unknown): string {
  return toJsonText(typeOf(type), obj);
}

export function codecFor(mediaType: string): Codec {
  if (mediaType === 'application/json') return jsonCodec;
  if (mediaType === 'application/x-protobuf') return protobufCodec;
  throw new CodecError(`Unsupported media type ${JSON.stringify(mediaType)}`);
}

function shortName(type: string): string {
  return type.slice(type.lastIndexOf('.') + 1);
}
