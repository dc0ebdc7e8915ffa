/**
 * The runtime: the I/O edge around the pure scheduler (src/scheduler) and its extensions (the
 * maintenance module). It
 *
 * - loads the state from the store, subscribes with the saved framework id (SchedulerClient),
 * - feeds every input (Mesos events, disconnects, ticks, operator commands, failed calls) through
 *   the reducers one at a time, in arrival order (a single loop owns the SchedulerState); a failed
 *   call goes back to whoever issued it (the scheduler's reducer, or the extension that asked),
 * - answers reads (`read`) from the state exactly as the last durable write left it,
 * - writes what a batch of steps changed to the store in ONE atomic, fsynced batch, and only then
 *   sends the calls those steps produced (write-ahead: a task is on disk as LAUNCHING before the
 *   ACCEPT launching it leaves; a status is on disk before it is acknowledged; a job is on disk
 *   before the API answers 201),
 * - sends ACCEPT/DECLINE first and waits for their answers before the next batch's calls go out
 *   (so a later KILL cannot overtake the ACCEPT of the same task), SUPPRESS/REVIVE in one ordered
 *   lane, everything else concurrently,
 * - ticks on the injected Clock (reconciliation, kill retries, backoff expiry, rolling updates).
 *
 * If a store write fails the runtime stops (fatal): it cannot promise write-ahead any more, and a
 * restart recovers from the last good write.
 */
import type { Observable, Subscription } from 'rxjs';
import { SchedulerClient, type ConnectionState, type SchedulerClientOptions } from '../client/index.js';
import { ClientStoppedError, FrameworkRemovedError, MesosHttpError, NotSubscribedError } from '../client/errors.js';
import type { Call, Event, FrameworkInfo } from '../mesos/types.js';
import type { HostSnapshot, SluiceMetrics, StateSnapshot } from '../metrics/metrics.js';
import {
  applyCommand,
  emptyChanges,
  mergeChanges,
  onCallFailed,
  onDisconnected,
  onEvent,
  onTick,
  tasksByState,
  type CommandResult,
  type Effect,
  type SchedulerCommand,
  type SchedulerIo,
  type StepResult,
} from '../scheduler/reducer.js';
import type { SchedulerConfig, SchedulerState } from '../scheduler/state.js';
import type { BatchOp, Store } from '../store/index.js';
import { RealClock, type Clock, type TimerHandle } from '../util/clock.js';
import { nullLogger, type Logger } from '../util/logger.js';
import { describeError } from '../client/http.js';
import { redactUrl } from '../util/redact.js';
import { zkMasterDetectorFor, type ZkMasterDetector } from '../zk/master-detector.js';
import { StaticListDetector, type LeaderDetector } from '../client/detector.js';
import { changesToOps, loadState } from './persist.js';
import { jobSlaSnapshot } from './sla-view.js';
import { AUDIT_COLLECTION, auditKey, type AuditEntry, type AuditInput } from '../audit/types.js';
import { MemoryJournal } from '../audit/journal.js';

