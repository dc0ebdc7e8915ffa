/**
 * Property tests of the pure SLA core: random jobs (percentage/count, failure domains, health
 * checks, coordinators) over random racks, driven through random sequences of drain and
 * rolling-update decisions (`decideKills`), failures, health flaps, kill completions and relaunches.
 *
 * Ground truth is an oracle written here from the rows, independently of src/sla: an instance is up
 * iff it has a row RUNNING with no kill requested, for the duration, healthy where checked; the job
 * meets its SLA iff up ≥ required, or (domain rule) the instances not up touch ≤ N domains and one
 * is up. Checked at every decision:
 * - safety: a job that met its SLA still meets it after the kills decided; a job below it loses no
 *   instance that was serving alone (only free kills); a coordinator job loses nothing serving the
 *   coordinator did not say yes to;
 * Drains now and then order a make-before-break replacement (a surge row elsewhere) for a refused
 * candidate, so instances with two live rows in two domains occur.
 * - liveness: without failures and with room elsewhere, every drain (and the update running beside
 *   it) ends whenever the job can move at all (n − required ≥ 1, or a domain rule and n ≥ 2).
 */
import { expect } from 'chai';
import { decideKills, requiredFor, type AnySlaJob, type AnySlaPolicy, type SlaInstance } from '../../src/sla/index.js';
import { prng } from '../../src/util/prng.js';

type Row = SlaInstance & { version: number; start_at?: number };

interface World {
  job: AnySlaJob;
  rows: Row[];
  hosts: Array<{ name: string; rack: string }>;
  draining: Set<string>;
  target: number;
  now: number;
  seq: number;
  desc: string;
}

const KILL_MS = 5_000;
const START_MS = 20_000;

function oracle(w: World): { up: number; meets: boolean; upIdx: Set<number> } {
  const sla = w.job.sla;
  const D = sla && sla.kind !== 'coordinator' ? sla.duration_seconds * 1000 : 0;
  const n = w.job.instances;
  const upIdx = new Set<number>();
  for (const r of w.rows) {
    const healthy = !r.has_health_check || r.healthy === true;
    if (r.state === 'TASK_RUNNING' && r.kill_requested_ms === undefined && r.running_since_ms! + D <= w.now && healthy && r.index < n) upIdx.add(r.index);
  }
  const up = upIdx.size;
  const required = requiredFor(n, sla);
  if (up >= required) return { up, meets: true, upIdx };
  if (!sla || sla.kind === 'coordinator' || sla.max_unavailable_domains === undefined) return { up, meets: false, upIdx };
  const doms = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (upIdx.has(i)) continue;
    // charged where it was lost; else where it has live rows; else a domain of its own
    const mine = w.rows.filter((r) => r.index === i);
    const lost = mine.filter((r) => r.lost_domain !== undefined);
    const live = mine.filter((r) => r.state !== 'PENDING');
    if (lost.length) for (const r of lost) doms.add(r.lost_domain!);
    else if (live.length) for (const r of live) doms.add(r.domain ?? `?${i}`);
    else doms.add(`?${i}`);
  }
  return { up, meets: doms.size <= sla.max_unavailable_domains && up >= 1, upIdx };
}

