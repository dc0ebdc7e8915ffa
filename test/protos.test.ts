// Checks our protos/mesos/v1/*.proto against wire recordings of a real Mesos 1.12 master
// (test/fixtures/real-mesos-1.12): protobuf records must decode to exactly what
// pb-stream.decoded.txt says and re-encode to identical bytes; JSON records must only use
// keys our protos declare, in the protos' declaration order (the order Mesos writes them).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { expect } from 'chai';
import protobuf from 'protobufjs';

// dist/test/protos.test.js -> project root
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const protoDir = path.join(projectRoot, 'protos');
const fixtureDir = path.join(projectRoot, 'test', 'fixtures', 'real-mesos-1.12');

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const defaultResolve = root.resolvePath.bind(root);
  // Imports are written "mesos/v1/..." like upstream; map them onto protos/.
  root.resolvePath = (origin: string, target: string): string | null =>
    target.startsWith('mesos/') ? path.join(protoDir, target) : defaultResolve(origin, target);
  root.loadSync(
    [
      'mesos/v1/mesos.proto',
      'mesos/v1/scheduler/scheduler.proto',
      'mesos/v1/allocator/allocator.proto',
      'mesos/v1/maintenance/maintenance.proto',
      'mesos/v1/master/master.proto',
    ].map((f) => path.join(protoDir, f)),
    { keepCase: true },
  );
  root.resolveAll();
  return root;
}

/** Minimal local RecordIO reader: `<decimal length>\n<bytes>` repeated. */
function readRecordIO(bytes: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) throw new Error(`RecordIO: no newline after offset ${pos}`);
    const header = bytes.subarray(pos, nl).toString('ascii');
    if (!/^\d+$/.test(header)) throw new Error(`RecordIO: bad length ${JSON.stringify(header)} at ${pos}`);
    const len = Number(header);
    const start = nl + 1;
    if (start + len > bytes.length) throw new Error(`RecordIO: truncated record at ${pos}`);
    records.push(bytes.subarray(start, start + len));
    pos = start + len;
  }
  return records;
}

// ------------------------------------------------------------------ protobuf text format

interface TextEntry {
  name: string;
  scalar?: string; // raw token as written (quoted strings still quoted)
  children?: TextEntry[];
}

interface TextRecord {
  index: number;
  length: number;
  entries: TextEntry[];
}