/** What the runtime needs from a scheduler client (SchedulerClient implements it). */
export interface SchedulerClientLike {
  readonly events$: Observable<Event>;
  readonly connection$: Observable<ConnectionState>;
  call(call: Call): Promise<void>;
  start(): void;
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface FrameworkOptions {
  name: string;
  /** Unix user tasks run as (FrameworkInfo.user, required by Mesos). */
  user: string;
  roles: string[];
  principal?: string;
  secret?: string;
  failoverTimeoutSeconds: number;
  hostname?: string;
  webuiUrl?: string;
}

/** Read access for extensions and for functions run inside the loop. */
export interface ExtensionContext {
  /** The scheduler state, between reducer steps. Read-only: change it only through commands. */
  readonly state: SchedulerState;
  readonly now: number;
  readonly store: Store;
}

/** What an extension step asks for. Everything is applied in the same batch as the scheduler's. */
export interface ExtensionStep {
  /** Calls to send (after the batch is durable). */
  calls?: Call[];
  /** Scheduler commands to apply now (e.g. set_blocked_hosts, restart_instances). */
  commands?: SchedulerCommand[];
  /** Extra store operations, written atomically with the scheduler's records. */
  storeOps?: BatchOp[];
  logs?: Effect[];
  /**
   * Audit entries describing what this step decided (host transitions, kills, inverse-offer
   * answers, operator requests…): numbered and written in the same batch, published to the journal
   * once durable (src/audit/types.ts).
   */
  audit?: AuditInput[];
  /**
   * Called once this step's batch is durable (before its calls are sent): where an extension hands
   * its I/O requests to its executor and answers its waiting operator requests. It must not change
   * state: results come back as new inputs (`run`).
   */
  afterDurable?: () => void;
}

/**
 * A module plugged into the runtime loop (the maintenance module is one): it sees every event after
 * the scheduler reducer, every tick and disconnect, and answers with calls, scheduler commands and
 * store operations of its own.
 */
export interface RuntimeExtension {
  readonly name: string;
  /** Once, after the store is loaded and before subscribing (e.g. restore blocked hosts). */
  onStart?(ctx: ExtensionContext): ExtensionStep | void;
  onEvent?(event: Event, ctx: ExtensionContext): ExtensionStep | void;
  onDisconnected?(ctx: ExtensionContext): ExtensionStep | void;
  onTick?(ctx: ExtensionContext): ExtensionStep | void;
  /** A call this extension issued failed (routed back to its issuer, like the scheduler's own). */
  onCallFailed?(call: Call, error: string, ctx: ExtensionContext): ExtensionStep | void;
  /** Host gauges for /metrics (sluice_hosts, sluice_drain_*), read at scrape time. */
  metricsHosts?(ctx: ExtensionContext): HostSnapshot[];
  /**
   * The scheduler's I/O requests of a batch (coordinator questions), handed over once the batch is
   * durable: the extension performs them and feeds each result back as a command (`submit`).
   */
  onSchedulerIo?(io: readonly SchedulerIo[]): void;
}

export interface RuntimeOptions {
  store: Store;
  masters: readonly string[];
  framework: FrameworkOptions;
  clock?: Clock;
  logger?: Logger;
  metrics?: SluiceMetrics;
  scheduler?: Partial<SchedulerConfig>;
  /** Tick period (default 1 s). */
  tickMs?: number;
  extensions?: RuntimeExtension[];
  /** Extra SchedulerClient options (contentType, backoff, tls, timeouts...). */
  client?: Partial<SchedulerClientOptions>;
  /** Forget the stored framework id and register as a new framework. */
  newFramework?: boolean;
  /** For tests: build the client differently. */
  createClient?: (opts: SchedulerClientOptions) => SchedulerClientLike;
  /**
   * HA: may this process act? Checked synchronously before every SUBSCRIBE, every call and every
   * event; once it says no, the runtime stops for good (NotLeaderError) without another call.
   */
  gate?: () => boolean;
  /** Entries kept in memory for the live feed (default 10,000). */
  journalCapacity?: number;
}

/** The audit entries of an operator command, given its result (written in the command's batch). */
export type CommandAudit = (result: CommandResult, now: number) => AuditInput[];

/** HA: this replica no longer leads (or never did); it stopped without acting. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
}

/** The master gave our framework to another scheduler (ERROR "Framework failed over"). */
export class FrameworkFailedOverError extends Error {
  override readonly name = 'FrameworkFailedOverError';
}

const FRAMEWORK_FAILED_OVER = 'Framework failed over';

type Input =
  | { kind: 'event'; event: Event }
  | { kind: 'disconnected' }
  | { kind: 'tick' }
  | { kind: 'call_failed'; call: Call; error: string; issuer: RuntimeExtension | undefined }
  | { kind: 'read'; fn: (ctx: ExtensionContext) => unknown; resolve: (r: unknown) => void; reject: (e: Error) => void }
  | { kind: 'command'; cmd: SchedulerCommand; audit?: CommandAudit; resolve: (r: CommandResult) => void; reject: (e: Error) => void }
  | { kind: 'run'; fn: (ctx: ExtensionContext) => ExtensionStep & { result?: unknown }; resolve: (r: unknown) => void; reject: (e: Error) => void; issuer?: RuntimeExtension };

const PAUSE_AT = 5000;
const RESUME_AT = 500;
const MAX_BATCH = 2000;

export class RuntimeStoppedError extends Error {
  override readonly name = 'RuntimeStoppedError';
}

export class SluiceRuntime {
  readonly clock: Clock;
  readonly log: Logger;
  readonly store: Store;
  readonly client: SchedulerClientLike;
  /** Leader detection through ZooKeeper (`--master zk://…`), closed by stop(). */
  zkDetector: ZkMasterDetector | undefined;
  private ownedDetector: LeaderDetector | undefined;
  private readonly metrics: SluiceMetrics | undefined;
  /** Principal of the framework's HTTP Basic credentials (named in master_auth_refused; the secret never is). */
  private readonly principal: string | undefined;
  private readonly credentialsSent: boolean;
  private readonly extensions: RuntimeExtension[];
  private readonly tickMs: number;
  private readonly gate: (() => boolean) | undefined;
  private s: SchedulerState;
  private queue: Input[] = [];
  private draining = false;
  private tickQueued = false;
  private tickTimer: TimerHandle | undefined;
  private subs: Subscription[] = [];
  private wasSubscribed = false;
  private clientPaused = false;
  private stopping = false;
  private stopped = false;
  private fatalError: Error | undefined;
  private fatalListeners: Array<(e: Error) => void> = [];
  private idleWaiters: Array<() => void> = [];
  private offerLane: Promise<void> = Promise.resolve();
  private readonly inflight = new Set<Promise<void>>();
  private connection: ConnectionState = { state: 'disconnected' };
  /** Durable audit entries, newest last (the live feed reads it; src/audit/types.ts). */
  readonly journal: MemoryJournal;
  /** seq of the last audit entry numbered (continues the store's). */
  private auditSeq = 0;
  /** Calls issued by an extension (a failure goes back to it); the scheduler's are not listed. */
  private readonly issuers = new WeakMap<Call, RuntimeExtension>();

