/**
 * Compact resource vectors for the simulator.
 *
 * Agents only have unreserved ("*") cpus, mem, disk and ports, so a resource vector is four fields:
 * scalars in integer thousandths (Mesos keeps 3 decimal digits of a scalar, and integer arithmetic
 * keeps subset checks exact) and ports as a flat, sorted, coalesced list of inclusive ranges
 * `[b0, e0, b1, e1, ...]`. Any other resource name asked for by a task can never be contained in
 * an offer and is reported as such.
 */
import type { Resource } from '../mesos/types.js';
import { cppDouble } from './util.js';

export interface Res {
  cpus: number;
  mem: number;
  disk: number;
  ports: readonly number[];
}

const NO_PORTS: readonly number[] = Object.freeze([]);

export function milli(v: number): number {
  return Math.round(v * 1000);
}

export function res(cpus: number, mem: number, disk: number, ports: readonly number[] = NO_PORTS): Res {
  return { cpus: milli(cpus), mem: milli(mem), disk: milli(disk), ports: ports.length ? normalize(ports) : NO_PORTS };
}

export function emptyRes(): Res {
  return { cpus: 0, mem: 0, disk: 0, ports: NO_PORTS };
}

export function cloneRes(r: Res): Res {
  return { cpus: r.cpus, mem: r.mem, disk: r.disk, ports: r.ports };
}

export function isEmptyRes(r: Res): boolean {
  return r.cpus === 0 && r.mem === 0 && r.disk === 0 && r.ports.length === 0;
}

/** `--min_allocatable_resources` default of Mesos 1.12: "cpus:0.01|mem:32". */
export function allocatable(r: Res): boolean {
  return r.cpus >= 10 || r.mem >= 32000;
}

export function addRes(a: Res, b: Res): Res {
  return {
    cpus: a.cpus + b.cpus,
    mem: a.mem + b.mem,
    disk: a.disk + b.disk,
    ports: b.ports.length ? rangesUnion(a.ports, b.ports) : a.ports,
  };
}

/** a - b, clamped at zero (Mesos resource subtraction never yields negatives). */
export function subRes(a: Res, b: Res): Res {
  return {
    cpus: Math.max(0, a.cpus - b.cpus),
    mem: Math.max(0, a.mem - b.mem),
    disk: Math.max(0, a.disk - b.disk),
    ports: b.ports.length ? rangesSubtract(a.ports, b.ports) : a.ports,
  };
}

export function addInto(a: Res, b: Res): void {
  a.cpus += b.cpus;
  a.mem += b.mem;
  a.disk += b.disk;
  if (b.ports.length) a.ports = rangesUnion(a.ports, b.ports);
}

export function subInto(a: Res, b: Res): void {
  a.cpus = Math.max(0, a.cpus - b.cpus);
  a.mem = Math.max(0, a.mem - b.mem);
  a.disk = Math.max(0, a.disk - b.disk);
  if (b.ports.length) a.ports = rangesSubtract(a.ports, b.ports);
}

/** a ⊇ b */
export function containsRes(a: Res, b: Res): boolean {
  return a.cpus >= b.cpus && a.mem >= b.mem && a.disk >= b.disk && rangesContain(a.ports, b.ports);
}

export function equalRes(a: Res, b: Res): boolean {
  if (a.cpus !== b.cpus || a.mem !== b.mem || a.disk !== b.disk || a.ports.length !== b.ports.length) return false;
  for (let i = 0; i < a.ports.length; i++) if (a.ports[i] !== b.ports[i]) return false;
  return true;
}

// ----- ranges -----

function normalize(r: readonly number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < r.length; i += 2) pairs.push([r[i]!, r[i + 1]!]);
  pairs.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [b, e] of pairs) {
    const n = out.length;
    if (n && b <= out[n - 1]! + 1) out[n - 1] = Math.max(out[n - 1]!, e);
    else out.push(b, e);
  }
  return out;
}

export function rangesUnion(a: readonly number[], b: readonly number[]): readonly number[] {
  if (!a.length) return b;
  if (!b.length) return a;
  return normalize([...a, ...b]);
}

export function rangesSubtract(a: readonly number[], b: readonly number[]): readonly number[] {
  if (!a.length || !b.length) return a;
  const out: number[] = [];
  for (let i = 0; i < a.length; i += 2) {
    let lo = a[i]!;
    const hi = a[i + 1]!;
    for (let j = 0; j < b.length && lo <= hi; j += 2) {
      const bl = b[j]!;
      const bh = b[j + 1]!;
      if (bh < lo || bl > hi) continue;
      if (bl > lo) out.push(lo, bl - 1);
      lo = bh + 1;
    }
    if (lo <= hi) out.push(lo, hi);
  }
  return out.length ? out : NO_PORTS;
}

