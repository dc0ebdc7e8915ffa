/**
 * What a standby replica answers itself, from its copy of the leader's state in ZooKeeper
 * (src/ha/zk-mirror.ts): the read views operators poll — jobs and hosts in maintenance — and the
 * workload counts in /api/v1/status. Every such answer is marked stale: the header
 * `X-Sluice-Stale: true` (with `X-Sluice-As-Of: <ISO time of the read>`) and the body fields
 * `stale: true`, `as_of` (ISO) and `as_of_seq` (the store's log position). What needs the leader's
 * live view (drain progress: killing, replacing, blockers; SLA probe and list-safe, which ask the
 * master), a job this copy does not have, and every write go to the leader (307). Each read first
 * catches the copy up with the log (waiting at most half a second), so a client that wrote through
 * the leader normally reads its write back here.
 */
import { Router, type ApiRequest, type ApiResult } from '../api/router.js';
import { toApiError } from '../api/host-routes.js';
import { hostView, tasksPerHost } from '../maintenance/core/host-view.js';
import { hostKey, type HostRecord } from '../maintenance/core/host-state.js';
import { validateHostsQuery } from '../maintenance/core/request-validate.js';
import { HOSTS_COLLECTION } from '../maintenance/core/loop-state.js';
import { loadState } from '../runtime/persist.js';
import type { Store } from '../store/index.js';
import { jobView, listJobs, statusView } from '../scheduler/reducer.js';
import { JOB_NAME_RE } from '../scheduler/job-spec.js';
import type { SchedulerState } from '../scheduler/state.js';
import type { MirrorSnapshot, ZkStateMirror } from '../ha/zk-mirror.js';

export interface StandbyReads {
  router: Router;
  /** Workload counts for /api/v1/status (stale), or undefined without a copy yet. */
  status(): Promise<Record<string, unknown> | undefined>;
}

export function standbyReads(
  mirror: ZkStateMirror,
  opts: { secrets: readonly string[]; now: () => number; elsewhere: (req: ApiRequest) => Promise<ApiResult> },
): StandbyReads {
  // the scheduler state rebuilt from the records, once per copy
  let cached: { snap: MirrorSnapshot; state: SchedulerState } | undefined;
  const current = async (): Promise<{ snap: MirrorSnapshot; state: SchedulerState } | undefined> => {
    const snap = await mirror.read();
    if (!snap) return undefined;
    if (!cached || cached.snap.seq !== snap.seq || cached.snap.readAtMs !== snap.readAtMs) {
      cached = { snap, state: loadState(snap.store as unknown as Store) };
    }
    return cached;
  };
  const stale = (snap: MirrorSnapshot, body: object): ApiResult => {
    const asOf = new Date(snap.readAtMs).toISOString();
    return { status: 200, headers: { 'x-sluice-stale': 'true', 'x-sluice-as-of': asOf }, body: { ...body, stale: true, as_of: asOf, as_of_seq: snap.seq } };
  };
  /** A read answered here, or by the leader when this standby has no copy (yet) or no answer (not found). */
  const read = (view: (c: { snap: MirrorSnapshot; state: SchedulerState }, req: ApiRequest) => object | undefined) => async (req: ApiRequest) => {
    const c = await current();
    const body = c && view(c, req);
    return c && body ? stale(c.snap, body) : opts.elsewhere(req);
  };

  const router = new Router();
  router.get('/api/v1/jobs', read(({ state }) => ({ jobs: listJobs(state) })), { summary: 'List jobs (standby: from ZooKeeper, stale)' });
  router.get(
    '/api/v1/jobs/:name',
    read(({ state }, req) => {
      // not in this copy: maybe created since — the leader answers (with its 404 if really absent)
      const name = req.params['name'] ?? '';
      return JOB_NAME_RE.test(name) ? jobView(state, name, opts.now()) : undefined;
    }),
    { summary: 'Get a job (standby: from ZooKeeper, stale)' },
  );
  router.get(
    '/api/v1/hosts',
    read(({ snap, state }, req) => {
      let states;
      try {
        states = validateHostsQuery(req.query);
      } catch (e) {
        throw toApiError(e);
      }
      const onHost = tasksPerHost(state);
      const hosts = snap.store
        .list<HostRecord>(HOSTS_COLLECTION)
        .map(([, r]) => r)
        .filter((r) => !states || states.includes(r.state))
        .sort((a, b) => a.hostname.localeCompare(b.hostname))
        .map((r) => hostView(r, { progress: undefined, tasks_left: onHost.get(hostKey(r.hostname)) ?? 0, busy: false, waiting: undefined, secrets: opts.secrets }));
      return { now_ms: opts.now(), hosts, progress: 'drain progress (killing, replacing, blockers) is shown by the leader only' };
    }),
    { summary: 'Hosts in maintenance (standby: from ZooKeeper, stale)' },
  );
  return {
    router,
    status: async () => {
      const c = await current();
      if (!c) return undefined;
      const v = statusView(c.state);
      return { framework_id: v.framework_id, jobs: v.jobs, instances: v.instances, tasks: v.tasks, as_of: new Date(c.snap.readAtMs).toISOString(), as_of_seq: c.snap.seq };
    },
  };
}
