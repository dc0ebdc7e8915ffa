/**
 * `sluice doctor`'s conversation with the cluster: the HTTP requests, nothing else. Every request
 * has a timeout, no redirect is followed implicitly, and no credential reaches an observation (the
 * Authorization header is only sent, never recorded; error texts go through redactText/maskSecrets).
 *
 * What is asked, in order (each answer judged by src/doctor/checks.ts):
 *   1. GET /master/redirect on every configured master (307 Location names the leader; 503 = none),
 *      then GET /master/state on the leader (307s followed, at most 3).
 *   2. /master/state: version, capabilities, flags, agents and their attributes.
 *   3. GET /api/v1/scheduler without and with the configured credentials: libprocess authenticates
 *      before the handler runs, so 401 = refused and 405 (only POST allowed) = accepted; nothing is
 *      registered.
 *   4. GET /master/maintenance/schedule and /status, as Sluice's maintenance client asks them (with
 *      the configured credentials).
 *   5. GET /health ~20 times over a second: the Date headers bound the clock offset.
 *   6. GET /master/roles (with credentials when the read-only realm asks for them).
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { basicAuthHeader, describeError, parseMasterUrls, resolveLocation } from '../client/http.js';
import { maskSecrets, redactText } from '../util/redact.js';
import { ZkMasterDetector } from '../zk/master-detector.js';
import { isZkUrl } from '../zk/url.js';
import {
  clockCheck,
  credentialsCheck,
  leaderCheck,
  maintenanceCheck,
  masterCheck,
  rackCheck,
  report,
  roleCheck,
  skipped,
  type Check,
  type DateSample,
  type DoctorReport,
  type HttpObs,
  type LeaderProbe,
  type MasterState,
} from './checks.js';

export interface DoctorOptions {
  masters: string[];
  principal?: string;
  secret?: string;
  role: string;
  rackAttribute: string;
  /** Clock skew above which the clock check fails (default 5 s). */
  maxSkewMs?: number;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  /** Date samples for the clock estimate (default 21, spread over `clockWindowMs`). */
  clockSamples?: number;
  clockWindowMs?: number;
}

/** Local wall-clock time with sub-millisecond resolution. */
const wallNow = (): number => performance.timeOrigin + performance.now();

class Http {
  private readonly agent = new Agent({ keepAliveTimeout: 4_000, connect: { timeout: 5_000 } });
  constructor(
    private readonly timeoutMs: number,
    private readonly secrets: Array<string | undefined>,
  ) {}