function makeWorld(seed: number, calm: boolean): World {
  const rnd = prng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const racks = 2 + Math.floor(rnd() * 3);
  const hosts = Array.from({ length: 6 + Math.floor(rnd() * 10) }, (_, i) => ({ name: `h${i}`, rack: `r${i % racks}` }));
  const n = 1 + Math.floor(rnd() * 12);
  const duration_seconds = pick([0, 30, 120, 600]);
  let sla: AnySlaPolicy | undefined;
  const k = rnd();
  if (k < 0.45) sla = { kind: 'percentage', percentage: pick([50, 66, 80, 90, 95, 100]), duration_seconds };
  else if (k < 0.85) sla = { kind: 'count', count: Math.floor(rnd() * (n + 1)), duration_seconds };
  else if (k < 0.93) sla = { kind: 'coordinator', url: 'http://c/', timeout_seconds: 1 };
  if (sla && sla.kind !== 'coordinator') {
    if (rnd() < 0.45) {
      sla.max_unavailable_domains = 1 + Math.floor(rnd() * 2);
      sla.domain = 'rack';
    }
    if (rnd() < 0.1) sla.coordinator = { url: 'http://c/', timeout_seconds: 1 };
  }
  const job: AnySlaJob = sla ? { name: 'j', instances: n, sla } : { name: 'j', instances: n };
  const hc = rnd() < 0.5;
  const now = 1_000_000_000;
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const h = pick(hosts);
    const r: Row = { job: 'j', index: i, task_id: `t${i}`, hostname: h.name, domain: h.rack, state: 'TASK_RUNNING', running_since_ms: now - Math.floor(rnd() * 1200_000), version: 1 };
    if (hc) {
      r.has_health_check = true;
      r.healthy = calm || rnd() < 0.85;
    }
    if (!calm && rnd() < 0.08) r.state = 'TASK_STAGING';
    if (!calm && rnd() < 0.05) r.state = 'TASK_UNREACHABLE';
    if (r.state !== 'TASK_RUNNING') delete r.running_since_ms;
    rows.push(r);
  }
  // drain 1–3 hosts, sometimes a whole rack
  const draining = new Set<string>();
  if (rnd() < 0.4) for (const h of hosts) if (h.rack === 'r0') draining.add(h.name);
  else for (let d = 1 + Math.floor(rnd() * 3); d > 0; d--) draining.add(pick(hosts).name);
  if (draining.size === hosts.length) draining.delete(hosts[0]!.name);
  const target = rnd() < 0.5 ? 2 : 1; // a rolling update to v2 half the time
  const desc = `seed ${seed}: ${JSON.stringify(job)} hc=${hc} hosts=${hosts.length}/${racks} racks draining=${[...draining].join(',')} update=${target > 1}`;
  return { job, rows, hosts, draining, target, now, seq: 0, desc };
}

/** Involuntary progress over one tick: kills complete, instances relaunch and start, failures, flaps. */
function tick(w: World, rnd: () => number, dt: number, calm: boolean): void {
  w.now += dt;
  const next: Row[] = [];
  for (const r of w.rows) {
    if (r.kill_requested_ms !== undefined && w.now >= r.kill_requested_ms + KILL_MS) {
      const others = w.rows.some((o) => o !== r && o.index === r.index && o.kill_requested_ms === undefined);
      if (!others) {
        const p: Row = { job: 'j', index: r.index, state: 'PENDING', version: w.target, launch_cause: r.kill_cause === 'update' ? 'update' : 'drain' };
        if (r.domain !== undefined && rnd() < 0.7) p.lost_domain = r.domain; // row builders may not know it
        next.push(p);
      }
      continue;
    }
    if (r.state === 'TASK_UNREACHABLE' && rnd() < 0.2) {
      next.push({ job: 'j', index: r.index, state: 'PENDING', version: w.target, launch_cause: 'failure', ...(r.domain !== undefined ? { lost_domain: r.domain } : {}) });
      continue;
    }
    next.push(r);
  }
  w.rows = next;
  const free = w.hosts.filter((h) => !w.draining.has(h.name));
  const hc = w.rows.some((r) => r.has_health_check);
  for (const r of w.rows) {
    if (r.state === 'PENDING') {
      const h = free[Math.floor(rnd() * free.length)]!;
      r.state = 'TASK_STAGING';
      r.task_id = `t${r.index}-${++w.seq}`;
      r.hostname = h.name;
      r.domain = h.rack;
      r.start_at = w.now + START_MS;
      if (hc) r.has_health_check = true;
    } else if (r.state === 'TASK_STAGING' && (r.start_at ?? w.now) <= w.now) {
      r.state = 'TASK_RUNNING';
      if (rnd() < 0.3) delete r.lost_domain; // builders clear it once up (sometimes earlier: stricter)
      r.running_since_ms = w.now;
      if (r.has_health_check) r.healthy = calm || rnd() < 0.8;
    } else if (!calm && r.state === 'TASK_RUNNING' && r.kill_requested_ms === undefined) {
      if (r.has_health_check && rnd() < 0.05) r.healthy = !r.healthy;
      if (rnd() < 0.01) {
        r.state = 'TASK_UNREACHABLE';
        delete r.running_since_ms;
      }
    }
  }
}

