/** Builders for maintenance tests: hosts, records, jobs and task rows. */
import type { HostRecord, InventoryHost } from '../../src/maintenance/core/host-state.js';
import { startMaintenance } from '../../src/maintenance/core/host-state.js';
import type { SlaInstance } from '../../src/maintenance/core/sla.js';
import type { JobView } from '../../src/maintenance/core/drainer.js';
import type { SimHost } from '../../src/maintenance/core/simulate.js';

export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
export const MIN = 60_000;
export const HOUR = 3_600_000;

export function inventory(n: number, racks = 1): InventoryHost[] {
  return Array.from({ length: n }, (_, i) => ({
    hostname: `h${i}`,
    ip: `10.0.${i >> 8}.${i & 255}`,
    agent_id: `S${i}`,
    rack: `r${i % racks}`,
  }));
}

export function hostMap(records: Iterable<HostRecord>): Map<string, HostRecord> {
  const m = new Map<string, HostRecord>();
  for (const r of records) m.set(r.hostname.toLowerCase(), r);
  return m;
}

/** Records for `hosts` as one start request at `now` (window now). */
export function draining(hosts: string[], inv: InventoryHost[], now = T0, extra: Parameters<typeof startMaintenance>[1] extends infer R ? Partial<R> : never = {}): HostRecord[] {
  return startMaintenance(new Map(), { hosts, ...extra }, inv, now, 'req-1').records;
}

/** Rows of a job whose instances run (up since long ago) on the given hosts, round robin. */
export function runningRows(job: string, instances: number, hosts: string[], since = T0 - 10 * HOUR): SlaInstance[] {
  return Array.from({ length: instances }, (_, i) => {
    const h = hosts[i % hosts.length]!;
    return { job, index: i, task_id: `${job}-${i}`, agent_id: `A-${h}`, hostname: h, state: 'TASK_RUNNING' as const, running_since_ms: since };
  });
}

export function pct(name: string, instances: number, percentage: number, duration_seconds: number, resources = { cpus: 1, mem: 128 }): JobView {
  return { name, instances, sla: { kind: 'percentage', percentage, duration_seconds }, resources };
}

export function count(name: string, instances: number, c: number, duration_seconds: number, resources = { cpus: 1, mem: 128 }): JobView {
  return { name, instances, sla: { kind: 'count', count: c, duration_seconds }, resources };
}

export function simHosts(n: number, racks: number, cpus = 16, mem = 64 * 1024): SimHost[] {
  return Array.from({ length: n }, (_, i) => ({ hostname: `h${i}`, rack: `r${i % racks}`, cpus, mem }));
}
