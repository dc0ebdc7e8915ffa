/**
 * Child process for the store crash test (run as `node dist/test/helpers/store-crash-child.js <dir>`).
 * Opens the store, continues numbering from what is already there, and writes numbered batches with
 * several in flight (so group commit and compaction happen), each batch putting the same number into
 * collections "n" and "m" (atomicity check). Prints "ready <start>" and then one line per batch as it
 * is acknowledged (durable). The parent SIGKILLs it at a random moment.
 */
import { Store } from '../../src/store/index.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: store-crash-child <dir>\n');
  process.exit(2);
}
const inFlight = Number(process.argv[3] ?? 8);
const quiet = { info() {}, warn() {}, error(msg: string) { process.stderr.write(`${msg}\n`); } };

const store = await Store.open(dir, { compactAfterBytes: 16 * 1024, logger: quiet });
let next = store.list('n').length;
process.stdout.write(`ready ${next}\n`);
const pad = 'x'.repeat(100);

async function worker(): Promise<void> {
  for (;;) {
    const i = next++;
    const key = String(i).padStart(8, '0');
    await store.batch([
      { op: 'put', collection: 'n', key, value: { i, pad } },
      { op: 'put', collection: 'm', key, value: i },
    ]);
    process.stdout.write(`${i}\n`);
  }
}
await Promise.all(Array.from({ length: inFlight }, () => worker()));