  private constructor(opts: RuntimeOptions, state: SchedulerState, client: SchedulerClientLike) {
    this.clock = opts.clock ?? new RealClock();
    this.log = opts.logger ?? nullLogger();
    this.store = opts.store;
    this.metrics = opts.metrics;
    this.principal = opts.framework.principal;
    this.credentialsSent = !!(opts.framework.principal && opts.framework.secret);
    this.extensions = opts.extensions ?? [];
    this.tickMs = opts.tickMs ?? 1000;
    this.gate = opts.gate;
    this.s = state;
    this.client = client;
    const stored = opts.store.list<AuditEntry>(AUDIT_COLLECTION).map(([, e]) => e).filter(validEntry);
    for (const e of stored) if (e.seq > this.auditSeq) this.auditSeq = e.seq;
    this.journal = new MemoryJournal(opts.journalCapacity ?? 10_000, stored);
  }

  /** Loads the store, builds the client, subscribes (asynchronously) and starts ticking. */
  static start(opts: RuntimeOptions): SluiceRuntime {
    const state = loadState(opts.store, { roles: opts.framework.roles, ...opts.scheduler });
    if (opts.newFramework && state.frameworkId) {
      (opts.logger ?? nullLogger()).warn('framework_id_forgotten', { event: 'framework_id_forgotten', framework_id: state.frameworkId });
      state.frameworkId = undefined;
    }
    const info = frameworkInfo(opts.framework, state.frameworkId);
    const clientOpts: SchedulerClientOptions = {
      masters: opts.masters,
      frameworkInfo: info,
      clock: opts.clock,
      logger: opts.logger,
      ...opts.client,
    };
    if (opts.framework.principal && opts.framework.secret) {
      clientOpts.auth = { principal: opts.framework.principal, secret: opts.framework.secret };
    }
    // `--master zk://…`: the leader comes from ZooKeeper
    const zkDetector = clientOpts.detector ? undefined : zkMasterDetectorFor(opts.masters, { scheme: clientOpts.tls ? 'https' : 'http', logger: opts.logger });
    if (zkDetector) clientOpts.detector = zkDetector;
    // HA: no SUBSCRIBE unless this replica leads (checked right before each attempt)
    let gatedDetector: LeaderDetector | undefined;
    if (opts.gate) {
      const inner = clientOpts.detector ?? new StaticListDetector(opts.masters, { tls: clientOpts.tls, clock: opts.clock, logger: opts.logger });
      clientOpts.detector = gatedDetector = gateDetector(inner, opts.gate);
    }
    const client = opts.createClient ? opts.createClient(clientOpts) : new SchedulerClient(clientOpts);
    const rt = new SluiceRuntime(opts, state, client);
    rt.zkDetector = zkDetector;
    if (gatedDetector && !zkDetector) rt.ownedDetector = gatedDetector;
    rt.begin(opts);
    return rt;
  }

