/**
 * Property-style tests: random clusters, jobs, SLAs and drains, run in the drain simulator with
 * the real planner. The simulator checks ground truth from the rows at every step — including that
 * no voluntary kill of a running task, young or not, leaves its job below its SLA. A quarter of the
 * jobs are freshly deployed (every instance younger than the SLA duration), and other jobs have
 * young instances here and there.
 */
import { expect } from 'chai';
import { simulateDrain } from '../../src/maintenance/core/simulate.js';
import { requiredUp } from '../../src/sla/index.js';
import { generate } from './gen.js';

describe('property: random drains never break an SLA', function () {
  this.timeout(120_000);

  it('200 random clusters, jobs, SLAs and drains: no SLA broken at any step, no inverse offer accepted with tasks left', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const g = generate(seed);
      const res = simulateDrain(g.sc);
      expect(res.violations, g.describe).to.deep.equal([]);
    }
  });

  it('with room for every replacement, every drain finishes and every instance runs elsewhere', () => {
    for (let seed = 1001; seed <= 1100; seed++) {
      const g = generate(seed, { ample: true });
      // Liveness needs a way out for each job: budget, or make-before-break (capacity is ample).
      const mbb = g.sc.drain_options?.make_before_break !== false;
      const room = g.sc.hosts.length - g.drained.length;
      const stuck = g.sc.jobs.some((j) => {
        if (j.host_unique && j.instances > room) return true; // cannot all run elsewhere
        if (mbb || !j.sla) return false;
        return requiredUp(j) >= j.instances;
      });
      const res = simulateDrain(g.sc);
      expect(res.violations, g.describe).to.deep.equal([]);
      if (stuck) continue;
      expect(res.unfinished, g.describe).to.deep.equal([]);
      expect(res.makespan_ms, g.describe).to.be.lessThan(Infinity);
      const drained = new Set(g.drained);
      for (const j of g.sc.jobs) {
        for (let i = 0; i < j.instances; i++) {
          const live = res.rows.filter((r) => r.job === j.name && r.index === i && r.state === 'TASK_RUNNING');
          expect(live.length, `${g.describe}: ${j.name}[${i}] running`).to.be.greaterThan(0);
          for (const r of live) expect(drained.has(r.hostname!), `${g.describe}: ${j.name}[${i}] on ${r.hostname}`).to.equal(false);
        }
      }
      for (const h of g.drained) expect(res.records.get(h)!.state, `${g.describe}: ${h}`).to.equal('DRAINED');
    }
  });

  it('--force after the timeout empties every host (SLA knowingly overridden)', () => {
    for (let seed = 2001; seed <= 2040; seed++) {
      const g = generate(seed, { force: true });
      const res = simulateDrain(g.sc);
      expect(res.unfinished, g.describe).to.deep.equal([]);
      const timeout = g.sc.records[0]!.options.timeout_ms!;
      // each host is empty by its timeout + kill time, however far its SLA budgets are from allowing it
      for (const [k, at] of res.drained_at) {
        const rec = res.records.get(k)!;
        const capSteps = g.sc.drain_options?.max_kills !== undefined ? 1000 : 0; // a kill cap spreads kills over 1 ms steps
        expect(at - rec.drain_started_ms!, `${g.describe}: ${k}`).to.be.at.most(timeout + g.sc.kill_ms + capSteps);
      }
    }
  });
});
