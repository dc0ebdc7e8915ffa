/**
 * One simulated master process: an HTTP server on 127.0.0.1 serving the master's endpoints with the
 * libprocess routing rules (`/master/<route>` and, the master being the default delegate,
 * `/<route>`; a path falls back to its longest route prefix), the check order of
 * src/master/http.cpp, and libprocess' response conventions (plain-text bodies with
 * `text/plain; charset=utf-8`, `Allow` on 405, protocol-relative 307 `Location`).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { codecFor, encodeJsonText, type Codec } from '../mesos/codec.js';
import { parseJsonLossless } from '../mesos/json.js';
import { lookupType } from '../mesos/proto.js';
import { fromJsonValue } from '../mesos/stout.js';
import type { Call, MachineID, MasterInfo, Schedule } from '../mesos/types.js';
import type { Logger } from '../util/logger.js';
import type { Master, SimEvent } from './master.js';
import { Conn, responseSink } from './model.js';
import type { TimerQueue } from './timers.js';
import type { AuthRealm, SimAuth } from './auth.js';
import { newUuid, packIp, type Rng } from './util.js';
import { type StateContext, masterStateJson, rolesJson, tasksJson } from './views.js';
import { decodeCall, dispatchSchedulerCall, operatorCall, validateSchedulerCall } from './http-calls.js';
import { APPLICATION_JSON, APPLICATION_PROTOBUF, type Reply, acceptsMediaType, empty, httpDate, methodNotAllowed, text } from './http-reply.js';

export { APPLICATION_JSON, APPLICATION_PROTOBUF, acceptsMediaType, httpDate };

/** What a master node needs from the simulated cluster. */
export interface NodeHost {
  readonly timers: TimerQueue;
  readonly rng: Rng;
  readonly log: Logger;
  /** The leading node, or undefined (no leader elected). */
  leader(): MasterNode | undefined;
  /** The Master state if `node` leads. */
  masterOf(node: MasterNode): Master | undefined;
  stateContext(node: MasterNode): StateContext;
  /** Fault injection: an immediate response for this scheduler call, or a delay, or nothing. */
  callFault(kind: 'scheduler' | 'operator', type: string | undefined): { status?: number; body?: string; delayMs?: number } | undefined;
  emit(e: SimEvent): void;
  /** Whether anyone listens to events$ (events are only built then). */
  observed(): boolean;
  now(): number;
  /** HTTP Basic authentication (undefined: the master authenticates nothing). */
  readonly auth?: SimAuth;
}

type Handler = (req: http.IncomingMessage, body: Buffer, url: URL, res: http.ServerResponse) => Reply | undefined | Promise<Reply | undefined>;

const ROUTES = [
  'api/v1/scheduler',
  'api/v1',
  'maintenance/schedule',
  'maintenance/status',
  'machine/down',
  'machine/up',
  'state',
  'roles',
  'tasks',
  'redirect',
  'health',
] as const;
type Route = (typeof ROUTES)[number];

/** The authentication realm of each route (src/master/master.cpp, Master::initialize). */
const REALMS: Record<Route, AuthRealm | undefined> = {
  'api/v1/scheduler': 'mesos-master-scheduler',
  'api/v1': 'mesos-master-readwrite',
  'maintenance/schedule': 'mesos-master-readwrite',
  'maintenance/status': 'mesos-master-readonly',
  'machine/down': 'mesos-master-readwrite',
  'machine/up': 'mesos-master-readwrite',
  state: 'mesos-master-readonly',
  roles: 'mesos-master-readonly',
  tasks: 'mesos-master-readonly',
  redirect: undefined,
  health: undefined,
};

export class MasterNode {
  readonly server: http.Server;
  port = 0;
  readonly hostname = '127.0.0.1';
  masterId: string;
  private readonly sockets = new Set<Socket>();
  /** Open SUBSCRIBE streams served by this node. */
  readonly streams = new Set<Conn>();
  private closing = false;