  private begin(opts: RuntimeOptions): void {
    const s = this.s;
    let tasks = 0;
    for (const m of s.instances.values()) tasks += m.size;
    this.log.info('state_loaded', {
      event: 'state_loaded',
      framework_id: s.frameworkId,
      jobs: s.jobs.size,
      instances: tasks,
      tasks: s.tasks.size,
      store: opts.store.dir,
    });
    if (opts.newFramework) this.enqueue({ kind: 'run', fn: () => ({}), resolve: () => undefined, reject: () => undefined });
    for (const ext of this.extensions) {
      if (!ext.onStart) continue;
      const fn = (ctx: ExtensionContext) => ext.onStart!(ctx) ?? {};
      this.enqueue({ kind: 'run', fn, resolve: () => undefined, reject: (e) => this.log.error('extension_failed', { event: 'extension_failed', extension: ext.name, error: e.message }) });
    }
    this.metrics?.setStateProvider(() => this.snapshot());
    this.subs.push(
      this.client.events$.subscribe({
        next: (event) => {
          if (this.gate && !this.gate()) return this.notLeader(`${event.type} event`);
          if (event.type === 'ERROR' && event.error?.message?.includes(FRAMEWORK_FAILED_OVER)) {
            // another scheduler (a newer leader) took the framework id: step down, never re-subscribe
            void this.client.stop();
            this.fail(new FrameworkFailedOverError(`The master gave framework ${this.s.frameworkId ?? ''} to another scheduler ("${event.error.message}"): stepping down without re-subscribing`));
            return;
          }
          this.metrics?.recordEvent(event.type);
          if (event.type === 'OFFERS') this.metrics?.offersReceived.inc(event.offers?.offers?.length ?? 0);
          if (event.type === 'INVERSE_OFFERS') this.metrics?.inverseOffersReceived.inc(event.inverse_offers?.inverse_offers?.length ?? 0);
          if (event.type === 'HEARTBEAT' && !this.extensions.some((e) => e.onEvent)) return; // nothing to decide
          this.enqueue({ kind: 'event', event });
        },
      }),
    );
    this.subs.push(
      this.client.connection$.subscribe((c) => {
        this.connection = c;
        this.metrics?.setConnectionState(c.state === 'backing-off' ? 'backing_off' : c.state);
        if (c.state === 'backing-off') {
          if (c.error instanceof MesosHttpError && c.error.status === 401) this.authRefused('SUBSCRIBE', c.error, c.delayMs);
          this.metrics?.reconnects.inc();
          if (c.reason === 'heartbeat_missed') this.metrics?.heartbeatsMissed.inc();
        }
        if (c.state === 'subscribed') this.wasSubscribed = true;
        else if (this.wasSubscribed) {
          this.wasSubscribed = false;
          this.enqueue({ kind: 'disconnected' });
        }
        if (c.state === 'stopped' && c.error && !this.stopping) this.fail(c.error);
      }),
    );
    this.tickTimer = this.clock.setInterval(() => {
      if (this.tickQueued || this.stopping) return;
      this.tickQueued = true;
      this.enqueue({ kind: 'tick' });
    }, this.tickMs);
    this.client.start();
  }

  // ------------------------------------------------------------------------------------------
  // public surface