/** Parses pb-stream.decoded.txt: `# record N (M bytes)` headers, one field per line. */
function parseDecodedText(text: string): TextRecord[] {
  const records: TextRecord[] = [];
  let stack: TextEntry[][] = [];
  for (const [lineNo, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const header = /^# record (\d+) \((\d+) bytes\)$/.exec(line);
    if (header) {
      if (stack.length > 1) throw new Error(`unbalanced braces before line ${lineNo + 1}`);
      const rec: TextRecord = { index: Number(header[1]), length: Number(header[2]), entries: [] };
      records.push(rec);
      stack = [rec.entries];
      continue;
    }
    const top = stack[stack.length - 1];
    if (!top) throw new Error(`text before first record header at line ${lineNo + 1}`);
    if (line === '}') {
      if (stack.length < 2) throw new Error(`unexpected } at line ${lineNo + 1}`);
      stack.pop();
      continue;
    }
    const open = /^([A-Za-z_][A-Za-z0-9_]*) \{$/.exec(line);
    if (open) {
      const entry: TextEntry = { name: open[1]!, children: [] };
      top.push(entry);
      stack.push(entry.children!);
      continue;
    }
    const scalar = /^([A-Za-z_][A-Za-z0-9_]*): (.*)$/.exec(line);
    if (!scalar) throw new Error(`cannot parse line ${lineNo + 1}: ${raw}`);
    top.push({ name: scalar[1]!, scalar: scalar[2]! });
  }
  return records;
}

/** Undoes C-style escaping of a quoted text-format string; returns the raw bytes. */
function unescapeTextString(token: string): Buffer {
  if (token.length < 2 || token[0] !== '"' || token[token.length - 1] !== '"') {
    throw new Error(`not a quoted string: ${token}`);
  }
  const body = token.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, '"': 34, "'": 39, '\\': 92, a: 7, b: 8, f: 12, v: 11 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const n = body[++i];
    if (n === undefined) throw new Error(`dangling backslash in ${token}`);
    if (n in simple) {
      out.push(simple[n]!);
    } else if (/[0-7]/.test(n)) {
      let digits = n;
      while (digits.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) digits += body[++i];
      out.push(parseInt(digits, 8));
    } else if (n === 'x') {
      let digits = '';
      while (digits.length < 2 && /[0-9a-fA-F]/.test(body[i + 1] ?? '')) digits += body[++i];
      out.push(parseInt(digits, 16));
    } else {
      throw new Error(`unknown escape \\${n} in ${token}`);
    }
  }
  return Buffer.from(out);
}

type Msg = Record<string, unknown>;

const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

/** The fields a decoded protobufjs message carries, in field-number order (as text format prints). */
function presentEntries(type: protobuf.Type, msg: Msg): { field: protobuf.Field; value: unknown }[] {
  const out: { field: protobuf.Field; value: unknown }[] = [];
  const fields = [...type.fieldsArray].sort((a, b) => a.id - b.id);
  for (const field of fields) {
    const value = msg[field.name];
    if (field.map) {
      if (value && Object.keys(value as object).length > 0) {
        throw new Error(`${type.fullName}.${field.name}: map fields are not expected in the recordings`);
      }
    } else if (field.repeated) {
      for (const v of (value as unknown[] | undefined) ?? []) out.push({ field, value: v });
    } else if (Object.prototype.hasOwnProperty.call(msg, field.name) && value !== undefined && value !== null) {
      out.push({ field, value });
    }
  }
  return out;
}

/** Compares a decoded message with its text-format rendering; returns the differences found. */
function compareWithText(type: protobuf.Type, msg: Msg, entries: TextEntry[], where: string): string[] {
  const problems: string[] = [];
  const present = presentEntries(type, msg);
  const count = Math.max(present.length, entries.length);
  for (let i = 0; i < count; i++) {
    const p = present[i];
    const e = entries[i];
    if (!p || !e) {
      problems.push(
        `${where}: field #${i}: decoded ${p ? p.field.name : '(nothing)'} vs text ${e ? e.name : '(nothing)'}`,
      );
      continue;
    }
    const at = `${where}.${e.name}`;
    if (p.field.name !== e.name) {
      problems.push(`${where}: field #${i}: decoded ${p.field.name} vs text ${e.name}`);
      continue;
    }
    const rt = p.field.resolvedType;
    if (rt instanceof protobuf.Type) {
      if (!e.children) problems.push(`${at}: text has a scalar for a message field`);
      else problems.push(...compareWithText(rt, p.value as Msg, e.children, at));
      continue;
    }
    if (e.scalar === undefined) {
      problems.push(`${at}: text has a message for a scalar field`);
      continue;
    }
    const token = e.scalar;
    let ok: boolean;
    if (rt instanceof protobuf.Enum) {
      ok = rt.valuesById[p.value as number] === token;
    } else if (p.field.type === 'string') {
      ok = unescapeTextString(token).equals(Buffer.from(p.value as string, 'utf8'));
    } else if (p.field.type === 'bytes') {
      ok = unescapeTextString(token).equals(Buffer.from(p.value as Uint8Array));
    } else if (p.field.type === 'double' || p.field.type === 'float') {
      ok = Number(token) === p.value;
    } else if (INT64_TYPES.has(p.field.type)) {
      ok = BigInt(token) === BigInt(String(p.value));
    } else if (INT32_TYPES.has(p.field.type)) {
      ok = Number(token) === p.value;
    } else if (p.field.type === 'bool') {
      ok = String(p.value) === token;
    } else {
      throw new Error(`${at}: unhandled field type ${p.field.type}`);
    }
    if (!ok) problems.push(`${at}: decoded ${String(p.value)} vs text ${token}`);
  }
  return problems;
}

// ------------------------------------------------------------------ JSON mapping

/** Walks a Mesos JSON object against a protobufjs type: unknown keys, key order, value kinds. */
function checkJson(type: protobuf.Type, obj: unknown, where: string, problems: string[]): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    problems.push(`${where}: expected an object for ${type.fullName}`);
    return;
  }
  let lastIndex = -1;
  let lastKey = '';
  for (const [key, value] of Object.entries(obj)) {
    const at = `${where}.${key}`;
    const field = type.fields[key];
    if (!field) {
      problems.push(`${at}: unknown key for ${type.fullName}`);
      continue;
    }
    const index = type.fieldsArray.indexOf(field);
    if (index < lastIndex) {
      problems.push(`${at}: key order: "${key}" is declared before "${lastKey}" in ${type.fullName}`);
    }
    lastIndex = index;
    lastKey = key;
    if (field.map) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) problems.push(`${at}: map must be an object`);
      else for (const [k, v] of Object.entries(value)) checkJsonValue(field, v, `${at}[${k}]`, problems);
    } else if (field.repeated) {
      if (!Array.isArray(value)) problems.push(`${at}: repeated field must be an array`);
      else if (value.length === 0) problems.push(`${at}: empty repeated field (Mesos omits those)`);
      else value.forEach((v, i) => checkJsonValue(field, v, `${at}[${i}]`, problems));
    } else {
      checkJsonValue(field, value, at, problems);
    }
  }
}

