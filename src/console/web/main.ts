/**
 * The maintenance console (issue #14): racks of hosts moving live, the requests in progress with
 * their blockers in plain words, per-job SLA budgets, the event timeline, a host's detail, and the
 * verbs (start with a dry-run preview first, complete, abort, pause / resume a request, pause all;
 * each after a confirmation, pause and resume with a reason field).
 *
 * Data: GET /api/v1/agents, /api/v1/hosts, /api/v1/sla/jobs, /api/v1/agents/:host, and the live
 * feed GET /api/v1/events (audit entries by seq, `progress` views, `resync` → reload everything).
 * Everything shown is set with textContent: nothing from the API is ever parsed as HTML.
 */
import { call, errorText, followEvents, getToken, HttpError, setToken, type FeedState, type Frame } from './api.js';
import { asState, RackView, SYMBOL, type HostModel, type HostState } from './racks.js';
import type { AuditEntry } from '../../audit/entry.js';

interface SlaJob {
  job: string;
  sla: string;
  instances: number;
  up: number;
  required: number;
  budget: number;
  margin: number;
  in_flight: number;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/** A DOM element with text children only. */
function el(tag: string, cls?: string, ...children: Array<string | Node | undefined | false>): HTMLElement {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) if (c !== undefined && c !== false) e.append(c);
  return e;
}

