/**
 * A small HTTP proxy in front of the simulated master, in the test process, so a test can act at an
 * exact point of Sluice's conversation with the master: `onAnswer` is awaited after the master has
 * answered a request and BEFORE the answer is relayed to Sluice (e.g. SIGKILL the child Sluice once
 * the master has taken a schedule, or let someone else write the schedule right after ours).
 * Everything else is forwarded as is, streams included (the scheduler's SUBSCRIBE).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  body: string;
}

export interface MasterProxy {
  url: string;
  /** Awaited between the master's answer and relaying it. */
  onAnswer: ((req: ProxiedRequest, status: number) => Promise<void> | void) | undefined;
  /** Requests seen, in order of arrival (method and path). */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startMasterProxy(target: string): Promise<MasterProxy> {
  const to = new URL(target);
  const proxy: MasterProxy = {
    url: '',
    onAnswer: undefined,
    seen: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const p: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', body: body.toString('utf8') };
      proxy.seen.push(`${p.method} ${p.path}`);
      const headers = { ...req.headers, host: to.host };
      const up = http.request({ host: to.hostname, port: to.port, method: p.method, path: p.path, headers }, (ures) => {
        void (async () => {
          try {
            await proxy.onAnswer?.(p, ures.statusCode ?? 0);
          } catch {
            // a hook failure must not wedge the proxy
          }
          if (res.destroyed) {
            ures.destroy();
            return;
          }
          res.writeHead(ures.statusCode ?? 502, ures.headers);
          ures.pipe(res);
        })();
      });
      up.on('error', () => {
        if (!res.headersSent && !res.destroyed) res.writeHead(502).end();
        else res.destroy();
      });
      res.on('close', () => up.destroy());
      up.end(body);
    });
    req.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
