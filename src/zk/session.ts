/**
 * A ZooKeeper session: a small typed, promise-based wrapper over the pure-JavaScript
 * `node-zookeeper-client` (no native build). The rest of Sluice talks to ZooKeeper only through
 * this module.
 *
 * One ZkSession is one ZooKeeper session. Its life:
 *   connecting → connected ⇄ disconnected (the library reconnects, same session, watches re-set)
 *   → expired     the server expired it, or it stayed disconnected longer than the negotiated
 *                 session timeout (the server has then expired it too: its ephemeral nodes are gone;
 *                 we stop trusting it at that moment instead of when a reconnect finally tells us)
 *   → auth_failed the server refused the digest credentials
 *   → closed      close() was called
 * The last three are final: every pending and later call rejects, watch observables error, and the
 * owner makes a new session (its ephemeral nodes must be created again).
 */
import zookeeper from 'node-zookeeper-client';
import { BehaviorSubject, Observable, distinctUntilChanged, type Subscription } from 'rxjs';
import type { Logger } from '../util/logger.js';
import { nullLogger } from '../util/logger.js';
import { ZkClosedError, ZkError, ZkOperationError, ZkSessionExpiredError, ZkUnreachableError } from './errors.js';
import type { ZkUrl } from './url.js';

export type ZkSessionState = 'connecting' | 'connected' | 'disconnected' | 'expired' | 'auth_failed' | 'closed';
export type ZkCreateMode = 'persistent' | 'persistent_sequential' | 'ephemeral' | 'ephemeral_sequential';
export type ZkPerm = 'read' | 'write' | 'create' | 'delete' | 'admin' | 'all';

export interface ZkAcl {
  /** 'world' (id 'anyone'), 'digest' (id 'user:base64(sha1(user:password))'), 'auth', 'ip'. */
  scheme: string;
  id: string;
  perms: readonly ZkPerm[];
}

export interface ZkStat {
  version: number;
  cversion: number;
  aversion: number;
  /** Session id (hex) of the owner of an ephemeral node; '0000000000000000' for persistent nodes. */
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
  /** Creation zxid (hex) */
  czxid: string;
  mzxid: string;
}

export interface ZkNodeEvent {
  type: 'created' | 'deleted' | 'data_changed' | 'children_changed';
  path: string;
}

export type ZkOp =
  | { op: 'create'; path: string; data?: Buffer | string; mode?: ZkCreateMode; acl?: readonly ZkAcl[] }
  | { op: 'set'; path: string; data: Buffer | string; version?: number }
  | { op: 'remove'; path: string; version?: number }
  | { op: 'check'; path: string; version: number };

export interface ZkOpResult {
  op: ZkOp['op'];
  /** Created path (create), stat (set). */
  path?: string;
  stat?: ZkStat;
}

export interface ZkSessionOptions {
  /** Reject connect() if no server answered within this time (default 10 s). */
  connectTimeoutMs?: number;
  /** Requested session timeout (default 10 s, as Mesos's master detector); the server may clamp it. */
  sessionTimeoutMs?: number;
  /** Extra digest credentials `user:password` (the URL's are added automatically). */
  digest?: string;
  logger?: Logger;
}

export const OPEN_ACL: readonly ZkAcl[] = [{ scheme: 'world', id: 'anyone', perms: ['all'] }];

const FINAL: readonly ZkSessionState[] = ['expired', 'auth_failed', 'closed'];
const PERMS: Record<ZkPerm, number> = {
  read: zookeeper.Permission.READ,
  write: zookeeper.Permission.WRITE,
  create: zookeeper.Permission.CREATE,
  delete: zookeeper.Permission.DELETE,
  admin: zookeeper.Permission.ADMIN,
  all: zookeeper.Permission.ALL,
};
const MODES: Record<ZkCreateMode, number> = {
  persistent: zookeeper.CreateMode.PERSISTENT,
  persistent_sequential: zookeeper.CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeral: zookeeper.CreateMode.EPHEMERAL,
  ephemeral_sequential: zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
};

