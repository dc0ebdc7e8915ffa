/** One budget per job: health, failure domains, kills of every cause, coordinator gating, explanations. */
import { expect } from 'chai';
import {
  EMPTY_BOOK,
  JobKillLedger,
  answered,
  approvedTasks,
  coordinatorQuestion,
  decideKills,
  pruneBook,
  toAsk,
  explainBudget,
  killDomains,
  slaStatus,
  type AnySlaJob,
  type SlaInstance,
} from '../../src/sla/index.js';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const MIN = 60_000;
const HOUR = 3_600_000;

/** n instances up for an hour, instance i on host h<i> in rack r<i % racks>. */
function rows(job: string, n: number, racks: number, extra: Partial<SlaInstance> = {}): SlaInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    job,
    index: i,
    task_id: `${job}-${i}`,
    hostname: `h${i}`,
    domain: `r${i % racks}`,
    state: 'TASK_RUNNING',
    running_since_ms: T0 - HOUR,
    ...extra,
  }));
}

describe('SLA: health counts', () => {
  const job: AnySlaJob = { name: 'web', instances: 4, sla: { kind: 'count', count: 3, duration_seconds: 600 } };

  it('an instance with a health check is up only while healthy; without one, health is not asked', () => {
    const rs = rows('web', 4, 1, { has_health_check: true, healthy: true });
    expect(slaStatus(job, rs, T0).up).to.equal(4);
    rs[0]!.healthy = false;
    delete rs[1]!.healthy; // not checked yet
    const st = slaStatus(job, rs, T0);
    expect(st).to.include({ up: 2, unhealthy: 2, margin: -1, meets_sla: false, refill_needs_starts: 2 });
    expect(st.refill_at_ms).to.equal(undefined);
    const plain = rows('web', 4, 1, { healthy: false }); // no health check: `healthy` is ignored
    expect(slaStatus(job, plain, T0).up).to.equal(4);
  });

  it('a drain that RUNNING-long-enough would allow is refused while an instance is unhealthy, and allowed once it recovers', () => {
    const rs = rows('web', 4, 1, { has_health_check: true, healthy: true });
    rs[1]!.healthy = false;
    const d = decideKills(job, rs, [rs[0]!], T0);
    expect(d.kill).to.deep.equal([]);
    expect(d.refused.map((r) => r.reason)).to.deep.equal(['job web: SLA 3 up over 600s allows no more down now (3 up, 3 required)']);
    rs[1]!.healthy = true;
    expect(decideKills(job, rs, [rs[0]!], T0).kill).to.deep.equal([rs[0]]);
  });

  it('an unhealthy instance is not a free kill: below the SLA nothing serving may go', () => {
    const rs = rows('web', 4, 1, { has_health_check: true, healthy: true });
    rs[0]!.healthy = false;
    rs[1]!.healthy = false;
    const d = decideKills(job, rs, [rs[0]!, rs[2]!], T0);
    expect(d.kill).to.deep.equal([]);
    expect(d.refused.map((r) => r.cost)).to.deep.equal(['serving', 'up']);
    expect(d.refused[0]!.reason).to.equal('job web: below its SLA 3 up over 600s (2 up, 3 required): no voluntary kill until it is back');
  });

  it('explains the budget: consumers and when it refills (healthy, aging, starting)', () => {
    const rs = rows('web', 4, 1, { has_health_check: true, healthy: true });
    rs[0]!.healthy = false;
    rs[1]!.running_since_ms = T0 - 2 * MIN; // young: up at T0 + 8 min
    rs[1]!.launch_cause = 'update';
    rs[2]!.kill_requested_ms = T0 - 1000;
    rs[2]!.kill_cause = 'drain';
    const e = explainBudget(job, rs, T0);
    expect(e).to.deep.include({ up: 1, required: 3, budget: 0, margin: -2, meets_sla: false });
    expect(e.consumers).to.deep.equal({ drain: 1, update: 1, operator: 0, failure: 0, unhealthy: 1, starting: 0 });
    expect(e.down).to.deep.equal([
      { index: 0, consumer: 'unhealthy', state: 'TASK_RUNNING', hostname: 'h0', up_if_healthy_at_ms: T0 },
      { index: 1, consumer: 'update', state: 'TASK_RUNNING', hostname: 'h1', up_at_ms: T0 + 8 * MIN },
      { index: 2, consumer: 'drain', state: 'TASK_RUNNING', hostname: 'h2' },
    ]);
    // back at the SLA needs 2 more up: one ages at T0+8min, the other must turn healthy (or start)
    expect(e.refill).to.deep.equal({ needs_starts: 0, needs_healthy: 1 });
    expect(e.text).to.equal('job web: SLA 3 up over 600s: 1 up, 3 required, budget 0 (below its SLA); not up: 1 drain, 1 update, 1 unhealthy; refills once 1 instance turns healthy');
    rs[0]!.healthy = true;
    const e2 = explainBudget(job, rs, T0);
    expect(e2.refill).to.deep.equal({ at_ms: T0 + 8 * MIN, needs_starts: 0, needs_healthy: 0 });
    expect(e2.text).to.match(/refills at 12:08:00Z$/);
  });
});

