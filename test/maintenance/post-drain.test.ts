/**
 * The post_drain hook's environment and output rules (src/maintenance/io/post-drain.ts) and the
 * `post_drain_env` setting (src/config.ts). The end-to-end proof (a real hook printing `env` under a
 * child-process Sluice) is in test/e2e/maintenance-crash-points.test.ts.
 */
import { expect } from 'chai';
import { ConfigError, configSecrets, loadConfig } from '../../src/config.js';
import { MAX_LINE, cleanLine, hookEnv } from '../../src/maintenance/io/post-drain.js';

describe('post_drain hook environment and output', () => {
  const base = { PATH: '/bin', HOME: '/home/s', LANG: 'C.UTF-8', SLUICE_SECRET: 's3cr3t-value', SLUICE_API_TOKEN: 'tok-12345', OTHER: 'x', DB: 'postgres://u:s3cr3t-value@db', OK: 'fine' };
  const secrets = ['s3cr3t-value', 'tok-12345'];

  it('passes PATH/HOME/LANG, the SLUICE_HOST/IP/AGENT_ID variables and listed names only; secrets never, even listed', () => {
    const env = hookEnv(base, { hostname: 'h1', ip: '10.0.0.1', agent_id: 'a-1' }, { passEnv: ['OK', 'DB', 'SLUICE_SECRET', 'SLUICE_API_TOKEN', 'MISSING'], secrets });
    expect(env).to.deep.equal({ PATH: '/bin', HOME: '/home/s', LANG: 'C.UTF-8', OK: 'fine', SLUICE_HOST: 'h1', SLUICE_IP: '10.0.0.1', SLUICE_AGENT_ID: 'a-1' });
  });

  it('output lines: configured secret values and credential-looking text masked, long lines cut', () => {
    expect(cleanLine('token is tok-12345 and url http://u:pw@m:5050 and password=hunter22', secrets)).to.equal('token is *** and url http://***@m:5050 and password=***');
    const long = cleanLine(`${'y'.repeat(MAX_LINE + 50)}`, secrets);
    expect(long.startsWith('y'.repeat(MAX_LINE))).to.equal(true);
    expect(long).to.contain('50 more characters');
  });

  it('post_drain_env: flag > env > file, a comma list of names; anything else is refused', () => {
    expect(loadConfig({ 'post-drain-env': 'A, B_2' }, {}).postDrainEnv).to.deep.equal(['A', 'B_2']);
    expect(loadConfig({}, { SLUICE_POST_DRAIN_ENV: 'C' }).postDrainEnv).to.deep.equal(['C']);
    expect(loadConfig({}, {}).postDrainEnv).to.deep.equal([]);
    expect(() => loadConfig({ 'post-drain-env': 'A=1' }, {})).to.throw(ConfigError, /not an environment variable name/);
  });

  it('configSecrets: the framework secret, the API token and passwords in master URLs', () => {
    expect(configSecrets({ secret: 'fw-secret', apiToken: 'api-tok', masters: ['http://ops:p%40ss99@m1:5050', 'http://m2:5050'] })).to.have.members(['fw-secret', 'api-tok', 'ops:p%40ss99', 'p%40ss99', 'p@ss99']);
  });
});