function checkJsonValue(field: protobuf.Field, value: unknown, at: string, problems: string[]): void {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    checkJson(rt, value, at, problems);
  } else if (rt instanceof protobuf.Enum) {
    if (typeof value !== 'string' || !(value in rt.values)) {
      problems.push(`${at}: ${JSON.stringify(value)} is not a value of ${rt.fullName}`);
    }
  } else if (field.type === 'string') {
    if (typeof value !== 'string') problems.push(`${at}: expected a string`);
  } else if (field.type === 'bytes') {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) problems.push(`${at}: expected base64`);
  } else if (field.type === 'bool') {
    if (typeof value !== 'boolean') problems.push(`${at}: expected a boolean`);
  } else if (INT64_TYPES.has(field.type) || INT32_TYPES.has(field.type)) {
    if (typeof value !== 'number' || !Number.isInteger(value)) problems.push(`${at}: expected an integer`);
  } else if (field.type === 'double' || field.type === 'float') {
    if (typeof value !== 'number') problems.push(`${at}: expected a number`);
  } else {
    problems.push(`${at}: unhandled field type ${field.type}`);
  }
}

// ------------------------------------------------------------------ tests

describe('protos/mesos/v1 (checked against a real Mesos 1.12 master)', () => {
  let root: protobuf.Root;
  let Event: protobuf.Type;

  before(() => {
    root = loadRoot();
    Event = root.lookupType('mesos.v1.scheduler.Event');
  });

  it('loads with protobufjs and defines the messages the project uses', () => {
    const names = [
      'mesos.v1.FrameworkID', 'mesos.v1.OfferID', 'mesos.v1.AgentID', 'mesos.v1.TaskID',
      'mesos.v1.ExecutorID', 'mesos.v1.ContainerID', 'mesos.v1.OperationID', 'mesos.v1.ResourceProviderID',
      'mesos.v1.UUID', 'mesos.v1.TimeInfo', 'mesos.v1.DurationInfo', 'mesos.v1.Address', 'mesos.v1.URL',
      'mesos.v1.Unavailability', 'mesos.v1.MachineID', 'mesos.v1.MachineInfo', 'mesos.v1.FrameworkInfo',
      'mesos.v1.FrameworkInfo.Capability', 'mesos.v1.CommandInfo.URI', 'mesos.v1.ExecutorInfo',
      'mesos.v1.MasterInfo.Capability', 'mesos.v1.AgentInfo.Capability', 'mesos.v1.DomainInfo',
      'mesos.v1.Value.Ranges', 'mesos.v1.Attribute', 'mesos.v1.Resource.AllocationInfo',
      'mesos.v1.Resource.ReservationInfo', 'mesos.v1.Resource.DiskInfo', 'mesos.v1.Offer.Operation.Launch',
      'mesos.v1.Offer.Operation.LaunchGroup', 'mesos.v1.Offer.Operation.Reserve',
      'mesos.v1.Offer.Operation.Unreserve', 'mesos.v1.Offer.Operation.Create', 'mesos.v1.Offer.Operation.Destroy',
      'mesos.v1.InverseOffer', 'mesos.v1.TaskInfo', 'mesos.v1.TaskGroupInfo', 'mesos.v1.Task',
      'mesos.v1.TaskStatus', 'mesos.v1.ContainerStatus', 'mesos.v1.NetworkInfo.IPAddress', 'mesos.v1.KillPolicy',
      'mesos.v1.Filters', 'mesos.v1.Environment', 'mesos.v1.Labels', 'mesos.v1.Parameters', 'mesos.v1.DrainConfig',
      'mesos.v1.DrainInfo', 'mesos.v1.OfferFilters', 'mesos.v1.OperationStatus', 'mesos.v1.Request',
      'mesos.v1.scheduler.Call', 'mesos.v1.scheduler.Call.UpdateFramework', 'mesos.v1.scheduler.Event.Error',
      'mesos.v1.allocator.InverseOfferStatus', 'mesos.v1.maintenance.Window', 'mesos.v1.maintenance.Schedule',
      'mesos.v1.maintenance.ClusterStatus.DrainingMachine', 'mesos.v1.master.Call.DrainAgent',
      'mesos.v1.master.Response.GetState', 'mesos.v1.master.Response.GetMaintenanceStatus',
    ];
    for (const name of names) expect(root.lookupType(name).fullName, name).to.equal(`.${name}`);
    for (const name of ['mesos.v1.TaskState', 'mesos.v1.OperationState', 'mesos.v1.DrainState']) {
      expect(root.lookupEnum(name).fullName).to.equal(`.${name}`);
    }
    expect(Object.keys(root.lookupEnum('mesos.v1.scheduler.Call.Type').values)).to.have.length(18);
    expect(Object.keys(root.lookupEnum('mesos.v1.scheduler.Event.Type').values)).to.have.length(12);
    expect(root.lookupEnum('mesos.v1.master.Call.Type').values['REACTIVATE_AGENT']).to.equal(39);
    expect(root.lookupEnum('mesos.v1.master.Response.Type').values['GET_MAINTENANCE_SCHEDULE']).to.equal(17);
    // The deprecated role keeps its "*" default; the JSON writer relies on these options.
    const role = root.lookupType('mesos.v1.Resource').fields['role']!;
    expect(role.options).to.deep.equal({ default: '*', deprecated: true });
  });

  describe('pb-stream (application/x-protobuf SUBSCRIBE stream)', () => {
    let records: Buffer[];
    let texts: TextRecord[];

    before(() => {
      records = readRecordIO(readFileSync(path.join(fixtureDir, 'pb-stream.recordio')));
      texts = parseDecodedText(readFileSync(path.join(fixtureDir, 'pb-stream.decoded.txt'), 'utf8'));
    });

    it('has one decoded.txt entry per RecordIO record, with matching lengths', () => {
      expect(records.length).to.be.greaterThan(20);
      expect(texts.map((t) => t.index)).to.deep.equal(records.map((_, i) => i));
      expect(texts.map((t) => t.length)).to.deep.equal(records.map((r) => r.length));
    });

    it('decodes every record to exactly the fields and values of decoded.txt', () => {
      const problems: string[] = [];
      records.forEach((bytes, i) => {
        const msg = Event.decode(bytes) as unknown as Msg;
        problems.push(...compareWithText(Event, msg, texts[i]!.entries, `record ${i}`));
      });
      expect(problems).to.deep.equal([]);
    });

    it('re-encodes every record to identical bytes (no unknown or mistyped fields)', () => {
      records.forEach((bytes, i) => {
        const msg = Event.decode(bytes);
        const again = Buffer.from(Event.encode(msg).finish());
        expect(again.equals(bytes), `record ${i} re-encoded differently`).to.equal(true);
      });
    });
  });

  for (const file of ['subscribe-json.recordio', 'maint-json.recordio']) {
    describe(`${file} (application/json SUBSCRIBE stream)`, () => {
      it('uses only declared field names, in declaration order, with fitting values', () => {
        const records = readRecordIO(readFileSync(path.join(fixtureDir, file)));
        expect(records.length).to.be.greaterThan(2);
        const problems: string[] = [];
        records.forEach((bytes, i) => {
          checkJson(Event, JSON.parse(bytes.toString('utf8')), `record ${i}`, problems);
        });
        expect(problems).to.deep.equal([]);
      });
    });
  }

  it('maintenance-schedule-body.json fits mesos.v1.maintenance.Schedule', () => {
    const body: unknown = JSON.parse(readFileSync(path.join(fixtureDir, 'maintenance-schedule-body.json'), 'utf8'));
    const problems: string[] = [];
    checkJson(root.lookupType('mesos.v1.maintenance.Schedule'), body, 'schedule', problems);
    expect(problems).to.deep.equal([]);
  });

  it('the checkers catch unknown keys, wrong key order and missing fields', () => {
    // Guards against a vacuous pass of the checks above.
    const problems: string[] = [];
    checkJson(Event, { subscribed: { framework_id: { value: 'f' } }, type: 'SUBSCRIBED', bogus: 1 }, 'e', problems);
    expect(problems).to.have.length(2);
    const Address = root.lookupType('mesos.v1.Address');
    const msg = Address.decode(Address.encode({ hostname: 'h', port: 1 }).finish()) as unknown as Msg;
    expect(compareWithText(Address, msg, [{ name: 'hostname', scalar: '"h"' }], 'a')).to.have.length(1);
    expect(compareWithText(Address, msg, [{ name: 'hostname', scalar: '"h"' }, { name: 'port', scalar: '2' }], 'a'))
      .to.have.length(1);
  });
});