describe('SLA: one budget for drains, updates and failures', () => {
  const job: AnySlaJob = { name: 'api', instances: 10, sla: { kind: 'percentage', percentage: 80, duration_seconds: 300 } };

  it('update kills in flight consume the budget a drain sees, and the other way round', () => {
    const rs = rows('api', 10, 1);
    rs[0]!.kill_requested_ms = T0;
    rs[0]!.kill_cause = 'update';
    const drain = decideKills(job, rs, [rs[5]!, rs[6]!], T0);
    expect(drain.kill).to.deep.equal([rs[5]]);
    expect(drain.refused).to.have.length(1);
    // the update's next batch after that drain kill: nothing left
    rs[5]!.kill_requested_ms = T0;
    rs[5]!.kill_cause = 'drain';
    expect(decideKills(job, rs, [rs[1]!, rs[2]!], T0, { max: 2 }).kill).to.deep.equal([]);
  });

  it('failures reduce the budget: a job that lost instances gets no voluntary kill', () => {
    const rs = rows('api', 10, 1);
    rs[0]!.state = 'TASK_UNREACHABLE';
    rs[1]!.state = 'TASK_UNREACHABLE';
    rs[2]!.state = 'PENDING';
    delete rs[2]!.running_since_ms;
    rs[2]!.launch_cause = 'failure';
    const d = decideKills(job, rs, [rs[3]!], T0);
    expect(d.kill).to.deep.equal([]);
    const e = explainBudget(job, rs, T0, d.status);
    expect(e.consumers.failure).to.equal(3);
    expect(e.refill).to.deep.equal({ needs_starts: 1, needs_healthy: 0 });
    // free kills still go: a task that is not running at all, and rows beyond the job size
    const extra: SlaInstance = { job: 'api', index: 12, task_id: 'api-12', state: 'TASK_RUNNING', running_since_ms: T0 - HOUR, hostname: 'h12' };
    const staging: SlaInstance = { ...rs[0]!, state: 'TASK_STAGING', task_id: 'api-0b' };
    expect(decideKills(job, [...rs, extra, staging], [extra, staging], T0).kill).to.deep.equal([extra, staging]);
  });

  it('a young instance of a job at its SLA may go; of a job below it, not', () => {
    const rs = rows('api', 10, 1);
    rs[9]!.running_since_ms = T0 - MIN;
    expect(decideKills(job, rs, [rs[9]!], T0).kill).to.deep.equal([rs[9]]);
    rs[8]!.running_since_ms = T0 - MIN;
    rs[7]!.state = 'TASK_STAGING';
    expect(decideKills(job, rs, [rs[9]!], T0).kill).to.deep.equal([]);
  });
});

