/**
 * `--rack-attribute` (flag, SLUICE_RACK_ATTRIBUTE, config key `rack_attribute`; default rack).
 * `--max-record-bytes` (flag, SLUICE_MAX_RECORD_BYTES, config key `max_record_bytes`; default
 * 16 MiB): parsed with binary units, refused clearly when out of range, and it reaches the
 * scheduler client: against the simulator, a limit smaller than an OFFERS event closes the stream
 * with "record too large", while the default takes the same offers.
 */
import { Writable } from 'node:stream';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import winston from 'winston';
import { ConfigError, loadConfig } from '../src/config.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../src/mesos/recordio.js';
import { startSluice, type SluiceApp } from '../src/app/app.js';
import { startSim, type Sim } from '../src/sim/index.js';
import { VirtualClock } from '../src/util/clock.js';

describe('configuration: max record bytes', () => {
  it('comes from flag, environment or config file; 16 MiB by default; nonsense is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-mrb-cfg-'));
    try {
      fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ max_record_bytes: '32MiB' }));
      const d = loadConfig({}, {}, dir);
      expect(d.maxRecordBytes).to.equal(DEFAULT_MAX_RECORD_BYTES).and.equal(16 * 1024 * 1024);
      expect(d.sources['maxRecordBytes']).to.equal('default');
      expect(loadConfig({ config: 'c.json' }, {}, dir).maxRecordBytes).to.equal(32 * 1024 * 1024);
      const env = loadConfig({ config: 'c.json' }, { SLUICE_MAX_RECORD_BYTES: '512KiB' }, dir);
      expect(env.maxRecordBytes).to.equal(512 * 1024);
      expect(env.sources['maxRecordBytes']).to.equal('env');
      expect(loadConfig({ 'max-record-bytes': '1048576' }, { SLUICE_MAX_RECORD_BYTES: '512KiB' }, dir).maxRecordBytes).to.equal(1048576);
      expect(loadConfig({ 'max-record-bytes': '64m' }, {}, dir).maxRecordBytes).to.equal(64 * 1024 * 1024);
      expect(() => loadConfig({ 'max-record-bytes': 'lots' }, {}, dir)).to.throw(ConfigError, /--max-record-bytes: expected a size .* got "lots"/);
      expect(() => loadConfig({ 'max-record-bytes': '10' }, {}, dir)).to.throw(ConfigError, /from 1024 bytes/);
      expect(() => loadConfig({}, { SLUICE_MAX_RECORD_BYTES: '2TiB' }, dir)).to.throw(ConfigError, /SLUICE_MAX_RECORD_BYTES/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration: rack attribute', () => {
  it('comes from flag, environment or config file; rack by default; an empty or spaced name is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-rack-cfg-'));
    try {
      fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ rack_attribute: 'row' }));
      expect(loadConfig({}, {}, dir).rackAttribute).to.equal('rack');
      expect(loadConfig({ config: 'c.json' }, {}, dir).rackAttribute).to.equal('row');
      expect(loadConfig({ config: 'c.json' }, { SLUICE_RACK_ATTRIBUTE: 'zone' }, dir).rackAttribute).to.equal('zone');
      expect(loadConfig({ 'rack-attribute': 'pod' }, { SLUICE_RACK_ATTRIBUTE: 'zone' }, dir).rackAttribute).to.equal('pod');
      expect(() => loadConfig({ 'rack-attribute': '' }, {}, dir)).to.throw(ConfigError, /rack attribute must be a non-empty/);
      expect(() => loadConfig({ 'rack-attribute': 'my zone' }, {}, dir)).to.throw(ConfigError, /without spaces/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('max record bytes on the wire', function () {
  this.timeout(30_000);
  let sim: Sim | undefined;
  let app: SluiceApp | undefined;
  afterEach(async () => {
    await app?.stop();
    await sim?.close();
    app = sim = undefined;
  });

  async function run(flags: Record<string, string>): Promise<{ lines: Array<Record<string, unknown>>; offers: number }> {
    const clock = new VirtualClock();
    sim = await startSim({ agents: 12, racks: 3, clock, seed: 5 });
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-mrb-'));
    const cfg = loadConfig({ master: [sim.url], store, 'api-listen': '127.0.0.1:0', 'no-demo': true, ...flags }, {});
    app = await startSluice(cfg, { clock, logger, runtime: { tickMs: 1000, client: { random: () => 0.5 } } });
    for (let i = 0; i < 40 && !lines.some((l) => l['event'] === 'stream_closed') && !(await offersSeen(app)); i++) {
      await clock.advance(250);
      await new Promise((r) => setTimeout(r, 10));
    }
    return { lines, offers: await offersSeen(app) };
  }

  async function offersSeen(a: SluiceApp): Promise<number> {
    const m = /^sluice_offers_received_total (\S+)$/m.exec(await fetch(a.api.url + '/metrics').then((r) => r.text()));
    return m ? Number(m[1]) : 0;
  }

  it('a limit smaller than an OFFERS event closes the stream with "record too large"', async () => {
    const r = await run({ 'max-record-bytes': '2KiB' });
    const closed = r.lines.filter((l) => l['event'] === 'stream_closed');
    expect(closed.length, JSON.stringify(r.lines.slice(-5))).to.be.greaterThan(0);
    expect(String(closed[0]!['error'])).to.match(/record too large.*maximum of 2048 bytes/);
    expect(r.offers).to.equal(0);
  });

  it('the default takes the same offers', async () => {
    const r = await run({});
    expect(r.offers).to.be.greaterThan(0);
    expect(r.lines.filter((l) => l['event'] === 'stream_closed')).to.have.length(0);
  });
});
