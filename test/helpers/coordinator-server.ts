/**
 * A service's coordinator for tests: a real HTTP server on loopback (node:http) that is told to say
 * yes, no, time out (never answer) or answer garbage (invalid JSON), and records every question
 * (body, method, content type), every yes given, and how many questions it was answering at once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type CoordinatorMode = 'yes' | 'no' | 'timeout' | 'garbage';

export interface CoordinatorQuestionSeen {
  body: Record<string, unknown>;
  contentType: string | undefined;
  method: string | undefined;
}

export class LoopbackCoordinator {
  mode: CoordinatorMode = 'no';
  readonly questions: CoordinatorQuestionSeen[] = [];
  /** Task ids it has said yes to (recorded as the answer leaves). */
  readonly yes = new Set<string>();
  /** Questions being answered now, and the most at once. */
  open = 0;
  maxOpen = 0;
  url = '';
  private readonly server: http.Server;

  /** `delayMs`: answers (yes, no) leave this much later, so that deciders meanwhile could ask at once. */
  constructor(private readonly delayMs = 0) {
    this.server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        this.questions.push({ body, contentType: req.headers['content-type'], method: req.method });
        this.maxOpen = Math.max(this.maxOpen, ++this.open);
        res.on('close', () => this.open--);
        const json = (v: string) => res.writeHead(200, { 'content-type': 'application/json' }).end(v);
        switch (this.mode) {
          case 'timeout':
            return; // never answers
          case 'garbage':
            return json('{"allow": tru');
          case 'no':
            setTimeout(() => json(JSON.stringify({ allow: false, reason: 'under-replicated partitions' })), this.delayMs);
            return;
          case 'yes':
            setTimeout(() => {
              this.yes.add(String(body['task_id']));
              json(JSON.stringify({ allow: true, reason: 'replicas in sync' }));
            }, this.delayMs);
        }
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/may-i`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** The questions since the last call. */
  take(): CoordinatorQuestionSeen[] {
    return this.questions.splice(0);
  }
}
