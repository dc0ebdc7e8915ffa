/**
 * The headline HA test: three Sluice replicas (child processes, `sluice start --ha`, real
 * ZooKeeper), the simulator in this process on its real clock, a rack drain (hosts one at a time,
 * SLAs that let one task of a job go at a time) requested through whichever replica answers (a
 * standby's 307 is followed). Meanwhile the leader is killed with SIGKILL ten times, each at a
 * random point (at least half of them while the drain is under way), each kill right after the leader accepted an operator request (a future
 * window for a spare host, or its abort, in turns) that the next leader must have; a supervisor
 * keeps three replicas running, as systemd would. Then the leader is frozen (SIGSTOP) mid-drain
 * past its session timeout and woken up.
 *
 * Every replica talks to the master through its own recording proxy, so every request that reached
 * the master is attributed to the replica that sent it. Ground truth is the simulator's:
 *  - every job's SLA holds at every agent-side task transition;
 *  - no instance ever runs twice (at most one live task off the hosts in maintenance, at most two
 *    counting a make-before-break surge), and at the end each runs exactly once;
 *  - every accepted (2xx) maintenance request takes effect on the master (hosts DOWN, then UP);
 *  - a standby takes over after every kill, with the same framework ID;
 *  - the woken old leader sends nothing at all to the master and exits (75) to become a standby.
 *
 * SLUICE_TEST_SEED=<n> replays the same kill points.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { startSim, type Sim } from '../../src/sim/index.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { parseTaskId } from '../../src/scheduler/task-id.js';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { api, liveByInstance, quietLogger, realDelay } from '../e2e/workload-helpers.js';
import { SlaWatch, job } from '../e2e/maintenance-helpers.js';
import { startMasterProxy, type MasterProxy } from '../e2e/maintenance-proxy.js';
import { recordCalls, spawnReplica, waitFor, type Replica } from './replica-helpers.js';
import { prng } from '../../src/util/prng.js';

const KILLS = 10;
const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR']);

/** Seeded (src/util/prng.ts, mulberry32): the kill points of a failing run can be replayed. */
const rng = prng;

interface Slot {
  n: number;
  rep: Replica;
  proxy: MasterProxy;
  /** Every request of this replica the master answered: when, and what. */
  sent: Array<{ at: number; what: string }>;
  gone: boolean;
}

/** Per instance, at every agent-side transition: live tasks, and live tasks off the hosts in maintenance. */
class InstanceWatch {
  readonly worst: string[] = [];
  private readonly alive = new Map<string, Map<string, string>>();
  private readonly off: () => void;
  constructor(sim: Sim, fw: string, maint: ReadonlySet<string>) {
    this.off = sim.onTaskTransition((t) => {
      if (t.frameworkId !== fw) return;
      const p = parseTaskId(t.taskId);
      const key = p ? `${p.job}.${p.index}` : t.taskId;
      let m = this.alive.get(key);
      if (!m) this.alive.set(key, (m = new Map()));
      if (TERMINAL.has(t.to)) m.delete(t.taskId);
      else m.set(t.taskId, t.hostname);
      const offHosts = [...m.values()].filter((h) => !maint.has(h)).length;
      if ((m.size > 2 || offHosts > 1) && this.worst.length < 20) this.worst.push(`${key}: ${[...m].map(([id, h]) => `${id}@${h}`).join(', ')}`);
    });
  }
  stop(): void {
    this.off();
  }
}

