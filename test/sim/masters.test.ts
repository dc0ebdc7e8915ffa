/**
 * Several masters with one leader: redirects, 503 without a leader, leader failover (the new leader
 * knows no frameworks, the schedule survives, inverse-offer statuses do not, agents re-register
 * with their tasks), recovery (contract §1.10, §1.7 item 3, §4.1; gotchas 29, 30).
 */
import { expect } from 'chai';
import { jsonCodec } from '../../src/mesos/codec.js';
import type { Offer } from '../../src/mesos/types.js';
import { Stream, ack, acceptCall, advance, call, frameworkInfo, request, send, subscribeCall, subscribed, taskInfo, tick, withSim } from './helpers.js';

async function offersOf(s: Stream): Promise<Offer[]> {
  return (await s.next('OFFERS')).offers!.offers!;
}

describe('sim with several masters', () => {
  it('non-leaders answer 307 with a protocol-relative Location (path and query kept) for leader-only endpoints', async () => {
    await withSim({ agents: 1, masters: 3 }, async (sim) => {
      expect(sim.urls).to.have.length(3);
      expect(sim.url).to.equal(sim.urls[0]);
      const leader = new URL(sim.url);
      for (const u of sim.urls.slice(1)) {
        const sched = await call(u, subscribeCall());
        expect(sched.status).to.equal(307);
        expect(sched.headers['location']).to.equal(`//127.0.0.1:${leader.port}/api/v1/scheduler`);
        expect(sched.text).to.equal('');
        const get = await request(u, { method: 'GET', path: '/master/api/v1/scheduler' });
        expect(get.status, 'leadership is checked before the method').to.equal(307);
        const st = await request(u, { path: '/master/state?jsonp=x' });
        expect(st.headers['location']).to.equal(`//127.0.0.1:${leader.port}/master/state?jsonp=x`);
        const ms = await request(u, { path: '/maintenance/schedule' });
        expect([ms.status, ms.headers['location']]).to.deep.equal([307, `//127.0.0.1:${leader.port}/maintenance/schedule`]);
        const op = await request(u, { method: 'POST', path: '/api/v1', body: '{}' });
        expect(op.status).to.equal(307);
      }
    });
  });

  it('/master/redirect answers 307 to the leader even on the leader; /redirect/... is 404; /health is 200 everywhere (gotcha 30)', async () => {
    await withSim({ agents: 1, masters: 2 }, async (sim) => {
      const leader = new URL(sim.url);
      for (const u of sim.urls) {
        for (const p of ['/master/redirect', '/redirect']) {
          const r = await request(u, { path: p });
          expect([r.status, r.headers['location']]).to.deep.equal([307, `//127.0.0.1:${leader.port}`]);
        }
        expect((await request(u, { path: '/redirect/loop' })).status).to.equal(404);
        expect((await request(u, { path: '/master/health' })).status).to.equal(200);
      }
    });
  });

  it('503 "No leader elected" while there is no leader (redirect endpoint and leader-only endpoints)', async () => {
    await withSim({ agents: 1, masters: 2 }, async (sim, clock) => {
      const p = sim.faults.failover({ gapMs: 10_000 });
      await tick();
      for (const u of sim.urls) {
        const r = await call(u, subscribeCall());
        expect([r.status, r.text, r.headers['content-type']]).to.deep.equal([503, 'No leader elected', 'text/plain; charset=utf-8']);
        expect((await request(u, { path: '/master/redirect' })).status).to.equal(503);
      }
      await clock.advance(10_000);
      await p;
      expect(sim.url).to.equal(sim.urls[1]);
      const s = await subscribed(sim.url);
      s.destroy();
    });
  });

  it('a new leader answers 503 "Master has not finished recovery" until recovered', async () => {
    await withSim({ agents: 1, masters: 2 }, async (sim, clock) => {
      await sim.faults.failover({ recoveryMs: 5000 });
      const r = await call(sim.url, subscribeCall());
      expect([r.status, r.text]).to.deep.equal([503, 'Master has not finished recovery']);
      await clock.advance(5000);
      await advance(clock, 1000); // agents re-register within agentReregisterDelayMs (default 1 s)
      const s = await subscribed(sim.url);
      expect(await offersOf(s)).to.have.length(1);
      s.destroy();
    });
  });

  it('failover: streams drop, the new leader knows no framework until it re-subscribes with its id; tasks come back with their agents', async () => {
    await withSim({ agents: 2, masters: 2 }, async (sim, clock) => {
      const info = frameworkInfo({ failover_timeout: 3600 });
      const s = await subscribed(sim.url, info);
      const [o] = await offersOf(s);
      await send(sim.url, s, acceptCall(s.frameworkId, [o!.id], [taskInfo('survivor', o!.agent_id)]));
      await ack(sim.url, s, (await s.next('UPDATE')).update!.status);
      await ack(sim.url, s, (await s.next('UPDATE')).update!.status);
      const oldLeader = sim.url;
      await sim.faults.failover({ agentReregisterDelayMs: 2000 });
      await s.waitEnd();
      expect(sim.url).to.not.equal(oldLeader);
      // The old stream id means nothing to the new leader.
      const r = await call(sim.url, { framework_id: { value: s.frameworkId }, type: 'REVIVE' }, { streamId: s.streamId });
      expect([r.status, r.text]).to.deep.equal([400, 'Framework cannot be found']);
      // The old leader now redirects.
      const back = await call(oldLeader, subscribeCall(info, s.frameworkId));
      expect(back.status).to.equal(307);
      const s2 = await Stream.open(sim.url, subscribeCall(info, s.frameworkId));
      const sub = await s2.next('SUBSCRIBED');
      expect(sub.subscribed!.framework_id.value).to.equal(s.frameworkId);
      expect(sub.subscribed!.master_info!.id).to.not.equal(s.events[0]!.subscribed!.master_info!.id);
      // Explicit reconciliation gets no answer while the agent is still recovering (gotcha 29).
      await send(sim.url, s2, { type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'survivor' }, agent_id: o!.agent_id }] } });
      expect(await s2.none('UPDATE', 100)).to.equal(true);
      await advance(clock, 2000);
      await send(sim.url, s2, { type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'survivor' }, agent_id: o!.agent_id }] } });
      const st = (await s2.next('UPDATE')).update!.status;
      expect([st.state, st.message]).to.deep.equal(['TASK_RUNNING', 'Reconciliation: Latest task state']);
      // Agent ids are kept; new offer ids use the new master id.
      const offers = s2.events.filter((e) => e.type === 'OFFERS').flatMap((e) => e.offers!.offers!);
      expect(offers.map((x) => x.agent_id.value)).to.include(o!.agent_id.value);
      expect(offers[0]!.id.value.startsWith(sub.subscribed!.master_info!.id)).to.equal(true);
      expect(sim.groundTruth().map((t) => t.taskId)).to.deep.equal(['survivor']);
      s2.destroy();
    });
  });

  it('the maintenance schedule survives failover; recorded inverse-offer statuses do not', async () => {
    await withSim({ agents: 2, masters: 3 }, async (sim) => {
      const body = '{"windows":[{"machine_ids":[{"hostname":"agent-1","ip":"127.0.1.1"}],"unavailability":{"start":{"nanoseconds":1795422430565157510}}}]}';
      const s = await subscribed(sim.url);
      await offersOf(s);
      expect((await request(sim.url, { method: 'POST', path: '/maintenance/schedule', body })).status).to.equal(200);
      const io = (await s.next('INVERSE_OFFERS')).inverse_offers!.inverse_offers![0]!;
      await send(sim.url, s, { type: 'ACCEPT_INVERSE_OFFERS', accept_inverse_offers: { inverse_offer_ids: [io.id] } });
      const before = jsonCodec.decode<Record<string, unknown>>('mesos.v1.maintenance.ClusterStatus', (await request(sim.url, { path: '/maintenance/status' })).body);
      expect((before['draining_machines'] as Array<{ statuses?: unknown[] }>)[0]!.statuses).to.have.length(1);
      await sim.faults.failover({ to: 2, agentReregisterDelayMs: 0 });
      expect(sim.url).to.equal(sim.urls[2]);
      expect((await request(sim.url, { path: '/maintenance/schedule' })).text).to.equal(body);
      const after = (await request(sim.url, { path: '/maintenance/status' })).text;
      expect(after).to.equal('{"draining_machines":[{"id":{"hostname":"agent-1","ip":"127.0.1.1"}}]}');
    });
  });

  it('an agent removed by /machine/down is not "recovering" after failover (reconciliation answers at once)', async () => {
    await withSim({ agents: 2, masters: 2 }, async (sim) => {
      const body = '{"windows":[{"machine_ids":[{"hostname":"agent-1","ip":"127.0.1.1"}],"unavailability":{"start":{"nanoseconds":1}}}]}';
      await request(sim.url, { method: 'POST', path: '/maintenance/schedule', body });
      const gone = sim.findAgent('agent-1').id;
      await request(sim.url, { method: 'POST', path: '/machine/down', body: '[{"hostname":"agent-1","ip":"127.0.1.1"}]' });
      await sim.faults.failover({ agentReregisterDelayMs: 5000 });
      const s = await subscribed(sim.url, frameworkInfo());
      await send(sim.url, s, { type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'x' }, agent_id: { value: gone } }] } });
      const st = (await s.next('UPDATE')).update!.status;
      expect([st.state, st.message]).to.deep.equal(['TASK_LOST', 'Reconciliation: Task is unknown']);
      // agent-2 is still recovering: no answer for it.
      await send(sim.url, s, { type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'y' }, agent_id: { value: sim.findAgent('agent-2').id } }] } });
      expect(await s.none('UPDATE', 100)).to.equal(true);
      s.destroy();
    });
  });

  it('unacknowledged status updates are re-sent by the agent when it re-registers with the new leader', async () => {
    await withSim({ agents: 1, masters: 2 }, async (sim) => {
      const info = frameworkInfo({ failover_timeout: 3600 });
      const s = await subscribed(sim.url, info);
      const [o] = await offersOf(s);
      await send(sim.url, s, acceptCall(s.frameworkId, [o!.id], [taskInfo('pending', o!.agent_id)]));
      const first = (await s.next('UPDATE')).update!.status;
      await sim.faults.failover({ agentReregisterDelayMs: 0 });
      const s2 = await Stream.open(sim.url, subscribeCall(info, s.frameworkId));
      await s2.next('SUBSCRIBED');
      // The agent already re-registered (delay 0) before the framework came back, so the update is
      // re-sent on the agent's retry timer (10 s) — here: force a re-registration via a restart.
      sim.faults.stopAgent('agent-1');
      sim.faults.restartAgent('agent-1');
      const again = (await s2.next('UPDATE')).update!.status;
      expect(again.state).to.equal('TASK_STARTING');
      expect(Buffer.from(again.uuid!).equals(Buffer.from(first.uuid!))).to.equal(true);
      s2.destroy();
    });
  });
});
