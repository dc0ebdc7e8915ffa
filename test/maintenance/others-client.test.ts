/**
 * The operator client's read of other frameworks' tasks (GET /master/state) over real HTTP: against
 * the simulator with other frameworks (the master's real shape), and against a hostile master whose
 * answer is huge or malformed (bounded, or a clear error — never a crash or an unbounded list).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { MaintenanceOperatorClient } from '../../src/maintenance/io/operator-client.js';
import { othersOnHost, MAX_FRAMEWORKS, MAX_TEXT } from '../../src/maintenance/core/others.js';
import { startSim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';

async function serve(body: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('operator client: other frameworks from /master/state (real HTTP)', () => {
  it('against the simulator: each other framework\'s tasks on the agent, with names and states', async () => {
    const clock = new VirtualClock();
    const sim = await startSim({ agents: 2, clock, otherFrameworks: [{ name: 'legacy', behaviour: 'never', tasksPerAgent: 2 }, { name: 'batch', agents: ['agent-2'] }] });
    try {
      for (let i = 0; i < 20; i++) await clock.advance(500);
      const client = new MaintenanceOperatorClient({ masters: [sim.url], clock });
      const state = await client.getState();
      const a1 = sim.findAgent('agent-1').id;
      const a2 = sim.findAgent('agent-2').id;
      const truth = (agent: string) => sim.groundTruth().filter((t) => t.agentId === agent).map((t) => t.taskId).sort();
      expect(state.tasksOnAgent!.get(a1)!.map((t) => t.task_id).sort()).to.deep.equal(truth(a1));
      expect(state.tasksOnAgent!.get(a2)!.map((t) => t.task_id).sort()).to.deep.equal(truth(a2));
      const o = othersOnHost(state.tasksOnAgent!.get(a2)!, [], undefined, 0);
      expect(o.frameworks.map((f) => [f.name, f.task_count])).to.deep.equal([['legacy', 2], ['batch', 1]]);
    } finally {
      await sim.close();
    }
  });

  it('against a hostile master: thousands of tasks and huge names are bounded; a malformed answer is an error', async () => {
    const big = 'x'.repeat(2_000);
    const frameworks = Array.from({ length: 60 }, (_, f) => ({ id: `fw-${f}-${big}`, name: big, tasks: Array.from({ length: 20 }, (_, t) => ({ id: `t${t}-${big}`, slave_id: 'S1', state: big })) }));
    const hostile = await serve(JSON.stringify({ slaves: [{ id: 'S1', hostname: 'h1' }], frameworks }));
    try {
      const client = new MaintenanceOperatorClient({ masters: [hostile.url], maxRetries: 0 });
      const state = await client.getState();
      const seen = state.tasksOnAgent!.get('S1')!;
      expect(seen.length).to.equal(500);
      expect(Math.max(...seen.map((t) => t.task_id.length + t.framework_id.length + (t.framework_name?.length ?? 0) + t.state.length))).to.be.at.most(640);
      const o = othersOnHost(seen, [], undefined, 0);
      expect(o.frameworks.length).to.be.at.most(MAX_FRAMEWORKS);
      expect(o.frameworks.every((f) => f.framework_id.length <= MAX_TEXT && (f.name ?? '').length <= MAX_TEXT)).to.equal(true);
    } finally {
      await hostile.close();
    }
    const broken = await serve('{"slaves": [], "frameworks": [{"id": "f", "tasks": 7}]}');
    try {
      const client = new MaintenanceOperatorClient({ masters: [broken.url], maxRetries: 0 });
      let err: unknown;
      await client.getState().catch((e) => (err = e));
      expect(err, 'a malformed answer is an error (the loop gets it as a failed read)').to.be.instanceOf(Error);
    } finally {
      await broken.close();
    }
  });
});
