/**
 * Racks as columns of host tiles, for clusters of 10,000 hosts and more: a rack's tiles are built
 * only when its column comes near the viewport (IntersectionObserver), and updates touch only the
 * tiles and rack headers that changed, once per animation frame. A tile shows its state by colour,
 * border shape, symbol and word, plus tasks left and a progress bar.
 */

export type HostState = 'UP' | 'SCHEDULED' | 'DRAINING' | 'DRAINED' | 'DOWN';
export const STATES: readonly HostState[] = ['UP', 'SCHEDULED', 'DRAINING', 'DRAINED', 'DOWN'];
export const SYMBOL: Record<HostState, string> = { UP: '●', SCHEDULED: '◷', DRAINING: '◐', DRAINED: '◯', DOWN: '■' };

export interface HostModel {
  hostname: string;
  rack: string;
  state: HostState;
  /** our tasks on it (agents view, or tasks_left while in maintenance) */
  tasks: number;
  /** most tasks seen since its maintenance began (the progress bar's scale) */
  peak: number;
  /** the maintenance record / progress fields (GET /api/v1/hosts) */
  m?: Record<string, unknown>;
}

export function asState(v: unknown): HostState {
  return typeof v === 'string' && (STATES as readonly string[]).includes(v) ? (v as HostState) : 'UP';
}

interface Column {
  el: HTMLElement;
  head: HTMLElement;
  counts: HTMLElement;
  body: HTMLElement;
  hosts: string[];
  filled: boolean;
}

export interface RenderStats {
  tiles: number;
  flushes: number;
  lastFlushMs: number;
  maxFlushMs: number;
  tilesUpdated: number;
}

export class RackView {
  private readonly cols = new Map<string, Column>();
  private readonly tiles = new Map<string, HTMLElement>();
  private readonly dirty = new Set<string>();
  private frame = 0;
  private readonly io: IntersectionObserver;
  private filter = '';
  readonly stats: RenderStats = { tiles: 0, flushes: 0, lastFlushMs: 0, maxFlushMs: 0, tilesUpdated: 0 };

