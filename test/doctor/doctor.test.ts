/**
 * `sluice doctor` as an SRE runs it: a child process (the real CLI) against the simulator over
 * loopback, one test per finding class. The simulator runs on the real clock here because the
 * doctor's clock check reads the real wall clock of its own process.
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { byId, deadPort, doctor, doctorJson, withSim } from './helpers.js';

describe('sluice doctor (child process against the simulator)', function () {
  this.timeout(60_000);

  it('healthy cluster: exit 0 and a JSON report with every check ok', async () => {
    await withSim({ masters: 3 }, async (sim) => {
      // ask a non-leader first: the leader is found through its 307
      const { run, report } = await doctorJson(['--master', `${sim.urls[2]},${sim.urls[1]}`]);
      expect(run.code, run.out + run.err).to.equal(0);
      expect(report.ok).to.equal(true);
      expect(report.exit_code).to.equal(0);
      expect(report.leader).to.equal(sim.url);
      expect(report.checks.map((c) => [c.id, c.status])).to.deep.equal([
        ['leader', 'ok'],
        ['master', 'ok'],
        ['credentials', 'ok'],
        ['maintenance', 'ok'],
        ['clock', 'ok'],
        ['rack', 'ok'],
        ['role', 'ok'],
      ]);
      const leader = byId(report, 'leader').detail as { asked: Array<{ master: string; answered: string; leader: string }> };
      expect(leader.asked[0]).to.deep.include({ master: sim.urls[2], leader: sim.url });
      expect(leader.asked[0]!.answered).to.match(/^307 → \/\/127\.0\.0\.1:\d+$/);
      expect(byId(report, 'master').detail).to.deep.include({ version: '1.12.0', capabilities: ['AGENT_UPDATE', 'AGENT_DRAINING', 'QUOTA_V2'] });
      const clock = byId(report, 'clock').detail as { offset_ms: number; uncertainty_ms: number; samples: number };
      expect(Math.abs(clock.offset_ms)).to.be.at.most(clock.uncertainty_ms + 1);
      expect(clock.uncertainty_ms).to.be.below(500);
      expect(clock.samples).to.be.at.least(10);
      expect(byId(report, 'rack').detail).to.deep.include({ attribute: 'rack', agents: 4, with: 4, without: 0, racks: 2 });
      // the human form names the same verdict
      const human = await doctor(['--master', sim.url]);
      expect(human.code).to.equal(0);
      expect(human.out).to.match(/ok\s+leader\s+http:\/\/127\.0\.0\.1:\d+ leads/).and.match(/All checks passed/);
    });
  });

  it('no leader: every master unreachable → exit 10; a master without a leader (503) → exit 10', async () => {
    const p1 = await deadPort();
    const p2 = await deadPort();
    const { run, report } = await doctorJson(['--master', `http://127.0.0.1:${p1},127.0.0.1:${p2}`, '--timeout', '2s']);
    expect(run.code).to.equal(10);
    expect(byId(report, 'leader').status).to.equal('fail');
    expect(byId(report, 'leader').summary).to.match(/could be reached/);
    expect(byId(report, 'credentials').status).to.equal('skipped');

    await withSim({ masters: 2 }, async (sim) => {
      const failover = sim.faults.failover({ gapMs: 60_000 });
      try {
        const r = await doctorJson(['--master', sim.urls[1]!]);
        expect(r.run.code).to.equal(10);
        expect((byId(r.report, 'leader').detail as { asked: Array<{ answered: string }> }).asked[0]!.answered).to.match(/^503/);
      } finally {
        void failover.catch(() => undefined);
      }
    });

    const zk = await doctor(['--master', 'zk://127.0.0.1:2181/mesos']);
    expect(zk.code, 'a master list the client cannot use').to.equal(10);
  });

  it('wrong credentials → exit 11 naming the principal, never the secret; right secret → ok; none configured → 11', async () => {
    await withSim({ credentials: [{ principal: 'sluice', secret: 'right-horse-battery' }] }, async (sim) => {
      const bad = await doctorJson(['--master', sim.url, '--principal', 'sluice'], { SLUICE_SECRET: 'wrong-secret-value' });
      expect(bad.run.code).to.equal(11);
      const c = byId(bad.report, 'credentials');
      expect(c.status).to.equal('fail');
      expect(c.summary).to.contain('principal "sluice" refused').and.contain('mesos-master-scheduler');
      expect(bad.run.out + bad.run.err).to.not.contain('wrong-secret-value');
      const badHuman = await doctor(['--master', sim.url, '--principal', 'sluice', '--secret', 'wrong-secret-value']);
      expect(badHuman.code).to.equal(11);
      expect(badHuman.out + badHuman.err).to.not.contain('wrong-secret-value');
      expect(badHuman.out).to.match(/FAIL\s+credentials/);

      const good = await doctorJson(['--master', sim.url, '--principal', 'sluice'], { SLUICE_SECRET: 'right-horse-battery' });
      expect(good.run.code, good.run.out).to.equal(0);
      expect(byId(good.report, 'credentials').summary).to.contain('accepted');
      expect(good.run.out).to.not.contain('right-horse-battery');

      const none = await doctorJson(['--master', sim.url]);
      expect(none.run.code).to.equal(11);
      expect(byId(none.report, 'credentials').summary).to.match(/requires HTTP authentication.*no principal/);
    });
  });

  it('the config file resolves like `sluice start` (flag > env > file)', async () => {
    await withSim({ credentials: [{ principal: 'sluice', secret: 'file-secret-1' }] }, async (sim) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-doctor-'));
      try {
        const file = path.join(dir, 'sluice.json');
        await writeFile(file, JSON.stringify({ master: 'http://127.0.0.1:1', principal: 'sluice', secret: 'file-secret-1' }));
        const r = await doctorJson(['--config', file, '--master', sim.url]);
        expect(r.run.code, r.run.out).to.equal(0);
        const env = await doctorJson(['--config', file, '--master', sim.url], { SLUICE_SECRET: 'env-overrides-file' });
        expect(env.run.code, 'the env secret wins over the file').to.equal(11);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  it('maintenance endpoints needing credentials are read with the configured ones, as Sluice does (exit 0)', async () => {
    await withSim({ credentials: [{ principal: 'sluice', secret: 'pw-1234' }], authenticate: { frameworks: true, readonly: true, readwrite: true } }, async (sim) => {
      const ok = await doctorJson(['--master', sim.url, '--principal', 'sluice', '--secret', 'pw-1234']);
      expect(byId(ok.report, 'maintenance').status, JSON.stringify(byId(ok.report, 'maintenance'))).to.equal('ok');
      expect(ok.run.code).to.equal(0);
      expect(byId(ok.report, 'rack').status).to.equal('ok');
    });
  });

  it('agents without the rack attribute → exit 14 with the count and their names', async () => {
    await withSim({ agents: [{ rack: 'r1' }, { rack: null, hostname: 'bare-1' }, { rack: 'r2' }, { rack: null, hostname: 'bare-2' }] }, async (sim) => {
      const r = await doctorJson(['--master', sim.url]);
      expect(r.run.code).to.equal(14);
      expect(byId(r.report, 'rack').detail).to.deep.include({ agents: 4, with: 2, without: 2, missing_on: ['bare-1', 'bare-2'] });
      const other = await doctorJson(['--master', sim.url, '--rack-attribute', 'zone']);
      expect(other.run.code, 'no agent carries "zone"').to.equal(14);
      expect(byId(other.report, 'rack').detail).to.deep.include({ attribute: 'zone', without: 4 });
    });
  });

  it('a master clock 120 s ahead → exit 13 with the estimate within its uncertainty of the truth', async () => {
    await withSim({ clockOffsetMs: 120_000 }, async (sim) => {
      const r = await doctorJson(['--master', sim.url]);
      expect(r.run.code).to.equal(13);
      const d = byId(r.report, 'clock').detail as { offset_ms: number; uncertainty_ms: number; interval_ms: [number, number] };
      expect(d.interval_ms[0]).to.be.at.most(120_000 + 1);
      expect(d.interval_ms[1]).to.be.at.least(120_000 - 1);
      expect(Math.abs(d.offset_ms - 120_000)).to.be.at.most(d.uncertainty_ms + 1);
      const behind = await doctorJson(['--master', sim.url, '--max-clock-skew', '5m']);
      expect(behind.run.code, 'within a 5 minute threshold').to.equal(0);
    });
    await withSim({ clockOffsetMs: -90_000 }, async (sim) => {
      const r = await doctorJson(['--master', sim.url]);
      expect(r.run.code).to.equal(13);
      const d = byId(r.report, 'clock').detail as { offset_ms: number; uncertainty_ms: number };
      expect(Math.abs(d.offset_ms + 90_000)).to.be.at.most(d.uncertainty_ms + 1);
    });
  });

  it('no master configured, or a bad flag, is a usage error (exit 2)', async () => {
    const none = await doctor([], {}, os.tmpdir());
    expect(none.code).to.equal(2);
    expect(none.err).to.contain('no master given');
    const bad = await doctor(['--master', 'http://127.0.0.1:1', '--max-clock-skew', 'soon']);
    expect(bad.code).to.equal(2);
  });
});
