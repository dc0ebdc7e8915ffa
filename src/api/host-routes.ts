/**
 * Operator API routes of host maintenance (src/maintenance/runtime-plugin.ts does the work):
 *
 *   POST /api/v1/hosts/maintenance/start     {hosts, window?{start, duration}, group_by?, max_parallel?,
 *                                            timeout?, force?, post_drain?, dry_run?}   → 202 (200 dry run)
 *   POST /api/v1/hosts/maintenance/complete  {hosts}   DRAINED/DOWN → UP (machine up, window removed)
 *   POST /api/v1/hosts/maintenance/abort     {hosts}   SCHEDULED/DRAINING/DRAINED → UP
 *   GET  /api/v1/hosts?states=DRAINING,DRAINED        state, tasks left, SLA blockers, window
 *   POST /api/v1/sla/probe                   {hosts}   which hosts could be drained now, and why not
 *
 * `hosts` is an array of names or a comma-separated string. Times: `window.start` is ISO-8601, `now`,
 * `+10m` (relative to Sluice's clock) or ms since the epoch; durations (`window.duration`, `timeout`)
 * are `30m`, `2h`, `1800s` or a number of seconds. Errors: `{error, code, details: [{hostname, code,
 * message}]}` — 400 malformed (unknown/bad names, bad options, invalid window), 409 conflicts (host
 * already in maintenance, in someone else's window, wrong state), 502 the master refused, 503 no master.
 */
import { ApiError, type ApiResult, type Router } from './router.js';
import { MaintenanceError } from '../maintenance/errors.js';
import { HOST_STATES, type GroupBy, type HostState, type StartRequest } from '../maintenance/host-state.js';
import { parseDuration } from '../maintenance/format.js';
import { MasterHttpError, MasterUnavailableError } from '../maintenance/operator-client.js';
import { RuntimeStoppedError } from '../runtime/runtime.js';

/** What the routes need (MaintenanceService implements it). */
export interface HostMaintenanceService {
  /** The scheduler's clock (relative window starts like "+10m" use it). */
  now(): number;
  start(req: StartRequest): Promise<unknown>;
  end(verb: 'complete' | 'abort', hosts: readonly string[]): Promise<unknown>;
  query(states: readonly HostState[] | undefined): Promise<unknown>;
  probe(hosts: readonly string[]): Promise<unknown>;
}

type Problem = { hostname: string; code: string; message: string };

function bad(message: string, problems: Problem[] = [{ hostname: '', code: 'invalid-option', message }]): never {
  throw new ApiError(400, message, problems);
}

function hostList(v: unknown): string[] {
  if (typeof v === 'string') return v.split(',').map((h) => h.trim()).filter(Boolean);
  if (Array.isArray(v) && v.every((h) => typeof h === 'string')) return v as string[];
  if (v === undefined) bad('hosts is required (an array of host names, or "h1,h2")', [{ hostname: '', code: 'empty-request', message: 'no hosts given' }]);
  return bad('hosts must be an array of host names or a comma-separated string');
}

function durationOf(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.round(v * 1000);
  if (typeof v === 'string') {
    try {
      return parseDuration(v);
    } catch (e) {
      return bad(`${what}: ${(e as Error).message}`);
    }
  }
  return bad(`${what} must be a duration like 30m, 2h, 1800s or a number of seconds`);
}

/** ISO-8601, `now`, `+10m`, or ms since the epoch. */
export function parseStart(v: unknown, now: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string' || !v.trim()) return bad('window.start must be an ISO-8601 time, "now", "+10m" or ms since the epoch');
  const t = v.trim();
  if (t === 'now') return now;
  if (t.startsWith('+')) return now + durationOf(t.slice(1), 'window.start');
  if (/^\d+$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}/.test(t)) return bad(`window.start '${t}' is not a valid time (ISO-8601 like 2026-05-01T10:00:00Z, "now" or "+10m")`);
  return ms;
}