export class ZkSession {
  private readonly client: zookeeper.Client;
  private readonly stateSubject = new BehaviorSubject<ZkSessionState>('connecting');
  private readonly log: Logger;
  private lostTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  /** Session state changes (current state first). Completes when the session ends. */
  readonly state$: Observable<ZkSessionState>;

  private constructor(
    readonly url: ZkUrl,
    private readonly opts: ZkSessionOptions,
  ) {
    this.log = opts.logger ?? nullLogger();
    this.state$ = this.stateSubject.pipe(distinctUntilChanged());
    this.client = zookeeper.createClient(url.connectString, {
      sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
      spinDelay: 250,
      retries: 0,
    });
    const creds = [url.digestCredentials, opts.digest].filter((c): c is string => !!c);
    for (const c of creds) this.client.addAuthInfo('digest', Buffer.from(c, 'utf8'));
    this.client.on('state', (s: zookeeper.State) => this.onLibraryState(s));
  }

  /**
   * Opens a session with the ensemble of `url` (its path is not a chroot: pass absolute paths).
   * Rejects with ZkUnreachableError (no server answered in time) or ZkError (credentials refused).
   */
  static async connect(url: ZkUrl, opts: ZkSessionOptions = {}): Promise<ZkSession> {
    const s = new ZkSession(url, opts);
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    try {
      await new Promise<void>((resolve, reject) => {
        let sub: Subscription | undefined;
        const finish = (err?: Error): void => {
          clearTimeout(t);
          sub?.unsubscribe();
          if (err) reject(err);
          else resolve();
        };
        const t = setTimeout(
          () => finish(new ZkUnreachableError(`no ZooKeeper server of ${url.redacted} answered within ${timeoutMs} ms (tried ${url.connectString})`)),
          timeoutMs,
        );
        sub = s.stateSubject.subscribe({
          next: (st) => {
            if (st === 'connected') finish();
            else if (st === 'auth_failed') finish(new ZkOperationError('AUTH_FAILED', 'connect', url.path));
            else if (FINAL.includes(st)) finish(new ZkSessionExpiredError(`ZooKeeper session ${st} while connecting to ${url.redacted}`));
          },
          complete: () => finish(new ZkClosedError(`ZooKeeper session closed while connecting to ${url.redacted}`)),
        });
        s.client.connect();
      });
    } catch (e) {
      await s.close();
      throw e;
    }
    s.log.info('zk_connected', { event: 'zk_connected', zk: url.redacted, session_id: s.sessionId, session_timeout_ms: s.sessionTimeoutMs });
    return s;
  }

  get state(): ZkSessionState {
    return this.stateSubject.value;
  }

  /** Session id as 16 hex digits. */
  get sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  /** Negotiated session timeout (ms). */
  get sessionTimeoutMs(): number {
    return this.client.getSessionTimeout();
  }

  private setState(s: ZkSessionState): void {
    const cur = this.stateSubject.value;
    if (cur === s || FINAL.includes(cur)) return;
    this.stateSubject.next(s);
    if (s === 'disconnected') {
      this.log.warn('zk_disconnected', { event: 'zk_disconnected', zk: this.url.redacted, session_id: this.sessionId });
      clearTimeout(this.lostTimer);
      this.lostTimer = setTimeout(() => {
        this.log.error('zk_session_lost', {
          event: 'zk_session_lost',
          zk: this.url.redacted,
          reason: `disconnected for the whole session timeout (${this.sessionTimeoutMs} ms)`,
        });
        this.end('expired');
      }, this.sessionTimeoutMs);
    } else if (s === 'connected') {
      clearTimeout(this.lostTimer);
      if (cur === 'disconnected') this.log.info('zk_reconnected', { event: 'zk_reconnected', zk: this.url.redacted, session_id: this.sessionId });
    }
    if (FINAL.includes(s)) this.end(s);
  }

  private onLibraryState(s: zookeeper.State): void {
    const S = zookeeper.State;
    if (s === S.SYNC_CONNECTED || s === S.CONNECTED_READ_ONLY) this.setState('connected');
    else if (s === S.DISCONNECTED) {
      if (this.stateSubject.value !== 'connecting') this.setState('disconnected');
    } else if (s === S.EXPIRED) {
      this.log.error('zk_session_expired', { event: 'zk_session_expired', zk: this.url.redacted, session_id: this.sessionId });
      this.setState('expired');
    } else if (s === S.AUTH_FAILED) {
      this.log.error('zk_auth_failed', { event: 'zk_auth_failed', zk: this.url.redacted });
      this.setState('auth_failed');
    }
  }

