/**
 * `--codec json|protobuf` (flag, SLUICE_CODEC, config key `codec`) reaches the wire: a recording
 * proxy on loopback between a real Sluice and the simulator sees every scheduler call and the
 * event stream in the chosen media type.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';
import { startSluice } from '../src/app/app.js';
import { startSim } from '../src/sim/index.js';
import { createLogger } from '../src/util/logger.js';

const quiet = () => createLogger({ level: 'error', silent: true });

describe('configuration: codec', () => {
  it('comes from flag, environment or config file; json by default; anything else is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-codec-cfg-'));
    try {
      fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ codec: 'protobuf' }));
      expect(loadConfig({}, {}, dir).codec).to.equal('json');
      expect(loadConfig({ config: 'c.json' }, {}, dir)).to.include({ codec: 'protobuf' });
      expect(loadConfig({}, { SLUICE_CODEC: 'protobuf' }, dir).sources['codec']).to.equal('env');
      expect(loadConfig({ codec: 'json' }, { SLUICE_CODEC: 'protobuf' }, dir).codec).to.equal('json');
      expect(() => loadConfig({ codec: 'xml' }, {}, dir)).to.throw(ConfigError, /codec must be json or protobuf; got "xml"/);
      expect(loadConfig({}, {}, dir).logFormat).to.equal(undefined); // decided by the terminal
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('codec on the wire', function () {
  this.timeout(30_000);
  for (const codec of ['json', 'protobuf'] as const) {
    const media = codec === 'json' ? 'application/json' : 'application/x-protobuf';
    it(`--codec ${codec}: every scheduler call and the event stream are ${media}`, async () => {
      const sim = await startSim({ agents: 3, racks: 1, logger: quiet(), port: 0 });
      const seen: Array<{ url: string; req: string | undefined; res: string | undefined }> = [];
      const target = new URL(sim.url);
      const proxy = http.createServer((req, res) => {
        const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
          seen.push({ url: req.url ?? '', req: req.headers['content-type'], res: ur.headers['content-type'] });
          const headers = { ...ur.headers };
          // keep a redirect to the leading master pointing through the proxy
          if (headers.location) headers.location = headers.location.replace(`${target.host}`, `127.0.0.1:${(proxy.address() as AddressInfo).port}`);
          res.writeHead(ur.statusCode ?? 502, headers);
          ur.pipe(res);
        });
        up.on('error', () => res.destroy());
        req.pipe(up);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const store = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-codec-'));
      const cfg = loadConfig({ master: [`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`], store, 'api-listen': '127.0.0.1:0', 'no-demo': true, codec }, {});
      const app = await startSluice(cfg, { logger: quiet() });
      try {
        const job = { name: 'web', instances: 2, resources: { cpus: 0.1, mem: 16 }, command: { value: 'sleep 100', shell: true } };
        expect((await app.runtime.submit({ type: 'create_job', spec: job })).ok).to.equal(true);
        const deadline = Date.now() + 20_000;
        const types = () => seen.filter((s) => s.url === '/api/v1/scheduler');
        while (types().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const calls = types();
        expect(calls.length, JSON.stringify(seen)).to.be.at.least(3); // SUBSCRIBE + ACCEPT/DECLINE/...
        for (const c of calls) expect(c.req, JSON.stringify(c)).to.equal(media);
        expect(calls[0]!.res).to.equal(media); // the SUBSCRIBE stream
      } finally {
        await app.stop();
        proxy.closeAllConnections();
        await new Promise((r) => proxy.close(r));
        await sim.close();
        fs.rmSync(store, { recursive: true, force: true });
      }
    });
  }
});
