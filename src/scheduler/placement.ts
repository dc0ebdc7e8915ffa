/**
 * Placement: which pending instances go onto which offers. Pure and allocation-light; it runs for
 * every OFFERS event (benchmark: scripts/bench/offers.ts).
 *
 * Rules, per offer:
 * - an offer from a host in `blocked` (hosts Sluice holds in maintenance) gets nothing;
 * - a job places nothing on an offer carrying an `unavailability` that starts before
 *   now + job.unavailability_horizon_seconds (no horizon configured: any unavailability blocks);
 * - the offer's allocation role must be the job's role;
 * - resources: cpus, mem, disk (scalars, Mesos's 3-decimal precision) and `ports` host ports taken
 *   from the offer's port ranges; several instances may share one offer;
 * - host_unique: at most one instance of the job per host (counting tasks already placed);
 * - rack_spread: at most ceil(instances / known racks) instances of the job per rack.
 * Jobs take turns: the job that gets first pick rotates from offer to offer.
 * Offers that receive no launch are declined with a reason (the reducer maps reasons to filters).
 */
import type { Offer, Resource } from '../mesos/types.js';
import type { JobSpec } from './job-spec.js';
import type { JobUsage } from './state.js';

export interface PlacementRequest {
  job: string;
  spec: JobSpec;
  /** Instance indices to place, in order of preference. */
  indices: readonly number[];
  /** Hosts and racks of the job's live tasks (read-only here). */
  usage: JobUsage;
}

export interface PlaceOptions {
  /** Hosts (lower-case) where no new task may go. */
  blocked: ReadonlySet<string> | ((host: string) => boolean);
  /** Number of distinct values of a rack attribute across known agents (for rack_spread). */
  rackCount: (attribute: string) => number;
  /** Rack attribute of jobs whose constraints name none (default 'rack'). */
  rackAttribute?: string;
  /** Role of jobs without one. */
  defaultRole: string;
  nowMs: number;
}

export interface PlannedLaunch {
  job: string;
  index: number;
  /** Resources taken from the offer, carrying the offer's role/allocation info. */
  resources: Resource[];
  ports: number[];
  host: string;
  rack?: string;
}

export type DeclineReason = 'no_pending' | 'blocked_host' | 'unavailable' | 'no_fit';

export interface OfferDecision {
  offer: Offer;
  launches: PlannedLaunch[];
}

export interface PlaceResult {
  accepts: OfferDecision[];
  declines: Array<{ offer: Offer; reason: DeclineReason }>;
}

const EPS = 1e-6;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

interface ScalarEntry {
  res: Resource;
  left: number;
}
interface PortsEntry {
  res: Resource;
  /** Free ranges [begin, end], inclusive, ascending as offered. */
  ranges: Array<[number, number]>;
}

/** Mutable view of one offer's resources while instances are packed onto it. */
class OfferPool {
  cpus = 0;
  mem = 0;
  disk = 0;
  ports = 0;
  readonly cpuE: ScalarEntry[] = [];
  readonly memE: ScalarEntry[] = [];
  readonly diskE: ScalarEntry[] = [];
  readonly portE: PortsEntry[] = [];

  constructor(resources: readonly Resource[] | undefined) {
    if (!resources) return;
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i]!;
      switch (r.name) {
        case 'cpus':
          if (r.scalar) {
            this.cpus += r.scalar.value;
            this.cpuE.push({ res: r, left: r.scalar.value });
          }
          break;
        case 'mem':
          if (r.scalar) {
            this.mem += r.scalar.value;
            this.memE.push({ res: r, left: r.scalar.value });
          }
          break;
        case 'disk':
          // MOUNT/PATH disks with a `disk` source are not split; plain root disk only
          if (r.scalar && !(r as { disk?: { source?: unknown } }).disk?.source) {
            this.disk += r.scalar.value;
            this.diskE.push({ res: r, left: r.scalar.value });
          }
          break;
        case 'ports': {
          const rs = r.ranges?.range;
          if (rs && rs.length) {
            const ranges: Array<[number, number]> = [];
            for (const x of rs) {
              const b = Number(x.begin);
              const e = Number(x.end);
              if (e >= b) {
                ranges.push([b, e]);
                this.ports += e - b + 1;
              }
            }
            this.portE.push({ res: r, ranges });
          }
          break;
        }
        default:
          break;
      }
    }
  }

  fits(res: JobSpec['resources']): boolean {
    return (
      this.cpus + EPS >= res.cpus &&
      this.mem + EPS >= res.mem &&
      (!res.disk || this.disk + EPS >= res.disk) &&
      (!res.ports || this.ports >= res.ports)
    );
  }

  take(res: JobSpec['resources']): { resources: Resource[]; ports: number[] } {
    const out: Resource[] = [];
    this.cpus = round3(this.cpus - res.cpus);
    takeScalar(this.cpuE, res.cpus, 'cpus', out);
    this.mem = round3(this.mem - res.mem);
    takeScalar(this.memE, res.mem, 'mem', out);
    if (res.disk) {
      this.disk = round3(this.disk - res.disk);
      takeScalar(this.diskE, res.disk, 'disk', out);
    }
    const ports: number[] = [];
    if (res.ports) {
      this.ports -= res.ports;
      let need = res.ports;
      for (const e of this.portE) {
        if (need === 0) break;
        const got: number[] = [];
        while (need > 0 && e.ranges.length) {
          const r = e.ranges[0]!;
          got.push(r[0]);
          need--;
          if (r[0] === r[1]) e.ranges.shift();
          else r[0]++;
        }
        if (got.length) {
          ports.push(...got);
          out.push(withMeta(e.res, { name: 'ports', type: 'RANGES', ranges: { range: toRanges(got) } }));
        }
      }
    }
    return { resources: out, ports };
  }
}

