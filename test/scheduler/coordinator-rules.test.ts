/**
 * The coordinator rules of the one kill decision (src/sla `decideKills`) that drains and rolling
 * updates share, and the one approval book (src/sla/approvals.ts) they read: one question per job
 * over every cause, a yes about one instance holds the others, kills the count would let go for
 * free still need a yes, nothing is asked while a replacement of a voluntary kill is not serving.
 */
import { expect } from 'chai';
import { answered, coordinatorView, coordinatorWait, decideKills, EMPTY_BOOK, toAsk, type AnySlaJob, type SlaInstance } from '../../src/sla/index.js';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const COORD = { url: 'http://c/', timeout_seconds: 1 };

function rows(n: number): SlaInstance[] {
  return Array.from({ length: n }, (_, i) => ({ job: 'kafka', index: i, task_id: `kafka-${i}`, hostname: `h${i}`, state: 'TASK_RUNNING', running_since_ms: T0 - 3_600_000 }));
}

describe('coordinator rules of decideKills and the approval book', () => {
  const job: AnySlaJob = { name: 'kafka', instances: 4, sla: { kind: 'coordinator', ...COORD } };

  it('a question out about one instance (whoever asked) holds every other instance of the job', () => {
    const rs = rows(4);
    const d = decideKills(job, rs, [rs[2]!, rs[3]!], T0, { asking: new Set(['kafka-0']) });
    expect(d.kill).to.deep.equal([]);
    expect(d.ask).to.deep.equal([]);
    expect(d.refused.map((r) => r.reason)).to.deep.equal([
      "job kafka: waiting for its coordinator's answer about instance 0; one instance at a time",
      "job kafka: waiting for its coordinator's answer about instance 0; one instance at a time",
    ]);
    // the instance asked about itself stays in `ask` (its answer is awaited, not asked twice: toAsk)
    expect(decideKills(job, rs, [rs[0]!], T0, { asking: new Set(['kafka-0']) }).ask).to.deep.equal([rs[0]]);
  });

  it("another instance's unused yes holds the others; the instance with the yes is killed", () => {
    const rs = rows(4);
    const other = decideKills(job, rs, [rs[1]!], T0, { approved: new Set(['kafka-0']) });
    expect(other.kill).to.deep.equal([]);
    expect(other.refused[0]!.reason).to.equal("job kafka: its coordinator's yes to instance 0 is used first; one instance at a time");
    expect(decideKills(job, rs, [rs[0]!, rs[1]!], T0, { approved: new Set(['kafka-0']) }).kill).to.deep.equal([rs[0]]);
  });

  it('a kill the count would let go for free (beyond the job size) still needs a yes; a task not running does not', () => {
    const rs = rows(4);
    const three: AnySlaJob = { ...job, instances: 3 };
    const d = decideKills(three, rs, [rs[3]!], T0);
    expect(d.kill).to.deep.equal([]);
    expect(d.ask).to.deep.equal([rs[3]]);
    const staging = { ...rs[3]!, state: 'TASK_STAGING', running_since_ms: undefined };
    expect(decideKills(three, [...rs.slice(0, 3), staging], [staging], T0).kill).to.deep.equal([staging]);
    // a counting job without a coordinator: beyond the size is free, no question
    const counted: AnySlaJob = { name: 'kafka', instances: 3, sla: { kind: 'count', count: 3, duration_seconds: 60 } };
    expect(decideKills(counted, rs, [rs[3]!], T0).kill).to.deep.equal([rs[3]]);
  });

  it('nothing is asked while the replacement of an instance a drain or update took is not serving yet', () => {
    const rs = rows(4);
    const starting = [{ ...rs[0]!, state: 'TASK_STAGING', task_id: 'kafka-0b', running_since_ms: undefined, launch_cause: 'update' as const }, ...rs.slice(1)];
    const d = decideKills(job, starting, [starting[1]!], T0);
    expect(d.ask).to.deep.equal([]);
    expect(d.refused[0]!.reason).to.contain('every replacement serves');
    const pending = [{ job: 'kafka', index: 0, state: 'PENDING', launch_cause: 'drain' as const }, ...rs.slice(1)];
    expect(decideKills(job, pending, [pending[1]!], T0).ask).to.deep.equal([]);
    // also when the replacement comes after the row asked about in the rows' order
    const later = [...rs.slice(1), { job: 'kafka', index: 0, state: 'PENDING', launch_cause: 'update' as const }];
    expect(decideKills(job, later, [later[0]!], T0, { asking: new Set(['kafka-1']) }).ask).to.deep.equal([]);
    // once it runs, or when it was lost to a failure (not a voluntary kill), the next one is asked about
    const running = [{ ...rs[0]!, task_id: 'kafka-0b', launch_cause: 'update' as const }, ...rs.slice(1)];
    expect(decideKills(job, running, [running[1]!], T0).ask).to.deep.equal([running[1]]);
    const failed = [{ job: 'kafka', index: 0, state: 'PENDING', launch_cause: 'failure' as const }, ...rs.slice(1)];
    expect(decideKills(job, failed, [failed[1]!], T0).ask).to.deep.equal([failed[1]]);
  });

  it('the book: a question out, a no until its retry time, a yes for 30 s; the wait sentence names each', () => {
    const q = { job: 'kafka', instance: 2, host: 'h2', task_id: 'kafka-2', reason: 'drain' as const };
    const asked = toAsk(EMPTY_BOOK, [q], T0);
    expect(asked.send).to.deep.equal([q]);
    expect(toAsk(asked.book, [{ ...q, reason: 'update' }], T0 + 1000).send, 'the same task is not asked twice, whatever the cause').to.deep.equal([]);
    let v = coordinatorView(asked.book, T0 + 1000);
    expect([...v.asking]).to.deep.equal(['kafka-2']);
    expect(coordinatorWait('kafka', 2, 'kafka-2', v).reason).to.equal('job kafka: asking its coordinator about instance 2 (since 12:00:00Z)');
    const no = answered(asked.book, 'kafka-2', { allow: false, reason: 'coordinator said no: lagging' }, T0 + 2000);
    v = coordinatorView(no, T0 + 3000);
    expect(coordinatorWait('kafka', 2, 'kafka-2', v)).to.deep.equal({ reason: 'job kafka: coordinator said no to instance 2 at 12:00:02Z (coordinator said no: lagging); asking again at 12:00:17Z', until_ms: T0 + 17_000 });
    expect(coordinatorView(no, T0 + 17_000).refused.size, 'the no lapses at its retry time').to.equal(0);
    const yes = answered(no, 'kafka-2', { allow: true }, T0 + 20_000);
    expect([...coordinatorView(yes, T0 + 49_999).approved]).to.deep.equal(['kafka-2']);
    expect([...coordinatorView(yes, T0 + 50_000).approved], 'a yes expires').to.deep.equal([]);
  });
});
