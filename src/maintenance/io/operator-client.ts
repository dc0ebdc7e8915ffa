/**
 * The master's maintenance HTTP endpoints (contract §4.6), on undici:
 *
 *   GET/POST /master/maintenance/schedule   mesos.v1.maintenance.Schedule (int64 ns as bigint)
 *   GET      /master/maintenance/status     mesos.v1.maintenance.ClusterStatus
 *   POST     /master/machine/down | up      JSON array of MachineID
 *   GET      /master/state                  inventory (agents: hostname, ip, rack, drain state) and frameworks per agent
 *   POST     /api/v1 DRAIN_AGENT | REACTIVATE_AGENT   agent draining (Mesos 1.9+; others_at_deadline=drain_agent)
 *
 * Leader following: a non-leading master answers 307 with a protocol-relative Location
 * (`//host:port/path`): the scheme of the master we asked is prepended and the redirect followed;
 * 503 (no leader yet / recovering) is retried with capped exponential backoff a bounded number of
 * times; a network error moves on to the next configured master. A 400 becomes a
 * `MasterRequestError` carrying the master's text body (e.g. "Machine '...' is not in DRAINING mode").
 *
 * `updateSchedule(edit)` is the read-modify-write of the one cluster-wide schedule: GET, edit (pure,
 * src/maintenance/core/schedule.ts: never drops or alters anyone else's window), validate, POST. A 400
 * on the POST usually means someone changed the schedule meanwhile (e.g. a machine went DOWN and
 * must stay): re-read and retry, a bounded number of times.
 */
import { request } from 'undici';
import type { LeaderDetector } from '../../client/detector.js';
import { basicAuthHeader, masterCredentials, type BasicAuth } from '../../client/http.js';
import type { ClusterStatus, MachineID, Schedule } from '../../mesos/types.js';
import { decodeJsonText, encodeJsonText } from '../../mesos/codec.js';
import { RealClock, type Clock } from '../../util/clock.js';
import { nullLogger, type Logger } from '../../util/logger.js';
import { redactText, redactUrl } from '../../util/redact.js';
import { validateSchedule } from '../core/schedule.js';
import { ScheduleError } from '../core/errors.js';
import type { MasterAgent, MasterStateView, OtherTaskSeen } from '../core/master.js';

/** Tasks kept per agent from /master/state (other frameworks' tasks shown on a host). */
const MAX_TASKS_PER_AGENT = 500;

export class MasterHttpError extends Error {
  override readonly name: string = 'MasterHttpError';
  constructor(
    readonly status: number,
    readonly body: string,
    readonly url: string,
    what: string,
  ) {
    super(`${what}: master answered ${status}${body ? `: ${body.trim()}` : ''}`);
  }
}

/** The master refused the request (400): `body` is its explanation. */
export class MasterRequestError extends MasterHttpError {
  override readonly name = 'MasterRequestError';
}

/**
 * The master answered 401: its HTTP authentication (--authenticate_http_readonly/readwrite) refused
 * our credentials, or we sent none. Names the principal, never the secret.
 */
export class MasterAuthError extends MasterHttpError {
  override readonly name = 'MasterAuthError';
  constructor(
    body: string,
    url: string,
    what: string,
    /** The principal sent (undefined: no credentials were sent). */
    readonly principal: string | undefined,
  ) {
    super(401, body, url, what);
    this.message = principal
      ? `${what}: the Mesos master refused the credentials of principal "${principal}" (401): check --principal and the secret (SLUICE_SECRET) against the master's --credentials`
      : `${what}: the Mesos master requires HTTP authentication (401) and no credentials are configured: set --principal and SLUICE_SECRET`;
  }
}

export class MasterUnavailableError extends Error {
  override readonly name = 'MasterUnavailableError';
}

export type { MasterAgent, MasterStateView } from '../core/master.js';

export interface OperatorClientOptions {
  masters: readonly string[];
  clock?: Clock;
  logger?: Logger;
  /** 503 retries per request (default 6). */
  maxRetries?: number;
  /** First 503 backoff (default 250 ms, doubling, capped at 5 s). */
  retryDelayMs?: number;
  /** Most redirects followed per request (default 5). */
  maxRedirects?: number;
  /** Read-modify-write attempts of the schedule (default 5). */
  scheduleAttempts?: number;
  timeoutMs?: number;
  /** Attribute naming the rack (default 'rack'). */
  rackAttribute?: string;
  /**
   * HTTP Basic credentials sent on every request (the framework's principal/secret). Without them,
   * credentials carried by the master URLs (`http://principal:secret@master:5050`) are used.
   */
  auth?: BasicAuth;
  /**
   * Leader detection for a `zk://` (or `file://`) master: the scheduler client's detector (the
   * runtime's ZooKeeper session, shared), asked for the leading master before each request.
   */
  detector?: Pick<LeaderDetector, 'detect'>;
  /** Told of every 401 (for the sluice_master_auth_failures_total counter); `call` names the endpoint. */
  onAuthRefused?: (call: string) => void;
}