  async get(url: string, authorization?: string, onSent?: () => void): Promise<HttpObs> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (authorization) headers['authorization'] = authorization;
    try {
      onSent?.();
      const res = await request(url, { method: 'GET', headers, dispatcher: this.agent, signal: AbortSignal.timeout(this.timeoutMs) });
      const hs: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) hs[k] = Array.isArray(v) ? v.join(', ') : v;
      const body = await res.body.text();
      return { url, status: res.statusCode, headers: hs, body: body.length > 50_000_000 ? '' : body };
    } catch (e) {
      return { url, error: maskSecrets(redactText(describeError(e)), this.secrets) };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * `--master zk://…`: the leader is the master whose `json.info_` znode has the lowest sequence, read
 * as Sluice's own detector reads it; its /master/redirect is then asked like any configured master.
 */
async function findLeaderInZk(http: Http, zkUrl: string, timeoutMs: number): Promise<LeaderProbe> {
  let detector: ZkMasterDetector;
  try {
    detector = new ZkMasterDetector(zkUrl, { detectWaitMs: timeoutMs, connectTimeoutMs: timeoutMs, retryDelayMs: Math.min(1_000, timeoutMs) });
  } catch (e) {
    return { asked: [], stateHops: [], configError: redactText((e as Error).message) };
  }
  const where = detector.url.redacted;
  try {
    const origin = await detector.detect().catch(() => undefined);
    const st = detector.state$.value;
    if (!origin) return { asked: [], stateHops: [], zk: { url: where, state: st.state, message: redactText(st.message) } };
    const r = await findLeader(http, [origin]);
    return { ...r, zk: { url: where, state: st.state, message: redactText(st.message), leader: origin, node: st.leader?.node } };
  } finally {
    await detector.close();
  }
}

async function findLeader(http: Http, masters: string[], timeoutMs = 5_000): Promise<LeaderProbe> {
  if (masters.length === 1 && isZkUrl(masters[0]!)) return findLeaderInZk(http, masters[0]!, timeoutMs);
  let origins: string[];
  try {
    origins = parseMasterUrls(masters);
  } catch (e) {
    return { asked: [], stateHops: [], configError: redactText((e as Error).message) };
  }
  const asked: LeaderProbe['asked'] = [];
  for (const m of origins) {
    const obs = await http.get(`${m}/master/redirect`);
    const loc = obs.status === 307 ? obs.headers?.['location'] : undefined;
    let leader: string | undefined;
    if (loc) {
      try {
        leader = resolveLocation(loc, `${m}/master/redirect`).origin;
      } catch {
        // unusable Location: reported as the master's answer
      }
    }
    asked.push({ master: m, obs, leader });
  }
  const leader = asked.find((a) => a.leader)?.leader;
  return { asked, leader, stateHops: [] };
}

/** GET on the leader following 307s (at most 3); the last hop's origin becomes the leader. */
async function getOnLeader(http: Http, p: LeaderProbe, path: string, authorization?: string): Promise<HttpObs[]> {
  const hops: HttpObs[] = [];
  let url = `${p.leader}${path}`;
  for (let i = 0; i < 4; i++) {
    const o = await http.get(url, authorization);
    hops.push(o);
    if (o.status !== 307 || !o.headers?.['location']) break;
    url = resolveLocation(o.headers['location'], url).href;
    p.leader = new URL(url).origin;
  }
  return hops;
}

/** A GET as Sluice would send it; on 401 once more with the credentials, to still learn the facts. */
async function getWithFallback(http: Http, url: string, auth: string | undefined): Promise<{ anonymous: HttpObs; used: HttpObs }> {
  const anonymous = await http.get(url);
  if (anonymous.status === 401 && auth) return { anonymous, used: await http.get(url, auth) };
  return { anonymous, used: anonymous };
}

async function sampleDates(http: Http, leader: string, n: number, windowMs: number): Promise<DateSample[]> {
  const out: DateSample[] = [];
  const step = windowMs / Math.max(1, n - 1);
  const start = wallNow();
  for (let i = 0; i < n; i++) {
    const due = start + i * step;
    const wait = due - wallNow();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    let sentMs = 0;
    const o = await http.get(`${leader}/health`, undefined, () => (sentMs = wallNow()));
    const receivedMs = wallNow();
    if (o.status !== undefined) out.push({ sentMs, receivedMs, date: o.headers?.['date'] });
  }
  return out;
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const http = new Http(o.timeoutMs ?? 5_000, [o.secret]);
  const auth = o.principal !== undefined && o.secret ? basicAuthHeader({ principal: o.principal, secret: o.secret }) : undefined;
  const shown = o.masters.map((m) => redactText(m));
  try {
    const lp = await findLeader(http, o.masters, o.timeoutMs ?? 5_000);
    if (lp.leader) {
      const first = await getOnLeader(http, lp, '/master/state');
      lp.stateHops.push(...first);
      if (first[first.length - 1]?.status === 401 && auth) lp.stateHops.push(await http.get(`${lp.leader}/master/state`, auth));
    }
    const checks: Check[] = [leaderCheck(lp)];
    const stateObs = lp.stateHops[lp.stateHops.length - 1];
    if (checks[0]!.status === 'fail' || !lp.leader || stateObs?.status !== 200) {
      for (const id of ['master', 'credentials', 'maintenance', 'clock', 'rack', 'role'] as const) checks.push(skipped(id, 'no leading master'));
      return report(shown, lp.leader, checks);
    }
    let state: MasterState = {};
    try {
      state = JSON.parse(stateObs.body ?? '{}') as MasterState;
    } catch {
      // judged as a master without version below
    }
    const leader = lp.leader;
    checks.push(masterCheck(state));
    const anonymous = await http.get(`${leader}/api/v1/scheduler`);
    const withCredentials = auth ? await http.get(`${leader}/api/v1/scheduler`, auth) : undefined;
    checks.push(credentialsCheck({ principal: o.principal, hasSecret: !!o.secret, anonymous, withCredentials }));
    // as Sluice's maintenance client asks them: with the configured credentials, if any
    const schedule = await http.get(`${leader}/master/maintenance/schedule`, auth);
    const status = await http.get(`${leader}/master/maintenance/status`, auth);
    checks.push(maintenanceCheck(schedule, status, auth !== undefined));
    checks.push(clockCheck(await sampleDates(http, leader, o.clockSamples ?? 21, o.clockWindowMs ?? 1_000), o.maxSkewMs ?? 5_000));
    checks.push(rackCheck(state, o.rackAttribute));
    const roles = await getWithFallback(http, `${leader}/master/roles`, auth);
    checks.push(roleCheck(roles.used, o.role));
    return report(shown, leader, checks);
  } finally {
    await http.close();
  }
}
