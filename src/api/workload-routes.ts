/**
 * Operator API routes of the workload (jobs, status, health) and the mount points of /metrics and
 * the route index. Other modules add theirs to the same Router (e.g. maintenance: /api/v1/hosts/...).
 *
 *   GET    /health, /api/v1/health       liveness + subscription
 *   GET    /api/v1                       route index
 *   GET    /api/v1/status                framework, connection, counts, reconciliation
 *   GET    /api/v1/jobs                  job summaries
 *   POST   /api/v1/jobs                  create (201; 400 {error, details:[{path, message}]}; 409 exists)
 *   GET    /api/v1/jobs/:name            job with its instances (404)
 *   PUT    /api/v1/jobs/:name            update: scale, or rolling replace when the task changes
 *   DELETE /api/v1/jobs/:name            kill every instance, then forget the job (202)
 *   GET    /metrics                      Prometheus text (when a metrics registry is given)
 */
import type { SluiceMetrics } from '../metrics/metrics.js';
import { jobView, listJobs, statusView, type CommandOutcome, type CommandResult, type SchedulerCommand } from '../scheduler/reducer.js';
import type { SchedulerState } from '../scheduler/state.js';
import type { AuditInput } from '../audit/types.js';
import { JOB_NAME_RE } from '../scheduler/job-spec.js';
import { ApiError, type ApiRequest, type ApiResult, type Router } from './router.js';
import { jobAudit } from './audit-routes.js';

/**
 * The connection as the API shows it (the scheduler client's ConnectionState fits it): read here
 * without importing the client, which is not the API's layer.
 */
export type ConnectionView =
  | { state: 'disconnected' | 'connecting' }
  | { state: 'subscribed'; masterUrl: string; streamId: string }
  | { state: 'backing-off'; reason: string; delayMs: number }
  | { state: 'stopped'; error?: Error };

/** What the workload routes need (SluiceRuntime provides it). */
export interface WorkloadService {
  readonly state: SchedulerState;
  readonly connectionState: ConnectionView;
  /** `audit`: the command's audit entries from its result, written in its batch (SluiceRuntime.submit). */
  submit(cmd: SchedulerCommand, audit?: (r: CommandResult, now: number) => AuditInput[]): Promise<CommandResult>;
}

/** The `:name` of a job route; a name no job can have is a 404 without echoing it back at length. */
function jobName(raw: string | undefined): string {
  const name = raw ?? '';
  if (!JOB_NAME_RE.test(name)) throw new ApiError(404, `job ${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)} not found (not a valid job name)`);
  return name;
}

/** The one place a command's domain outcome becomes an HTTP status. */
export const HTTP_STATUS: Readonly<Record<CommandOutcome, number>> = {
  created: 201,
  updated: 200,
  accepted: 202,
  invalid: 400,
  not_found: 404,
  conflict: 409,
};

function fromResult(r: CommandResult): ApiResult {
  if (r.ok) return { status: HTTP_STATUS[r.outcome], body: r.body };
  throw new ApiError(HTTP_STATUS[r.outcome], r.error, r.details);
}

/** Submits a command, recorded in the audit as the caller's; a scheduler that is stopping or stopped answers 503. */
async function submit(svc: WorkloadService, cmd: SchedulerCommand, req: ApiRequest): Promise<ApiResult> {
  let r: CommandResult;
  try {
    r = await svc.submit(cmd, jobAudit(cmd, req));
  } catch (e) {
    throw new ApiError(503, 'the scheduler cannot take commands now', (e as Error).message);
  }
  return fromResult(r);
}

export function registerWorkloadRoutes(router: Router, svc: WorkloadService, opts: { now: () => number; version?: string }): void {
  const health = (): ApiResult => {
    const c = svc.connectionState;
    return { status: 200, body: { status: 'ok', subscribed: c.state === 'subscribed', connection: c.state, version: opts.version } };
  };
  router.get('/health', health, { summary: 'Liveness and subscription state', role: 'viewer' });
  router.get('/api/v1/health', health, { summary: 'Liveness and subscription state', role: 'viewer' });
  router.get('/api/v1', () => ({ status: 200, body: { routes: router.routes() } }), { summary: 'This index', role: 'viewer' });

  router.get(
    '/api/v1/status',
    () => {
      const c = svc.connectionState;
      const connection: Record<string, unknown> = { state: c.state };
      if (c.state === 'subscribed') Object.assign(connection, { master: c.masterUrl, stream_id: c.streamId });
      if (c.state === 'backing-off') Object.assign(connection, { reason: c.reason, retry_in_ms: c.delayMs });
      if (c.state === 'stopped' && c.error) connection['error'] = c.error.message;
      return { status: 200, body: { ...statusView(svc.state), connection, now_ms: opts.now() } };
    },
    { summary: 'Framework, connection, task counts, reconciliation', role: 'viewer' },
  );

  router.get('/api/v1/jobs', () => ({ status: 200, body: { jobs: listJobs(svc.state) } }), { summary: 'List jobs', role: 'viewer' });

  router.post(
    '/api/v1/jobs',
    async (req) => {
      const spec = await req.json();
      if (spec === undefined) throw new ApiError(400, 'invalid job spec', [{ path: '', message: 'request body is empty; send the job spec as JSON' }]);
      return submit(svc, { type: 'create_job', spec }, req);
    },
    { summary: 'Create a job', role: 'operator' },
  );

  router.get(
    '/api/v1/jobs/:name',
    (req) => {
      const name = jobName(req.params['name']);
      const v = jobView(svc.state, name, opts.now());
      if (!v) throw new ApiError(404, `job ${name} not found`);
      return { status: 200, body: v };
    },
    { summary: 'Get a job and its instances', role: 'viewer' },
  );

  router.put(
    '/api/v1/jobs/:name',
    async (req) => {
      const name = req.params['name']!;
      const spec = await req.json();
      if (spec === undefined || spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
        throw new ApiError(400, 'invalid job spec', [{ path: '', message: 'send the full job spec as a JSON object' }]);
      }
      const named = spec as Record<string, unknown>;
      if (named['name'] === undefined) named['name'] = name;
      else if (named['name'] !== name) {
        throw new ApiError(400, 'invalid job spec', [{ path: 'name', message: `must equal the job in the URL (${JSON.stringify(name)}); jobs cannot be renamed` }]);
      }
      return submit(svc, { type: 'update_job', spec: named }, req);
    },
    { summary: 'Update a job (scale; rolling replace when the task changes)', role: 'operator' },
  );

  router.delete(
    '/api/v1/jobs/:name',
    (req) => submit(svc, { type: 'delete_job', name: jobName(req.params['name']) }, req),
    { summary: 'Delete a job (kills its instances)', role: 'operator' },
  );
}

/** Mounts GET /metrics (Prometheus text format). */
export function registerMetricsRoute(router: Router, metrics: SluiceMetrics): void {
  router.get(
    '/metrics',
    async () => ({ status: 200, text: await metrics.text(), headers: { 'content-type': metrics.contentType } }),
    { summary: 'Prometheus metrics', role: 'viewer' },
  );
}
