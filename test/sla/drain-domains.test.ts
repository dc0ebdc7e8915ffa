/**
 * The rack-aware budget through the real drain planner and drain simulator: a rack of a replicated
 * store (every instance required, one rack may be lost) drains in one step; without the option it
 * waits for make-before-break; a second rack waits until the first rack's instances are back up.
 */
import { expect } from 'chai';
import { startMaintenance, type InventoryHost } from '../../src/maintenance/core/host-state.js';
import { simulateDrain, type SimHost } from '../../src/maintenance/core/simulate.js';
import type { JobView } from '../../src/maintenance/core/drainer.js';
import type { SlaInstance } from '../../src/sla/index.js';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const RACKS = 4;
const hosts: SimHost[] = Array.from({ length: 16 }, (_, i) => ({ hostname: `h${i}`, rack: `r${i % RACKS}`, cpus: 8, mem: 8192 }));
const inventory: InventoryHost[] = hosts.map((h, i) => ({ hostname: h.hostname, ip: `10.0.0.${i}`, agent_id: `S${i}`, rack: h.rack! }));
const inRack = (r: string) => hosts.filter((h) => h.rack === r).map((h) => h.hostname);

function store(domains: boolean): { jobs: JobView[]; rows: SlaInstance[] } {
  const job: JobView = { name: 'store', instances: 8, resources: { cpus: 1, mem: 256 }, sla: { kind: 'count', count: 8, duration_seconds: 300 } };
  if (domains) job.sla = { kind: 'count', count: 8, duration_seconds: 300, max_unavailable_domains: 1, domain: 'rack' };
  const rows: SlaInstance[] = Array.from({ length: 8 }, (_, i) => {
    const h = hosts[i]!;
    return { job: 'store', index: i, task_id: `store-${i}`, agent_id: `S${i}`, hostname: h.hostname, domain: h.rack!, state: 'TASK_RUNNING', running_since_ms: T0 - 3_600_000 };
  });
  return { jobs: [job], rows };
}

function drain(domains: boolean, drained: string[]) {
  const { jobs, rows } = store(domains);
  return simulateDrain({
    hosts,
    jobs,
    rows,
    records: startMaintenance(new Map(), { hosts: drained, group_by: 'rack' }, inventory, T0, 'req').records,
    drain: drained,
    start_ms: T0,
    startup_ms: 20_000,
    kill_ms: 5_000,
    check_all_jobs: true,
    check_inverse_offers: true,
  });
}

describe('rack-aware budget in the drain planner', () => {
  it('a whole rack of a store that tolerates one rack drains in one step; by the count alone it waits for replacements', () => {
    const rack = inRack('r0');
    const with1 = drain(true, rack);
    expect(with1.violations).to.deep.equal([]);
    expect(with1.surges).to.equal(0);
    expect(with1.kills).to.equal(2);
    expect(with1.makespan_ms).to.equal(5_000);
    const without = drain(false, rack);
    expect(without.violations).to.deep.equal([]);
    expect(without.surges).to.equal(2);
    expect(without.makespan_ms).to.be.at.least(20_000 + 300_000);
  });

  it('two racks at once: one rack goes in one step, the other only by make-before-break (never two racks down)', () => {
    const res = drain(true, [...inRack('r0'), ...inRack('r1')]);
    expect(res.violations).to.deep.equal([]);
    expect(res.unfinished).to.deep.equal([]);
    const doneAt = (r: string) => Math.max(...inRack(r).map((h) => res.drained_at.get(h)!));
    const [first, second] = [Math.min(doneAt('r0'), doneAt('r1')), Math.max(doneAt('r0'), doneAt('r1'))];
    expect(first - T0).to.equal(5_000);
    expect(res.surges).to.equal(2);
    // the other rack's instances go once their replacements (started at 0, running at 20 s) are up for 300 s
    expect(second - T0).to.be.at.least(20_000 + 300_000);
  });
});
