/**
 * The architecture test: the rules of the house, checked on every run.
 *
 * 1. No import cycles, between files (type-only imports included) or between folders.
 * 2. Layers: a folder of src/ may import only the folders listed for it in LAYERS. `src/app` (the
 *    composition root) may import everything; nothing imports `src/app` except the CLI.
 * 3. Pure cores (PURE) reach no I/O: neither they nor anything they import at run time (transitively)
 *    loads node:*, undici, rxjs, winston, prom-client or the ZooKeeper client.
 *
 * A new folder under src/ fails the test until it is given a line in LAYERS: that is where the next
 * person learns (and decides) where it sits.
 *
 * KNOWN lists today's violations, each to be removed by the structure issue (#10). The test fails on
 * any violation not listed AND on a listed one that is gone (so the list only ever shrinks).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cycles, importGraph, listSources, type ImportEdge } from './imports.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');

/** folder (or top-level file without .ts) → the folders it may import. */
export const LAYERS: Record<string, readonly string[]> = {
  util: [],
  audit: [],
  mesos: ['util'],
  config: ['util', 'mesos', 'sla'],
  store: ['util'],
  zk: ['util'],
  ha: ['util', 'zk', 'store'],
  client: ['mesos', 'util'],
  metrics: ['mesos', 'util'],
  sla: ['mesos', 'util'],
  coordinator: ['util', 'sla'],
  scheduler: ['mesos', 'util', 'sla'],
  maintenance: ['audit', 'mesos', 'util', 'sla', 'scheduler', 'client', 'store', 'metrics', 'coordinator'],
  sim: ['mesos', 'util', 'zk'],
  runtime: ['audit', 'mesos', 'util', 'client', 'store', 'scheduler', 'sla', 'metrics', 'zk'],
  api: ['audit', 'mesos', 'util', 'scheduler', 'maintenance', 'sla', 'metrics', 'runtime'],
  doctor: ['mesos', 'util', 'client', 'config', 'zk'],
  console: ['audit', 'mesos', 'util', 'scheduler', 'maintenance', 'sla', 'metrics', 'runtime', 'api'],
  cli: ['audit', 'util', 'mesos', 'config', 'scheduler', 'maintenance', 'sla', 'sim', 'doctor', 'app'],
  app: ['*'],
};

/** Pure cores: files whose whole run-time import closure must stay free of I/O. */
const PURE = [/^audit\//, /^scheduler\//, /^sla\//, /^maintenance\/core\//];
const IO_PACKAGES = [/^node:/, /^undici$/, /^rxjs/, /^winston/, /^prom-client$/, /^node-zookeeper-client$/, /^(fs|http|https|net|child_process|os|crypto)$/];

const KNOWN: readonly string[] = [
];

const area = (f: string): string => (f.includes('/') ? f.split('/')[0]! : f.replace(/\.ts$/, ''));

export function violations(root: string): string[] {
  const files = listSources(root);
  const edges = importGraph(root);
  const internal = edges.filter((e) => !e.external);
  const out: string[] = [];
  for (const c of cycles(files, internal)) out.push(`cycle: ${c.join(', ')}`);
  const areas = [...new Set(files.map(area))].sort();
  const areaEdges = internal.map((e) => ({ from: area(e.from), to: area(e.to) })).filter((e) => e.from !== e.to);
  for (const c of cycles(areas, areaEdges)) out.push(`folder cycle: ${c.join(', ')}`);
  for (const a of areas) if (!LAYERS[a]) out.push(`unplaced folder: src/${a} has no line in LAYERS (test/architecture/architecture.test.ts)`);
  for (const e of internal) {
    const from = area(e.from);
    const to = area(e.to);
    if (from === to) continue;
    const allowed = LAYERS[from];
    if (!allowed || allowed.includes('*') || allowed.includes(to)) {
      if (to === 'app' && from !== 'cli' && from !== 'app') out.push(`layer: ${e.from} -> ${e.to}`);
      continue;
    }
    if (PURE.some((p) => p.test(e.from)) && (to === 'client' || to === 'store' || to === 'metrics')) out.push(`pure: ${e.from} -> ${e.to}`);
    else out.push(`layer: ${e.from} -> ${e.to}`);
  }
  // Pure cores: nothing reachable at run time may load an I/O package.
  const runtimeEdges = new Map<string, ImportEdge[]>();
  for (const e of edges) if (!e.typeOnly) (runtimeEdges.get(e.from) ?? runtimeEdges.set(e.from, []).get(e.from)!).push(e);
  for (const f of files.filter((f) => PURE.some((p) => p.test(f)))) {
    const seen = new Set<string>([f]);
    const queue = [f];
    while (queue.length) {
      const cur = queue.shift()!;
      for (const e of runtimeEdges.get(cur) ?? []) {
        if (e.external) {
          if (IO_PACKAGES.some((p) => p.test(e.to))) out.push(`pure: ${f} reaches ${e.to}${cur === f ? '' : ` (through ${cur})`}`);
        } else if (!seen.has(e.to)) {
          seen.add(e.to);
          queue.push(e.to);
        }
      }
    }
    // A pure core may not import (even for types) a file outside the pure set of its allowed folders.
    for (const e of edges.filter((x) => x.from === f && !x.external)) {
      if (area(e.to) === 'maintenance' && !PURE.some((p) => p.test(e.to))) out.push(`pure: ${f} -> ${e.to}`);
    }
  }
  return [...new Set(out)].sort();
}

describe('architecture', () => {
  const found = violations(SRC);

  it('has no import cycle, no layer crossing and no I/O in the pure cores beyond the known ones (#10)', () => {
    const fresh = found.filter((v) => !KNOWN.includes(v));
    expect(fresh, `new violations (fix them, do not list them):\n${fresh.join('\n')}`).to.deep.equal([]);
  });

  it('lists no violation that is already fixed (remove it from KNOWN)', () => {
    const stale = KNOWN.filter((v) => !found.includes(v));
    expect(stale, `fixed, remove from KNOWN:\n${stale.join('\n')}`).to.deep.equal([]);
  });

  it('catches a deliberate cycle, a layer crossing, an I/O import in a pure core and an unplaced folder', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-arch-'));
    const write = (f: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), text);
    };
    try {
      write('scheduler/a.ts', "import { b } from './b.js';\nexport const a = b;\n");
      write('scheduler/b.ts', "import type { a } from './a.js';\nimport { x } from '../util/io.js';\nexport const b = 1 as unknown as typeof a;\n");
      write('util/io.ts', "import fs from 'node:fs';\nexport const x = fs;\n");
      write('scheduler/c.ts', "import {\n  y,\n} from '../api/y.js';\nexport const c = y;\n");
      write('api/y.ts', 'export const y = 1;\n');
      write('gadgets/z.ts', "// import { q } from '../api/q.js';\nexport const z = 1;\n");
      expect(violations(root)).to.deep.equal([
        'cycle: scheduler/a.ts, scheduler/b.ts',
        'layer: scheduler/c.ts -> api/y.ts',
        'pure: scheduler/a.ts reaches node:fs (through util/io.ts)',
        'pure: scheduler/b.ts reaches node:fs (through util/io.ts)',
        'unplaced folder: src/gadgets has no line in LAYERS (test/architecture/architecture.test.ts)',
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
