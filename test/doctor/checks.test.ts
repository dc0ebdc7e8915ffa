/** The doctor's pure judgements: the Date-header clock estimator, the exit-code rule, each check. */
import { expect } from 'chai';
import { prng as mulberry32 } from '../../src/util/prng.js';
import {
  EXIT,
  clockCheck,
  credentialsCheck,
  estimateClockOffset,
  maintenanceCheck,
  rackCheck,
  report,
  roleCheck,
  type DateSample,
  type HttpObs,
} from '../../src/doctor/checks.js';

/** What a master with clock offset `theta` answers to requests sent at `sent`, reaching it after `up` ms and coming back after `down`. */
function sample(theta: number, sent: number, up: number, down: number): DateSample {
  const masterNow = sent + up + theta;
  return { sentMs: sent, receivedMs: sent + up + down, date: new Date(Math.floor(masterNow / 1000) * 1000).toUTCString() };
}

const obs = (status: number, extra: Partial<HttpObs> = {}): HttpObs => ({ url: 'http://m', status, ...extra });

describe('doctor: clock offset from Date headers', () => {
  it('the interval always holds the true offset and narrows to about the step plus the round trip', () => {
    const rnd = mulberry32(99);
    for (let run = 0; run < 300; run++) {
      const theta = (rnd() - 0.5) * 600_000;
      const start = 1.79e12 + rnd() * 1e9;
      const samples: DateSample[] = [];
      let t = start;
      for (let i = 0; i < 21; i++) {
        const up = rnd() * 3;
        const down = rnd() * 3;
        samples.push(sample(theta, t, up, down));
        t += 50 + up + down;
      }
      const e = estimateClockOffset(samples)!;
      expect(e.inconsistent).to.equal(undefined);
      expect(theta).to.be.within(e.lowMs - 1e-6, e.highMs + 1e-6);
      expect(e.uncertaintyMs, 'about (step + rtt) / 1 at worst').to.be.below(60);
    }
  });

  it('one sample bounds the offset within a second; no Date → undefined; a stepped clock → inconsistent hull', () => {
    const one = estimateClockOffset([sample(1234, 1.79e12 + 300, 1, 1)])!;
    expect(1234).to.be.within(one.lowMs, one.highMs);
    expect(one.highMs - one.lowMs).to.be.at.most(1002);
    expect(estimateClockOffset([{ sentMs: 1, receivedMs: 2, date: undefined }])).to.equal(undefined);
    const stepped = estimateClockOffset([sample(0, 1.79e12, 1, 1), sample(60_000, 1.79e12 + 100, 1, 1)])!;
    expect(stepped.inconsistent).to.equal(true);
  });

  it('fails only when the whole interval is beyond the threshold; warns when it straddles it', () => {
    const at = (theta: number) => Array.from({ length: 21 }, (_, i) => sample(theta, 1.79e12 + i * 50, 1, 1));
    expect(clockCheck(at(120_000), 5_000)).to.include({ status: 'fail', code: EXIT.CLOCK });
    expect(clockCheck(at(-120_000), 5_000)).to.include({ status: 'fail', code: EXIT.CLOCK });
    expect(clockCheck(at(200), 5_000).status).to.equal('ok');
    const straddle = [sample(5_000, 1.79e12 + 10, 1, 1)]; // one sample: ±500 ms around 5 s
    expect(clockCheck(straddle, 5_000).status).to.equal('warn');
    expect(clockCheck([], 5_000).status).to.equal('warn');
  });
});

describe('doctor: checks and exit code', () => {
  it('the exit code is the lowest finding class; skipped and ok checks do not count', () => {
    const r = report(['m'], 'm', [
      rackCheck({ slaves: [{ hostname: 'a' }] }, 'rack'),
      credentialsCheck({ principal: 'p', hasSecret: true, anonymous: obs(401, { headers: { 'www-authenticate': 'Basic realm="mesos-master-scheduler"' } }), withCredentials: obs(401) }),
      roleCheck(obs(404), '*'),
    ]);
    expect(r.exit_code).to.equal(EXIT.AUTH);
    expect(report(['m'], 'm', [rackCheck({ slaves: [{ hostname: 'a', attributes: { rack: 'r' } }] }, 'rack')]).exit_code).to.equal(0);
  });

  it('credentials: open master, accepted, refused, required but missing', () => {
    const challenge = obs(401, { headers: { 'www-authenticate': 'Basic realm="mesos-master-scheduler"' } });
    expect(credentialsCheck({ hasSecret: false, anonymous: obs(405) }).status).to.equal('ok');
    expect(credentialsCheck({ principal: 'p', hasSecret: true, anonymous: obs(405), withCredentials: obs(405) }).status).to.equal('ok');
    expect(credentialsCheck({ principal: 'p', hasSecret: true, anonymous: challenge, withCredentials: obs(405) }).status).to.equal('ok');
    expect(credentialsCheck({ principal: 'p', hasSecret: true, anonymous: challenge, withCredentials: obs(401) }).code).to.equal(EXIT.AUTH);
    expect(credentialsCheck({ principal: 'p', hasSecret: false, anonymous: challenge }).code).to.equal(EXIT.AUTH);
  });

  it('maintenance: 404 and 401 are findings of class 12; 200 JSON is ok with the counts', () => {
    expect(maintenanceCheck(obs(404), obs(200, { body: '{}' })).code).to.equal(EXIT.MAINTENANCE);
    expect(maintenanceCheck(obs(200, { body: '{}' }), obs(401)).code).to.equal(EXIT.MAINTENANCE);
    expect(maintenanceCheck(obs(200, { body: '{}' }), obs(401)).summary).to.contain('no principal/secret is configured');
    expect(maintenanceCheck(obs(200, { body: '{}' }), obs(401), true).summary).to.contain('refused the configured principal/secret');
    expect(maintenanceCheck(obs(200, { body: 'oops' }), obs(200, { body: '{}' })).code).to.equal(EXIT.MAINTENANCE);
    const ok = maintenanceCheck(obs(200, { body: '{"windows":[{}]}' }), obs(200, { body: '{"draining_machines":[{},{}]}' }));
    expect(ok.status).to.equal('ok');
    expect(ok.detail).to.deep.include({ windows: 1, draining_machines: 2, down_machines: 0 });
  });

  it('rack: no agents is a warning; some without the attribute is class 14', () => {
    expect(rackCheck({ slaves: [] }, 'rack')).to.include({ status: 'warn', code: EXIT.OTHER });
    expect(rackCheck({ slaves: [{ hostname: 'a', attributes: { rack: 'r1' } }, { hostname: 'b', attributes: {} }] }, 'rack')).to.include({ code: EXIT.RACK });
  });

  it('role: unknown role is fine, a zero quota limit on cpus is a warning, quota shown', () => {
    const body = JSON.stringify({ roles: [{ name: 'web', weight: 2.0, frameworks: ['f1'], quota: { guarantee: { cpus: 4 }, limit: { cpus: 0 } } }] });
    expect(roleCheck(obs(200, { body }), 'batch').status).to.equal('ok');
    const w = roleCheck(obs(200, { body }), 'web');
    expect(w.status).to.equal('warn');
    expect(w.detail).to.deep.include({ weight: 2, frameworks: 1, quota_guarantee: { cpus: 4 } });
  });
});