  /** The scheduler state between steps. Read-only for callers. */
  get state(): SchedulerState {
    return this.s;
  }

  get connectionState(): ConnectionState {
    return this.connection;
  }

  /**
   * Applies an operator command; resolves after its effects are durable (calls may follow). `audit`
   * turns its result into audit entries, written in the same batch (durable before the answer).
   */
  submit(cmd: SchedulerCommand, audit?: CommandAudit): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      if (this.stopping) return reject(new RuntimeStoppedError('Sluice is shutting down'));
      this.enqueue({ kind: 'command', cmd, audit, resolve, reject });
    });
  }

  /**
   * Runs `fn` inside the loop (between reducer steps), applies the step it returns like an
   * extension step, and resolves with `result` once that is durable. For API handlers of other
   * modules (e.g. maintenance) that must read and change state consistently. `issuer`: the extension
   * whose step this is (a failure of its calls goes back to it).
   */
  run<T>(fn: (ctx: ExtensionContext) => ExtensionStep & { result?: T }, issuer?: RuntimeExtension): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.stopping) return reject(new RuntimeStoppedError('Sluice is shutting down'));
      this.enqueue({ kind: 'run', fn, resolve: resolve as (r: unknown) => void, reject, issuer });
    });
  }

  /**
   * Runs `fn` on the state exactly as the last durable write left it (after the batch it joins is
   * on disk, before anything else changes it) and resolves with its answer: how the operator API
   * reads views — never a decision that may not be on disk yet. `fn` must not change anything.
   */
  read<T>(fn: (ctx: ExtensionContext) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.stopping) return reject(new RuntimeStoppedError('Sluice is shutting down'));
      this.enqueue({ kind: 'read', fn, resolve: resolve as (r: unknown) => void, reject });
    });
  }

  /** Resolves when every queued input has been processed and its calls sent (tests, shutdown). */
  whenIdle(): Promise<void> {
    if (!this.draining && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Called once if the runtime stops on its own (store failure, framework removed by the master). */
  onFatal(fn: (e: Error) => void): void {
    if (this.fatalError) fn(this.fatalError);
    else this.fatalListeners.push(fn);
  }

  get fatal(): Error | undefined {
    return this.fatalError;
  }

  /** Stops ticking, processes what is queued, disconnects (the framework stays registered), stops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopping = true;
    this.clock.clearTimer(this.tickTimer);
    await this.whenIdle();
    // Stop the client before waiting for calls: while disconnected it queues calls for up to 75 s;
    // stopping rejects them at once (kills are re-sent and updates re-delivered after a restart).
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    await this.client.stop();
    await this.zkDetector?.close();
    await this.ownedDetector?.close();
    await Promise.allSettled([...this.inflight]);
    this.stopped = true;
    this.log.info('runtime_stopped', { event: 'runtime_stopped' });
  }

  // ------------------------------------------------------------------------------------------
  // the loop

  private enqueue(input: Input): void {
    if (this.stopped || this.fatalError) {
      if (input.kind === 'command' || input.kind === 'run' || input.kind === 'read') input.reject(this.fatalError ?? new RuntimeStoppedError('Sluice is stopped'));
      return;
    }
    this.queue.push(input);
    if (!this.clientPaused && this.queue.length >= PAUSE_AT) {
      this.clientPaused = true;
      this.client.pause();
    }
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length && !this.fatalError) {
        const batch = this.queue.length <= MAX_BATCH ? this.queue : this.queue.slice(0, MAX_BATCH);
        this.queue = this.queue.length <= MAX_BATCH ? [] : this.queue.slice(MAX_BATCH);
        await this.process(batch);
        if (this.clientPaused && this.queue.length <= RESUME_AT) {
          this.clientPaused = false;
          this.client.resume();
        }
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.draining = false;
      if (this.queue.length && !this.fatalError) {
        this.draining = true;
        setImmediate(() => void this.drain());
      } else {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    }
  }

  private async process(batch: Input[]): Promise<void> {
    const changes = emptyChanges();
    const calls: Call[] = [];
    const storeOps: BatchOp[] = [];
    const audit: AuditEntry[] = [];
    const settle: Array<() => void> = [];
    const reads: Array<Extract<Input, { kind: 'read' }>> = [];
    const io: SchedulerIo[] = [];
    const now = this.clock.now();

    const take = (r: StepResult) => {
      mergeChanges(changes, r.changes);
      for (const c of r.calls) calls.push(c);
      if (r.io) io.push(...r.io);
      this.logEffects(r.effects);
    };
    const takeExt = (step: ExtensionStep | void, issuer?: RuntimeExtension) => {
      if (!step) return;
      if (step.afterDurable) settle.push(step.afterDurable);
      if (step.logs) this.logEffects(step.logs);
      if (step.storeOps) storeOps.push(...step.storeOps);
      for (const a of step.audit ?? []) {
        const entry: AuditEntry = { ...a, seq: ++this.auditSeq };
        audit.push(entry);
        storeOps.push({ op: 'put', collection: AUDIT_COLLECTION, key: auditKey(entry.seq), value: entry });
      }
      if (step.calls) {
        for (const c of step.calls) {
          calls.push(c);
          if (issuer) this.issuers.set(c, issuer);
        }
      }
      for (const cmd of step.commands ?? []) {
        const r = applyCommand(this.s, cmd, now);
        take(r);
        if (!r.result.ok) this.log.warn('extension_command_refused', { event: 'extension_command_refused', command: cmd.type, error: r.result.error });
      }
    };
    const ctx: ExtensionContext = { state: this.s, now, store: this.store };

    for (const input of batch) {
      switch (input.kind) {
        case 'event':
          take(onEvent(this.s, input.event, now));
          for (const ext of this.extensions) if (ext.onEvent) takeExt(this.safeExt(ext, () => ext.onEvent!(input.event, ctx)), ext);
          break;
        case 'disconnected':
          take(onDisconnected(this.s, now));
          for (const ext of this.extensions) if (ext.onDisconnected) takeExt(this.safeExt(ext, () => ext.onDisconnected!(ctx)), ext);
          break;
        case 'tick':
          this.tickQueued = false;
          take(onTick(this.s, now));
          for (const ext of this.extensions) if (ext.onTick) takeExt(this.safeExt(ext, () => ext.onTick!(ctx)), ext);
          break;
        case 'call_failed': {
          const ext = input.issuer;
          if (!ext) take(onCallFailed(this.s, input.call, now));
          else if (ext.onCallFailed) takeExt(this.safeExt(ext, () => ext.onCallFailed!(input.call, input.error, ctx)), ext);
          break;
        }
        case 'read':
          reads.push(input);
          break;
        case 'command': {
          const r = applyCommand(this.s, input.cmd, now);
          take(r);
          if (input.audit) takeExt({ audit: input.audit(r.result, now) });
          settle.push(() => input.resolve(r.result));
          break;
        }
        case 'run': {
          let step: (ExtensionStep & { result?: unknown }) | undefined;
          try {
            step = input.fn(ctx);
          } catch (e) {
            input.reject(e instanceof Error ? e : new Error(String(e)));
            break;
          }
          takeExt(step, input.issuer);
          settle.push(() => input.resolve(step?.result));
          break;
        }
      }
    }

    // write-ahead: everything this batch changed is durable before any of its calls leaves
    const ops = changesToOps(this.s, changes);
    if (storeOps.length) ops.push(...storeOps);
    if (ops.length) {
      try {
        await this.store.batch(ops);
      } catch (e) {
        const err = new Error(`Store write failed, stopping (a restart recovers the last good write): ${describeError(e)}`);
        this.fail(err);
        for (const input of batch) if (input.kind === 'command' || input.kind === 'run' || input.kind === 'read') input.reject(err);
        return;
      }
    }
    if (audit.length) this.journal.publish(audit);
    for (const f of settle) f();
    if (io.length) for (const ext of this.extensions) if (ext.onSchedulerIo) this.safeExt(ext, () => void ext.onSchedulerIo!(io));
    // the state is now exactly what is on disk: answer the reads from it
    for (const r of reads) {
      try {
        r.resolve(r.fn(ctx));
      } catch (e) {
        r.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    if (calls.length) await this.send(calls);
  }

  private safeExt(ext: RuntimeExtension, fn: () => ExtensionStep | void): ExtensionStep | void {
    try {
      return fn();
    } catch (e) {
      this.log.error('extension_failed', { event: 'extension_failed', extension: ext.name, error: describeError(e) });
      return undefined;
    }
  }

  private async send(calls: Call[]): Promise<void> {
    const offerCalls: Array<Promise<void>> = [];
    for (const c of calls) {
      switch (c.type) {
        case 'ACCEPT':
        case 'DECLINE':
        case 'ACCEPT_INVERSE_OFFERS':
        case 'DECLINE_INVERSE_OFFERS':
          offerCalls.push(this.sendOne(c));
          break;
        case 'SUPPRESS':
        case 'REVIVE':
          this.track((this.offerLane = this.offerLane.then(() => this.sendOne(c))));
          break;
        default:
          this.track(this.sendOne(c));
      }
    }
    // the next batch's calls (e.g. a KILL of a task launched here) wait for these answers
    await Promise.all(offerCalls);
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private async sendOne(c: Call): Promise<void> {
    if (this.gate && !this.gate()) return this.notLeader(`${c.type} call`);
    try {
      await this.client.call(c);
      this.metrics?.recordCall(c.type, 'accepted');
      if (c.type === 'DECLINE') this.metrics?.offersDeclined.inc(c.decline?.offer_ids?.length ?? 0);
      if (c.type === 'ACCEPT') this.metrics?.offersUsed.inc(c.accept?.offer_ids?.length ?? 0);
      if (c.type === 'ACCEPT_INVERSE_OFFERS') this.metrics?.inverseOffersAccepted.inc(c.accept_inverse_offers?.inverse_offer_ids?.length ?? 0);
      if (c.type === 'DECLINE_INVERSE_OFFERS') this.metrics?.inverseOffersDeclined.inc(c.decline_inverse_offers?.inverse_offer_ids?.length ?? 0);
    } catch (e) {
      this.metrics?.recordCall(c.type, e instanceof MesosHttpError ? e.status : 'network');
      if (e instanceof MesosHttpError && e.status === 401) this.authRefused(c.type, e);
      if (e instanceof ClientStoppedError || this.stopped) return;
      const quiet = e instanceof NotSubscribedError && (c.type === 'DECLINE' || c.type === 'ACKNOWLEDGE');
      if (!quiet) this.log.warn('call_failed', { event: 'call_failed', type: c.type, error: describeError(e) });
      if (!this.stopping) this.enqueue({ kind: 'call_failed', call: c, error: describeError(e), issuer: this.issuers.get(c) });
    }
  }

  private logEffects(effects: Effect[]): void {
    for (const e of effects) {
      const fields: Record<string, unknown> = { event: e.event };
      for (const k in e.fields) if (e.fields[k] !== undefined) fields[k] = e.fields[k];
      this.log.log(e.level, e.event, fields);
    }
  }

  /**
   * The master answered 401: its HTTP framework authentication refused our credentials (or we sent
   * none). The client keeps retrying with its capped backoff; this makes the cause loud and counted.
   */
  private authRefused(call: string, e: MesosHttpError, retryInMs?: number): void {
    this.metrics?.masterAuthFailures.inc({ call });
    this.log.error('master_auth_refused', {
      event: 'master_auth_refused',
      call,
      status: e.status,
      principal: this.principal,
      credentials: this.credentialsSent ? 'refused' : 'none sent',
      master: e.url ? redactUrl(e.url.replace(/^([a-z]+:\/\/[^/]*).*$/i, '$1')) : undefined,
      retry_in_ms: retryInMs,
      reason: this.credentialsSent
        ? `the master refused principal "${this.principal}": check --principal and the secret (SLUICE_SECRET) against the master's --credentials`
        : 'the master requires HTTP framework authentication: set --principal and SLUICE_SECRET',
    });
  }

  /** HA gate said no: stop the client at once (no SUBSCRIBE retry) and fail without acting. */
  private notLeader(what: string): void {
    if (this.fatalError) return;
    void this.client.stop();
    this.fail(new NotLeaderError(`not the leader any more: ${what} dropped, stopping without acting`));
  }

  private fail(e: Error): void {
    if (this.fatalError) return;
    this.fatalError = e instanceof FrameworkRemovedError ? frameworkRemovedHelp(e) : e;
    this.log.error('runtime_fatal', { event: 'runtime_fatal', error: this.fatalError.message });
    this.clock.clearTimer(this.tickTimer);
    for (const input of this.queue) if (input.kind === 'command' || input.kind === 'run' || input.kind === 'read') input.reject(this.fatalError);
    this.queue = [];
    for (const f of this.fatalListeners) f(this.fatalError);
    this.fatalListeners = [];
  }

  // ------------------------------------------------------------------------------------------
  // metrics

  snapshot(): StateSnapshot {
    const s = this.s;
    const ctx: ExtensionContext = { state: s, now: this.clock.now(), store: this.store };
    const hosts: HostSnapshot[] = [];
    for (const e of this.extensions) {
      if (!e.metricsHosts) continue;
      try {
        hosts.push(...e.metricsHosts(ctx));
      } catch (err) {
        this.log.error('extension_failed', { event: 'extension_failed', extension: e.name, error: describeError(err) });
      }
    }
    // every other host Sluice has seen offers from is UP (sluice_hosts{state="UP"})
    const listed = new Set(hosts.map((h) => h.hostname.toLowerCase()));
    for (const a of s.agents.values()) {
      if (listed.has(a.host)) continue;
      listed.add(a.host);
      hosts.push({ hostname: a.host, state: 'UP', tasks_left: 0, draining_seconds: 0, drain_timeout_seconds: 0 });
    }
    return {
      tasksByState: tasksByState(s),
      hosts,
      jobs: jobSlaSnapshot(s, this.clock.now()),
      oldestHeldOfferSeconds: 0, // offers are answered in the step that receives them
      offersHeld: 0,
    };
  }
}

export function frameworkInfo(f: FrameworkOptions, id: string | undefined): FrameworkInfo {
  const info: FrameworkInfo = {
    user: f.user,
    name: f.name,
    failover_timeout: f.failoverTimeoutSeconds,
    checkpoint: true,
    roles: f.roles,
    capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }, { type: 'TASK_KILLING_STATE' }],
  };
  if (id) info.id = { value: id };
  if (f.principal) info.principal = f.principal;
  if (f.hostname) info.hostname = f.hostname;
  if (f.webuiUrl) info.webui_url = f.webuiUrl;
  return info;
}

