/**
 * Agents as the scheduler knows them from their offers, and the cache of distinct rack values
 * (rack_spread) over known agents and tasks.
 */
import type { Offer } from '../mesos/types.js';
import { unavailableFromMs } from './placement.js';
import type { SchedulerState } from './state.js';
import type { Step } from './step.js';

/**
 * Distinct values of an agent attribute (rack_spread) over known agents and tasks. Cached per
 * attribute; new agents update the cache incrementally, a lost agent clears it.
 */
export function rackValues(s: SchedulerState, attr: string): Set<string> {
  let vals = s.rackCounts.get(attr);
  if (vals === undefined) {
    vals = new Set<string>();
    for (const a of s.agents.values()) vals.add(a.attributes[attr] ?? '');
    for (const t of s.tasks.values()) if (t.rack !== undefined) vals.add(t.rack);
    s.rackCounts.set(attr, vals);
  }
  return vals;
}
export function rackCount(s: SchedulerState, attr: string): number {
  return rackValues(s, attr).size;
}
export function agentAdded(s: SchedulerState, attributes: Record<string, string>): void {
  for (const [attr, vals] of s.rackCounts) vals.add(attributes[attr] ?? '');
}
export function invalidateRacks(s: SchedulerState): void {
  s.rackCounts.clear();
}

/**
 * Agent records from the offers (new agents, last offer time, unavailability, free room before
 * this step's launches: launchOnOffer subtracts them). Returns the batch's total cpus and mem.
 */
export function recordAgents(st: Step, offers: Offer[]): { cpus: number; mem: number } {
  const s = st.s;
  const now = st.now;
  let sumCpus = 0;
  let sumMem = 0;
  for (let i = 0; i < offers.length; i++) {
    const o = offers[i]!;
    let cpus = 0;
    let mem = 0;
    const rs = o.resources;
    if (rs) {
      for (let k = 0; k < rs.length; k++) {
        const r = rs[k]!;
        if (r.name === 'cpus') cpus += r.scalar?.value ?? 0;
        else if (r.name === 'mem') mem += r.scalar?.value ?? 0;
      }
    }
    sumCpus += cpus;
    sumMem += mem;
    const unavailableFrom = o.unavailability ? unavailableFromMs(o) : undefined;
    const id = o.agent_id.value;
    const a = s.agents.get(id);
    if (a === undefined) {
      // every field set at once: all agent records share one shape
      const attributes = agentAttributes(o);
      s.agents.set(id, { agent_id: id, host: o.hostname.toLowerCase(), attributes, last_offer_ms: now, unavailable_from_ms: unavailableFrom, free: { cpus, mem, at_ms: now } });
      agentAdded(s, attributes);
      continue;
    }
    a.last_offer_ms = now;
    a.unavailable_from_ms = unavailableFrom;
    const free = a.free;
    if (free) {
      free.cpus = cpus;
      free.mem = mem;
      free.at_ms = now;
    } else a.free = { cpus, mem, at_ms: now };
  }
  return { cpus: sumCpus, mem: sumMem };
}

/** Text, set and scalar attributes of an offer's agent, by name. */
function agentAttributes(o: Offer): Record<string, string> {
  const attributes: Record<string, string> = {};
  const ats = o.attributes;
  if (!ats) return attributes;
  for (let k = 0; k < ats.length; k++) {
    const at = ats[k]!;
    const v = at.text?.value ?? at.set?.item?.join(',') ?? (at.scalar ? String(at.scalar.value) : undefined);
    if (v !== undefined) attributes[at.name] = v;
  }
  return attributes;
}
