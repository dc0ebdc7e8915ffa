/**
 * Prometheus metrics of one Sluice process (prom-client, a private registry per instance so tests
 * and embedded uses never collide). Names are the contract with ops/prometheus/alerts.yml and
 * ops/grafana/sluice-dashboard.json; test/metrics checks the two agree.
 *
 * Counters are fed by events (observeClient, recordCall, ...). Gauges that describe state (tasks,
 * hosts, drain progress, SLA budget) are computed at scrape time from a StateSnapshot provider, so
 * they can never drift from the scheduler's state.
 *
 * Unlike the API's reads (runtime.read: answered once the batch they join is on disk), the provider
 * reads the loop's state as it is at the scrape, on purpose: a scrape must never wait on the loop,
 * which awaits the master's answers to offer calls (up to the client's call timeout while the master
 * is unreachable) — exactly when the connection, heartbeat and drain gauges matter. A gauge is an
 * observation, never a decision nor an acknowledgement: the most it can show ahead of the disk is
 * the one batch being written (milliseconds), which a failed write turns into a stopped process.
 */
import client from 'prom-client';

export type ConnectionStateName = 'disconnected' | 'connecting' | 'subscribed' | 'backing_off' | 'stopped';
const CONNECTION_STATES: ConnectionStateName[] = ['disconnected', 'connecting', 'subscribed', 'backing_off', 'stopped'];
export const HOST_STATES = ['UP', 'SCHEDULED', 'DRAINING', 'DRAINED', 'DOWN'] as const;
/** ZooKeeper session states exported as sluice_zk_session_state{state} (src/zk/session.ts). */
export const ZK_SESSION_STATES = ['connecting', 'connected', 'disconnected', 'expired', 'auth_failed', 'closed'] as const;

/** What an HA replica reports at scrape time (absent without --ha: a single process always leads). */
export interface HaSnapshot {
  /** True only while this replica leads with a current lease. */
  leader: boolean;
  zkSessionState: (typeof ZK_SESSION_STATES)[number];
}

export interface HostSnapshot {
  hostname: string;
  state: (typeof HOST_STATES)[number];
  tasks_left: number;
  /** Seconds since the host entered DRAINING (0 unless DRAINING). */
  draining_seconds: number;
  /** The drain timeout asked for, in seconds (0 = none). */
  drain_timeout_seconds: number;
  /** Paused (host maintenance pause, or maintenance pause --all): no new kill, admission or machine down. */
  paused?: boolean;
}

export interface JobSnapshot {
  job: string;
  instances: number;
  /** Instances counted as up by the job's SLA policy. */
  up: number;
  /** Instances the SLA requires up. */
  required: number;
}

export interface StateSnapshot {
  tasksByState: Record<string, number>;
  hosts: HostSnapshot[];
  jobs: JobSnapshot[];
  /** Age in seconds of the oldest offer Sluice holds without answering. */
  oldestHeldOfferSeconds: number;
  offersHeld: number;
}

export class SluiceMetrics {
  readonly registry = new client.Registry();
  private subscribedAtMs: number | undefined;
  private lastEventAtMs: number | undefined;
  private connectionState: ConnectionStateName = 'disconnected';
  private snapshot: (() => StateSnapshot) | undefined;
  private ha: (() => HaSnapshot) | undefined;

  readonly connectionStateGauge: client.Gauge;
  readonly subscribed: client.Gauge;
  readonly subscriptionAge: client.Gauge;
  readonly lastEventAge: client.Gauge;
  readonly heartbeatsReceived: client.Counter;
  readonly heartbeatsMissed: client.Counter;
  readonly reconnects: client.Counter;
  readonly masterAuthFailures: client.Counter;
  readonly events: client.Counter;
  readonly calls: client.Counter;
  readonly offersReceived: client.Counter;
  readonly offersDeclined: client.Counter;
  readonly offersUsed: client.Counter;
  readonly inverseOffersReceived: client.Counter;
  readonly inverseOffersAccepted: client.Counter;
  readonly inverseOffersDeclined: client.Counter;
  readonly hostTransitions: client.Counter;
  readonly slaOverrides: client.Counter;
  readonly drainAgentSteps: client.Counter;
  readonly coordinatorAnswers: client.Counter;
  readonly storeWriteSeconds: client.Histogram;
  readonly leadershipChanges: client.Counter;