function frameworkRemovedHelp(e: FrameworkRemovedError): Error {
  const err = new Error(
    `${e.message}. Its tasks are gone. To register as a new framework and relaunch every job, restart with --new-framework ` +
      `(the jobs in the store are kept).`,
  );
  err.name = 'FrameworkRemovedError';
  return err;
}

/** A detector that refuses to name a master unless `gate()` says this process may act. */
function gateDetector(inner: LeaderDetector, gate: () => boolean): LeaderDetector {
  const refuse = () => new NotLeaderError('not the leader: no SUBSCRIBE');
  const d: LeaderDetector = {
    async detect(signal?: AbortSignal): Promise<string> {
      if (!gate()) throw refuse();
      const m = await inner.detect(signal);
      if (!gate()) throw refuse();
      return m;
    },
    failed: (o: string) => inner.failed(o),
    redirected: (o: string) => inner.redirected(o),
    close: () => inner.close(),
  };
  if (inner.onLeaderChange) d.onLeaderChange = (l) => inner.onLeaderChange!(l);
  return d;
}

/** A stored audit entry is trusted only as far as its shape (store files are input too). */
function validEntry(e: unknown): e is AuditEntry {
  if (!e || typeof e !== 'object') return false;
  const r = e as Partial<AuditEntry>;
  return Number.isSafeInteger(r.seq) && (r.seq as number) > 0 && typeof r.kind === 'string' && typeof r.ts_ms === 'number' && typeof r.actor === 'string';
}