function button(text: string, onClick: () => void, cls?: string): HTMLButtonElement {
  const b = el('button', cls, text) as HTMLButtonElement;
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

function fmtTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function fmtDur(ms: number): string {
  if (!Number.isFinite(ms)) return 'not possible under the SLAs as things stand';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 90 ? `${m}m` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}`;
}

const hosts = new Map<string, HostModel>();
const events: AuditEntry[] = [];
const MAX_EVENTS = 5000;
const requests = new Map<string, { actor?: string; reason?: string; ts?: number }>();
let slaJobs: SlaJob[] = [];
let nowMs = Date.now();
let clockSkew = 0; // Sluice's clock − ours (the simulator may run a virtual clock)
let selected: string | undefined;
let feedAbort: AbortController | undefined;
let authorized = true;
let rendered = false;

const view = new RackView($('racks'), hosts, (h) => selectHost(h));

// ------------------------------------------------------------------ status line and alerts

function setConn(text: string, cls: '' | 'live' | 'bad'): void {
  const c = $('conn');
  c.textContent = text;
  c.className = `conn ${cls}`;
}

function alertBox(text: string | undefined, ok = false): void {
  const a = $('alert');
  a.hidden = !text;
  a.textContent = text ?? '';
  a.className = ok ? 'alert ok' : 'alert';
}

function unauthorized(): void {
  authorized = false;
  setConn('token needed', 'bad');
  alertBox('The API refused: a token is required (or the one given is wrong). Enter it above.');
  ($('token') as HTMLInputElement).focus();
}

async function guarded<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) unauthorized();
    else alertBox(errorText(e));
    return undefined;
  }
}

// ------------------------------------------------------------------ model

function hostOf(name: string, rack?: unknown): HostModel {
  let h = hosts.get(name);
  if (!h) {
    h = { hostname: name, rack: typeof rack === 'string' && rack ? rack : 'no rack', state: 'UP', tasks: 0, peak: 0 };
    hosts.set(name, h);
  }
  return h;
}

/** Applies one host of GET /api/v1/hosts (`full`: a pause mark it lacks is gone) or of a `progress` view. */
function applyRecord(r: Record<string, unknown>, full = false): boolean {
  const name = String(r['hostname'] ?? '');
  if (!name) return false;
  const isNew = !hosts.has(name);
  const h = hostOf(name, r['rack']);
  const state = asState(r['state']);
  if (h.state === 'UP' && state !== 'UP') h.peak = 0;
  h.state = state;
  h.m = { ...h.m, ...r };
  if (full && !('paused' in r)) delete h.m['paused'];
  if (typeof r['tasks_left'] === 'number') h.tasks = r['tasks_left'];
  h.peak = Math.max(h.peak, h.tasks);
  if (state === 'UP') h.m = undefined;
  view.touch(name);
  return isNew;
}

function backUp(name: string): void {
  const h = hosts.get(name);
  if (!h || h.state === 'UP') return;
  h.state = 'UP';
  h.m = undefined;
  view.touch(name);
}

async function loadAll(): Promise<void> {
  const r = await guarded(() =>
    Promise.all([
      call<{ now_ms: number; agents: Array<{ hostname: string; rack: string | null; tasks: number }> }>('GET', '/api/v1/agents'),
      call<{ now_ms: number; hosts: Array<Record<string, unknown>>; paused_all?: PauseMark | null }>('GET', '/api/v1/hosts'),
    ]),
  );
  if (!r) return;
  pausedAll = r[1].paused_all ?? undefined;
  consoleStats.dataAtMs ??= performance.now();
  authorized = true;
  const [agents, maint] = r;
  clockSkew = maint.now_ms - Date.now();
  nowMs = maint.now_ms;
  const before = new Map(hosts);
  hosts.clear();
  for (const a of agents.agents) {
    const h = hostOf(a.hostname, a.rack);
    h.tasks = a.tasks;
    h.peak = before.get(a.hostname)?.peak ?? 0;
  }
  for (const rec of maint.hosts) applyRecord(rec, true);
  const sameHosts = before.size === hosts.size && [...hosts.values()].every((h) => before.get(h.hostname)?.rack === h.rack);
  if (!sameHosts || !rendered) view.rebuild();
  else for (const k of hosts.keys()) view.touch(k);
  rendered = true;
  void loadSla();
  renderPanels();
  if (consoleStats.firstRenderMs === undefined) {
    requestAnimationFrame(() => {
      consoleStats.firstRenderMs = performance.now();
      consoleStats.hosts = hosts.size;
    });
  }
}

let hostsTimer = 0;
/** Re-reads GET /api/v1/hosts soon (after transitions: windows, waiting reasons, estimates). */
function refreshHostsSoon(): void {
  if (hostsTimer) return;
  hostsTimer = window.setTimeout(async () => {
    hostsTimer = 0;
    const r = await guarded(() => call<{ now_ms: number; hosts: Array<Record<string, unknown>>; paused_all?: PauseMark | null }>('GET', '/api/v1/hosts'));
    if (!r) return;
    clockSkew = r.now_ms - Date.now();
    pausedAll = r.paused_all ?? undefined;
    const seen = new Set<string>();
    let added = false;
    for (const rec of r.hosts) {
      seen.add(String(rec['hostname']));
      added = applyRecord(rec, true) || added;
    }
    for (const h of hosts.values()) if (h.state !== 'UP' && !seen.has(h.hostname)) backUp(h.hostname);
    if (added) view.rebuild();
    schedulePanels();
  }, 400);
}

let slaBusy = false;
async function loadSla(): Promise<void> {
  if (slaBusy) return;
  slaBusy = true;
  try {
    const r = await guarded(() => call<{ jobs: SlaJob[] }>('GET', '/api/v1/sla/jobs'));
    if (r) slaJobs = r.jobs;
    renderSla();
  } finally {
    slaBusy = false;
  }
}

// ------------------------------------------------------------------ feed

const consoleStats = {
  firstRenderMs: undefined as number | undefined,
  hosts: 0,
  events: 0,
  progressViews: 0,
  lastSeq: 0,
  feed: 'connecting' as FeedState,
  connects: 0,
  /** performance.now() when the first data was shown, and when the feed first went live */
  liveAtMs: undefined as number | undefined,
  dataAtMs: undefined as number | undefined,
  render: view.stats,
};

(window as unknown as { sluiceConsole: unknown }).sluiceConsole = consoleStats;

function onFrame(f: Frame): void {
  let data: unknown;
  try {
    data = JSON.parse(f.data);
  } catch {
    return; // not ours: ignore
  }
  if (f.event === 'hello') return;
  if (f.event === 'resync') {
    alertBox('Some events could not be replayed: reloaded the state from the API.', true);
    void loadAll();
    return;
  }
  if (f.event === 'progress') {
    consoleStats.progressViews++;
    const p = data as { full?: boolean; hosts?: Array<Record<string, unknown>>; removed?: string[] };
    const seen = new Set<string>();
    let added = false;
    for (const h of p.hosts ?? []) {
      seen.add(String(h['hostname']));
      added = applyRecord(h) || added;
    }
    for (const name of p.removed ?? []) backUp(name);
    if (p.full) for (const h of hosts.values()) if (h.state !== 'UP' && !seen.has(h.hostname)) backUp(h.hostname);
    if (added) view.rebuild();
    schedulePanels();
    if (Date.now() - slaAt > 2000) {
      slaAt = Date.now();
      void loadSla();
    }
    return;
  }
  if (f.id === undefined || typeof data !== 'object' || data === null) return;
  const e = data as AuditEntry;
  if (typeof e.seq !== 'number' || e.seq <= consoleStats.lastSeq) return;
  consoleStats.lastSeq = e.seq;
  consoleStats.events++;
  events.push(e);
  if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
  if (e.request_id && (e.kind === 'request' || !requests.has(e.request_id))) {
    const prev = requests.get(e.request_id);
    if (!prev || e.kind === 'request') requests.set(e.request_id, { actor: e.actor, reason: e.kind === 'request' ? e.reason : prev?.reason, ts: e.ts_ms });
  }
  if (e.kind === 'host_transition' && e.host && typeof e.to === 'string') {
    const known = hosts.has(e.host);
    const h = hostOf(e.host);
    const to = asState(e.to);
    if (h.state === 'UP' && to !== 'UP') h.peak = h.tasks;
    h.state = to;
    if (to === 'UP') h.m = undefined;
    else h.m = { ...h.m, request_id: e.request_id ?? h.m?.['request_id'] };
    if (!known) view.rebuild();
    view.touch(e.host);
    // tasks left, blockers and estimates follow in the feed's `progress` view; the full record
    // (window, hook) is read only for a new request or the host whose detail is open
    if (e.kind === 'host_transition' && (e.host === selected || (e.request_id && !seenRequests.has(e.request_id)))) refreshHostsSoon();
    if (e.request_id) seenRequests.add(e.request_id);
  }
  schedulePanels();
}

let slaAt = 0;
const seenRequests = new Set<string>();

function startFeed(): void {
  feedAbort?.abort();
  feedAbort = new AbortController();
  void followEvents({
    first: '?tail=300',
    signal: feedAbort.signal,
    onFrame,
    onState: (s, why) => {
      consoleStats.feed = s;
      if (s === 'unauthorized') unauthorized();
      else if (s === 'live') {
        consoleStats.connects++;
        consoleStats.liveAtMs ??= performance.now();
        setConn('live', 'live');
        if (!authorized) return;
      } else if (s === 'reconnecting') setConn(`reconnecting${why ? ` (${why})` : ''}…`, 'bad');
      else setConn('connecting…', '');
    },
  });
}

// ------------------------------------------------------------------ panels

let panelTimer = 0;
function schedulePanels(): void {
  if (panelTimer) return;
  panelTimer = window.setTimeout(() => {
    panelTimer = 0;
    renderPanels();
  }, 250);
}

function renderPanels(): void {
  renderSummary();
  renderClusterControls();
  renderRequests();
  renderTimeline();
  if (selected) renderDetail();
}

function renderSummary(): void {
  const n: Record<string, number> = {};
  for (const h of hosts.values()) n[h.state] = (n[h.state] ?? 0) + 1;
  const racks = new Set([...hosts.values()].map((h) => h.rack)).size;
  $('summary').textContent = `${hosts.size} hosts in ${racks} racks — ` + (['SCHEDULED', 'DRAINING', 'DRAINED', 'DOWN'] as HostState[]).map((s) => `${SYMBOL[s]} ${n[s] ?? 0} ${s}`).join(', ');
}

function blockersOf(h: HostModel): string[] {
  const b = h.m?.['blockers'];
  return Array.isArray(b) ? b.map((x: { reason?: unknown }) => String(x?.reason ?? '')).filter(Boolean) : [];
}

function renderRequests(): void {
  const groups = new Map<string, HostModel[]>();
  for (const h of hosts.values()) {
    if (h.state === 'UP') continue;
    const id = typeof h.m?.['request_id'] === 'string' ? (h.m['request_id'] as string) : `(${String(h.m?.['origin'] ?? 'external')} maintenance)`;
    let l = groups.get(id);
    if (!l) groups.set(id, (l = []));
    l.push(h);
  }
  const box = $('requests');
  if (!groups.size) {
    box.replaceChildren(el('p', 'muted', 'No maintenance in progress.'));
    return;
  }
  const out: HTMLElement[] = [];
  for (const [id, list] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const who = requests.get(id);
    const n: Record<string, number> = {};
    let left = 0;
    let peak = 0;
    let eta = 0;
    const blockers = new Map<string, number>();
    for (const h of list) {
      n[h.state] = (n[h.state] ?? 0) + 1;
      left += h.state === 'DRAINED' || h.state === 'DOWN' ? 0 : h.tasks;
      peak += Math.max(h.peak, h.tasks);
      const est = h.m?.['estimated_empty_ms'];
      if (typeof est === 'number') eta = Math.max(eta, est);
      else if (h.state === 'DRAINING' && est === undefined && h.tasks > 0) eta = Infinity;
      for (const b of blockersOf(h)) blockers.set(b, (blockers.get(b) ?? 0) + 1);
      const w = h.m?.['waiting'];
      if (typeof w === 'string' && w) blockers.set(`${h.state === 'SCHEDULED' ? 'waiting: ' : ''}${w}`, (blockers.get(w) ?? 0) + 1);
    }
    const done = (n['DRAINED'] ?? 0) + (n['DOWN'] ?? 0);
    const bar = document.createElement('progress');
    bar.max = Math.max(1, list.length);
    bar.value = done;
    const now = Date.now() + clockSkew;
    const etaText = done === list.length ? 'drained' : eta === Infinity ? 'no estimate (SLAs block the drain)' : eta > 0 ? `about ${fmtDur(eta - now)} (≈ ${fmtTime(eta)} UTC)` : 'soon';
    const names = (states: HostState[]) => list.filter((h) => states.includes(h.state)).map((h) => h.hostname);
    const completable = names(['DRAINED', 'DOWN']);
    const abortable = names(['SCHEDULED', 'DRAINING', 'DRAINED']);
    // pause / resume a request of Sluice's (not an external window): paused when all its hosts in maintenance are
    const isRequest = list.some((h) => h.m?.['request_id'] === id);
    const paused = abortable.length > 0 && list.filter((h) => abortable.includes(h.hostname)).every((h) => h.m?.['paused'] !== undefined);
    const sig = JSON.stringify([who, n, left, peak, etaText.replace(/about \S+ /, ''), [...blockers], completable, abortable, isRequest, paused]);
    const old = cards.get(id);
    if (old && old.sig === sig) {
      out.push(old.el);
      continue;
    }
    const card = el(
      'div',
      'req',
      el('div', 'req-h', el('span', undefined, id), el('span', 'muted', `${list.length} host${list.length === 1 ? '' : 's'}`)),
      el('div', undefined, `by ${who?.actor ?? 'unknown'}${who?.reason ? ` — ${who.reason}` : ''}`),
      el('div', 'muted', (['SCHEDULED', 'DRAINING', 'DRAINED', 'DOWN'] as HostState[]).filter((s) => n[s]).map((s) => `${SYMBOL[s]} ${n[s]} ${s}`).join(' · ')),
      bar,
      el('div', undefined, `${done}/${list.length} hosts drained, ${left} task${left === 1 ? '' : 's'} left${peak ? ` of ${peak}` : ''}; ETA ${etaText}`),
    );
    card.dataset['request'] = id;
    if (blockers.size) {
      const ul = el('ul');
      for (const [b, c] of [...blockers].slice(0, 8)) ul.append(el('li', undefined, c > 1 ? `${b} (${c} hosts)` : b));
      card.append(el('div', 'muted', 'Holding it up:'), ul);
    }
    const actions = el('div', 'actions');
    if (isRequest && abortable.length) {
      if (paused) card.append(el('div', 'paused-note', 'Paused: no new kills; the drain timeout stands still.'));
      actions.append(paused
        ? button('Resume', () => confirmPause(card, 'resume', { request_id: id }, `Resume ${id}? Its drain goes on (kills within the SLAs).`), 'resume')
        : button('Pause', () => confirmPause(card, 'pause', { request_id: id }, `Pause ${id}? No new kills on its ${abortable.length} host(s); kills in flight finish.`), 'pause'));
    }
    if (completable.length) actions.append(button(`Complete (${completable.length})`, () => confirmAction(card, 'complete', completable), 'complete'));
    if (abortable.length) actions.append(button(`Abort (${abortable.length})`, () => confirmAction(card, 'abort', abortable), 'danger abort'));
    card.append(actions);
    cards.set(id, { sig, el: card });
    out.push(card);
  }
  for (const id of [...cards.keys()]) if (!groups.has(id)) cards.delete(id);
  // keep an open confirmation while the list refreshes
  if (box.querySelector('.confirm')) return;
  if (out.length !== box.children.length || out.some((c, i) => box.children[i] !== c)) box.replaceChildren(...out);
}

/** Request cards by id, rebuilt only when what they show changed (buttons stay put). */
const cards = new Map<string, { sig: string; el: HTMLElement }>();

function confirmAction(container: HTMLElement, verb: 'complete' | 'abort', list: string[]): void {
  container.querySelector('.confirm')?.remove();
  const text =
    verb === 'complete'
      ? `Complete maintenance of ${list.length} host(s)? They come back UP (machine up) and take tasks again.`
      : `Abort maintenance of ${list.length} host(s)? Draining stops and they go back UP.`;
  const box = el('div', 'confirm', el('div', undefined, text));
  const go = button(verb === 'complete' ? 'Yes, complete' : 'Yes, abort', async () => {
    go.disabled = true;
    const r = await guarded(() => call<Record<string, Array<{ hostname: string }>>>('POST', `/api/v1/hosts/maintenance/${verb}`, { hosts: list }));
    box.remove();
    if (r) {
      const done = Object.values(r)[0] ?? [];
      alertBox(`${verb === 'complete' ? 'Completed' : 'Aborted'}: ${done.map((h) => h.hostname).join(', ') || '(none)'} — back UP.`, true);
      for (const h of done) backUp(h.hostname);
    }
    refreshHostsSoon();
    renderPanels();
  }, verb === 'abort' ? 'danger confirm-yes' : 'confirm-yes');
  showConfirm(container, box, go);
}

/** Shows a confirmation `box` at the end of `container`, with its Yes button `go` and a Cancel. */
function showConfirm(container: HTMLElement, box: HTMLElement, go: HTMLButtonElement): void {
  box.append(el('div', 'actions', go, button('Cancel', () => {
    box.remove();
    renderPanels();
  })));
  container.append(box);
}

/** Who paused (a pause mark as the API shows it). */
interface PauseMark {
  actor: string;
  reason?: string;
  at_ms: number;
}

/** `maintenance pause --all` as GET /api/v1/hosts last said. */
let pausedAll: PauseMark | undefined;

/**
 * A confirmation box with a reason field (kept in the audit trail) for pause / resume: of a request
 * (`target` {request_id}) or of every drain ({all: true}, POST /api/v1/maintenance/…).
 */
function confirmPause(container: HTMLElement, verb: 'pause' | 'resume', target: { request_id: string } | { all: true }, text: string): void {
  container.querySelector('.confirm')?.remove();
  const reason = el('input', 'pause-reason') as HTMLInputElement;
  reason.placeholder = 'reason (kept in the audit trail)';
  reason.setAttribute('aria-label', 'reason');
  const box = el('div', 'confirm', el('div', undefined, text), el('label', undefined, 'Reason ', reason));
  const all = 'all' in target;
  const go = button(verb === 'pause' ? 'Yes, pause' : 'Yes, resume', async () => {
    go.disabled = true;
    const why = reason.value.trim();
    const path = all ? `/api/v1/maintenance/${verb}` : `/api/v1/hosts/maintenance/${verb}`;
    const r = await guarded(() => call<Record<string, unknown>>('POST', path, { ...target, ...(why ? { reason: why } : {}) }));
    box.remove();
    if (r) {
      if (all) pausedAll = (r['paused_all'] as PauseMark | null) ?? undefined;
      alertBox(`${all ? 'All drains' : (target as { request_id: string }).request_id} ${verb === 'pause' ? 'paused: no new kills; kills in flight finish' : 'resumed'}.`, true);
    }
    refreshHostsSoon();
    renderPanels();
  }, verb === 'pause' ? 'danger confirm-yes' : 'confirm-yes');
  showConfirm(container, box, go);
  reason.focus();
}

/** The cluster-wide brake above the requests: "Pause all" (or who paused all, and "Resume all"). */
function renderClusterControls(): void {
  let box = document.getElementById('cluster-controls');
  if (!box) {
    box = el('div', 'cluster-controls');
    box.id = 'cluster-controls';
    $('requests').before(box);
  }
  const sig = JSON.stringify(pausedAll ?? null);
  if (box.dataset['sig'] === sig || box.querySelector('.confirm')) return;
  box.dataset['sig'] = sig;
  const target = box;
  box.replaceChildren(pausedAll
    ? el('div', 'actions', el('span', 'paused-note', `ALL DRAINS PAUSED by ${pausedAll.actor}${pausedAll.reason ? ` — ${pausedAll.reason}` : ''}`),
      button('Resume all', () => confirmPause(target, 'resume', { all: true }, 'Resume every drain in the cluster?'), 'resume-all'))
    : el('div', 'actions', button('Pause all drains', () => confirmPause(target, 'pause', { all: true }, 'Pause every drain in the cluster? No new kills, admissions or machine downs anywhere until resumed.'), 'danger pause-all')));
}

/** The newest 200 events, newest first: only new ones are added (the list is not rebuilt). */
function renderTimeline(): void {
  const ol = $('timeline');
  const shown = Number((ol.firstElementChild as HTMLElement | null)?.dataset['seq'] ?? 0);
  const fresh: HTMLElement[] = [];
  for (let i = events.length - 1; i >= 0 && fresh.length < 200 && events[i]!.seq > shown; i--) fresh.push(eventItem(events[i]!));
  if (!fresh.length) return;
  if (fresh.length >= 200) ol.replaceChildren(...fresh);
  else ol.prepend(...fresh);
  while (ol.children.length > 200) ol.lastElementChild!.remove();
}

function eventText(e: AuditEntry): string {
  const parts: string[] = [];
  if (e.host) parts.push(e.host);
  if (e.kind === 'host_transition') parts.push(`${e.from ?? '?'} → ${e.to ?? '?'}`);
  else if (e.action) parts.push(e.action);
  if (e.job) parts.push(`job ${e.job}`);
  if (e.task_id) parts.push(`task ${e.task_id}`);
  const answer = e.detail?.['answer'];
  if (typeof answer === 'string') parts.push(answer);
  if (e.reason) parts.push(`— ${e.reason}`);
  if (e.actor && e.actor !== 'sluice') parts.push(`(by ${e.actor})`);
  return parts.join(' ');
}

function eventItem(e: AuditEntry): HTMLElement {
  const li = el('li', undefined, `${fmtTime(e.ts_ms)} #${e.seq} `, el('span', 'k', e.kind.replace(/_/g, ' ')), ` ${eventText(e)}`);
  li.dataset['seq'] = String(e.seq);
  return li;
}