describe('SLA: failure domains', () => {
  // 12 instances over 3 racks; the count rule alone allows 2 down at a time
  const job: AnySlaJob = { name: 'store', instances: 12, sla: { kind: 'count', count: 10, duration_seconds: 600, max_unavailable_domains: 1, domain: 'rack' } };
  const inRack = (rs: SlaInstance[], r: string) => rs.filter((x) => x.domain === r);

  it('a whole rack may go at once; a second rack only once the first is back', () => {
    const rs = rows('store', 12, 3);
    const d = decideKills(job, rs, inRack(rs, 'r0'), T0);
    expect(d.kill.map((r) => r.index)).to.deep.equal([0, 3, 6, 9]);
    for (const r of d.kill) {
      r.kill_requested_ms = T0;
      r.kill_cause = 'drain';
    }
    const st = slaStatus(job, rs, T0);
    expect(st).to.deep.include({ up: 8, margin: -2, meets_sla: true });
    expect(st.domains).to.deep.equal({ max: 1, attribute: 'rack', down: ['r0'] });
    const e = explainBudget(job, rs, T0, st);
    expect(e.down.map((x) => [x.index, x.consumer, x.domains])).to.deep.equal([
      [0, 'drain', ['r0']],
      [3, 'drain', ['r0']],
      [6, 'drain', ['r0']],
      [9, 'drain', ['r0']],
    ]);
    expect(e.text).to.equal('job store: SLA 10 up over 600s, or all of 1 rack down: 8 up, 10 required, budget 0; racks with instances not up: r0 (at most 1); not up: 4 drain; refills once 2 instances start and age');
    const second = decideKills(job, rs, inRack(rs, 'r1'), T0);
    expect(second.kill).to.deep.equal([]);
    expect(second.refused[0]!.reason).to.equal('job store: SLA 10 up over 600s, or all of 1 rack down allows no more down now (8 up, 10 required; domains with instances not up: r0)');
    // rack r0's instances relaunched in r0 and young: r1 still waits; once they are up, r1 may go
    for (const r of d.kill) {
      r.state = 'TASK_RUNNING';
      delete r.kill_requested_ms;
      r.running_since_ms = T0 + MIN;
    }
    expect(decideKills(job, rs, inRack(rs, 'r1'), T0 + 5 * MIN).kill).to.deep.equal([]);
    expect(decideKills(job, rs, inRack(rs, 'r1'), T0 + 11 * MIN).kill.map((r) => r.index)).to.deep.equal([1, 4, 7, 10]);
  });

  it('instances lost elsewhere count as domains: a failure in r2 leaves only the count rule for r0', () => {
    const rs = rows('store', 12, 3);
    rs[2]!.state = 'TASK_UNREACHABLE';
    const d = decideKills(job, rs, inRack(rs, 'r0'), T0);
    // count: 11 up, 10 required → one kill; domain rule: {r2} + r0 = 2 domains > 1
    expect(d.kill.map((r) => r.index)).to.deep.equal([0]);
    // a pending instance of unknown placement is a domain of its own
    const p = rows('store', 12, 3);
    p[2] = { job: 'store', index: 2, state: 'PENDING' };
    expect(slaStatus(job, p, T0).domains!.down).to.deep.equal(['?2']);
    // a replacement may carry where the instance was lost: it is charged there, wherever it starts
    p[2].lost_domain = 'r0';
    expect(decideKills(job, p, inRack(p, 'r0'), T0).kill.map((r) => r.index)).to.deep.equal([0, 3, 6, 9]);
    p[2] = { job: 'store', index: 2, state: 'TASK_STAGING', task_id: 'store-2b', hostname: 'h7', domain: 'r1', lost_domain: 'r0' };
    expect(slaStatus(job, p, T0).domains!.down).to.deep.equal(['r0']);
    delete p[2].lost_domain;
    expect(slaStatus(job, p, T0).domains!.down).to.deep.equal(['r1']);
  });

  it('never empties a job that is not spread; a kill is charged as the rows will be once it is requested', () => {
    const one: AnySlaJob = { name: 'z', instances: 3, sla: { kind: 'count', count: 3, duration_seconds: 60, max_unavailable_domains: 1 } };
    const rs = rows('z', 3, 1);
    const d = decideKills(one, rs, rs, T0);
    expect(d.kill.map((r) => r.index)).to.deep.equal([0, 1]);
    const surge: SlaInstance = { job: 'store', index: 0, state: 'TASK_STAGING', task_id: 's', hostname: 'h99', domain: 'r2', surge: true };
    expect(killDomains(rows('store', 12, 3)[0]!, [surge]).sort()).to.deep.equal(['r0', 'r2']);
    expect(killDomains(rows('store', 12, 3)[0]!, [{ ...surge, lost_domain: 'r1' }])).to.deep.equal(['r1']);
  });

  it('the ledger without domain facts stays conservative (one unknown domain per kill)', () => {
    const l = new JobKillLedger({ up: 12, required: 10, domains: { max: 1, down: [] } });
    expect(l.allows('up')).to.equal(true);
    l.take('up');
    l.take('up');
    expect(l.allows('up')).to.equal(false);
    expect(l.downDomains).to.deep.equal(['?kill0', '?kill1']);
    expect(l.meets).to.equal(true);
  });
});

