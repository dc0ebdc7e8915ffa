/**
 * ScheduleWriter (src/maintenance/io/schedule-writer.ts) against the real simulator over loopback HTTP:
 * concurrent edits are serialized and coalesced with none lost, an edit that is refused fails alone,
 * and an exclusive operation never overlaps a write (what reconciliation relies on), with busy /
 * changedSince telling it which hosts to leave alone.
 */
import { expect } from 'chai';
import { MaintenanceOperatorClient } from '../../src/maintenance/io/operator-client.js';
import { ScheduleWriter } from '../../src/maintenance/io/schedule-writer.js';
import { addWindow, windowOf } from '../../src/maintenance/core/schedule.js';
import { ScheduleError } from '../../src/maintenance/core/errors.js';
import type { MachineID } from '../../src/mesos/types.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';

describe('maintenance schedule writer against the simulator', function () {
  this.timeout(20_000);
  let sim: Sim;
  let clock: VirtualClock;
  const T = Date.UTC(2030, 0, 1);

  beforeEach(async () => {
    clock = new VirtualClock();
    sim = await startSim({ agents: 12, clock, seed: 9 });
  });
  afterEach(async () => {
    await sim.close();
  });
  const mid = (i: number): MachineID => ({ hostname: sim.agents()[i]!.hostname, ip: sim.agents()[i]!.ip });

  it('12 concurrent edits: every window lands, in fewer POSTs than edits; a refused edit fails alone', async () => {
    const client = new MaintenanceOperatorClient({ masters: [sim.url], clock });
    const w = new ScheduleWriter(client);
    // machine 11 already in someone else's window: the edit adding it must fail, the others not
    const other = await client.updateSchedule((s) => addWindow(s, [mid(11)], { start_ms: T + 99 }));
    expect(other.windows).to.have.length(1);
    const edits = Array.from({ length: 12 }, (_, i) => w.edit({ hosts: [`h${i}`], apply: (s) => addWindow(s, [mid(i)], { start_ms: T + i * 1000, duration_ms: 3600_000 }) }));
    const results = await Promise.allSettled(edits);
    expect(results.slice(0, 11).map((r) => r.status)).to.deep.equal(Array(11).fill('fulfilled'));
    expect(results[11]!.status).to.equal('rejected');
    expect((results[11] as PromiseRejectedResult).reason).to.be.instanceOf(ScheduleError);
    const onMaster = await client.getSchedule();
    for (let i = 0; i < 11; i++) expect(windowOf(onMaster, mid(i)), `machine ${i}`).to.deep.equal({ start_ms: T + i * 1000, duration_ms: 3600_000 });
    expect(windowOf(onMaster, mid(11))).to.deep.equal({ start_ms: T + 99 });
    expect(w.posts, 'coalesced').to.be.within(1, 11);
  });

  it('an exclusive operation runs between writes, never during one; busy and changedSince follow the queue', async () => {
    const w = new ScheduleWriter(new MaintenanceOperatorClient({ masters: [sim.url], clock }));
    const g0 = w.generation;
    const first = w.edit({ hosts: ['a'], apply: (s) => addWindow(s, [mid(0)], { start_ms: T }) });
    expect(w.busy('a')).to.equal(true);
    const seen: Array<{ busyA: boolean; busyB: boolean; gen: number }> = [];
    const ex = w.exclusive([], async () => {
      seen.push({ busyA: w.busy('a'), busyB: w.busy('b'), gen: w.generation });
      return w.generation;
    });
    const second = w.edit({ hosts: ['b'], apply: (s) => addWindow(s, [mid(1)], { start_ms: T }) });
    await Promise.all([first, ex, second]);
    // the exclusive ran after a's write completed and before b's started
    expect(seen).to.deep.equal([{ busyA: false, busyB: true, gen: g0 + 1 }]);
    const readGen = await ex;
    expect(w.changedSince('a', readGen)).to.equal(false);
    expect(w.changedSince('b', readGen)).to.equal(true);
    expect(w.busy('a') || w.busy('b')).to.equal(false);
  });
});