export function parseStartBody(body: unknown, now: number): StartRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) bad('send a JSON object {hosts, window?, group_by?, max_parallel?, timeout?, force?, post_drain?, dry_run?}');
  const b = body as Record<string, unknown>;
  const known = new Set(['hosts', 'window', 'group_by', 'max_parallel', 'timeout', 'force', 'post_drain', 'dry_run']);
  const unknown = Object.keys(b).filter((k) => !known.has(k));
  if (unknown.length) bad(`unknown field(s): ${unknown.join(', ')}`);
  const req: StartRequest = { hosts: hostList(b['hosts']) };
  const w = b['window'];
  if (w !== undefined && w !== null) {
    if (typeof w !== 'object' || Array.isArray(w)) bad('window must be an object {start, duration}');
    const wo = w as Record<string, unknown>;
    req.window = {};
    if (wo['start'] !== undefined) req.window.start_ms = parseStart(wo['start'], now);
    if (wo['duration'] !== undefined) {
      req.window.duration_ms = durationOf(wo['duration'], 'window.duration');
      if (!(req.window.duration_ms > 0)) bad('window.duration must be positive');
    }
  }
  if (b['group_by'] !== undefined) req.group_by = b['group_by'] as GroupBy;
  if (b['max_parallel'] !== undefined) req.max_parallel = b['max_parallel'] as number;
  if (b['timeout'] !== undefined) req.timeout_ms = durationOf(b['timeout'], 'timeout');
  if (b['force'] !== undefined) {
    if (typeof b['force'] !== 'boolean') bad('force must be true or false');
    req.force = b['force'];
  }
  if (b['post_drain'] !== undefined) req.post_drain = b['post_drain'] as string;
  if (b['dry_run'] !== undefined) req.dry_run = b['dry_run'] === true;
  return req;
}

/** Maps errors of the maintenance service to `{error, code, details}` answers. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof MaintenanceError) {
    const err = new ApiError(e.httpStatus, e.message, e.problems);
    (err as ApiError & { code?: string }).code = e.code;
    return err;
  }
  if (e instanceof MasterUnavailableError) return new ApiError(503, 'no Mesos master reachable', e.message);
  if (e instanceof MasterHttpError) return new ApiError(502, `the Mesos master refused: ${e.body.trim() || e.status}`, { status: e.status, body: e.body, url: e.url });
  if (e instanceof RuntimeStoppedError) return new ApiError(503, 'the scheduler cannot take commands now', e.message);
  return new ApiError(500, `maintenance request failed: ${(e as Error)?.message ?? String(e)}`);
}

async function guarded(fn: () => Promise<ApiResult>): Promise<ApiResult> {
  try {
    return await fn();
  } catch (e) {
    throw toApiError(e);
  }
}

export function registerHostRoutes(router: Router, svc: HostMaintenanceService): void {
  const clockNow = () => svc.now();

  router.post(
    '/api/v1/hosts/maintenance/start',
    async (req) =>
      guarded(async () => {
        const r = parseStartBody(await req.json(), clockNow());
        const body = await svc.start(r);
        return { status: r.dry_run ? 200 : 202, body };
      }),
    { summary: 'Put hosts in maintenance (drain within SLAs, then machine down)' },
  );

  for (const verb of ['complete', 'abort'] as const) {
    router.post(
      `/api/v1/hosts/maintenance/${verb}`,
      async (req) =>
        guarded(async () => {
          const b = (await req.json()) as Record<string, unknown> | undefined;
          if (!b || typeof b !== 'object' || Array.isArray(b)) bad('send a JSON object {hosts}');
          return { status: 200, body: await svc.end(verb, hostList(b['hosts'])) };
        }),
      { summary: verb === 'complete' ? 'Bring hosts back UP after maintenance (machine up)' : 'Abort maintenance: hosts back to UP' },
    );
  }

  router.get(
    '/api/v1/hosts',
    async (req) =>
      guarded(async () => {
        const raw = req.query.get('states');
        let states: HostState[] | undefined;
        if (raw) {
          states = raw.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean) as HostState[];
          const wrong = states.filter((s) => !HOST_STATES.includes(s));
          if (wrong.length) bad(`unknown state(s) ${wrong.join(', ')} (known: ${HOST_STATES.join(', ')})`);
        }
        return { status: 200, body: await svc.query(states) };
      }),
    { summary: 'Hosts in maintenance: state, tasks left, SLA blockers, window' },
  );

  router.post(
    '/api/v1/sla/probe',
    async (req) =>
      guarded(async () => {
        const b = (await req.json()) as Record<string, unknown> | undefined;
        if (!b || typeof b !== 'object' || Array.isArray(b)) bad('send a JSON object {hosts}');
        return { status: 200, body: await svc.probe(hostList(b['hosts'])) };
      }),
    { summary: 'Which hosts could be drained now without breaking an SLA, and why not' },
  );
}
