/**
 * The maintenance console (issue #14), served by the operator API:
 *
 *   GET /                      the page (no data, no secret: it asks for the token and keeps it in
 *                              sessionStorage; every data request carries it as a bearer token)
 *   GET /console/<file>.js|css the page's script modules (compiled from src/console/web/) and style
 *   GET /api/v1/events         the live feed (src/api/events.ts)
 *   GET /api/v1/agents         every agent Sluice knows: host, rack, our tasks there
 *   GET /api/v1/agents/:host   one agent: attributes and our tasks on it
 *   GET /api/v1/sla/jobs       per job: instances up / required / in flight (being killed or starting)
 *
 * The data routes read through `runtime.read()`, like every other API read: the state exactly as the
 * last durable write left it, never a change that may not be on disk yet.
 *
 * The page and its files are the only routes served without the token (a browser cannot send a
 * bearer token when it navigates); they still pass the Host and Origin checks. They are sent with a
 * Content-Security-Policy that allows nothing but this origin (no inline script or style, no
 * framing, no form posts), so an injected host name or reason cannot run as script.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventFeed, registerEventRoutes, type ProgressHost } from '../api/events.js';
import { ApiError, type ApiRequest, type Router } from '../api/router.js';
import { RuntimeStoppedError, type SluiceRuntime } from '../runtime/runtime.js';
import { workloadRows } from '../scheduler/workload-rows.js';
import type { SchedulerState } from '../scheduler/state.js';
import { describeSla, isLive, rowsByJob, slaStatus } from '../sla/index.js';
import { CONSOLE_CSS, consoleHtml } from './assets.js';

export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** The browser modules compiled next to this file (dist/src/console/web/*.js). */
function loadScripts(): Map<string, string> {
  const dir = fileURLToPath(new URL('./web/', import.meta.url));
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out; // not built: the page says so
  }
  for (const n of names) if (/^[a-z0-9-]+\.js$/.test(n)) out.set(n, fs.readFileSync(dir + n, 'utf8'));
  return out;
}

/** Our tasks per host (lower-cased host name). */
function tasksByHost(s: SchedulerState): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of s.tasks.values()) if (t.host) m.set(t.host.toLowerCase(), (m.get(t.host.toLowerCase()) ?? 0) + 1);
  return m;
}

export interface ConsoleOptions {
  /** Agent attribute naming the rack (--rack-attribute). */
  rackAttribute?: string;
  /** The feed's limits (tests). */
  feed?: Partial<ConstructorParameters<typeof EventFeed>[0]>;
}

/** Asks the router's own GET /api/v1/hosts (the maintenance module's answer) for the progress view. */
function hostsFromRouter(router: Router): () => Promise<ProgressHost[] | undefined> {
  const query = new URLSearchParams({ states: 'SCHEDULED,DRAINING,DRAINED,DOWN' });
  return async () => {
    const m = router.match('GET', '/api/v1/hosts');
    if (m.kind !== 'found') return undefined;
    const req: ApiRequest = {
      method: 'GET',
      path: '/api/v1/hosts',
      params: m.params,
      query,
      headers: {},
      principal: { name: 'sluice', role: 'viewer' },
      actor: 'sluice',
      id: 'events-progress',
      reasonRequired: () => false,
      json: async () => undefined,
      text: async () => '',
    };
    const r = await m.handler(req);
    const hosts = (r.body as { hosts?: unknown } | undefined)?.hosts;
    if (r.status !== 200 || !Array.isArray(hosts)) return undefined;
    return hosts.map((h: Record<string, unknown>) => ({
      hostname: String(h['hostname']),
      state: h['state'],
      request_id: h['request_id'],
      rack: h['rack'],
      tasks_left: h['tasks_left'],
      killing: h['killing'],
      replacing: h['replacing'],
      blockers: h['blockers'],
      estimated_empty_ms: h['estimated_empty_ms'],
      waiting: h['waiting'],
      timed_out: h['timed_out'],
      post_drain: h['post_drain'],
    }));
  };
}

/**
 * Mounts the console, its data routes and the event feed on `router`. Call once the other routes
 * are registered (the progress view reads GET /api/v1/hosts through the router).
 */