function takeScalar(entries: ScalarEntry[], need: number, name: string, out: Resource[]): void {
  let left = need;
  for (let i = 0; i < entries.length && left > EPS; i++) {
    const e = entries[i]!;
    if (e.left <= EPS) continue;
    const t = round3(Math.min(e.left, left));
    e.left = round3(e.left - t);
    left = round3(left - t);
    out.push(scalarResource(e.res, name, t));
  }
}

/**
 * Scalar resources cut from unreserved offers are the same few objects over and over (`cpus` 1.0 of
 * role "*"): those are frozen and shared, so the JSON writer encodes each once (stout-writer.ts).
 */
const sharedScalars = new Map<string, Resource>();

function scalarResource(src: Resource, name: string, value: number): Resource {
  if (src['reservation'] !== undefined || src.reservations !== undefined || (src.role !== undefined && src.role !== '*')) {
    return withMeta(src, { name, type: 'SCALAR', scalar: { value } });
  }
  const ai = src.allocation_info;
  // the writer reads only AllocationInfo.role: equal roles give equal bytes
  const key = ai === undefined ? `${name}|${value}` : `${name}|${value}|${ai.role === undefined ? '' : '=' + ai.role}`;
  let r = sharedScalars.get(key);
  if (r === undefined) {
    r = { name, type: 'SCALAR', scalar: Object.freeze({ value }) };
    if (ai !== undefined) r.allocation_info = Object.freeze(ai.role === undefined ? {} : { role: ai.role });
    Object.freeze(r);
    if (sharedScalars.size >= 4096) sharedScalars.clear();
    sharedScalars.set(key, r);
  }
  return r;
}

/**
 * A resource of the same role / reservation / allocation as the offered one it is cut from. The
 * deprecated `role` is left out when it is the default "*" (same meaning, less to encode).
 */
function withMeta(src: Resource, r: Resource): Resource {
  if (src.role !== undefined && src.role !== '*') r.role = src.role;
  if (src.allocation_info !== undefined) r.allocation_info = src.allocation_info;
  if (src['reservation'] !== undefined) r['reservation'] = src['reservation'];
  if (src.reservations !== undefined) r.reservations = src.reservations;
  return r;
}

function toRanges(ports: number[]): Array<{ begin: bigint; end: bigint }> {
  const out: Array<{ begin: bigint; end: bigint }> = [];
  let b = ports[0]!;
  let e = b;
  for (let i = 1; i < ports.length; i++) {
    const p = ports[i]!;
    if (p === e + 1) e = p;
    else {
      out.push({ begin: BigInt(b), end: BigInt(e) });
      b = e = p;
    }
  }
  out.push({ begin: BigInt(b), end: BigInt(e) });
  return out;
}

/** Start of the offer's unavailability in ms, or undefined. */
export function unavailableFromMs(offer: Offer): number | undefined {
  const ns = offer.unavailability?.start?.nanoseconds;
  if (ns === undefined) return undefined;
  return typeof ns === 'bigint' ? Number(ns / 1_000_000n) : Number(ns) / 1e6;
}

/** Does an offer's unavailability forbid new instances of this job? */
export function unavailabilityBlocks(spec: JobSpec, fromMs: number | undefined, nowMs: number): boolean {
  if (fromMs === undefined) return false;
  const h = spec.unavailability_horizon_seconds;
  if (h === undefined) return true;
  return fromMs < nowMs + h * 1000;
}

export function offerAttribute(offer: Offer, name: string): string | undefined {
  const attrs = offer.attributes;
  if (!attrs) return undefined;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    if (a.name === name) {
      if (a.text) return a.text.value;
      if (a.set?.item) return a.set.item.join(',');
      if (a.scalar) return String(a.scalar.value);
    }
  }
  return undefined;
}

interface Cursor {
  req: PlacementRequest;
  next: number;
  role: string;
  maxPerHost: number;
  rackAttr: string | undefined;
  maxPerRack: number;
  addedHosts: Map<string, number> | undefined;
  addedRacks: Map<string, number> | undefined;
}

