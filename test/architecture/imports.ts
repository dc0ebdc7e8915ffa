/**
 * The import graph of src/, read from the TypeScript sources as text (no compiler needed): every
 * static `import … from`, `export … from`, bare `import '…'` and dynamic `import('…')`, with whether
 * the import is type-only. Used by the architecture test; kept separate so a reader can run it alone.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ImportEdge {
  from: string; // src-relative file, e.g. 'scheduler/reducer.ts'
  to: string; // src-relative file for relative imports, or the package / node: specifier
  typeOnly: boolean;
  external: boolean;
}

const STATIC = /(?:^|[\n;])\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"]/g;
const BARE = /(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

export function listSources(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(path.relative(root, p).split(path.sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/[^\n]*/g, '$1');
}

function resolve(fromFile: string, spec: string): string {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), spec));
  return joined.replace(/\.js$/, '.ts');
}

export function importsOf(root: string, file: string): ImportEdge[] {
  const src = stripComments(fs.readFileSync(path.join(root, file), 'utf8'));
  const edges: ImportEdge[] = [];
  const add = (spec: string, typeOnly: boolean): void => {
    const external = !spec.startsWith('.');
    edges.push({ from: file, to: external ? spec : resolve(file, spec), typeOnly, external });
  };
  for (const m of src.matchAll(STATIC)) {
    const clause = m[3] ?? '';
    // `import { type A, type B } from` is type-only too.
    const allTypes = /^\{\s*(type\s+[\w$]+(\s+as\s+[\w$]+)?\s*,?\s*)+\}$/.test(clause.trim());
    add(m[4]!, Boolean(m[2]) || allTypes);
  }
  for (const m of src.matchAll(BARE)) add(m[1]!, false);
  for (const m of src.matchAll(DYNAMIC)) add(m[1]!, false);
  return edges;
}

export function importGraph(root: string): ImportEdge[] {
  return listSources(root).flatMap((f) => importsOf(root, f));
}

/** Strongly connected components with more than one node (or a self-loop): the import cycles. */
export function cycles(nodes: readonly string[], edges: ReadonlyArray<{ from: string; to: string }>): string[][] {
  const adj = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of edges) if (adj.has(e.from) && adj.has(e.to)) adj.get(e.from)!.push(e.to);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of adj.get(v)!) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || adj.get(v)!.includes(v)) out.push(comp.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) strong(n);
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}
