/**
 * HA failover time: `sluice start --ha` replicas (child processes) on a real standalone ZooKeeper
 * (test helper, loopback) and the simulator (in this process). Each run kill -9s the leader and
 * measures, on the simulator's record of received calls:
 *   - subscribed: kill → the new leader's SUBSCRIBE (same framework id) reaches the master;
 *   - acting:     kill → the first other call on the new leader's stream (its reconciliation).
 * against the ZooKeeper session timeout (goal: ≤ session timeout + 2 s). A fresh standby is started
 * after every run, so each failover goes from a leader to an already-waiting standby.
 *
 *   node dist/scripts/bench/ha-failover.js [runs=20] [sessionTimeoutSeconds=3]
 */
import { startSim } from '../../src/sim/index.js';
import { startZooKeeper } from '../../test/helpers/zookeeper.js';
import { api, quietLogger } from '../../test/e2e/workload-helpers.js';
import { job } from '../../test/e2e/maintenance-helpers.js';
import { recordCalls, role, spawnReplica, waitFor, type Replica } from '../../test/ha/replica-helpers.js';

const runs = Number(process.argv[2] ?? 20);
const sessionS = Number(process.argv[3] ?? 3);

const zk = await startZooKeeper();
const sim = await startSim({ agents: 6, racks: 3, seed: 11, taskStartupDelayMs: 50, logger: quietLogger() });
const { calls, sub } = recordCalls(sim);
const live: Replica[] = [];
const start = async () => {
  const r = await spawnReplica(sim.url, zk.url('/sluice-bench'), { sessionTimeout: `${sessionS}s`, extraArgs: ['--log-level', 'warn'] });
  live.push(r);
  return r;
};
const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

try {
  let leader = await start();
  await waitFor('first leader', async () => (await role(leader)) === 'leader', 60_000);
  const created = await api(leader.url, 'POST', '/api/v1/jobs', job('web', 3));
  if (created.status !== 201) throw new Error(`job create: ${created.status}`);
  await waitFor('web running', () => sim.groundTruth().filter((t) => t.state === 'TASK_RUNNING').length === 3, 60_000);
  const fwId = (await api(leader.url, 'GET', '/api/v1/status')).body.framework_id as string;
  let standby = await start();
  await waitFor('standby', async () => (await role(standby)) === 'standby', 60_000);

  const subscribed: number[] = [];
  const acting: number[] = [];
  for (let i = 0; i < runs; i++) {
    const subsBefore = calls.filter((c) => c.type === 'SUBSCRIBE').length;
    const killWall = Date.now();
    leader.kill();
    await leader.exited;
    await waitFor('new leader subscribed', () => calls.filter((c) => c.type === 'SUBSCRIBE').length > subsBefore, 60_000);
    const subCall = calls.filter((c) => c.type === 'SUBSCRIBE')[subsBefore]!;
    if (subCall.frameworkId !== fwId) throw new Error(`run ${i}: subscribed with ${subCall.frameworkId}, expected ${fwId}`);
    await waitFor('new leader acting', () => calls.some((c) => c.streamId === subCall.streamId && c.type !== 'SUBSCRIBE' && c.at >= subCall.at), 60_000);
    const act = calls.find((c) => c.streamId === subCall.streamId && c.type !== 'SUBSCRIBE' && c.at >= subCall.at)!;
    subscribed.push(subCall.at - killWall);
    acting.push(act.at - killWall);
    leader = standby;
    standby = await start();
    await waitFor('next standby', async () => (await role(standby)) === 'standby', 60_000);
    process.stdout.write(`run ${i + 1}/${runs}: subscribed ${(subscribed.at(-1)! / 1000).toFixed(2)} s, acting (${act.type}) ${(acting.at(-1)! / 1000).toFixed(2)} s\n`);
  }
  const line = (n: string, xs: number[]) =>
    `${n.padEnd(12)} p50 ${(quantile(xs, 0.5) / 1000).toFixed(2)} s  p99 ${(quantile(xs, 0.99) / 1000).toFixed(2)} s  max ${(Math.max(...xs) / 1000).toFixed(2)} s` +
    `  = ${(quantile(xs, 0.5) / 1000 / sessionS).toFixed(2)}x / ${(quantile(xs, 0.99) / 1000 / sessionS).toFixed(2)}x the session timeout`;
  console.log(`\nha-failover: ${runs} kill -9 failovers, session timeout ${sessionS} s (lease ${((sessionS * 2) / 3).toFixed(1)} s), goal ≤ ${sessionS + 2} s`);
  console.log(line('subscribed', subscribed));
  console.log(line('acting', acting));
  console.log(`goal (p99 acting ≤ session timeout + 2 s): ${quantile(acting, 0.99) <= (sessionS + 2) * 1000 ? 'met' : 'MISSED'}`);
} finally {
  for (const r of live) r.kill();
  sub.unsubscribe();
  await sim.close();
  await zk.stop();
}