export function registerConsole(router: Router, runtime: Pick<SluiceRuntime, 'journal' | 'read'>, opts: ConsoleOptions = {}): EventFeed {
  const rackAttr = opts.rackAttribute ?? 'rack';
  const read: SluiceRuntime['read'] = (fn) =>
    runtime.read(fn).catch((e: unknown) => {
      throw e instanceof RuntimeStoppedError ? new ApiError(503, 'Sluice is stopping: no reads now', e.message) : e;
    });
  const feed = new EventFeed({ journal: runtime.journal, progress: hostsFromRouter(router), ...opts.feed });
  registerEventRoutes(router, feed);

  let scripts: Map<string, string> | undefined;
  const page = () => {
    scripts ??= loadScripts();
    return consoleHtml(scripts.has('main.js'));
  };
  router.get('/', () => ({ status: 200, text: page(), headers: { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8' } }), {
    summary: 'The maintenance console (web page)',
    public: true,
  });
  router.get(
    '/console/:file',
    (req) => {
      const file = req.params['file'] ?? '';
      if (file === 'console.css') return { status: 200, text: CONSOLE_CSS, headers: { ...PAGE_HEADERS, 'content-type': 'text/css; charset=utf-8' } };
      scripts ??= loadScripts();
      const js = scripts.get(file);
      if (js === undefined) throw new ApiError(404, 'not found', { path: `/console/${file.slice(0, 80)}` });
      return { status: 200, text: js, headers: { ...PAGE_HEADERS, 'content-type': 'text/javascript; charset=utf-8' } };
    },
    { summary: 'The console\'s scripts and style', public: true },
  );

  router.get(
    '/api/v1/agents',
    async () => {
      const body = await read(({ state: s, now }) => {
        const tasks = tasksByHost(s);
        const agents = [...s.agents.values()]
          .map((a) => ({ hostname: a.host, agent_id: a.agent_id, rack: a.attributes[rackAttr] ?? null, tasks: tasks.get(a.host.toLowerCase()) ?? 0 }))
          .sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
        return { now_ms: now, rack_attribute: rackAttr, agents };
      });
      return { status: 200, body };
    },
    { summary: 'Agents Sluice knows (from offers): host, rack, our tasks there', role: 'viewer' },
  );

  router.get(
    '/api/v1/agents/:host',
    async (req) => {
      const name = (req.params['host'] ?? '').toLowerCase();
      const body = await read(({ state: s }) => {
        const agent = [...s.agents.values()].find((a) => a.host.toLowerCase() === name);
        const tasks = [...s.tasks.values()]
          .filter((t) => t.host?.toLowerCase() === name)
          .map((t) => ({ task_id: t.task_id, job: t.job, index: t.index, state: t.state, ...(t.kill ? { killing: true } : {}), ...(t.surge ? { surge: true } : {}) }));
        if (!agent && !tasks.length) return undefined;
        return {
          hostname: agent?.host ?? name,
          agent_id: agent?.agent_id ?? null,
          rack: agent?.attributes[rackAttr] ?? null,
          attributes: agent?.attributes ?? {},
          last_offer_ms: agent?.last_offer_ms ?? null,
          unavailable_from_ms: agent?.unavailable_from_ms ?? null,
          tasks,
          // the master reports other frameworks' tasks to operators only; Sluice does not know them
          other_frameworks: null,
        };
      });
      if (!body) throw new ApiError(404, `host ${JSON.stringify(name.slice(0, 80))} is not known to Sluice`);
      return { status: 200, body };
    },
    { summary: 'One agent: attributes and our tasks on it', role: 'viewer' },
  );

  router.get(
    '/api/v1/sla/jobs',
    async () => ({ status: 200, body: await read(({ state, now }) => slaJobs(state, now)) }),
    { summary: 'Per job SLA budget: up / required / in flight', role: 'viewer' },
  );
  return feed;
}

/** Per job: instances up / required / in flight, from the SLA module. */
function slaJobs(s: SchedulerState, now: number): { now_ms: number; jobs: object[] } {
  const byJob = rowsByJob(workloadRows(s));
  const jobs = [...s.jobs.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([name, j]) => {
      const st = slaStatus({ name, instances: j.spec.instances, ...(j.spec.sla ? { sla: j.spec.sla } : {}) }, byJob.get(name) ?? [], now);
      const live = (byJob.get(name) ?? []).filter(isLive).length;
      return {
        job: name,
        sla: describeSla(j.spec.sla),
        instances: st.instances,
        up: st.up,
        required: st.required,
        budget: st.budget,
        margin: st.margin,
        in_flight: st.killing + st.starting + st.aging,
        killing: st.killing,
        starting: st.starting,
        aging: st.aging,
        pending: st.pending,
        live,
      };
    });
  return { now_ms: now, jobs };
}
