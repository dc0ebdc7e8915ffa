/**
 * Operator API routes of host maintenance (src/maintenance/runtime-plugin.ts does the work):
 *
 *   POST /api/v1/hosts/maintenance/start     {hosts?, racks?, attributes?, window?{start, duration}, group_by?,
 *                                            max_parallel?, timeout?, force?, post_drain?, dry_run?}
 *                                            → 202 (200 dry run); with a selector the answer has `selection`
 *   POST /api/v1/hosts/maintenance/complete  {hosts}   DRAINED/DOWN → UP (machine up, window removed)
 *   POST /api/v1/hosts/maintenance/abort     {hosts}   SCHEDULED/DRAINING/DRAINED → UP
 *   (start/complete/abort: role operator, optional `reason`; `force` needs admin and a reason — the
 *   caller's name and the reason go to the maintenance service as `actor`/`reason` for the audit)
 *   GET  /api/v1/hosts?states=DRAINING,DRAINED        state, tasks left, SLA blockers, window
 *   POST /api/v1/sla/probe                   {hosts?, racks?, attributes?}   which hosts could be drained now, and why not
 *   GET  /api/v1/sla/safe?rack=R&group_by=host|rack   hosts (racks) safe to drain alone now (src/maintenance/list-safe.ts)
 *
 * Selectors (`racks`: any of; `attributes`: all of) resolve against the agents the master reports:
 * (hosts ∪ racks) ∩ attributes (src/maintenance/select.ts); one that matches no agent is a 400.
 *
 * `hosts` is an array of names or a comma-separated string. Times: `window.start` is ISO-8601, `now`,
 * `+10m` (relative to Sluice's clock) or ms since the epoch; durations (`window.duration`, `timeout`)
 * are `30m`, `2h`, `1800s` or a number of seconds. Every field is checked before anything is read or
 * written (src/maintenance/request-validate.ts: types, bounds, unknown fields, window range). Errors:
 * `{error, code, details: [{path?, hostname, code, message}]}` — 400 malformed (bad fields, unknown/bad
 * names, invalid window), 409 conflicts (host already in maintenance, in someone else's window, wrong
 * state), 502 the master refused, 503 no master.
 */
import { ApiError, type ApiResult, type Router } from './router.js';
import { MaintenanceError } from '../maintenance/errors.js';
import type { HostState, StartRequest } from '../maintenance/host-state.js';
import { validateHostsBody, validateHostsQuery, validateProbeBody, validateSafeQuery, validateStartBody } from '../maintenance/request-validate.js';
import type { HostSelector } from '../maintenance/select.js';
import { MasterAuthError, MasterHttpError, MasterUnavailableError } from '../maintenance/operator-client.js';
import { RuntimeStoppedError } from '../runtime/runtime.js';
import { attribution, takeReason } from './auth.js';

/** Who asks, and why (the audit's actor and reason; src/api/auth.ts). */
export interface Attribution {
  actor: string;
  reason?: string;
}

/** What the routes need (MaintenanceService implements it). */
export interface HostMaintenanceService {
  /** The scheduler's clock (relative window starts like "+10m" use it). */
  now(): number;
  start(req: StartRequest & { select?: HostSelector } & Partial<Attribution>): Promise<unknown>;
  end(verb: 'complete' | 'abort', hosts: readonly string[], who?: Attribution): Promise<unknown>;
  query(states: readonly HostState[] | undefined): Promise<unknown>;
  probe(hosts: readonly string[], select?: HostSelector): Promise<unknown>;
  listSafe(q: { racks?: string[]; group_by: 'host' | 'rack' }): Promise<unknown>;
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
  if (e instanceof MasterAuthError) return new ApiError(502, e.message, { status: e.status, principal: e.principal ?? null });
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
        const b = await req.json();
        const reason = takeReason(b);
        const r = validateStartBody(b, clockNow());
        const who = attribution(req, r.dry_run ? 'dry_run' : 'start', reason, { force: r.force === true && !r.dry_run });
        const body = await svc.start({ ...r, ...who });
        return { status: r.dry_run ? 200 : 202, body };
      }),
    { summary: 'Put hosts in maintenance (drain within SLAs, then machine down)', role: 'operator' },
  );

  for (const verb of ['complete', 'abort'] as const) {
    router.post(
      `/api/v1/hosts/maintenance/${verb}`,
      async (req) =>
        guarded(async () => {
          const b = await req.json();
          const reason = takeReason(b);
          const hosts = validateHostsBody(b, `host maintenance ${verb}`);
          const who = attribution(req, verb, reason);
          return { status: 200, body: await svc.end(verb, hosts, who) };
        }),
      { summary: verb === 'complete' ? 'Bring hosts back UP after maintenance (machine up)' : 'Abort maintenance: hosts back to UP', role: 'operator' },
    );
  }

  router.get(
    '/api/v1/hosts',
    async (req) =>
      guarded(async () => {
        const states = validateHostsQuery(req.query);
        return { status: 200, body: await svc.query(states) };
      }),
    { summary: 'Hosts in maintenance: state, tasks left, SLA blockers, window', role: 'viewer' },
  );

  router.post(
    '/api/v1/sla/probe',
    async (req) =>
      guarded(async () => {
        const r = validateProbeBody(await req.json(), 'sla probe');
        return { status: 200, body: await svc.probe(r.hosts, r.select) };
      }),
    { summary: 'Which hosts could be drained now without breaking an SLA, and why not', role: 'viewer' },
  );

  router.get(
    '/api/v1/sla/safe',
    async (req) =>
      guarded(async () => {
        const q = validateSafeQuery(req.query);
        return { status: 200, body: await svc.listSafe(q) };
      }),
    { summary: 'Hosts (or racks) that could be drained alone right now without breaking any SLA', role: 'viewer' },
  );
}