function renderSla(): void {
  const rows = slaJobs.map((j) => {
    const tr = el('tr', j.margin < 0 ? 'below' : undefined, el('td', undefined, j.job), el('td', undefined, `${j.up} / ${j.required} (${j.instances})`), el('td', undefined, String(j.budget)), el('td', undefined, String(j.in_flight)));
    tr.title = j.sla + (j.margin < 0 ? ' — below its SLA' : '');
    return tr;
  });
  if (!rows.length) rows.push(el('tr', undefined, el('td', 'muted', 'no jobs')));
  $('sla-body').replaceChildren(...rows);
}

// ------------------------------------------------------------------ host detail

function selectHost(name: string): void {
  selected = name;
  refreshHostsSoon();
  $('detail-panel').hidden = false;
  $('detail-name').textContent = name;
  renderDetail();
  void guarded(async () => {
    const a = await call<{ tasks: Array<{ task_id: string; job: string; state: string; killing?: boolean }>; attributes: Record<string, string>; agent_id: string | null }>(
      'GET',
      `/api/v1/agents/${encodeURIComponent(name)}`,
    );
    if (selected !== name) return;
    detailAgent = a;
    renderDetail();
  });
}

let detailAgent: { tasks: Array<{ task_id: string; job: string; state: string; killing?: boolean }>; attributes: Record<string, string>; agent_id: string | null } | undefined;