export function rangesContain(a: readonly number[], b: readonly number[]): boolean {
  for (let j = 0; j < b.length; j += 2) {
    const bl = b[j]!;
    const bh = b[j + 1]!;
    let ok = false;
    for (let i = 0; i < a.length; i += 2) {
      if (a[i]! <= bl && bh <= a[i + 1]!) {
        ok = true;
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

// ----- conversion to and from Mesos Resource messages -----

export interface ToMesosOptions {
  /** allocation_info.role (MULTI_ROLE frameworks only). */
  allocationRole?: string;
  /** Pre-RESERVATION_REFINEMENT format: `role: "*"` on unreserved resources. */
  legacyRole: boolean;
}

function scalarRes(name: string, v: number, o: ToMesosOptions): Resource {
  const r: Resource = { name, type: 'SCALAR', scalar: { value: v / 1000 } };
  if (o.legacyRole) r.role = '*';
  if (o.allocationRole !== undefined) r.allocation_info = { role: o.allocationRole };
  return r;
}

/** Resources in the order a real master offers them: ports, cpus, mem, disk (empty ones omitted). */
export function toMesos(r: Res, o: ToMesosOptions): Resource[] {
  const out: Resource[] = [];
  if (r.ports.length) {
    const range = [];
    for (let i = 0; i < r.ports.length; i += 2) range.push({ begin: BigInt(r.ports[i]!), end: BigInt(r.ports[i + 1]!) });
    const p: Resource = { name: 'ports', type: 'RANGES', ranges: { range } };
    if (o.legacyRole) p.role = '*';
    if (o.allocationRole !== undefined) p.allocation_info = { role: o.allocationRole };
    out.push(p);
  }
  if (r.cpus) out.push(scalarRes('cpus', r.cpus, o));
  if (r.mem) out.push(scalarRes('mem', r.mem, o));
  if (r.disk) out.push(scalarRes('disk', r.disk, o));
  return out;
}

export interface ParsedResources {
  res: Res;
  /** A resource this simulator's agents never have (other names, reservations, volumes, ...). */
  foreign: boolean;
  /** Distinct allocation_info roles seen ('' for a resource without allocation_info.role). */
  roles: string[];
  /** First `Resources::validate` error, formatted like the master. */
  invalid?: string;
  /** Text of the resources as `stringify(Resources)` prints them. */
  text: string;
}

function rangesText(ranges: Array<{ begin: bigint; end: bigint }>): string {
  return '[' + ranges.map((x) => `${x.begin}-${x.end}`).join(', ') + ']';
}

/** One resource as `operator<<(ostream, Resource)` prints it, e.g. `cpus(allocated: *):0.5`. */
export function resourceText(r: Resource): string {
  let s = r.name;
  if (r.allocation_info?.role !== undefined) s += `(allocated: ${r.allocation_info.role})`;
  if (r.role !== undefined && r.role !== '*') s += `(reservations: [(STATIC,${r.role})])`;
  s += ':';
  if (r.type === 'SCALAR') s += cppDouble(r.scalar?.value ?? 0);
  else if (r.type === 'RANGES') s += rangesText((r.ranges?.range ?? []) as Array<{ begin: bigint; end: bigint }>);
  else if (r.type === 'SET') s += '{' + (r.set?.item ?? []).join(', ') + '}';
  return s;
}

export function resourcesText(rs: Resource[]): string {
  return rs.map(resourceText).join('; ');
}

function validateOne(r: Resource): string | undefined {
  if (!r.name) return 'Empty resource name';
  if (r.type === 'SCALAR') {
    if (!r.scalar || r.ranges || r.set) return 'Invalid scalar resource';
    const v = r.scalar.value;
    if (v !== 0 && !(Math.round(v * 1000) > 0)) return 'Invalid scalar resource: value <= 0';
  } else if (r.type === 'RANGES') {
    if (r.scalar || !r.ranges || r.set) return 'Invalid ranges resource';
    const rr = (r.ranges.range ?? []) as Array<{ begin: bigint; end: bigint }>;
    for (let i = 0; i < rr.length; i++) {
      if (rr[i]!.begin > rr[i]!.end) return 'Invalid ranges resource: begin > end';
      for (let j = i + 1; j < rr.length; j++) {
        if (rr[i]!.begin <= rr[j]!.begin && rr[j]!.begin <= rr[i]!.end) return 'Invalid ranges resource: overlapping ranges';
      }
    }
  } else if (r.type === 'SET') {
    if (r.scalar || r.ranges || !r.set) return 'Invalid set resource';
    const items = r.set.item ?? [];
    if (new Set(items).size !== items.length) return 'Invalid set resource: duplicated elements';
  } else {
    return 'Invalid resource type';
  }
  return undefined;
}

export function fromMesos(rs: Resource[] | undefined): ParsedResources {
  const out: ParsedResources = { res: emptyRes(), foreign: false, roles: [], text: resourcesText(rs ?? []) };
  const ports: number[] = [];
  for (const r of rs ?? []) {
    const err = validateOne(r);
    if (err !== undefined && out.invalid === undefined) out.invalid = `Resource '${resourceText(r)}' is invalid: ${err}`;
    const role = r.allocation_info?.role ?? '';
    if (!out.roles.includes(role)) out.roles.push(role);
    const reserved =
      (r.role !== undefined && r.role !== '*') || (r.reservations !== undefined && r.reservations.length > 0) || r['reservation'] !== undefined;
    const special = reserved || r['disk'] !== undefined || r['revocable'] !== undefined || r['shared'] !== undefined || r['provider_id'] !== undefined;
    if (special) out.foreign = true;
    if (r.type === 'SCALAR' && r.scalar) {
      const v = milli(r.scalar.value);
      if (r.name === 'cpus') out.res.cpus += v;
      else if (r.name === 'mem') out.res.mem += v;
      else if (r.name === 'disk') out.res.disk += v;
      else if (v > 0) out.foreign = true;
    } else if (r.type === 'RANGES' && r.ranges && r.name === 'ports') {
      for (const x of (r.ranges.range ?? []) as Array<{ begin: bigint; end: bigint }>) {
        ports.push(Number(x.begin), Number(x.end));
      }
    } else {
      out.foreign = true;
    }
  }
  if (ports.length) out.res.ports = normalize(ports);
  return out;
}

/** Flat ranges -> "[31000-32000]" (the /state rendering of ports). */
export function portsText(ports: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ports.length; i += 2) parts.push(`${ports[i]}-${ports[i + 1]}`);
  return '[' + parts.join(', ') + ']';
}