  /** Final state: stop the library client (no resurrection), complete state$. */
  private end(s: ZkSessionState): void {
    clearTimeout(this.lostTimer);
    if (!FINAL.includes(this.stateSubject.value)) this.stateSubject.next(s);
    if (!this.stateSubject.closed && !this.stateSubject.isStopped) this.stateSubject.complete();
    try {
      this.client.close();
    } catch {
      /* already closed */
    }
  }

  /** Closes the session (its ephemeral nodes go at once). Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const wasLive = !FINAL.includes(this.stateSubject.value) && this.stateSubject.value !== 'connecting';
      clearTimeout(this.lostTimer);
      if (!FINAL.includes(this.stateSubject.value)) this.stateSubject.next('closed');
      if (!this.stateSubject.isStopped) this.stateSubject.complete();
      if (!wasLive) {
        try {
          this.client.close();
        } catch {
          /* ignore */
        }
        resolve();
        return;
      }
      // wait (bounded) for the CLOSE_SESSION round trip so our ephemeral nodes are gone on return
      const t = setTimeout(resolve, 2_000);
      this.client.once('disconnected', () => {
        clearTimeout(t);
        resolve();
      });
      this.client.close();
    });
    return this.closing;
  }

  // ---- operations -------------------------------------------------------------------------------

  private guard(): void {
    const st = this.stateSubject.value;
    if (st === 'closed') throw new ZkClosedError('ZooKeeper session is closed');
    if (st === 'expired') throw new ZkSessionExpiredError(`ZooKeeper session to ${this.url.redacted} expired`);
    if (st === 'auth_failed') throw new ZkOperationError('AUTH_FAILED', 'call', this.url.path);
  }

  private call<T>(op: string, path: string, run: (cb: (err: unknown, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        this.guard();
        run((err, value) => (err ? reject(toZkError(err, op, path)) : resolve(value as T)));
      } catch (e) {
        reject(toZkError(e, op, path));
      }
    });
  }

  /** Stat of `path`, or undefined when it does not exist. `watch` fires once on its next change. */
  exists(path: string, watch?: (e: ZkNodeEvent) => void): Promise<ZkStat | undefined> {
    return this.call('exists', path, (cb) => {
      const done = (err: unknown, stat: zookeeper.Stat | null): void => cb(err, stat ? toStat(stat) : undefined);
      if (watch) this.client.exists(path, wrapWatcher(watch), done);
      else this.client.exists(path, done);
    });
  }

  getChildren(path: string, watch?: (e: ZkNodeEvent) => void): Promise<{ children: string[]; stat: ZkStat }> {
    return this.call('getChildren', path, (cb) => {
      const done = (err: unknown, children: string[], stat: zookeeper.Stat): void => cb(err, err ? undefined : { children, stat: toStat(stat) });
      if (watch) this.client.getChildren(path, wrapWatcher(watch), done);
      else this.client.getChildren(path, done);
    });
  }

  getData(path: string, watch?: (e: ZkNodeEvent) => void): Promise<{ data: Buffer; stat: ZkStat }> {
    return this.call('getData', path, (cb) => {
      const done = (err: unknown, data: Buffer | null, stat: zookeeper.Stat): void =>
        cb(err, err ? undefined : { data: data ?? Buffer.alloc(0), stat: toStat(stat) });
      if (watch) this.client.getData(path, wrapWatcher(watch), done);
      else this.client.getData(path, done);
    });
  }

  /** Creates a node; returns its actual path (with the sequence suffix for *_sequential modes). */
  create(path: string, data: Buffer | string = Buffer.alloc(0), opts: { mode?: ZkCreateMode; acl?: readonly ZkAcl[] } = {}): Promise<string> {
    return this.call('create', path, (cb) =>
      this.client.create(path, toBuffer(data), toAcls(opts.acl ?? OPEN_ACL), MODES[opts.mode ?? 'persistent'], (err, p) => cb(err, p)),
    );
  }

  /** Creates `path` and its missing parents (persistent, empty); existing nodes are left as they are. */
  mkdirp(path: string, acl: readonly ZkAcl[] = OPEN_ACL): Promise<void> {
    return this.call('mkdirp', path, (cb) => this.client.mkdirp(path, toAcls(acl), zookeeper.CreateMode.PERSISTENT, (err) => cb(err)));
  }

  setData(path: string, data: Buffer | string, version = -1): Promise<ZkStat> {
    return this.call('setData', path, (cb) => this.client.setData(path, toBuffer(data), version, (err, stat) => cb(err, err ? undefined : toStat(stat))));
  }

  remove(path: string, version = -1): Promise<void> {
    return this.call('remove', path, (cb) => this.client.remove(path, version, (err) => cb(err)));
  }

  getAcl(path: string): Promise<ZkAcl[]> {
    return this.call('getAcl', path, (cb) =>
      this.client.getACL(path, (err, acls) =>
        cb(err, err ? undefined : acls.map((a) => ({ scheme: a.id.scheme, id: a.id.id, perms: fromPerms(a.perms) }))),
      ),
    );
  }

  /**
   * All-or-nothing batch (ZooKeeper multi). Rejects with ZkOperationError naming the first
   * operation that failed (e.g. BAD_VERSION of a `check`); nothing is applied then.
   */
  multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    return this.call('multi', ops[0]?.path ?? '/', (cb) => {
      const tx = this.client.transaction();
      for (const o of ops) {
        if (o.op === 'create') tx.create(o.path, toBuffer(o.data ?? Buffer.alloc(0)), toAcls(o.acl ?? OPEN_ACL), MODES[o.mode ?? 'persistent']);
        else if (o.op === 'set') tx.setData(o.path, toBuffer(o.data), o.version ?? -1);
        else if (o.op === 'remove') tx.remove(o.path, o.version ?? -1);
        else tx.check(o.path, o.version);
      }
      tx.commit((err, results: Array<{ type: number; err?: number; path?: string; stat?: zookeeper.Stat }>) => {
        if (err) {
          const idx = Array.isArray(results) ? results.findIndex((r) => r.err !== undefined && r.err !== 0) : -1;
          const failed = idx >= 0 ? ops[idx] : undefined;
          cb(new ZkOperationError(codeName(err), 'multi', failed?.path ?? ops[0]?.path ?? '/', idx >= 0 ? idx : undefined));
          return;
        }
        cb(null, ops.map((o, i) => ({ op: o.op, path: results[i]?.path, stat: results[i]?.stat ? toStat(results[i]!.stat!) : undefined })));
      });
    });
  }

  /**
   * The children of `path`, re-read on every change: emits the sorted child names, or null while
   * the node does not exist (and again when it is created). Errors with ZkSessionExpiredError /
   * ZkClosedError when the session ends, or ZkOperationError on any other failure (e.g. NO_AUTH).
   * Reads issued while disconnected are retried on reconnection.
   */
  watchChildren(path: string): Observable<string[] | null> {
    return this.watchLoop(path, async (watch) => {
      try {
        return (await this.getChildren(path, watch)).children.sort();
      } catch (e) {
        if (e instanceof ZkOperationError && e.code === 'NO_NODE') {
          // the node may appear between the two calls: exists() with a watch closes that gap
          const stat = await this.exists(path, watch);
          return stat ? (await this.getChildren(path, watch)).children.sort() : null;
        }
        throw e;
      }
    });
  }

  /** The data of `path`, re-read on every change; null while it does not exist. */
  watchData(path: string): Observable<{ data: Buffer; stat: ZkStat } | null> {
    return this.watchLoop(path, async (watch) => {
      try {
        return await this.getData(path, watch);
      } catch (e) {
        if (e instanceof ZkOperationError && e.code === 'NO_NODE') {
          const stat = await this.exists(path, watch);
          return stat ? await this.getData(path, watch) : null;
        }
        throw e;
      }
    });
  }

  private watchLoop<T>(path: string, read: (watch: (e: ZkNodeEvent) => void) => Promise<T>): Observable<T> {
    return new Observable<T>((sub) => {
      let active = true;
      let reading = false;
      let again = false;
      let stateSub: Subscription | undefined;
      const watcher = (): void => {
        if (active) void run();
      };
      const run = async (): Promise<void> => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            const v = await read(watcher);
            if (active) sub.next(v);
          } while (again && active);
        } catch (e) {
          if (!active) return;
          if (e instanceof ZkOperationError && e.code === 'CONNECTION_LOSS') {
            // retried when the session is connected again (below)
            pendingRetry = true;
          } else sub.error(e);
        } finally {
          reading = false;
        }
      };
      let pendingRetry = false;
      stateSub = this.stateSubject.subscribe({
        next: (st) => {
          if (st === 'connected' && pendingRetry && active) {
            pendingRetry = false;
            void run();
          }
        },
        complete: () => {
          if (!active) return;
          const st = this.stateSubject.value;
          sub.error(st === 'closed' ? new ZkClosedError('ZooKeeper session is closed') : new ZkSessionExpiredError(`ZooKeeper session to ${this.url.redacted} ${st}`));
        },
      });
      if (this.state === 'connected') void run();
      else pendingRetry = true;
      return () => {
        active = false;
        stateSub?.unsubscribe();
      };
    });
  }
}