  constructor(private readonly now: () => number = Date.now, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const self = this;
    if (opts.defaultMetrics !== false) {
      // process_*, nodejs_* including nodejs_eventloop_lag_seconds (event-loop lag)
      client.collectDefaultMetrics({ register: this.registry });
    }
    this.connectionStateGauge = new client.Gauge({
      name: 'sluice_connection_state',
      help: 'Scheduler connection state to the Mesos master (1 for the current state).',
      labelNames: ['state'],
      registers,
      collect() {
        for (const s of CONNECTION_STATES) this.set({ state: s }, s === self.connectionState ? 1 : 0);
      },
    });
    this.subscribed = new client.Gauge({
      name: 'sluice_subscribed',
      help: '1 while Sluice holds a SUBSCRIBE stream to the leading master.',
      registers,
      collect() {
        this.set(self.connectionState === 'subscribed' ? 1 : 0);
      },
    });
    this.subscriptionAge = new client.Gauge({
      name: 'sluice_subscription_age_seconds',
      help: 'Seconds since the current subscription was established (0 when not subscribed).',
      registers,
      collect() {
        this.set(self.subscribedAtMs === undefined ? 0 : (self.now() - self.subscribedAtMs) / 1000);
      },
    });
    this.lastEventAge = new client.Gauge({
      name: 'sluice_last_event_age_seconds',
      help: 'Seconds since the last event (heartbeats included) arrived on the stream.',
      registers,
      collect() {
        this.set(self.lastEventAtMs === undefined ? 0 : (self.now() - self.lastEventAtMs) / 1000);
      },
    });
    const counter = (name: string, help: string, labelNames: string[] = []) =>
      new client.Counter({ name, help, labelNames, registers });
    this.heartbeatsReceived = counter('sluice_heartbeats_received_total', 'HEARTBEAT events received.');
    this.heartbeatsMissed = counter('sluice_heartbeats_missed_total', 'Times the heartbeat watchdog fired (no byte for 5 heartbeat intervals).');
    this.reconnects = counter('sluice_reconnects_total', 'Re-subscriptions after a lost or refused stream.');
    this.masterAuthFailures = counter(
      'sluice_master_auth_failures_total',
      'Requests the master refused with 401 (framework principal/secret not accepted), by call (SUBSCRIBE or the call type).',
      ['call'],
    );
    this.events = counter('sluice_events_total', 'Scheduler events received, by type.', ['type']);
    this.calls = counter('sluice_calls_total', 'Scheduler calls sent, by type and result (accepted, http_4xx, http_5xx, network).', ['type', 'result']);
    this.offersReceived = counter('sluice_offers_received_total', 'Offers received.');
    this.offersDeclined = counter('sluice_offers_declined_total', 'Offers declined.');
    this.offersUsed = counter('sluice_offers_used_total', 'Offers accepted with at least one launch.');
    this.inverseOffersReceived = counter('sluice_inverse_offers_received_total', 'Inverse offers received.');
    this.inverseOffersAccepted = counter('sluice_inverse_offers_accepted_total', 'Inverse offers accepted (agent empty).');
    this.inverseOffersDeclined = counter('sluice_inverse_offers_declined_total', 'Inverse offers declined.');
    this.hostTransitions = counter('sluice_host_transitions_total', 'Host maintenance state transitions.', ['from', 'to']);
    this.slaOverrides = counter('sluice_sla_overrides_total', 'Maintenance requests that lowered SLAs (--override-sla with a reason), counted once the request is durable.');
    this.drainAgentSteps = counter('sluice_drain_agent_steps_total', 'Steps of others_at_deadline=drain_agent (Mesos DRAIN_AGENT for hosts whose other frameworks ignore inverse offers), by step, counted once durable.', ['step']);
    this.coordinatorAnswers = counter('sluice_coordinator_answers_total', 'Answers of coordinator-policy services to kill questions (drains, rolling updates, scale-downs): yes, or no (a refusal, timeout, error or unreadable answer).', ['answer']);
    this.storeWriteSeconds = new client.Histogram({
      name: 'sluice_store_write_seconds',
      help: 'Latency of durable (fsynced) store writes.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });

    this.leadershipChanges = counter(
      'sluice_leadership_changes_total',
      'Times this replica acquired or lost the leadership (--ha; a replica that loses it exits and restarts).',
    );
    new client.Gauge({
      name: 'sluice_leader',
      help: '1 on the replica that leads (lease current), 0 on a standby; always 1 without --ha.',
      registers,
      collect() {
        this.set(!self.ha || self.ha().leader ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'sluice_zk_session_state',
      help: 'ZooKeeper session state of an HA replica (1 for the current state; all 0 without --ha).',
      labelNames: ['state'],
      registers,
      collect() {
        const cur = self.ha?.().zkSessionState;
        for (const s of ZK_SESSION_STATES) this.set({ state: s }, s === cur ? 1 : 0);
      },
    });

    new client.Gauge({
      name: 'sluice_tasks',
      help: 'Tasks Sluice tracks, by last known state.',
      labelNames: ['state'],
      registers,
      collect() {
        const snap = self.snapshot?.();
        this.reset();
        for (const [state, n] of Object.entries(snap?.tasksByState ?? {})) this.set({ state }, n);
      },
    });
    new client.Gauge({
      name: 'sluice_hosts',
      help: 'Hosts by maintenance state.',
      labelNames: ['state'],
      registers,
      collect() {
        const hosts = self.snapshot?.().hosts ?? [];
        for (const s of HOST_STATES) this.set({ state: s }, hosts.filter((h) => h.state === s).length);
      },
    });
    const perHost = (name: string, help: string, pick: (h: HostSnapshot) => number, include: (h: HostSnapshot) => boolean) =>
      new client.Gauge({
        name,
        help,
        labelNames: ['host'],
        registers,
        collect() {
          this.reset();
          for (const h of self.snapshot?.().hosts ?? []) if (include(h)) this.set({ host: h.hostname }, pick(h));
        },
      });
    const inDrain = (h: HostSnapshot) => h.state === 'DRAINING' || h.state === 'DRAINED' || h.state === 'SCHEDULED';
    perHost('sluice_drain_tasks_left', 'Sluice tasks still running on a host in maintenance.', (h) => h.tasks_left, inDrain);
    perHost('sluice_drain_seconds', 'Seconds a host has been DRAINING.', (h) => h.draining_seconds, (h) => h.state === 'DRAINING');
    perHost('sluice_drain_paused', 'A host in maintenance whose drain is paused (1; host maintenance pause or maintenance pause --all).', () => 1, (h) => h.paused === true);
    new client.Gauge({
      name: 'sluice_hosts_paused',
      help: 'Hosts in maintenance whose drain is paused.',
      registers,
      collect() {
        this.set((self.snapshot?.().hosts ?? []).filter((h) => h.paused === true).length);
      },
    });
    perHost('sluice_drain_timeout_seconds', 'Drain timeout requested for a DRAINING host (0 = none).', (h) => h.drain_timeout_seconds, (h) => h.state === 'DRAINING');
    const perJob = (name: string, help: string, pick: (j: JobSnapshot) => number) =>
      new client.Gauge({
        name,
        help,
        labelNames: ['job'],
        registers,
        collect() {
          this.reset();
          for (const j of self.snapshot?.().jobs ?? []) this.set({ job: j.job }, pick(j));
        },
      });
    perJob('sluice_job_instances', 'Instances a job asks for.', (j) => j.instances);
    perJob('sluice_job_instances_up', 'Instances counted as up by the job SLA policy.', (j) => j.up);
    perJob('sluice_job_instances_required', 'Instances the job SLA requires up.', (j) => j.required);
    perJob('sluice_job_sla_budget', 'Instances that may still go down without breaking the SLA (negative: SLA broken).', (j) => j.up - j.required);
    new client.Gauge({
      name: 'sluice_offers_held',
      help: 'Offers Sluice holds without having answered them.',
      registers,
      collect() {
        this.set(self.snapshot?.().offersHeld ?? 0);
      },
    });
    new client.Gauge({
      name: 'sluice_offers_oldest_held_seconds',
      help: 'Age of the oldest offer Sluice holds without answering (hoarding).',
      registers,
      collect() {
        this.set(self.snapshot?.().oldestHeldOfferSeconds ?? 0);
      },
    });
  }

  /** Supplies the state gauges, evaluated at every scrape. */
  setStateProvider(fn: () => StateSnapshot): void {
    this.snapshot = fn;
  }

  /** Makes this process an HA replica for sluice_leader / sluice_zk_session_state (read at scrape). */
  setHaProvider(fn: () => HaSnapshot): void {
    this.ha = fn;
  }

  setConnectionState(state: ConnectionStateName): void {
    if (state === 'subscribed' && this.connectionState !== 'subscribed') this.subscribedAtMs = this.now();
    if (state !== 'subscribed') this.subscribedAtMs = undefined;
    this.connectionState = state;
  }

  recordEvent(type: string): void {
    this.lastEventAtMs = this.now();
    this.events.inc({ type });
    if (type === 'HEARTBEAT') this.heartbeatsReceived.inc();
  }

  /** Classifies a call outcome: 'accepted' or an HTTP status or 'network'. */
  recordCall(type: string, outcome: 'accepted' | number | 'network'): void {
    const result =
      outcome === 'accepted' || outcome === 'network' ? outcome : outcome >= 500 ? 'http_5xx' : outcome >= 400 ? 'http_4xx' : 'accepted';
    this.calls.inc({ type, result });
  }

  observeStoreWrite(seconds: number): void {
    this.storeWriteSeconds.observe(seconds);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