/** One voluntary decision (drain or update), checked against the oracle; returns kills made. */
function decide(w: World, rnd: () => number, cause: 'drain' | 'update', approved: Set<string>): number {
  const cands =
    cause === 'drain'
      ? w.rows.filter((r) => r.hostname !== undefined && w.draining.has(r.hostname) && r.state !== 'PENDING')
      : w.rows.filter((r) => r.version < w.target && r.state === 'TASK_RUNNING');
  if (!cands.length) return 0;
  const before = oracle(w);
  const servingAlone = (r: Row): boolean => r.state === 'TASK_RUNNING' && r.kill_requested_ms === undefined && !w.rows.some((o) => o !== r && o.index === r.index && before.upIdx.has(o.index) && o.state === 'TASK_RUNNING' && o.kill_requested_ms === undefined && oracleRowUp(w, o));
  const d = decideKills(w.job, w.rows, cands, w.now, { approved, ...(cause === 'update' ? { max: 2 } : {}) });
  const costly = d.kill.filter((r) => servingAlone(r as Row));
  for (const r of d.kill) {
    r.kill_requested_ms = w.now;
    r.kill_cause = cause;
  }
  const after = oracle(w);
  if (before.meets) expect(after.meets, `${w.desc} @${w.now}: ${cause} broke the SLA (${before.up} → ${after.up} up)`).to.equal(true);
  else expect(costly.map((r) => r.task_id), `${w.desc} @${w.now}: ${cause} killed serving instances below the SLA`).to.deep.equal([]);
  const coord = w.job.sla && (w.job.sla.kind === 'coordinator' || w.job.sla.coordinator);
  if (coord) for (const r of costly) expect(approved.has(r.task_id!), `${w.desc}: kill without the coordinator's yes`).to.equal(true);
  for (const r of d.ask) if (rnd() < 0.5) approved.add(r.task_id!);
  // make-before-break now and then: a replacement for a refused drain candidate, started elsewhere
  if (cause === 'drain' && d.refused.length && rnd() < 0.3) {
    const r = d.refused[Math.floor(rnd() * d.refused.length)]!.row;
    if (!w.rows.some((o) => o !== r && o.index === r.index)) w.rows.push({ job: 'j', index: r.index, state: 'PENDING', surge: true, launch_cause: 'drain', version: w.target });
  }
  return d.kill.length;
}

function oracleRowUp(w: World, r: Row): boolean {
  const sla = w.job.sla;
  const D = sla && sla.kind !== 'coordinator' ? sla.duration_seconds * 1000 : 0;
  return r.state === 'TASK_RUNNING' && r.kill_requested_ms === undefined && r.running_since_ms! + D <= w.now && (!r.has_health_check || r.healthy === true);
}

describe('property: the SLA core under drains, updates, failures, health and domains', function () {
  this.timeout(120_000);

  it('400 random worlds: no allowed kill ever breaks an SLA or kills a serving instance of a job below it', () => {
    let kills = 0;
    let blockedBelow = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const w = makeWorld(seed, false);
      const rnd = prng(seed * 7919);
      const approved = new Set<string>();
      for (let step = 0; step < 150; step++) {
        if (rnd() < 0.6) kills += decide(w, rnd, 'drain', approved);
        if (rnd() < 0.5) kills += decide(w, rnd, 'update', approved);
        if (!oracle(w).meets) blockedBelow++;
        tick(w, rnd, 1_000 + Math.floor(rnd() * 60_000), false);
      }
    }
    // the properties were exercised, not vacuously true
    expect(kills).to.be.greaterThan(1000);
    expect(blockedBelow).to.be.greaterThan(100);
  });

  it('without failures and with room elsewhere, every drain and the update beside it end when the job can move', () => {
    let finished = 0;
    for (let seed = 5001; seed <= 5300; seed++) {
      const w = makeWorld(seed, true);
      const rnd = prng(seed * 31);
      const n = w.job.instances;
      const sla = w.job.sla;
      const required = requiredFor(n, sla);
      const domains = sla && sla.kind !== 'coordinator' && sla.max_unavailable_domains !== undefined;
      const canMove = n - required >= 1 || (domains && n >= 2);
      const approved = new Set<string>();
      let step = 0;
      const done = (): boolean =>
        !w.rows.some((r) => r.hostname !== undefined && w.draining.has(r.hostname) && r.state !== 'PENDING') && !w.rows.some((r) => r.version < w.target);
      for (; step < 2000 && !done(); step++) {
        decide(w, rnd, 'drain', approved);
        decide(w, rnd, 'update', approved);
        // a coordinator in a calm world says yes to every question (asked above)
        tick(w, rnd, 10_000, true);
      }
      if (!canMove) continue;
      expect(done(), `${w.desc}: not finished after ${step} steps`).to.equal(true);
      // every instance runs off the drained hosts at the target version
      for (let i = 0; i < n; i++) {
        const live = w.rows.filter((r) => r.index === i && r.state !== 'PENDING');
        expect(live.every((r) => !w.draining.has(r.hostname!)), `${w.desc}: instance ${i}`).to.equal(true);
      }
      finished++;
    }
    expect(finished).to.be.greaterThan(150);
  });
});