// ---- conversions ----------------------------------------------------------------------------------

function wrapWatcher(f: (e: ZkNodeEvent) => void): (e: zookeeper.Event) => void {
  // one function per caller-supplied watcher so the library does not register it twice per path
  let w = watcherCache.get(f);
  if (!w) {
    w = (e: zookeeper.Event) => f({ type: eventType(e.getType()), path: e.getPath() });
    watcherCache.set(f, w);
  }
  return w;
}
const watcherCache = new WeakMap<(e: ZkNodeEvent) => void, (e: zookeeper.Event) => void>();

function eventType(t: number): ZkNodeEvent['type'] {
  const E = zookeeper.Event;
  if (t === E.NODE_CREATED) return 'created';
  if (t === E.NODE_DELETED) return 'deleted';
  if (t === E.NODE_DATA_CHANGED) return 'data_changed';
  return 'children_changed';
}

function toBuffer(d: Buffer | string): Buffer {
  return typeof d === 'string' ? Buffer.from(d, 'utf8') : d;
}

function toAcls(acl: readonly ZkAcl[]): zookeeper.ACL[] {
  return acl.map((a) => new zookeeper.ACL(a.perms.reduce((m, p) => m | PERMS[p], 0), new zookeeper.Id(a.scheme, a.id)));
}

