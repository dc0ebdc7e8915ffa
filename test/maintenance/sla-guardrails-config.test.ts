/**
 * `sla_guardrails` (flag --sla-guardrails and SLUICE_SLA_GUARDRAILS as JSON text, config file key
 * `sla_guardrails` as an object; default off): validated by src/sla's validateGuardrails, errors
 * name the source and the field.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration: sla_guardrails', () => {
  it('comes from flag, environment or config file; off by default', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-sg-cfg-'));
    try {
      const dflt = { kind: 'percentage', percentage: 50, duration_seconds: 60 };
      fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ sla_guardrails: { default_sla: dflt, max_percentage: 90 } }));
      const none = loadConfig({}, {}, dir);
      expect(none.slaGuardrails).to.equal(undefined);
      expect(none.sources['slaGuardrails']).to.equal('default');
      const file = loadConfig({ config: 'c.json' }, {}, dir);
      expect(file.slaGuardrails).to.deep.equal({ default_sla: dflt, max_percentage: 90 });
      expect(file.sources['slaGuardrails']).to.equal('file');
      const env = loadConfig({ config: 'c.json' }, { SLUICE_SLA_GUARDRAILS: '{"max_duration_seconds": 3600}' }, dir);
      expect(env.slaGuardrails).to.deep.equal({ max_duration_seconds: 3600 });
      const flag = loadConfig({ config: 'c.json', 'sla-guardrails': '{"max_percentage": 75}' }, { SLUICE_SLA_GUARDRAILS: '{}' }, dir);
      expect(flag.slaGuardrails).to.deep.equal({ max_percentage: 75 });
      expect(flag.sources['slaGuardrails']).to.equal('flag');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses nonsense with the source and the field path', () => {
    const bad = (v: string): string => {
      try {
        loadConfig({ 'sla-guardrails': v }, {}, os.tmpdir());
      } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error(`accepted ${v}`);
    };
    expect(bad('{"max_percentage": 90')).to.match(/^--sla-guardrails: not valid JSON/);
    expect(bad('[1]')).to.match(/^--sla-guardrails: sla_guardrails: must be an object/);
    expect(bad('{"max_percentage": 0}')).to.match(/sla_guardrails\.max_percentage/);
    expect(bad('{"default_sla": {"kind": "coordinator", "url": "http://x/", "timeout_seconds": 1}}')).to.match(/sla_guardrails\.default_sla/);
    expect(bad('{"maxPercentage": 90}')).to.match(/maxPercentage/);
  });
});