export function place(requests: readonly PlacementRequest[], offers: readonly Offer[], opts: PlaceOptions): PlaceResult {
  const accepts: OfferDecision[] = [];
  const declines: PlaceResult['declines'] = [];
  const isBlocked =
    typeof opts.blocked === 'function' ? opts.blocked : (h: string) => (opts.blocked as ReadonlySet<string>).has(h);
  const cursors = cursorsFor(requests, opts);
  const live = { n: cursors.length };
  let turn = 0;
  for (let oi = 0; oi < offers.length; oi++) {
    const offer = offers[oi]!;
    const host = offer.hostname.toLowerCase();
    if (isBlocked(host)) {
      declines.push({ offer, reason: 'blocked_host' });
      continue;
    }
    if (live.n === 0) {
      declines.push({ offer, reason: 'no_pending' });
      continue;
    }
    const r = packOffer(offer, host, cursors, turn++ % cursors.length, opts.nowMs, live);
    if (r.launches) accepts.push({ offer, launches: r.launches });
    else declines.push({ offer, reason: r.sawUnavailable ? 'unavailable' : 'no_fit' });
  }
  return { accepts, declines };
}

function cursorsFor(requests: readonly PlacementRequest[], opts: PlaceOptions): Cursor[] {
  const cursors: Cursor[] = [];
  for (const req of requests) {
    if (req.indices.length === 0) continue;
    const c = req.spec.constraints;
    const rackAttr = c?.rack_spread ? (c.rack_attribute ?? opts.rackAttribute ?? 'rack') : undefined;
    cursors.push({
      req,
      next: 0,
      role: req.spec.role ?? opts.defaultRole,
      maxPerHost: c?.host_unique ? 1 : Infinity,
      rackAttr,
      maxPerRack: rackAttr ? Math.ceil(req.spec.instances / Math.max(1, opts.rackCount(rackAttr))) : Infinity,
      addedHosts: undefined,
      addedRacks: undefined,
    });
  }
  return cursors;
}

/** One offer: each job in turn (from `start`) packs what its constraints allow. */
function packOffer(
  offer: Offer,
  host: string,
  cursors: Cursor[],
  start: number,
  nowMs: number,
  live: { n: number },
): { launches: PlannedLaunch[] | undefined; sawUnavailable: boolean } {
  const unavailFrom = unavailableFromMs(offer);
  const offerRole = offer.allocation_info?.role;
  let pool: OfferPool | undefined;
  let launches: PlannedLaunch[] | undefined;
  let sawUnavailable = false;
  // the offer's rack, looked up once per attribute name (jobs usually share one)
  let rackAttrSeen: string | undefined;
  let rackSeen = '';
  const n = cursors.length;
  for (let k = 0; k < n; k++) {
    const cur = cursors[(start + k) % n]!;
    const req = cur.req;
    if (cur.next >= req.indices.length) continue;
    if (offerRole !== undefined && offerRole !== cur.role) continue;
    if (unavailFrom !== undefined && unavailabilityBlocks(req.spec, unavailFrom, nowMs)) {
      sawUnavailable = true;
      continue;
    }
    // hosts are counted only for host_unique jobs, racks only for rack_spread ones
    const hostCount = cur.maxPerHost !== Infinity ? (req.usage.hosts.get(host) ?? 0) + (cur.addedHosts?.get(host) ?? 0) : 0;
    if (hostCount >= cur.maxPerHost) continue;
    let rack: string | undefined;
    let rackCount = 0;
    if (cur.rackAttr) {
      if (rackAttrSeen !== cur.rackAttr) {
        rackAttrSeen = cur.rackAttr;
        rackSeen = offerAttribute(offer, cur.rackAttr) ?? '';
      }
      rack = rackSeen;
      rackCount = (req.usage.racks.get(rack) ?? 0) + (cur.addedRacks?.get(rack) ?? 0);
      if (rackCount >= cur.maxPerRack) continue;
    }
    pool ??= new OfferPool(offer.resources);
    packJob(cur, pool, host, rack, hostCount, rackCount, (launches ??= []));
    if (cur.next >= req.indices.length) live.n--;
  }
  return { launches: launches?.length ? launches : undefined, sawUnavailable };
}

/** Instances of one job onto one offer, while they fit and the host/rack limits allow. */
function packJob(cur: Cursor, pool: OfferPool, host: string, rack: string | undefined, hostCount: number, rackCount: number, out: PlannedLaunch[]): void {
  const req = cur.req;
  const res = req.spec.resources;
  const perHost = cur.maxPerHost !== Infinity;
  while (cur.next < req.indices.length && hostCount < cur.maxPerHost && rackCount < cur.maxPerRack && pool.fits(res)) {
    const index = req.indices[cur.next++]!;
    const took = pool.take(res);
    const pl: PlannedLaunch = { job: req.job, index, resources: took.resources, ports: took.ports, host };
    if (cur.rackAttr) pl.rack = rack;
    out.push(pl);
    if (perHost) {
      hostCount++;
      (cur.addedHosts ??= new Map()).set(host, (cur.addedHosts.get(host) ?? 0) + 1);
    }
    if (rack !== undefined) {
      rackCount++;
      (cur.addedRacks ??= new Map()).set(rack, (cur.addedRacks.get(rack) ?? 0) + 1);
    }
  }
}
