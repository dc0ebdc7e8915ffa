/**
 * The Sluice scheduler client alone in a process, for honest memory figures (fault suite):
 *
 *   node --expose-gc dist/test/faults/client-child.js '{"master":"http://…","maxRecordBytes":N}'
 *
 * Prints JSON lines on stdout:
 *  - `{"kind":"subscribed", rss, maxRss}` once subscribed (after a full GC): the baseline;
 *  - `{"kind":"event", type, bytes, rss, maxRss}` for every event after SUBSCRIBED;
 *  - `{"kind":"client_error", name, message, rss, maxRss}` for every client-side error.
 * maxRss is the process's peak resident set size so far (getrusage), in bytes.
 */
import { SchedulerClient } from '../../src/client/index.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as { master: string; maxRecordBytes?: number };
const gc = (globalThis as { gc?: () => void }).gc;

function mem(): { rss: number; maxRss: number } {
  return { rss: process.memoryUsage.rss(), maxRss: process.resourceUsage().maxRSS * 1024 };
}
function report(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ...o, ...mem() }) + '\n');
}

const client = new SchedulerClient({
  masters: [opts.master],
  frameworkInfo: { user: 'sluice', name: 'sluice-fault-child', failover_timeout: 3600, roles: ['web'], capabilities: [{ type: 'MULTI_ROLE' }] },
  backoff: { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0 },
  ...(opts.maxRecordBytes !== undefined ? { maxRecordBytes: opts.maxRecordBytes } : {}),
});
client.events$.subscribe((ev) => {
  if (ev.type === 'SUBSCRIBED') {
    gc?.();
    report({ kind: 'subscribed' });
    return;
  }
  report({ kind: 'event', type: ev.type, bytes: ev.message?.data?.byteLength });
});
client.clientErrors$.subscribe((e) => report({ kind: 'client_error', name: e.name, message: e.message.slice(0, 300) }));
client.start();

const shutdown = () => void client.stop().finally(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