  constructor(
    private readonly root: HTMLElement,
    private readonly hosts: Map<string, HostModel>,
    onSelect: (host: string) => void,
  ) {
    this.io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const col = this.cols.get((e.target as HTMLElement).dataset['rack'] ?? '');
        if (col && !col.filled) this.fill(col);
      }
    }, { root, rootMargin: '400px' });
    const pick = (ev: Event) => {
      const t = (ev.target as HTMLElement).closest<HTMLElement>('.tile');
      if (t?.dataset['host']) onSelect(t.dataset['host']);
    };
    root.addEventListener('click', pick);
    root.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') pick(ev);
    });
  }

  /** (Re)builds the columns: call when the set of hosts or racks changed. */
  rebuild(): void {
    const racks = new Map<string, string[]>();
    for (const h of this.hosts.values()) {
      let l = racks.get(h.rack);
      if (!l) racks.set(h.rack, (l = []));
      l.push(h.hostname);
    }
    const names = [...racks.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    this.io.disconnect();
    this.root.replaceChildren();
    this.cols.clear();
    this.tiles.clear();
    this.stats.tiles = 0;
    const frag = document.createDocumentFragment();
    for (const name of names) {
      const hosts = racks.get(name)!.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      const el = document.createElement('div');
      el.className = 'rack';
      el.dataset['rack'] = name;
      el.setAttribute('role', 'group');
      el.setAttribute('aria-label', `rack ${name}`);
      const head = document.createElement('div');
      head.className = 'rack-h';
      head.textContent = name;
      const counts = document.createElement('span');
      counts.className = 'counts';
      head.append(counts);
      const body = document.createElement('div');
      body.className = 'rack-b placeholder';
      body.textContent = `${hosts.length} hosts`;
      el.append(head, body);
      frag.append(el);
      const col: Column = { el, head, counts, body, hosts, filled: false };
      this.cols.set(name, col);
      this.renderCounts(col);
    }
    this.root.append(frag);
    for (const c of this.cols.values()) this.io.observe(c.el);
  }

  /** Marks a host as changed; the DOM follows on the next frame. */
  touch(host: string): void {
    this.dirty.add(host);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  setFilter(text: string): void {
    this.filter = text.trim().toLowerCase();
    for (const [name, el] of this.tiles) el.classList.toggle('filtered', this.filter !== '' && !name.toLowerCase().includes(this.filter));
  }

  hasRack(rack: string): boolean {
    return this.cols.has(rack);
  }

  flush(): void {
    this.frame = 0;
    const t0 = performance.now();
    const racks = new Set<string>();
    for (const name of this.dirty) {
      const h = this.hosts.get(name);
      if (!h) continue;
      racks.add(h.rack);
      const el = this.tiles.get(name);
      if (el) {
        this.paint(el, h);
        this.stats.tilesUpdated++;
      }
    }
    this.dirty.clear();
    for (const r of racks) {
      const c = this.cols.get(r);
      if (c) this.renderCounts(c);
    }
    const ms = performance.now() - t0;
    this.stats.flushes++;
    this.stats.lastFlushMs = ms;
    this.stats.maxFlushMs = Math.max(this.stats.maxFlushMs, ms);
  }

  private fill(col: Column): void {
    col.filled = true;
    col.body.className = 'rack-b';
    col.body.textContent = '';
    const frag = document.createDocumentFragment();
    for (const name of col.hosts) {
      const h = this.hosts.get(name);
      if (!h) continue;
      const el = document.createElement('div');
      el.tabIndex = 0;
      el.setAttribute('role', 'button');
      el.dataset['host'] = name;
      const hn = document.createElement('span');
      hn.className = 'hn';
      hn.textContent = name;
      const st = document.createElement('span');
      st.className = 'st';
      const tl = document.createElement('span');
      tl.className = 'tl';
      const bar = document.createElement('progress');
      el.append(hn, st, tl, bar);
      this.paint(el, h);
      if (this.filter && !name.toLowerCase().includes(this.filter)) el.classList.add('filtered');
      this.tiles.set(name, el);
      frag.append(el);
    }
    col.body.append(frag);
    this.stats.tiles = this.tiles.size;
  }

  private paint(el: HTMLElement, h: HostModel): void {
    const filtered = el.classList.contains('filtered');
    el.className = `tile s-${h.state}${filtered ? ' filtered' : ''}`;
    el.dataset['state'] = h.state;
    const [, st, tl, bar] = el.children as unknown as [HTMLElement, HTMLElement, HTMLElement, HTMLProgressElement];
    st.textContent = `${SYMBOL[h.state]} ${h.state}`;
    tl.textContent = `${h.tasks} task${h.tasks === 1 ? '' : 's'}`;
    const inMaint = h.state !== 'UP';
    const done = h.state === 'DRAINED' || h.state === 'DOWN' ? 1 : h.peak > 0 ? (h.peak - h.tasks) / h.peak : 0;
    bar.max = 1;
    bar.value = inMaint ? Math.max(0, Math.min(1, done)) : 0;
    bar.hidden = !inMaint;
    const blockers = Array.isArray(h.m?.['blockers']) ? (h.m!['blockers'] as Array<{ reason?: unknown }>).map((b) => String(b.reason ?? '')) : [];
    el.title = `${h.hostname} — ${h.state}, ${h.tasks} task(s) left${blockers.length ? `\n${blockers.join('\n')}` : ''}`;
    el.setAttribute('aria-label', `${h.hostname}: ${h.state}, ${h.tasks} tasks`);
  }

  private renderCounts(col: Column): void {
    const n: Record<string, number> = {};
    for (const name of col.hosts) {
      const s = this.hosts.get(name)?.state ?? 'UP';
      n[s] = (n[s] ?? 0) + 1;
    }
    col.counts.textContent = STATES.filter((s) => n[s]).map((s) => `${SYMBOL[s]}${n[s]} ${s}`).join(' · ');
  }
}