function renderDetail(): void {
  if (!selected) return;
  const h = hosts.get(selected);
  const box = $('detail');
  if (!h) {
    box.replaceChildren(el('p', 'muted', 'unknown host'));
    return;
  }
  const dl = el('dl');
  const row = (k: string, v: string) => dl.append(el('dt', undefined, k), el('dd', undefined, v));
  row('state', `${SYMBOL[h.state]} ${h.state}`);
  row('rack', h.rack);
  row('tasks left', String(h.tasks));
  const m = h.m ?? {};
  if (typeof m['request_id'] === 'string') row('request', m['request_id']);
  const w = m['window'] as { start?: string; duration_ms?: number } | undefined;
  if (w?.start) row('window', `${w.start} for ${fmtDur(w.duration_ms ?? 0)}`);
  if (typeof m['waiting'] === 'string') row('waiting', m['waiting']);
  if (typeof m['post_drain'] === 'string') row('post_drain', m['post_drain']);
  if (detailAgent && selected === h.hostname) {
    row('agent', detailAgent.agent_id ?? 'unknown');
    row('attributes', Object.entries(detailAgent.attributes).map(([k, v]) => `${k}=${v}`).join(', ') || '—');
  }
  const parts: HTMLElement[] = [dl];
  const bl = blockersOf(h);
  if (bl.length) parts.push(el('div', 'muted', 'Blockers:'), el('ul', undefined, ...bl.map((b) => el('li', undefined, b))));
  if (detailAgent) {
    const ul = el('ul');
    for (const t of detailAgent.tasks.slice(0, 50)) ul.append(el('li', undefined, `${t.task_id} (${t.job}) ${t.state}${t.killing ? ', being killed' : ''}`));
    parts.push(el('div', 'muted', `Our tasks (${detailAgent.tasks.length}); other frameworks' tasks: not known to Sluice`), ul);
  }
  const hist = events.filter((e) => e.host === h.hostname);
  const offers = hist.filter((e) => e.kind === 'inverse_offer');
  parts.push(el('div', 'muted', `Inverse offers answered: ${offers.length ? offers.map((e) => `${fmtTime(e.ts_ms)} ${String(e.detail?.['answer'] ?? '')}`).join(', ') : 'none seen'}`));
  const ol = el('ol', 'timeline');
  for (const e of hist.slice(-50).reverse()) ol.append(eventItem(e));
  parts.push(el('div', 'muted', 'History:'), ol);
  const actions = el('div', 'actions');
  if (h.state === 'DRAINED' || h.state === 'DOWN') actions.append(button('Complete', () => confirmAction(box, 'complete', [h.hostname]), 'complete'));
  if (h.state === 'SCHEDULED' || h.state === 'DRAINING' || h.state === 'DRAINED') actions.append(button('Abort', () => confirmAction(box, 'abort', [h.hostname]), 'danger abort'));
  if (h.state === 'UP') actions.append(button('Start maintenance of this host…', () => {
    ($('start-hosts') as HTMLInputElement).value = h.hostname;
    ($('start-racks') as HTMLInputElement).value = '';
    ($('start-group') as HTMLSelectElement).value = 'host';
  }));
  parts.push(actions);
  if (box.querySelector('.confirm')) return;
  box.replaceChildren(...parts);
}