describe('HA: kill -9 of the leader at 10 random points of a rack drain, then SIGSTOP (3 replicas, real ZooKeeper, simulator)', function () {
  this.timeout(480_000);
  let zk: ZooKeeperStandalone;
  let sim: Sim;
  const slots: Slot[] = [];
  let stopping = false;

  before(async () => {
    zk = await startZooKeeper();
    sim = await startSim({ agents: 18, racks: 3, seed: 7, taskStartupDelayMs: 300, logger: quietLogger() });
  });
  after(async () => {
    stopping = true;
    if (process.env['SLUICE_TEST_VERBOSE']) for (const s of slots) fs.writeFileSync(`/tmp/sluice-ha-replica-${s.n}.log`, s.rep.output());
    for (const s of slots) s.rep.kill();
    for (const s of slots) await s.proxy.close().catch(() => undefined);
    await sim?.close();
    await zk?.stop();
  });

  it('a standby takes over every time, the drains finish, SLAs hold at every transition, no instance runs twice, no accepted request is lost; the woken leader sends nothing', async () => {
    const seed = Number(process.env['SLUICE_TEST_SEED'] ?? Date.now() % 1_000_000);
    const random = rng(seed);
    const ctx = `(seed ${seed}; replay with SLUICE_TEST_SEED=${seed})`;
    const ha = zk.url('/sluice-drain');
    const { calls, sub } = recordCalls(sim);
    const t00 = Date.now();
    const note = (m: string) => {
      if (process.env['SLUICE_TEST_VERBOSE']) console.log(`${((Date.now() - t00) / 1000).toFixed(1).padStart(6)}s ${m}`);
    };

    // ---- replicas, each behind its own recording proxy; a supervisor keeps three running
    let spawned = 0;
    const spawn = async (): Promise<Slot> => {
      const proxy = await startMasterProxy(sim.url);
      const sent: Slot['sent'] = [];
      proxy.onAnswer = (req) => void sent.push({ at: Date.now(), what: `${req.method} ${req.path.split('?')[0]}` });
      const rep = await spawnReplica(proxy.url, ha, { sessionTimeout: '3s' });
      const slot: Slot = { n: ++spawned, rep, proxy, sent, gone: false };
      slots.push(slot);
      void rep.exited.then(() => {
        slot.gone = true;
        if (!stopping && slots.filter((s) => !s.gone).length < 3) void spawn();
      });
      return slot;
    };
    const live = () => slots.filter((s) => !s.gone);
    // a frozen replica never answers: every status read gives up after a second
    const statusOf = async (s: Slot) => {
      try {
        const res = await fetch(`${s.rep.url}/api/v1/status`, { signal: AbortSignal.timeout(1_000) });
        return (await res.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      } catch {
        return undefined;
      }
    };
    /** The replica that leads and is subscribed to the master. */
    const findLeader = async (): Promise<Slot | undefined> => {
      for (const s of live()) {
        const b = await statusOf(s);
        if (b?.ha?.role === 'leader' && b.connection?.state === 'subscribed') return s;
      }
      return undefined;
    };
    const awaitLeader = async (what: string, ms = 30_000): Promise<Slot> => {
      let l: Slot | undefined;
      try {
        await waitFor(what, async () => (l = await findLeader()) !== undefined, ms, 200);
      } catch (e) {
        const dump: string[] = [];
        if (process.env['SLUICE_TEST_VERBOSE']) for (const s of slots) fs.writeFileSync(`/tmp/sluice-ha-replica-${s.n}.log`, s.rep.output());
        for (const s of slots) dump.push(`--- replica ${s.n} (${s.gone ? `exited ${s.rep.proc.exitCode ?? s.rep.proc.signalCode}` : JSON.stringify((await statusOf(s))?.ha)}):\n${s.rep
              .output()
              .split('\n')
              .filter((l) => !/"event":"(task_|host_transition|inverse_offer|offers_|launch)/.test(l))
              .slice(-25)
              .map((l) => l.slice(0, 300))
              .join('\n')}`);
        const zkLog = fs.existsSync(zk.server.logFile) ? fs.readFileSync(zk.server.logFile, 'utf8').split('\n').filter((l) => /fsync|WARN/.test(l)).slice(-10) : [];
        throw new Error(`${(e as Error).message}\n${dump.join('\n')}\n--- ZooKeeper warnings:\n${zkLog.join('\n')}`);
      }
      return l!;
    };

    for (let i = 0; i < 3; i++) await spawn();
    let leader = await awaitLeader('a first leader');

    // ---- workload: tight SLAs make each drain go one task at a time
    const JOBS: JobSpec[] = [
      job('web', 6, { sla: { kind: 'count', count: 5, duration_seconds: 16 }, constraints: { host_unique: true }, kill_grace_period_seconds: 1 }),
      job('api', 6, { sla: { kind: 'percentage', percentage: 80, duration_seconds: 16 }, constraints: { host_unique: true }, kill_grace_period_seconds: 1 }),
      job('db', 4, { sla: { kind: 'percentage', percentage: 75, duration_seconds: 16 }, constraints: { host_unique: true }, kill_grace_period_seconds: 1 }),
      job('batch', 10, { resources: { cpus: 0.25, mem: 64, ports: 1 }, kill_grace_period_seconds: 1 }),
    ];
    for (const j of JOBS) expect((await api(leader.rep.url, 'POST', '/api/v1/jobs', j)).status).to.equal(201);
    const fw = (await statusOf(leader)).framework_id as string;
    await waitFor('every job RUNNING', async () => {
      const live = liveByInstance(sim, fw);
      return JOBS.every((j) => Array.from({ length: j.instances }, (_, i) => live.get(`${j.name}.${i}`) ?? []).every((ids) => ids.length === 1 && sim.groundTruth().find((t) => t.taskId === ids[0])?.state === 'TASK_RUNNING'));
    }, 60_000);
    await realDelay(16_200); // every task older than its SLA duration (long enough that most kills land mid-drain)

    const maint = new Set<string>();
    const sla = new SlaWatch(sim, fw, JOBS);
    const inst = new InstanceWatch(sim, fw, maint);

    // ---- the operator: requests through any replica (a standby's 307 is followed); a request
    // whose answer was lost (its replica died) is sent again, and then 409 "already" is fine
    const accepted: string[] = [];
    const request = async (verb: 'start' | 'abort', hosts: string[], window?: { start: string; duration: string }): Promise<void> => {
      const body = verb === 'start' ? { hosts, max_parallel: 1, ...(window ? { window } : {}) } : { hosts };
      let retried = false;
      await waitFor(`maintenance ${verb} ${hosts.join(',')} accepted ${ctx}`, async () => {
        const all = live();
        const s = all[Math.floor(random() * all.length)];
        if (!s) return false;
        try {
          const res = await fetch(`${s.rep.url}/api/v1/hosts/maintenance/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
          const text = await res.text();
          if (res.status >= 200 && res.status < 300) {
            note(`accepted: ${verb} ${hosts.join(',')} (via replica ${s.n})`);
            accepted.push(`${verb} ${hosts.join(',')}`);
            return true;
          }
          if (res.status === 409 && retried) return true; // took effect before its answer was lost
          if (res.status === 503 || res.status === 502) return false; // no leader (yet)
          throw new Error(`maintenance ${verb}: ${res.status} ${text}`);
        } catch (e) {
          if ((e as Error).message.startsWith('maintenance')) throw e;
          retried = true; // connection lost: outcome unknown
          return false;
        }
      }, 60_000, 250);
    };
    const masterStatus = async () => (await (await fetch(`${sim.url}/master/maintenance/status`)).json()) as { down_machines?: Array<{ hostname: string }>; draining_machines?: Array<{ id: { hostname: string } }> };
    /** A host outside the first racks drained, given a future window and aborted, in turns. */
    const spare = sim.agents().find((a) => a.rack === 'rack-3')!.hostname;
    const racks = ['rack-1', 'rack-2', 'rack-3'].map((r) => sim.agents().filter((a) => a.rack === r).map((a) => a.hostname));
    for (const r of racks) expect(r).to.have.length(6);
    let draining = false;
    let drains = 0;
    // one rack drain (hosts one at a time); its agents do not come back after maintenance (as on a
    // real cluster, an agent DOWN is shut down), so a second rack would leave too few hosts
    const operator = async (): Promise<void> => {
      const rack = racks[0]!;
      for (const h of rack) maint.add(h);
      draining = true;
      await request('start', rack);
      await waitFor(`rack ${rack.join(',')} DOWN on the master ${ctx}`, async () => {
        const down = new Set((await masterStatus()).down_machines?.map((m) => m.hostname));
        return rack.every((h) => down.has(h));
      }, 300_000, 250).catch(async (e: unknown) => {
        const l = await findLeader();
        const hosts = l ? (await api(l.rep.url, 'GET', '/api/v1/hosts')).body : 'no leader';
        throw new Error(`${(e as Error).message}\nleader ${l?.n}: ${JSON.stringify(hosts).slice(0, 3000)}\nmaster: ${JSON.stringify(await masterStatus()).slice(0, 2000)}`);
      });
      draining = false;
      drains++;
      note(`rack ${rack.join(',')} DOWN`);
    };
    const op = operator();
    let opFailed: unknown;
    op.catch((e: unknown) => (opFailed = e));

    // ---- the killer: 10 × SIGKILL of the leader at a random point of a drain; then a freeze
    const killed: Array<{ n: number; pid: number; midDrain: boolean }> = [];
    const failoverMs: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      if (opFailed) throw opFailed;
      await realDelay(200 + random() * 2300);
      leader = await awaitLeader(`a leader before kill ${k + 1} ${ctx}`);
      // an operator request answered right before the kill: a future window for `spare`, or its abort
      const verb = k % 2 === 0 ? 'start' : 'abort';
      await request(verb, [spare], verb === 'start' ? { start: '+6h', duration: '1h' } : undefined);
      const midDrain = draining;
      const t0 = Date.now();
      leader.rep.proc.kill('SIGKILL');
      killed.push({ n: leader.n, pid: leader.rep.proc.pid!, midDrain });
      await leader.rep.exited;
      const next = await awaitLeader(`a standby takes over after kill ${k + 1} ${ctx}`);
      failoverMs.push(Date.now() - t0);
      note(`kill ${k + 1}: replica ${leader.n} killed ${midDrain ? 'mid-drain' : 'after the drain'}; replica ${next.n} leads after ${Date.now() - t0} ms`);
      expect(next.n, `kill ${k + 1}: a different replica leads`).to.not.equal(leader.n);
      // the request the dead leader had accepted is there under the new one
      const spareNow = ((await api(next.rep.url, 'GET', '/api/v1/hosts')).body.hosts as Array<{ hostname: string; state: string }>).find((h) => h.hostname === spare);
      expect(spareNow?.state ?? 'UP', `kill ${k + 1}: the ${verb} of ${spare} accepted by the killed leader ${ctx}`).to.equal(verb === 'start' ? 'SCHEDULED' : 'UP');
      leader = next;
    }

    // SIGSTOP of the leader (mid-drain if it still runs), past its session timeout; a standby takes over; SIGCONT
    if (opFailed) throw opFailed;
    await realDelay(200 + random() * 1500);
    const frozen = await awaitLeader('a leader to freeze');
    const frozenStream = (await statusOf(frozen))?.connection?.stream_id as string;
    const frozenMidDrain = draining;
    frozen.rep.proc.kill('SIGSTOP');
    const successor = await awaitLeader('a standby takes over from the frozen leader', 30_000);
    expect(successor.n).to.not.equal(frozen.n);
    await realDelay(500);
    const contAt = Date.now();
    frozen.rep.proc.kill('SIGCONT');
    const code = await frozen.rep.exited;
    note(`freeze: replica ${frozen.n} frozen ${frozenMidDrain ? 'mid-drain' : 'after the drain'}, replica ${successor.n} took over; woken, it exited ${code}`);
    expect(code, frozen.rep.output().slice(-2000)).to.equal(75);
    await op;
    if (opFailed) throw opFailed;
    // nothing at all from the woken leader reached the master; nothing on its old stream either
    expect(frozen.sent.filter((c) => c.at >= contAt), `requests of the woken leader ${ctx}`).to.deep.equal([]);
    expect(calls.filter((c) => c.at >= contAt && c.streamId === frozenStream)).to.deep.equal([]);
    expect(frozen.sent.length, 'the frozen leader had talked to the master before').to.be.greaterThan(0);

    // the last request (abort) holds on the master too: no window of `spare` left in its schedule
    await waitFor(`${spare} out of the master's schedule`, async () => {
      const sched = (await (await fetch(`${sim.url}/master/maintenance/schedule`)).json()) as { windows?: Array<{ machine_ids: Array<{ hostname?: string }> }> };
      return !(sched.windows ?? []).some((w) => w.machine_ids.some((m) => m.hostname === spare));
    }, 30_000, 250);

    // ---- ground truth
    await waitFor('every instance RUNNING once, off the hosts in maintenance', () => {
      const lv = liveByInstance(sim, fw);
      return JOBS.every((j) =>
        Array.from({ length: j.instances }, (_, i) => lv.get(`${j.name}.${i}`) ?? []).every((ids) => {
          const t = ids.length === 1 ? sim.groundTruth().find((x) => x.taskId === ids[0]) : undefined;
          return t?.state === 'TASK_RUNNING' && !maint.has(t.hostname);
        }),
      );
    }, 60_000);
    sla.stop();
    inst.stop();
    sub.unsubscribe();
    if (process.env['SLUICE_TEST_VERBOSE']) console.log({ seed, killed, failoverMs, drains, accepted, samples: sla.samples, minMargin: [...sla.minMargin] });
    expect(killed).to.have.length(KILLS);
    expect(killed.filter((k) => k.midDrain).length, `kills in the middle of the drain ${ctx}`).to.be.at.least(KILLS / 2);
    expect(sla.violations, `${sla.violations.join('\n')} ${ctx}`).to.deep.equal([]);
    expect(inst.worst, `${inst.worst.join('\n')} ${ctx}`).to.deep.equal([]);
    expect(liveByInstance(sim, fw).size).to.equal(JOBS.reduce((n, j) => n + j.instances, 0));
    // one framework throughout: every SUBSCRIBE (one per leader term) carried the same ID
    const subs = calls.filter((c) => c.type === 'SUBSCRIBE');
    expect(subs.length).to.be.at.least(KILLS + 2);
    expect(frozenMidDrain || killed.some((k) => k.midDrain)).to.equal(true);
    for (const s of subs.slice(1)) expect(s.frameworkId).to.equal(fw);
  });
});
