/**
 * The operator client's agent-drain calls over real HTTP: DRAIN_AGENT / REACTIVATE_AGENT on the
 * master's /api/v1 (JSON) and the drain state read from /master/state — against the simulator, and
 * against a hostile master whose /master/state carries odd drain fields (ignored, never a crash).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { MaintenanceOperatorClient, MasterRequestError } from '../../src/maintenance/io/operator-client.js';
import { startSim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';

describe('operator client: DRAIN_AGENT, REACTIVATE_AGENT and the drain state (real HTTP)', () => {
  it('against the simulator: refused while scheduled (400 body kept), drains, reads DRAINING/DRAINED, reactivates', async () => {
    const clock = new VirtualClock();
    const sim = await startSim({ agents: 2, clock, otherFrameworks: [{ name: 'legacy', behaviour: 'never', agents: ['agent-1'], killGracePeriodSeconds: 30 }] });
    try {
      for (let i = 0; i < 10; i++) await clock.advance(200);
      const client = new MaintenanceOperatorClient({ masters: [sim.url], clock });
      const a1 = sim.findAgent('agent-1');
      await client.updateSchedule(() => ({ windows: [{ machine_ids: [{ hostname: a1.hostname, ip: a1.ip }], unavailability: { start: { nanoseconds: 1n } } }] }));
      const refused = await client.drainAgent(a1.id, 3).catch((e: unknown) => e);
      expect(refused).to.be.instanceOf(MasterRequestError);
      expect((refused as MasterRequestError).body).to.equal(`Agent ${a1.id} is part of a maintenance schedule under Machine agent-1 (127.0.1.1)`);
      await client.updateSchedule(() => ({}));
      await client.drainAgent(a1.id, 3);
      let d = (await client.getState()).drainOnAgent!;
      expect(d.get(a1.id)).to.deep.equal({ deactivated: true, state: 'DRAINING' });
      expect(d.get(sim.findAgent('agent-2').id)).to.deep.equal({ deactivated: false });
      for (let i = 0; i < 20; i++) await clock.advance(250);
      d = (await client.getState()).drainOnAgent!;
      expect(d.get(a1.id)).to.deep.equal({ deactivated: true, state: 'DRAINED' });
      expect(sim.groundTruth().filter((t) => t.agentId === a1.id)).to.deep.equal([]);
      await client.reactivateAgent(a1.id);
      expect((await client.getState()).drainOnAgent!.get(a1.id)).to.deep.equal({ deactivated: false });
      const again = await client.reactivateAgent(a1.id).catch((e: unknown) => e);
      expect(again).to.be.instanceOf(MasterRequestError);
      expect((again as MasterRequestError).body).to.equal('Agent is not deactivated');
    } finally {
      await sim.close();
    }
  });

  it('hostile /master/state drain fields: wrong types ignored, long text cut, never a crash', async () => {
    const body = JSON.stringify({
      slaves: [
        { id: 'a1', hostname: 'h1', deactivated: 'yes', drain_info: { state: 7 } },
        { id: 'a2', hostname: 'h2', deactivated: true, drain_info: { state: 'X'.repeat(10_000) } },
        { id: 'a3', hostname: 'h3', drain_info: null },
      ],
    });
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const client = new MaintenanceOperatorClient({ masters: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`] });
      const d = (await client.getState()).drainOnAgent!;
      expect(d.get('a1')).to.deep.equal({ deactivated: false });
      expect(d.get('a2')).to.deep.equal({ deactivated: true, state: 'X'.repeat(40) });
      expect(d.get('a3')).to.deep.equal({ deactivated: false });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