export class MaintenanceOperatorClient {
  private readonly masters: string[];
  private leader: string | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly auth: BasicAuth | undefined;
  private readonly authHeader: string | undefined;

  /** The configured ZooKeeper URL(s), redacted (for messages). */
  private readonly detected: string[];

  constructor(private readonly opts: OperatorClientOptions) {
    const zk = opts.masters.filter(isDetectorUrl);
    const http = opts.masters.filter((m) => !isDetectorUrl(m));
    if (zk.length && !opts.detector) throw new Error(`a ZooKeeper master (${zk.map(redactUrl).join(', ')}) needs a leader detector`);
    this.detected = zk.map(redactUrl);
    // user info never stays in a URL we request or name (it becomes the Authorization header)
    this.masters = http.map((m) => stripUserInfo((/^https?:\/\//.test(m) ? m : `http://${m}`).replace(/\/+$/, '')));
    if (!this.masters.length && !opts.detector) throw new Error('no Mesos master configured');
    this.clock = opts.clock ?? new RealClock();
    this.log = opts.logger ?? nullLogger();
    // (a zk:// URL's user info is ZooKeeper's credentials, never the master's)
    this.auth = opts.auth ?? masterCredentials(http);
    this.authHeader = basicAuthHeader(this.auth);
  }

  // ------------------------------------------------------------------------------------------
  // endpoints

  async getSchedule(): Promise<Schedule> {
    const text = await this.send('GET', '/master/maintenance/schedule', undefined, 'GET maintenance schedule');
    return decodeJsonText<Schedule>('mesos.v1.maintenance.Schedule', text.trim() ? text : '{}');
  }

  async postSchedule(s: Schedule): Promise<void> {
    await this.send('POST', '/master/maintenance/schedule', encodeJsonText('mesos.v1.maintenance.Schedule', s), 'POST maintenance schedule');
  }

  async getStatus(): Promise<ClusterStatus> {
    const text = await this.send('GET', '/master/maintenance/status', undefined, 'GET maintenance status');
    return decodeJsonText<ClusterStatus>('mesos.v1.maintenance.ClusterStatus', text.trim() ? text : '{}');
  }

  async machineDown(machines: readonly MachineID[]): Promise<void> {
    await this.send('POST', '/master/machine/down', machinesJson(machines), 'POST machine down');
  }

  async machineUp(machines: readonly MachineID[]): Promise<void> {
    await this.send('POST', '/master/machine/up', machinesJson(machines), 'POST machine up');
  }

  /**
   * DRAIN_AGENT (operator API v1, JSON): the master deactivates the agent and kills every task on
   * it, each task's kill grace capped at `maxGraceSeconds`; never marks it gone. 200 with an empty body.
   */
  async drainAgent(agentId: string, maxGraceSeconds: number): Promise<void> {
    const call = { type: 'DRAIN_AGENT', drain_agent: { agent_id: { value: agentId }, max_grace_period: { seconds: BigInt(Math.max(0, Math.round(maxGraceSeconds))) }, mark_gone: false } };
    await this.send('POST', '/api/v1', encodeJsonText('mesos.v1.master.Call', call), 'DRAIN_AGENT');
  }

  /** REACTIVATE_AGENT (operator API v1, JSON). A 400 "Agent is not deactivated" is a MasterRequestError. */
  async reactivateAgent(agentId: string): Promise<void> {
    const call = { type: 'REACTIVATE_AGENT', reactivate_agent: { agent_id: { value: agentId } } };
    await this.send('POST', '/api/v1', encodeJsonText('mesos.v1.master.Call', call), 'REACTIVATE_AGENT');
  }

  async getState(): Promise<MasterStateView> {
    const text = await this.send('GET', '/master/state', undefined, 'GET master state');
    const doc = JSON.parse(text) as {
      slaves?: Array<{ id: string; hostname: string; pid?: string; attributes?: Record<string, unknown>; deactivated?: unknown; drain_info?: { state?: unknown } }>;
      frameworks?: Array<{ id: string; name?: string; tasks?: Array<{ id?: string; slave_id?: string; state?: string }>; offers?: Array<{ slave_id?: string }> }>;
    };
    const rackAttr = this.opts.rackAttribute ?? 'rack';
    const drainOnAgent = new Map<string, { deactivated: boolean; state?: string }>();
    for (const s of doc.slaves ?? []) {
      const d: { deactivated: boolean; state?: string } = { deactivated: s.deactivated === true };
      const st = s.drain_info?.state;
      if (typeof st === 'string') d.state = st.slice(0, 40);
      drainOnAgent.set(String(s.id), d);
    }
    const agents: MasterAgent[] = (doc.slaves ?? []).map((s) => {
      const a: MasterAgent = { agent_id: s.id, hostname: s.hostname };
      const m = /@([^:]+):\d+$/.exec(s.pid ?? '');
      if (m) a.ip = m[1]!;
      const rack = s.attributes?.[rackAttr];
      if (rack !== undefined) a.rack = String(rack);
      if (s.attributes && typeof s.attributes === 'object') a.attributes = Object.fromEntries(Object.entries(s.attributes).map(([k, v]) => [k, String(v)]));
      return a;
    });
    const frameworksOnAgent = new Map<string, string[]>();
    const tasksOnAgent = new Map<string, OtherTaskSeen[]>();
    for (const fw of doc.frameworks ?? []) {
      const on = new Set<string>();
      for (const t of fw.tasks ?? []) {
        if (!t.slave_id) continue;
        on.add(t.slave_id);
        // bounded: a hostile or huge answer keeps at most MAX_TASKS_PER_AGENT tasks per agent
        const l = tasksOnAgent.get(t.slave_id) ?? [];
        if (l.length >= MAX_TASKS_PER_AGENT) continue;
        const seen: OtherTaskSeen = { framework_id: String(fw.id).slice(0, 200), task_id: String(t.id ?? '?').slice(0, 200), state: String(t.state ?? 'TASK_UNKNOWN').slice(0, 40) };
        if (typeof fw.name === 'string') seen.framework_name = fw.name.slice(0, 200);
        l.push(seen);
        tasksOnAgent.set(t.slave_id, l);
      }
      for (const o of fw.offers ?? []) if (o.slave_id) on.add(o.slave_id);
      for (const a of on) {
        const l = frameworksOnAgent.get(a) ?? [];
        l.push(fw.id);
        frameworksOnAgent.set(a, l);
      }
    }
    return { agents, frameworksOnAgent, tasksOnAgent, drainOnAgent };
  }

  /**
   * Read-modify-write of the schedule. `edit` gets a fresh copy each attempt and may throw (e.g.
   * ScheduleError 'window-conflict': that is final). `down` lists the machines that are DOWN (they
   * must stay in the schedule). Retries a 400 (concurrent change) after re-reading.
   */
  async updateSchedule(edit: (s: Schedule, status: ClusterStatus) => Schedule): Promise<Schedule> {
    const attempts = this.opts.scheduleAttempts ?? 5;
    let last: unknown;
    for (let i = 1; i <= attempts; i++) {
      const [current, status] = await Promise.all([this.getSchedule(), this.getStatus()]);
      const next = edit(current, status);
      validateSchedule(next, status.down_machines ?? []);
      // The master has no compare-and-swap: a POST replaces the whole schedule, so a window posted
      // by someone else since our GET would be silently dropped. Re-read right before the POST and
      // start over if the schedule changed (narrows the race to the re-read -> POST round trip).
      const again = await this.getSchedule();
      if (scheduleText(again) !== scheduleText(current)) {
        last = new ScheduleError('the maintenance schedule kept changing concurrently', 'invalid-schedule');
        this.log.warn('maintenance_schedule_conflict', {
          event: 'maintenance_schedule_conflict',
          attempt: i,
          reason: 'the schedule changed between our read and our write; re-reading it',
        });
        continue;
      }
      try {
        await this.postSchedule(next);
        return next;
      } catch (e) {
        if (!(e instanceof MasterRequestError)) throw e;
        last = e;
        this.log.warn('maintenance_schedule_conflict', {
          event: 'maintenance_schedule_conflict',
          attempt: i,
          error: e.body,
          reason: 'the master refused the schedule (changed concurrently?); re-reading it',
        });
      }
    }
    throw last instanceof Error ? last : new ScheduleError('could not update the maintenance schedule', 'invalid-schedule');
  }

  // ------------------------------------------------------------------------------------------
  // transport

  private async send(method: 'GET' | 'POST', path: string, body: string | undefined, what: string): Promise<string> {
    const maxRetries = this.opts.maxRetries ?? 6;
    const maxRedirects = this.opts.maxRedirects ?? 5;
    let retries = 0;
    let lastError: unknown;
    // candidates: the leader ZooKeeper names (if detected), the known leader, every configured master
    const detected = await this.detectLeader();
    if (detected instanceof Error) lastError = detected;
    const order = [...new Set([...(typeof detected === 'string' ? [detected] : []), ...(this.leader ? [this.leader] : []), ...this.masters])];
    for (let m = 0; m < order.length; m++) {
      let base = order[m]!;
      let url = base + path;
      let redirects = 0;
      for (;;) {
        let status: number;
        let text: string;
        let location: string | undefined;
        try {
          const headers: Record<string, string> = body !== undefined ? { 'content-type': 'application/json' } : {};
          if (this.authHeader) headers['authorization'] = this.authHeader;
          if (path === '/api/v1') headers['accept'] = 'application/json';
          const res = await request(url, {
            method,
            body,
            headers,
            headersTimeout: this.opts.timeoutMs ?? 15_000,
            bodyTimeout: this.opts.timeoutMs ?? 15_000,
          });
          status = res.statusCode;
          text = await res.body.text();
          const loc = res.headers['location'];
          location = Array.isArray(loc) ? loc[0] : loc;
        } catch (e) {
          lastError = e;
          this.log.debug('maintenance_master_unreachable', { event: 'maintenance_master_unreachable', url: redactUrl(url), error: redactText((e as Error).message) });
          if (this.leader === base) this.leader = undefined;
          break; // next master
        }
        if (status === 307 && location) {
          if (++redirects > maxRedirects) throw new MasterHttpError(status, 'too many redirects', url, what);
          const target = resolveLocation(location, url);
          base = target.origin;
          url = target.href;
          continue;
        }
        if (status === 503) {
          if (retries++ >= maxRetries) throw new MasterHttpError(status, text, url, what);
          const delay = Math.min(5000, (this.opts.retryDelayMs ?? 250) * 2 ** (retries - 1));
          this.log.debug('maintenance_master_retry', { event: 'maintenance_master_retry', url, status, retry_in_ms: delay });
          await new Promise<void>((resolve) => this.clock.setTimeout(resolve, delay));
          continue;
        }
        if (status >= 200 && status < 300) {
          this.leader = base;
          return text;
        }
        if (status === 400) throw new MasterRequestError(status, text, url, what);
        if (status === 401) throw this.authRefused(text, url, path, what);
        throw new MasterHttpError(status, text, url, what);
      }
    }
    const why = redactText((lastError as Error)?.message ?? 'unknown error');
    const tried = [...this.detected, ...this.masters.map(redactUrl)];
    throw new MasterUnavailableError(`${what}: no Mesos master reachable (${tried.join(', ')}): ${why}`);
  }

  /** The leading master's origin from the detector; its error when it knows none; undefined without one. */
  private async detectLeader(): Promise<string | Error | undefined> {
    if (!this.opts.detector) return undefined;
    try {
      return stripUserInfo((await this.opts.detector.detect()).replace(/\/+$/, ''));
    } catch (e) {
      return e as Error;
    }
  }

  /** A 401: counted, logged loudly (principal, never the secret), and a typed error. */
  private authRefused(text: string, url: string, path: string, what: string): MasterAuthError {
    const err = new MasterAuthError(text, url, what, this.auth?.principal);
    this.opts.onAuthRefused?.(path);
    this.log.error('master_auth_refused', {
      event: 'master_auth_refused',
      call: path,
      request: what,
      status: 401,
      principal: this.auth?.principal,
      credentials: this.auth ? 'refused' : 'none sent',
      master: redactUrl(new URL(url).origin),
      reason: err.message,
    });
    return err;
  }
}

/** Masters found through a detector: `zk://…`, or `file://` naming a file that holds one. */
function isDetectorUrl(m: string): boolean {
  return /^\s*(zk|file):\/\//i.test(m);
}

/** `scheme://user:pass@host:port` → `scheme://host:port` (the credentials go in the Authorization header). */
function stripUserInfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** `//host:port/path` (libprocess's protocol-relative Location) → absolute, with the asked URL's scheme. */
export function resolveLocation(location: string, asked: string): URL {
  const from = new URL(asked);
  if (location.startsWith('//')) return new URL(`${from.protocol}${location}`);
  return new URL(location, from);
}

function scheduleText(s: Schedule): string {
  return encodeJsonText('mesos.v1.maintenance.Schedule', s);
}

function machinesJson(machines: readonly MachineID[]): string {
  return JSON.stringify(machines.map((m) => ({ ...(m.hostname !== undefined ? { hostname: m.hostname } : {}), ...(m.ip !== undefined ? { ip: m.ip } : {}) })));
}