  constructor(
    readonly host: NodeHost,
    readonly index: number,
    masterId: string,
  ) {
    this.masterId = masterId;
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get url(): string {
    return `http://${this.hostname}:${this.port}`;
  }

  get info(): MasterInfo {
    return {
      id: this.masterId,
      ip: packIp(this.hostname),
      port: this.port,
      pid: `master@${this.hostname}:${this.port}`,
      hostname: this.hostname,
      version: '1.12.0',
      address: { hostname: this.hostname, ip: this.hostname, port: this.port },
      capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, { type: 'QUOTA_V2' }],
    };
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, this.hostname, () => {
        this.server.off('error', onError);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Cuts every stream (the master process died or lost leadership). */
  destroyStreams(): void {
    for (const c of [...this.streams]) c.destroy();
    this.streams.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const c of [...this.streams]) {
      c.fw = undefined;
      c.close();
    }
    this.streams.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      this.server.closeAllConnections?.();
    });
  }

  // ------------------------------------------------------------------------------------------

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.closing) {
        res.destroy();
        return;
      }
      const body = Buffer.concat(chunks);
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://x');
      } catch {
        this.send(res, text(400, '400 Bad Request.'));
        return;
      }
      Promise.resolve()
        .then(() => this.route(req, body, url, res))
        .then((reply) => {
          if (reply) this.send(res, reply);
        })
        .catch((e: unknown) => {
          this.host.log.error('sim: request failed', { error: e, path: url.pathname });
          if (!res.headersSent) this.send(res, text(500, '500 Internal Server Error.'));
          else res.destroy();
        });
    });
    req.on('error', () => res.destroy());
  }

  private send(res: http.ServerResponse, r: Reply): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string | number> = { ...(r.headers ?? {}) };
    const body = r.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
    if (r.contentType) headers['Content-Type'] = r.contentType;
    headers['Content-Length'] = body.length;
    headers['Date'] = httpDate(this.host.now());
    res.writeHead(r.status, headers);
    res.end(body);
  }

  private lookup(path: string): Route | undefined {
    let p = path.replace(/^\/+/, '');
    if (p === 'master' || p.startsWith('master/')) p = p.slice('master'.length).replace(/^\/+/, '');
    for (;;) {
      if ((ROUTES as readonly string[]).includes(p)) return p as Route;
      const i = p.lastIndexOf('/');
      if (i < 0) return undefined;
      p = p.slice(0, i);
    }
  }

  private route(req: http.IncomingMessage, body: Buffer, url: URL, res: http.ServerResponse): Reply | undefined | Promise<Reply | undefined> {
    const route = this.lookup(url.pathname);
    if (!route) return text(404, '404 Not Found.');
    // libprocess authenticates before the handler runs (so before any leader redirect)
    const auth = this.host.auth?.check(REALMS[route], req.headers['authorization']);
    if (auth?.challenge) {
      const r = text(401, '401 Unauthorized.');
      r.headers = { 'WWW-Authenticate': auth.challenge };
      return r;
    }
    const handlers: Record<Route, Handler> = {
      'api/v1/scheduler': (q, b, u, r) => this.scheduler(q, b, u, r, auth?.principal),
      'api/v1': (q, b, u) => this.operator(q, b, u),
      'maintenance/schedule': (q, b, u) => this.maintenanceSchedule(q, b, u),
      'maintenance/status': (q, _b, u) => this.maintenanceStatus(q, u),
      'machine/down': (q, b, u) => this.machineUpDown(q, b, u, 'down'),
      'machine/up': (q, b, u) => this.machineUpDown(q, b, u, 'up'),
      state: (q, _b, u) => this.state(q, u),
      roles: (q, _b, u) => this.roles(q, u),
      tasks: (_q, _b, u) => this.tasks(u),
      redirect: (q, _b, u) => this.redirectEndpoint(q, u),
      health: () => empty(200),
    };
    return handlers[route](req, body, url, res);
  }

  /** Master::Http::redirect for leader-only endpoints on a non-leader. */
  private redirect(url: URL): Reply {
    const leader = this.host.leader();
    if (!leader) return text(503, 'No leader elected');
    return empty(307, { Location: `//${leader.hostname}:${leader.port}${url.pathname}${url.search}` });
  }

  private redirectEndpoint(_req: http.IncomingMessage, url: URL): Reply {
    const leader = this.host.leader();
    if (!leader) return text(503, 'No leader elected');
    const base = `//${leader.hostname}:${leader.port}`;
    const p = url.pathname;
    if (p === '/redirect' || p === '/master/redirect') return empty(307, { Location: base });
    if (p.startsWith('/redirect/') || p.startsWith('/master/redirect/')) return text(404, '404 Not Found.');
    return empty(307, { Location: base + p + url.search });
  }

  private leaderMaster(url: URL): { master?: Master; reply?: Reply } {
    const master = this.host.masterOf(this);
    if (!master) return { reply: this.redirect(url) };
    return { master };
  }

  // ------------------------------------------------------------------------------------------
  // /api/v1/scheduler

  private async scheduler(req: http.IncomingMessage, body: Buffer, url: URL, res: http.ServerResponse, principal?: string): Promise<Reply | undefined> {
    const lm = this.leaderMaster(url);
    if (lm.reply) return lm.reply;
    const master = lm.master!;
    if (master.recovering) return text(503, 'Master has not finished recovery');
    if (req.method !== 'POST') return methodNotAllowed(['POST'], req.method ?? '');
    const decoded = decodeCall('mesos.v1.scheduler.Call', req.headers['content-type'], body);
    if (decoded.reply) return decoded.reply;
    const call = decoded.call as unknown as Call & Record<string, unknown>;

    const fault = this.host.callFault('scheduler', call.type);
    if (fault?.status !== undefined) return text(fault.status, fault.body ?? '');
    if (fault?.delayMs) {
      await new Promise<void>((resolve) => this.host.timers.after(fault.delayMs!, resolve));
      const again = this.host.masterOf(this);
      if (again !== master) return this.redirect(url);
    }

    const reply = this.schedulerCall(master, req, call, res, principal);
    if (reply) {
      const sid = req.headers['mesos-stream-id'];
      this.host.emit({ kind: 'call', at: this.host.now(), frameworkId: call.framework_id?.value, type: call.type ?? 'UNKNOWN', status: reply.status, streamId: typeof sid === 'string' ? sid : undefined });
    }
    return reply;
  }

  private schedulerCall(
    master: Master,
    req: http.IncomingMessage,
    call: Call & Record<string, unknown>,
    res: http.ServerResponse,
    principal: string | undefined,
  ): Reply | undefined {
    const err = validateSchedulerCall(call, principal);
    if (err) return text(400, 'Failed to validate scheduler::Call: ' + err);

    let codec: Codec | undefined;
    if (call.type === 'SUBSCRIBE' || call.type === 'RECONCILE_OPERATIONS') {
      const accept = req.headers['accept'];
      if (acceptsMediaType(accept, APPLICATION_JSON)) codec = codecFor(APPLICATION_JSON);
      else if (acceptsMediaType(accept, APPLICATION_PROTOBUF)) codec = codecFor(APPLICATION_PROTOBUF);
      else return text(406, `Expecting 'Accept' to allow '${APPLICATION_PROTOBUF}' or '${APPLICATION_JSON}'`);
    }

    if (call.type === 'SUBSCRIBE') {
      if (req.headers['mesos-stream-id'] !== undefined) {
        return text(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
      }
      const streamId = newUuid(this.host.rng);
      res.writeHead(200, { Date: httpDate(this.host.now()), 'Content-Type': codec!.mediaType, 'Mesos-Stream-Id': streamId });
      res.flushHeaders();
      const conn = new Conn(responseSink(res), codec!, streamId);
      conn.onEvent = (c, ev) => {
        if (this.host.observed()) this.host.emit({ kind: 'event', at: this.host.now(), frameworkId: c.fw?.id ?? '', type: ev.type, event: ev });
      };
      conn.onError = (e, ev) => this.host.log.error('sim: cannot encode event', { error: e, type: ev.type });
      this.streams.add(conn);
      res.on('close', () => {
        this.streams.delete(conn);
        const m = this.host.masterOf(this);
        if (m) m.exited(conn);
        else conn.closed = true;
      });
      this.host.emit({ kind: 'call', at: this.host.now(), frameworkId: call.framework_id?.value, type: 'SUBSCRIBE', status: 200, streamId });
      let subscribe = call.subscribe!;
      // An authenticated framework without FrameworkInfo.principal gets the authenticated one.
      if (principal !== undefined && subscribe.framework_info.principal === undefined) {
        subscribe = { ...subscribe, framework_info: { ...subscribe.framework_info, principal } };
      }
      master.subscribe(conn, subscribe);
      return undefined;
    }

    const fw = master.getFramework(call.framework_id!.value);
    if (!fw) return text(400, 'Framework cannot be found');
    if (principal !== undefined && principal !== (fw.info.principal ?? '')) {
      return text(400, `Authenticated principal '${principal}' does not match principal '${fw.info.principal ?? ''}' set in \`FrameworkInfo\``);
    }
    if (!fw.connected) return text(403, 'Framework is not subscribed');
    const sid = req.headers['mesos-stream-id'];
    if (sid === undefined) return text(400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    if (sid !== fw.conn!.streamId) {
      return text(
        400,
        `The stream ID '${String(sid)}' included in this request didn't match the stream ID currently associated with framework ID ${fw.id}`,
      );
    }

    return dispatchSchedulerCall(master, fw, call);
  }

  // ------------------------------------------------------------------------------------------
  // Operator API /api/v1

  private operator(req: http.IncomingMessage, body: Buffer, url: URL): Reply {
    const lm = this.leaderMaster(url);
    if (lm.reply) return lm.reply;
    const master = lm.master!;
    if (master.recovering) return text(503, 'Master has not finished recovery');
    if (req.method !== 'POST') return methodNotAllowed(['POST'], req.method ?? '');
    const decoded = decodeCall('mesos.v1.master.Call', req.headers['content-type'], body);
    if (decoded.reply) return decoded.reply;
    return operatorCall(master, decoded.call as Record<string, unknown> & { type?: string }, req.headers['accept'], (type) => this.host.callFault('operator', type));
  }

  // ------------------------------------------------------------------------------------------
  // Maintenance endpoints (http.cpp maintenanceSchedule / machineDown / machineUp / maintenanceStatus)

  private jsonReply(value: string, url: URL): Reply {
    const jsonp = url.searchParams.get('jsonp');
    if (jsonp !== null) return { status: 200, body: `${jsonp}(${value})`, contentType: 'text/javascript' };
    return { status: 200, body: value, contentType: APPLICATION_JSON };
  }

  private maintenanceSchedule(req: http.IncomingMessage, body: Buffer, url: URL): Reply {
    const lm = this.leaderMaster(url);
    if (lm.reply) return lm.reply;
    const master = lm.master!;
    if (req.method !== 'GET' && req.method !== 'POST') return methodNotAllowed(['GET', 'POST'], req.method ?? '');
    if (req.method === 'GET') {
      return this.jsonReply(encodeJsonText('mesos.v1.maintenance.Schedule', master.ctx.registry.schedule), url);
    }
    let value: unknown;
    try {
      value = parseJsonLossless(body.toString('utf8'));
    } catch (e) {
      return text(400, (e as Error).message.replace(/^Invalid JSON: /, ''));
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return text(400, 'Unexpected JSON type parsed');
    let schedule: Schedule;
    try {
      schedule = fromJsonValue(lookupType('mesos.v1.maintenance.Schedule'), value) as Schedule;
    } catch (e) {
      return text(400, (e as Error).message);
    }
    const err = master.validateSchedule(schedule);
    if (err) return text(400, err);
    master.updateSchedule(schedule);
    return empty(200);
  }

  private machineUpDown(req: http.IncomingMessage, body: Buffer, url: URL, which: 'up' | 'down'): Reply {
    const lm = this.leaderMaster(url);
    if (lm.reply) return lm.reply;
    const master = lm.master!;
    if (req.method !== 'POST') return methodNotAllowed(['POST'], req.method ?? '');
    let value: unknown;
    try {
      value = parseJsonLossless(body.toString('utf8'));
    } catch (e) {
      return text(400, (e as Error).message.replace(/^Invalid JSON: /, ''));
    }
    if (!Array.isArray(value)) return text(400, 'Unexpected JSON type parsed');
    const ids: MachineID[] = [];
    const type = lookupType('mesos.v1.MachineID');
    for (const v of value) {
      try {
        ids.push(fromJsonValue(type, v) as MachineID);
      } catch (e) {
        return text(400, (e as Error).message);
      }
    }
    const r = which === 'down' ? master.startMaintenance(ids) : master.stopMaintenance(ids);
    return r.body !== undefined ? text(r.status, r.body) : empty(r.status);
  }

  private maintenanceStatus(req: http.IncomingMessage, url: URL): Reply {
    const lm = this.leaderMaster(url);
    if (lm.reply) return lm.reply;
    if (req.method !== 'GET') return methodNotAllowed(['GET'], req.method ?? '');
    return this.jsonReply(encodeJsonText('mesos.v1.maintenance.ClusterStatus', lm.master!.maintenanceStatus()), url);
  }

  private state(_req: http.IncomingMessage, url: URL): Reply {
    const lm = this.leaderMaster(url);
    if (lm.reply) return lm.reply;
    return this.jsonReply(masterStateJson(lm.master!, this.host.stateContext(this)), url);
  }

  private roles(_req: http.IncomingMessage, url: URL): Reply {
    const lm = this.leaderMaster(url);
    if (lm.reply) return lm.reply;
    return this.jsonReply(rolesJson(lm.master!), url);
  }

  private tasks(url: URL): Reply {
    const lm = this.leaderMaster(url);
    if (lm.reply) return lm.reply;
    return this.jsonReply(tasksJson(lm.master!, url.searchParams), url);
  }
}