describe('SLA: coordinator gating', () => {
  const job: AnySlaJob = { name: 'kafka', instances: 5, sla: { kind: 'count', count: 3, duration_seconds: 60, coordinator: { url: 'http://c/', timeout_seconds: 1 } } };

  it('asks about one instance at a time, kills only what it said yes to, and asks nothing while a kill is in flight', () => {
    const rs = rows('kafka', 5, 1);
    const first = decideKills(job, rs, [rs[0]!, rs[1]!], T0);
    expect(first.kill).to.deep.equal([]);
    expect(first.ask).to.deep.equal([rs[0]]);
    expect(first.refused.map((r) => r.reason)).to.deep.equal(['job kafka: the coordinator is asked about one instance at a time, once no kill is in flight and every replacement serves']);
    const yes = decideKills(job, rs, [rs[0]!, rs[1]!], T0, { approved: new Set(['kafka-0']) });
    expect(yes.kill).to.deep.equal([rs[0]]);
    expect(yes.ask).to.deep.equal([]);
    rs[0]!.kill_requested_ms = T0;
    expect(decideKills(job, rs, [rs[1]!], T0).ask).to.deep.equal([]);
  });

  it('the counting rule is checked before the coordinator is bothered; a coordinator-only job counts nothing', () => {
    const rs = rows('kafka', 5, 1);
    rs[1]!.state = 'TASK_FAILED';
    rs[2]!.state = 'TASK_FAILED';
    expect(decideKills(job, rs, [rs[0]!], T0).ask).to.deep.equal([]);
    const only: AnySlaJob = { name: 'kafka', instances: 5, sla: { kind: 'coordinator', url: 'http://c/', timeout_seconds: 1 } };
    expect(decideKills(only, rs, [rs[0]!], T0).ask).to.deep.equal([rs[0]]);
  });
});

describe('SLA: coordinator answers between plans', () => {
  const q = (id: string) => ({ job: 'kafka', instance: 0, host: 'h0', task_id: id, reason: 'drain' as const });

  it('asks once, kills on a standing yes, asks again after the yes expires, waits after a no', () => {
    let book = EMPTY_BOOK;
    const first = toAsk(book, [q('a'), q('b')], T0);
    expect(first.send.map((x) => x.task_id)).to.deep.equal(['a', 'b']);
    book = first.book;
    expect(toAsk(book, [q('a')], T0 + 1000).send, 'in flight').to.deep.equal([]);
    book = answered(book, 'a', { allow: true }, T0 + 2000);
    book = answered(book, 'b', { allow: false, reason: 'under-replicated' }, T0 + 2000);
    expect([...approvedTasks(book, T0 + 3000)]).to.deep.equal(['a']);
    expect(toAsk(book, [q('a'), q('b')], T0 + 3000).send, 'yes stands, no is recent').to.deep.equal([]);
    expect(toAsk(book, [q('b')], T0 + 2000 + 15_000).send.map((x) => x.task_id)).to.deep.equal(['b']);
    expect([...approvedTasks(book, T0 + 2000 + 30_000)]).to.deep.equal([]);
    expect(toAsk(book, [q('a')], T0 + 2000 + 30_000).send.map((x) => x.task_id)).to.deep.equal(['a']);
    // a question never answered is asked again after lost_ms
    const lost = toAsk(EMPTY_BOOK, [q('c')], T0).book;
    expect(toAsk(lost, [q('c')], T0 + 119_000).send).to.deep.equal([]);
    expect(toAsk(lost, [q('c')], T0 + 120_000).send).to.have.length(1);
    // gone tasks are forgotten
    expect([...pruneBook(book, (id) => id !== 'a', T0 + 3000).answers.keys()]).to.deep.equal(['b']);
  });

  it('feeds decideKills: a yes lets exactly that kill through', () => {
    const job: AnySlaJob = { name: 'kafka', instances: 3, sla: { kind: 'coordinator', url: 'http://c/', timeout_seconds: 1 } };
    const rs = rows('kafka', 3, 1);
    let book = EMPTY_BOOK;
    const d1 = decideKills(job, rs, rs, T0, { approved: approvedTasks(book, T0) });
    const asked = toAsk(book, d1.ask.map((r) => coordinatorQuestion(r, 'drain')!), T0);
    expect(asked.send.map((x) => x.task_id)).to.deep.equal(['kafka-0']);
    book = answered(asked.book, 'kafka-0', { allow: true }, T0 + 100);
    const d2 = decideKills(job, rs, rs, T0 + 200, { approved: approvedTasks(book, T0 + 200) });
    expect(d2.kill).to.deep.equal([rs[0]]);
    expect(d2.ask).to.deep.equal([]);
  });
});
