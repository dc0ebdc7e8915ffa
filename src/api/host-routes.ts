/**
 * Operator API routes of host maintenance (src/maintenance/io/service.ts does the work):
 *
 *   POST /api/v1/hosts/maintenance/start     {hosts?, racks?, attributes?, window?{start, duration}, group_by?,
 *                                            max_parallel?, timeout?, force?, post_drain?, dry_run?,
 *                                            reason?, override_sla?}
 *                                            → 202 (200 dry run); with a selector the answer has `selection`
 *   POST /api/v1/hosts/maintenance/complete  {hosts, reason?}   DRAINED/DOWN → UP (machine up, window removed)
 *   POST /api/v1/hosts/maintenance/abort     {hosts, reason?}   SCHEDULED/DRAINING/DRAINED → UP
 *   POST /api/v1/hosts/maintenance/pause     {request_id | hosts | all: true, reason?}   no new kills, admissions
 *                                            or machine down for those hosts; kills in flight finish (persisted)
 *   POST /api/v1/hosts/maintenance/resume    {request_id | hosts | all: true, reason?}
 *   POST /api/v1/maintenance/pause|resume    {all: true, reason?}   the cluster-wide pause
 *   POST /api/v1/hosts/maintenance/edit      {request_id, max_parallel?: n | null, timeout?: d | null, dry_run?, reason?}
 *   GET  /api/v1/hosts/requests                       the operator requests behind the hosts (who, why, progress,
 *                                                     paused, options), with paused_all and max_draining_hosts
 *   (start/complete/abort: role operator; `force` and `override_sla` ("80%/10m") need admin and a reason; require_reason may ask one — src/api/auth.ts)
 *   GET  /api/v1/hosts?states=DRAINING,DRAINED        state, tasks left, SLA blockers, window
 *   POST /api/v1/sla/probe                   {hosts?, racks?, attributes?}   which hosts could be drained now, and why not
 *   GET  /api/v1/sla/safe?rack=R&group_by=host|rack   hosts (racks) safe to drain alone now (src/maintenance/core/list-safe.ts)
 *
 * Selectors (`racks`: any of; `attributes`: all of) resolve against the agents the master reports:
 * (hosts ∪ racks) ∩ attributes (src/maintenance/core/select.ts); one that matches no agent is a 400.
 *
 * `hosts` is an array of names or a comma-separated string. Times: `window.start` is ISO-8601, `now`,
 * `+10m` (relative to Sluice's clock) or ms since the epoch; durations (`window.duration`, `timeout`)
 * are `30m`, `2h`, `1800s` or a number of seconds. Every field is checked before anything is read or
 * written (src/maintenance/core/request-validate.ts: types, bounds, unknown fields, window range). Errors:
 * `{error, code, details: [{path?, hostname, code, message}]}` — 400 malformed (bad fields, unknown/bad
 * names, invalid window), 409 conflicts (host already in maintenance, in someone else's window, wrong
 * state), 502 the master refused, 503 no master.
 *
 * The maintenance module answers with domain outcomes (src/maintenance/core/outcome.ts); this file
 * alone turns them into HTTP statuses. `reason` (start, complete, abort) and the caller's identity
 * (`req.actor`, set by authentication; 'local' without it) are recorded on the hosts and in the
 * audit trail. Reads (hosts, requests, probe, safe list) see the state as last written to disk.
 */
import { ApiError, type ApiResult, type Router } from './router.js';
import { MaintenanceError } from '../maintenance/core/errors.js';
import type { HostState, StartRequest } from '../maintenance/core/host-state.js';
import { isFailure, type Outcome, type Reply } from '../maintenance/core/outcome.js';
import { validateEditBody, validatePauseBody, type PauseTarget, validateEndBody, validateHostsQuery, validateProbeBody, validateSafeQuery, validateStartBody } from '../maintenance/core/request-validate.js';
import type { HostSelector } from '../maintenance/core/select.js';
import { RuntimeStoppedError } from '../runtime/runtime.js';
import { attribution, requireRole } from './auth.js';

/** Who asks, and why (recorded on the hosts and in the audit trail). */
export interface RequestMeta {
  actor: string;
  reason?: string;
}

/** What the routes need (src/maintenance/io/service.ts implements it). */
export interface HostMaintenanceService {
  /** The scheduler's clock (relative window starts like "+10m" use it). */
  now(): number;
  start(req: StartRequest & { select?: HostSelector }, who: RequestMeta): Promise<Reply>;
  end(verb: 'complete' | 'abort', hosts: readonly string[], who: RequestMeta): Promise<Reply>;
  query(states: readonly HostState[] | undefined): Promise<Reply>;
  requests(): Promise<Reply>;
  probe(hosts: readonly string[], select?: HostSelector): Promise<Reply>;
  listSafe(q: { racks?: string[]; group_by: 'host' | 'rack' }): Promise<Reply>;
  pause(verb: 'pause' | 'resume', target: PauseTarget, who: RequestMeta): Promise<Reply>;
  edit(request_id: string, change: { max_parallel?: number | null; timeout_ms?: number | null; dry_run?: boolean }, who: RequestMeta): Promise<Reply>;
}

/** The HTTP status of each domain outcome: the only place it is decided. */
export const OUTCOME_STATUS: Readonly<Record<Outcome, number>> = {
  ok: 200,
  accepted: 202,
  invalid: 400,
  not_found: 404,
  conflict: 409,
  upstream_error: 502,
  unavailable: 503,
  stopped: 503,
  failed: 500,
};

