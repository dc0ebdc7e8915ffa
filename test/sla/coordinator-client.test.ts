/**
 * The coordinator client against a real HTTP coordinator on loopback: yes, no, timeout, garbage,
 * closed sockets, redirects, oversized bodies, credentials, bounded concurrency.
 */
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoordinatorClient, type CoordinatorLog } from '../../src/coordinator/index.js';
import type { CoordinatorQuestion } from '../../src/sla/index.js';

interface Seen {
  path: string;
  body: unknown;
  auth?: string;
  contentType?: string;
}

const Q: CoordinatorQuestion = { job: 'kafka', instance: 3, host: 'agent-7.example', task_id: 'kafka-3-abc', reason: 'drain' };

describe('coordinator client (real loopback coordinator)', function () {
  this.timeout(20_000);
  let server: http.Server;
  let base: string;
  const seen: Seen[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const held: Array<() => void> = [];

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        const s: Seen = { path: req.url ?? '', body };
        if (req.headers.authorization) s.auth = req.headers.authorization;
        if (req.headers['content-type']) s.contentType = req.headers['content-type'];
        seen.push(s);
        const json = (status: number, o: unknown, type = 'application/json'): void => {
          res.writeHead(status, { 'content-type': type });
          res.end(typeof o === 'string' ? o : JSON.stringify(o));
        };
        switch (req.url) {
          case '/yes':
            return json(200, { allow: true, reason: 'replica in sync' });
          case '/no':
            return json(200, { allow: false, reason: 'under-replicated partitions: 3\n\u0007' });
          case '/yes-string':
            return json(200, { allow: 'true' });
          case '/yes-vnd':
            return json(200, { allow: true }, 'application/vnd.kafka+json; charset=utf-8');
          case '/garbage':
            return json(200, '{"allow": tru');
          case '/array':
            return json(200, [{ allow: true }]);
          case '/html':
            return json(200, { allow: true }, 'text/html');
          case '/500':
            return json(500, { allow: true, reason: 'database down' });
          case '/redirect':
            res.writeHead(302, { location: `${base}/yes` });
            return res.end();
          case '/big': {
            const b = JSON.stringify({ allow: true, pad: 'x'.repeat(100_000) });
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(b)) });
            return res.end(b);
          }
          case '/big-chunked': {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write('{"allow": true, "pad": "');
            for (let i = 0; i < 20; i++) res.write('y'.repeat(10_000));
            return res.end('"}');
          }
          case '/slow':
            return; // never answers
          case '/close':
            return req.socket.destroy();
          case '/half': {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
            res.write('{"allow": tr');
            setImmediate(() => req.socket.destroy());
            return;
          }
          case '/hold': {
            concurrent++;
            maxConcurrent = Math.max(maxConcurrent, concurrent);
            held.push(() => {
              concurrent--;
              json(200, { allow: true });
            });
            return;
          }
          default:
            return json(404, { error: 'no such path' });
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const ref = (path: string, timeout_seconds = 5) => ({ url: `${base}${path}`, timeout_seconds });

  it('posts the question as JSON and takes an explicit {"allow": true} as yes', async () => {
    const c = new CoordinatorClient();
    seen.length = 0;
    const a = await c.ask(ref('/yes'), Q);
    expect(a.allow).to.equal(true);
    expect(a.reason).to.equal('replica in sync');
    expect(seen).to.have.length(1);
    expect(seen[0]!.body).to.deep.equal({ job: 'kafka', instance: 3, host: 'agent-7.example', task_id: 'kafka-3-abc', reason: 'drain' });
    expect(seen[0]!.contentType).to.equal('application/json');
    expect((await c.ask(ref('/yes-vnd'), Q)).allow).to.equal(true);
  });

  it('"allow": false is no, with the coordinator reason cleaned of control characters', async () => {
    const a = await new CoordinatorClient().ask(ref('/no'), Q);
    expect(a.allow).to.equal(false);
    expect(a.reason).to.equal('coordinator said no: under-replicated partitions: 3');
  });

  it('anything but an explicit yes in a 2xx JSON object is no', async () => {
    const c = new CoordinatorClient();
    const cases: Array<[string, RegExp]> = [
      ['/yes-string', /no "allow": true or false/],
      ['/garbage', /not valid JSON/],
      ['/array', /not a JSON object/],
      ['/html', /not JSON \(Content-Type "text\/html"\)/],
      ['/500', /HTTP 500: database down/],
      ['/redirect', /redirect \(HTTP 302\), which is not followed/],
      ['/nowhere', /HTTP 404/],
      ['/big', /too large \(\d+ bytes > 65536\)/],
      ['/big-chunked', /too large \(over 65536 bytes\)/],
      ['/close', /unreachable: ECONNRESET|closed the connection/],
      ['/half', /closed the connection before the answer was complete/],
    ];
    for (const [path, re] of cases) {
      const a = await c.ask(ref(path), Q);
      expect(a.allow, path).to.equal(false);
      expect(a.reason, path).to.match(re);
    }
    // the redirect target was never asked
    expect(seen.filter((s) => s.path === '/yes')).to.have.length(1);
  });

  it('a coordinator that does not answer within the timeout is a no', async () => {
    const a = await new CoordinatorClient().ask(ref('/slow', 0.3), Q);
    expect(a).to.include({ allow: false, reason: 'coordinator did not answer within 0.3s' });
  });

  it('a refused connection is a no', async () => {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const a = await new CoordinatorClient().ask({ url: `http://127.0.0.1:${port}/x`, timeout_seconds: 5 }, Q);
    expect(a.allow).to.equal(false);
    expect(a.reason).to.match(/unreachable: ECONNREFUSED/);
  });

  it('sends URL credentials as Basic auth and never shows them in answers or logs', async () => {
    const lines: Array<[string, Record<string, unknown> | undefined]> = [];
    const log: CoordinatorLog = { info: (m, meta) => lines.push([m, meta]), warn: (m, meta) => lines.push([m, meta]) };
    const c = new CoordinatorClient({ log });
    seen.length = 0;
    const secretUrl = base.replace('http://', 'http://svc:s3cr%40t-pw@');
    const yes = await c.ask({ url: `${secretUrl}/yes`, timeout_seconds: 5 }, Q);
    expect(seen[0]!.auth).to.equal(`Basic ${Buffer.from('svc:s3cr@t-pw').toString('base64')}`);
    const no = await c.ask({ url: `${secretUrl}/slow`, timeout_seconds: 0.2 }, Q);
    expect(yes.url).to.equal(`${base.replace('http://', 'http://***@')}/yes`);
    const all = JSON.stringify([yes, no, lines]);
    expect(all).not.to.include('s3cr');
    expect(lines.map(([m]) => m)).to.deep.equal(['coordinator allows kafka[3]', 'coordinator refuses kafka[3]: coordinator did not answer within 0.2s']);
    expect(lines[1]![1]).to.include({ event: 'coordinator_answer', job: 'kafka', task_id: 'kafka-3-abc', allow: false });
  });

  it('keeps at most maxConcurrent questions in flight and shares a repeated question', async () => {
    const c = new CoordinatorClient({ maxConcurrent: 2, maxQueued: 3 });
    maxConcurrent = 0;
    const qs = [0, 1, 2, 3, 4].map((i) => c.ask(ref('/hold'), { ...Q, instance: i, task_id: `kafka-${i}` }));
    const again = c.ask(ref('/hold'), { ...Q, instance: 0, task_id: 'kafka-0' });
    const overflow = await c.ask(ref('/hold'), { ...Q, instance: 9, task_id: 'kafka-9' });
    expect(overflow).to.include({ allow: false });
    expect(overflow.reason).to.match(/too many coordinator questions waiting/);
    // release answers as they arrive until all five have been answered
    let answered = 0;
    while (answered < 5) {
      await new Promise((r) => setTimeout(r, 20));
      while (held.length) {
        held.shift()!();
        answered++;
      }
    }
    const res = await Promise.all(qs);
    expect(res.every((r) => r.allow)).to.equal(true);
    expect(await again).to.equal(res[0]);
    expect(maxConcurrent).to.equal(2);
  });

  it('close() answers no to what is in flight and to new questions', async () => {
    const c = new CoordinatorClient();
    const p = c.ask(ref('/slow', 10), Q);
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    expect((await p).allow).to.equal(false);
    expect(await c.ask(ref('/yes'), Q)).to.include({ allow: false, reason: 'coordinator client closed' });
  });
});