// ------------------------------------------------------------------ start with a dry run first

function list(v: string): string[] | undefined {
  const l = v.split(',').map((s) => s.trim()).filter(Boolean);
  return l.length ? l : undefined;
}

function startBody(): Record<string, unknown> {
  const v = (id: string) => ($(id) as HTMLInputElement).value.trim();
  const body: Record<string, unknown> = {};
  const hs = list(v('start-hosts'));
  const rs = list(v('start-racks'));
  if (hs) body['hosts'] = hs;
  if (rs) body['racks'] = rs;
  const window: Record<string, string> = {};
  if (v('start-window')) window['start'] = v('start-window');
  if (v('start-duration')) window['duration'] = v('start-duration');
  if (Object.keys(window).length) body['window'] = window;
  body['group_by'] = v('start-group') || 'rack';
  if (v('start-parallel')) body['max_parallel'] = Number(v('start-parallel'));
  if (v('start-timeout')) body['timeout'] = v('start-timeout');
  if (v('start-reason')) body['reason'] = v('start-reason');
  return body;
}

async function preview(): Promise<void> {
  const body = startBody();
  const box = $('preview');
  box.hidden = false;
  box.replaceChildren(el('p', 'muted', 'dry run…'));
  const r = await guarded(() =>
    call<{
      hosts: Array<{ hostname: string; group: string; tasks: number; estimated_drain_ms: number }>;
      estimated_makespan_ms: number | null;
      notes: string[];
      probe: { drainable: string[]; blocked: string[]; hosts: Array<{ hostname: string; reasons: string[] }> };
      window: { start_ms: number; duration_ms: number };
    }>('POST', '/api/v1/hosts/maintenance/start', { ...body, dry_run: true }),
  );
  if (!r) {
    box.replaceChildren(el('p', 'muted', 'dry run refused (see above)'));
    return;
  }
  alertBox(undefined);
  const groups = new Set(r.hosts.map((h) => h.group)).size;
  const tasks = r.hosts.reduce((a, h) => a + h.tasks, 0);
  const reasons = r.probe.hosts.flatMap((h) => h.reasons.map((x) => `${h.hostname}: ${x}`)).slice(0, 8);
  const makespan = r.estimated_makespan_ms;
  const parts: HTMLElement[] = [
    el('p', 'preview-summary', `Dry run: ${r.hosts.length} host(s) in ${groups} group(s), ${tasks} task(s) to move; window ${new Date(r.window.start_ms).toISOString()} for ${fmtDur(r.window.duration_ms)}.`),
    el('p', undefined, `Estimated time to drain everything: ${makespan === null || makespan === undefined ? 'not possible under the SLAs as things stand' : fmtDur(makespan)}.`),
    el('p', undefined, `Drainable now without waiting: ${r.probe.drainable.length}; held by SLAs: ${r.probe.blocked.length}.`),
  ];
  if (reasons.length) parts.push(el('ul', undefined, ...reasons.map((x) => el('li', undefined, x))));
  for (const n of r.notes) parts.push(el('p', 'muted', n));
  const confirm = button(`Confirm: start maintenance of ${r.hosts.length} host(s)`, async () => {
    confirm.disabled = true;
    const s = await guarded(() => call<{ request_id: string; hosts: unknown[] }>('POST', '/api/v1/hosts/maintenance/start', body));
    box.hidden = true;
    if (s) {
      alertBox(`Started ${s.request_id}: ${s.hosts.length} host(s).`, true);
      refreshHostsSoon();
    }
  }, 'confirm-start');
  confirm.id = 'start-confirm';
  parts.push(el('div', 'actions', confirm, button('Cancel', () => (box.hidden = true))));
  box.replaceChildren(...parts);
}

// ------------------------------------------------------------------ wiring

$('start-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void preview();
});
$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('token') as HTMLInputElement;
  setToken(input.value.trim() || null);
  input.value = '';
  alertBox(undefined);
  void boot();
});
$('token-forget').addEventListener('click', () => {
  setToken(null);
  feedAbort?.abort();
  location.reload();
});
$('detail-close').addEventListener('click', () => {
  selected = undefined;
  detailAgent = undefined;
  $('detail-panel').hidden = true;
});
$('only-maint').addEventListener('change', (ev) => $('racks').classList.toggle('only-maint', (ev.target as HTMLInputElement).checked));
$('host-filter').addEventListener('input', (ev) => view.setFilter((ev.target as HTMLInputElement).value));

async function boot(): Promise<void> {
  authorized = true;
  setConn(getToken() ? 'connecting (with token)…' : 'connecting…', '');
  await loadAll();
  if (authorized) startFeed();
}

void boot();