function fromPerms(n: number): ZkPerm[] {
  if ((n & zookeeper.Permission.ALL) === zookeeper.Permission.ALL) return ['all'];
  return (Object.keys(PERMS) as ZkPerm[]).filter((p) => p !== 'all' && (n & PERMS[p]) !== 0);
}

function toStat(s: zookeeper.Stat): ZkStat {
  return {
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: Buffer.from(s.ephemeralOwner).toString('hex'),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
    czxid: Buffer.from(s.czxid).toString('hex'),
    mzxid: Buffer.from(s.mzxid).toString('hex'),
  };
}

function codeName(err: unknown): string {
  const e = err as { getName?: () => string; name?: string; message?: string };
  if (typeof e?.getName === 'function') return e.getName();
  return e?.name ?? String(e?.message ?? err);
}

function toZkError(err: unknown, op: string, path: string): Error {
  if (err instanceof ZkError) return err;
  const name = codeName(err);
  if (name === 'SESSION_EXPIRED') return new ZkSessionExpiredError(`ZooKeeper ${op} ${path}: session expired`);
  if (err instanceof Error && typeof (err as { getName?: unknown }).getName !== 'function') return new ZkOperationError(err.message, op, path);
  return new ZkOperationError(name, op, path);
}

/** ZooKeeper digest ACL id for `user:password`: `user:base64(sha1("user:password"))`. */
export async function digestId(credentials: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const user = credentials.slice(0, credentials.indexOf(':'));
  return `${user}:${createHash('sha1').update(credentials, 'utf8').digest('base64')}`;
}