function apiError(status: number, error: string, details: unknown, code: string | undefined): ApiError {
  const err = new ApiError(status, error, details);
  if (code !== undefined) (err as ApiError & { code?: string }).code = code;
  return err;
}

/** A reply as an HTTP answer (failures thrown as `{error, code, details}`). */
export function toApiResult(r: Reply): ApiResult {
  if (!isFailure(r)) return { status: OUTCOME_STATUS[r.outcome], body: r.body };
  throw apiError(OUTCOME_STATUS[r.outcome], r.error, r.details, r.code);
}

/** Maps what was thrown (request validation, a stopped runtime) to `{error, code, details}` answers. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof MaintenanceError) return apiError(OUTCOME_STATUS[e.outcome], e.message, e.problems, e.code);
  if (e instanceof RuntimeStoppedError) return new ApiError(503, 'the scheduler cannot take commands now', e.message);
  return new ApiError(500, `maintenance request failed: ${(e as Error)?.message ?? String(e)}`);
}

async function guarded(fn: () => Promise<Reply>): Promise<ApiResult> {
  let r: Reply;
  try {
    r = await fn();
  } catch (e) {
    throw toApiError(e);
  }
  return toApiResult(r);
}

export function registerHostRoutes(router: Router, svc: HostMaintenanceService): void {
  const clockNow = () => svc.now();

  router.post(
    '/api/v1/hosts/maintenance/start',
    async (req) =>
      guarded(async () => {
        const { reason, ...r } = validateStartBody(await req.json(), clockNow());
        const lowering = r.override_sla !== undefined && !r.dry_run;
        if (lowering) requireRole(req, 'admin', '--override-sla');
        const who = attribution(req, r.dry_run ? 'dry_run' : 'start', reason, { force: r.force === true && !r.dry_run });
        if (r.override_sla) {
          if (lowering && who.reason === undefined) {
            throw new ApiError(400, 'a reason is required for --override-sla', [
              { path: 'reason', message: 'lowering SLAs needs a reason (--reason TEXT): it is logged, counted and recorded in the audit' },
            ]);
          }
          r.override_sla = { ...r.override_sla, reason: who.reason ?? '(dry run)' };
        }
        return svc.start(r, who);
      }),
    { summary: 'Put hosts in maintenance (drain within SLAs, then machine down)', role: 'operator' },
  );

  for (const verb of ['complete', 'abort'] as const) {
    router.post(
      `/api/v1/hosts/maintenance/${verb}`,
      async (req) =>
        guarded(async () => {
          const b = validateEndBody(await req.json(), `host maintenance ${verb}`);
          return svc.end(verb, b.hosts, attribution(req, verb, b.reason));
        }),
      { summary: verb === 'complete' ? 'Bring hosts back UP after maintenance (machine up)' : 'Abort maintenance: hosts back to UP', role: 'operator' },
    );
  }

  for (const verb of ['pause', 'resume'] as const) {
    router.post(
      `/api/v1/hosts/maintenance/${verb}`,
      async (req) =>
        guarded(async () => {
          const b = validatePauseBody(await req.json(), `host maintenance ${verb}`);
          return svc.pause(verb, b.target, attribution(req, verb, b.reason));
        }),
      { summary: verb === 'pause' ? 'Pause drains (a request, hosts, or all): no new kills; kills in flight finish' : 'Resume paused drains', role: 'operator' },
    );
    router.post(
      `/api/v1/maintenance/${verb}`,
      async (req) =>
        guarded(async () => {
          const b = validatePauseBody(await req.json(), `maintenance ${verb} --all`, true);
          return svc.pause(verb, b.target, attribution(req, verb, b.reason));
        }),
      { summary: verb === 'pause' ? 'Pause every drain in the cluster (persisted until resume)' : 'Resume every drain after a cluster-wide pause', role: 'operator' },
    );
  }

  router.post(
    '/api/v1/hosts/maintenance/edit',
    async (req) =>
      guarded(async () => {
        const { request_id, reason, ...change } = validateEditBody(await req.json(), 'host maintenance edit');
        // a dry run changes nothing and writes no audit entry: no reason needed (require_reason does not apply)
        return svc.edit(request_id, change, attribution(req, change.dry_run ? 'dry_run' : 'edit', reason));
      }),
    { summary: "Change a running request's max_parallel / timeout in flight", role: 'operator' },
  );

  router.get(
    '/api/v1/hosts',
    async (req) =>
      guarded(async () => {
        const states = validateHostsQuery(req.query);
        return svc.query(states);
      }),
    { summary: 'Hosts in maintenance: state, tasks left, SLA blockers, window', role: 'viewer' },
  );

  router.get('/api/v1/hosts/requests', async () => guarded(() => svc.requests()), { summary: 'Maintenance requests: who asked, why, hosts and their states', role: 'viewer' });

  router.post(
    '/api/v1/sla/probe',
    async (req) =>
      guarded(async () => {
        const r = validateProbeBody(await req.json(), 'sla probe');
        return svc.probe(r.hosts, r.select);
      }),
    { summary: 'Which hosts could be drained now without breaking an SLA, and why not', role: 'viewer' },
  );

  router.get(
    '/api/v1/sla/safe',
    async (req) =>
      guarded(async () => {
        const q = validateSafeQuery(req.query);
        return svc.listSafe(q);
      }),
    { summary: 'Hosts (or racks) that could be drained alone right now without breaking any SLA', role: 'viewer' },
  );
}
