/**
 * Simulated OTHER frameworks: Sluice is usually not alone on a Mesos cluster. Each one is an
 * in-process framework registered with the leading master like any HTTP framework (so it appears in
 * /master/state, /master/tasks, GET_STATE / GET_FRAMEWORKS / GET_TASKS, and gets inverse offers
 * for the agents it uses), runs command tasks on agents (STAGING -> STARTING -> RUNNING through the
 * agent's status update manager, every update acknowledged), never takes offers (its roles are
 * suppressed), and answers inverse offers by its behaviour:
 *
 *   accept             ACCEPT_INVERSE_OFFERS at once
 *   accept-when-empty  ACCEPT once it has no task left on that agent (none answered before)
 *   never              never answers (the inverse offer stays outstanding)
 *   decline            DECLINE_INVERSE_OFFERS each time (re-offered after the filter, 5 s default)
 *
 * Answers carry `filters.refuse_seconds` (default 5, the Mesos default). After a master failover the
 * frameworks re-subscribe with their ids, as a real framework does. Their tasks end the way the
 * master ends any task: /machine/down -> TASK_LOST (REASON_AGENT_REMOVED, `Agent <host> removed:
 * Operator initiated 'Machine DOWN'`), DRAIN_AGENT -> killed within max_grace_period
 * (REASON_AGENT_DRAINING), KILL-less ends from labels (`sim.finish_after_seconds`, ...).
 */
import type { Event, FrameworkInfo, InverseOffer as MesosInverseOffer, Resource, TaskInfo, TaskStatus } from '../mesos/types.js';
import type { Logger } from '../util/logger.js';
import type { Master } from './master.js';
import { type Agent, Conn, isTerminalState } from './model.js';
import type { TimerQueue } from './timers.js';

export const INVERSE_OFFER_BEHAVIOURS = ['accept', 'accept-when-empty', 'never', 'decline'] as const;
export type InverseOfferBehaviour = (typeof INVERSE_OFFER_BEHAVIOURS)[number];

export interface OtherFrameworkSpec {
  /** Framework name (default `other-<n>`); also the prefix of its task ids. */
  name?: string;
  /** Role (default `*`). */
  role?: string;
  /** How it answers inverse offers (default accept-when-empty). */
  behaviour?: InverseOfferBehaviour;
  /** Tasks placed on each agent at start (default 1). */
  tasksPerAgent?: number;
  /** Agents (index, id, hostname or ip) that get `tasksPerAgent` tasks (default: every agent). */
  agents?: Array<string | number>;
  /** Resources per task (default 0.1 cpus, 32 MB). */
  cpus?: number;
  mem?: number;
  /** TaskInfo.kill_policy.grace_period (default none: the command executor's 3 s). */
  killGracePeriodSeconds?: number;
  /** PARTITION_AWARE capability (default false). */
  partitionAware?: boolean;
  /** Task labels (e.g. `sim.finish_after_seconds`), see the task behaviour table. */
  labels?: Record<string, string>;
  /** Filters.refuse_seconds sent with every inverse-offer answer (default 5). */
  refuseSeconds?: number;
}

/** `n` frameworks cycling through `behaviours` (default accept-when-empty, never, decline), one task per agent. */
export function otherFrameworkSpecs(n: number, behaviours: readonly InverseOfferBehaviour[] = ['accept-when-empty', 'never', 'decline'], tasksPerAgent = 1): OtherFrameworkSpec[] {
  return Array.from({ length: n }, (_, i) => ({ behaviour: behaviours[i % behaviours.length]!, tasksPerAgent }));
}

export interface OtherTaskOptions {
  /** Task id (default `<name>-<hostname>-<n>`). */
  id?: string;
  cpus?: number;
  mem?: number;
  labels?: Record<string, string>;
  killGracePeriodSeconds?: number;
}

export interface OtherFrameworkView {
  name: string;
  frameworkId: string;
  behaviour: InverseOfferBehaviour;
  role: string;
}

/** What the other frameworks need from the simulated cluster. */
export interface OthersHost {
  master(): Master | undefined;
  readonly timers: TimerQueue;
  readonly log: Logger;
  findAgent(ref: string | number): Agent;
  readonly agents: readonly Agent[];
}

class Other {
  frameworkId = '';
  conn: Conn | undefined;
  /** Outstanding inverse offers not answered yet (accept-when-empty), by agent id. */
  readonly pending = new Map<string, string>();
  seq = 0;

  constructor(
    readonly spec: Required<Pick<OtherFrameworkSpec, 'name' | 'role' | 'behaviour' | 'refuseSeconds'>> & OtherFrameworkSpec,
  ) {}

  info(): FrameworkInfo {
    const info: FrameworkInfo = { user: 'other', name: this.spec.name, role: this.spec.role, failover_timeout: 604800 };
    if (this.spec.partitionAware) info.capabilities = [{ type: 'PARTITION_AWARE' }];
    if (this.frameworkId) info.id = { value: this.frameworkId };
    return info;
  }
}

export class OtherFrameworks {
  private readonly list: Other[];

  constructor(
    private readonly host: OthersHost,
    specs: readonly OtherFrameworkSpec[],
  ) {
    this.list = specs.map(
      (s, i) =>
        new Other({
          ...s,
          name: s.name ?? `other-${i + 1}`,
          role: s.role ?? '*',
          behaviour: s.behaviour ?? 'accept-when-empty',
          refuseSeconds: s.refuseSeconds ?? 5,
        }),
    );
    const names = new Set(this.list.map((o) => o.spec.name));
    if (names.size !== this.list.length) throw new Error('sim: other frameworks need distinct names');
  }

  private started = false;

  /** Subscribes every framework and places its initial tasks (the cluster has just started). */
  start(): void {
    this.started = true;
    this.subscribeAll();
    for (const o of this.list) {
      const per = o.spec.tasksPerAgent ?? 1;
      const agents = o.spec.agents ? o.spec.agents.map((r) => this.host.findAgent(r)) : this.host.agents;
      for (const a of agents) for (let i = 0; i < per; i++) this.place(o, a, {});
    }
  }

  /** A new leader finished recovery: every framework re-subscribes with its id. */
  subscribeAll(): void {
    const m = this.host.master();
    if (!m || !this.started) return;
    for (const o of this.list) {
      o.pending.clear();
      const conn = new Conn({ write: () => {}, end: () => {}, destroy: () => {} }, undefined, `other-${o.spec.name}`, (ev) => this.onEvent(o, conn, ev));
      o.conn = conn;
      m.subscribe(conn, { framework_info: o.info(), suppressed_roles: [o.spec.role] });
      if (!conn.fw) this.host.log.warn('sim: other framework refused', { name: o.spec.name });
    }
  }

  /** The other frameworks (name, framework id, behaviour, role). */
  views(): OtherFrameworkView[] {
    return this.list.map((o) => ({ name: o.spec.name, frameworkId: o.frameworkId, behaviour: o.spec.behaviour, role: o.spec.role }));
  }

  /** Launches a task of an other framework (by name or framework id) on an agent; returns its id. */
  placeTask(framework: string, agent: string | number, t: OtherTaskOptions = {}): string {
    const o = this.list.find((x) => x.spec.name === framework || (x.frameworkId !== '' && x.frameworkId === framework));
    if (!o) throw new Error(`sim: no other framework ${framework}`);
    return this.place(o, this.host.findAgent(agent), t);
  }

  private place(o: Other, a: Agent, t: OtherTaskOptions): string {
    const m = this.host.master();
    const fw = m?.frameworks.get(o.frameworkId);
    if (!m || !fw) throw new Error(`sim: other framework ${o.spec.name} is not subscribed`);
    const id = t.id ?? `${o.spec.name}-${a.hostname}-${++o.seq}`;
    const labels = { ...(o.spec.labels ?? {}), ...(t.labels ?? {}) };
    const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value } });
    const info: TaskInfo = {
      name: id,
      task_id: { value: id },
      agent_id: { value: a.id },
      resources: [scalar('cpus', t.cpus ?? o.spec.cpus ?? 0.1), scalar('mem', t.mem ?? o.spec.mem ?? 32)],
      command: { value: 'sleep 1000000', shell: true },
    };
    if (Object.keys(labels).length) info.labels = { labels: Object.entries(labels).map(([key, value]) => ({ key, value })) };
    const grace = t.killGracePeriodSeconds ?? o.spec.killGracePeriodSeconds;
    if (grace !== undefined) info.kill_policy = { grace_period: { nanoseconds: BigInt(Math.round(grace * 1e9)) } };
    m.launchUnoffered(fw, a, info, o.spec.role);
    return id;
  }

  // ------------------------------------------------------------------------------------------
  // The framework's side of the stream

  private onEvent(o: Other, conn: Conn, ev: Event): void {
    if (o.conn !== conn) return;
    switch (ev.type) {
      case 'SUBSCRIBED':
        o.frameworkId = ev.subscribed!.framework_id.value;
        break;
      case 'UPDATE':
        this.onUpdate(o, ev.update!.status);
        break;
      case 'INVERSE_OFFERS':
        for (const io of ev.inverse_offers?.inverse_offers ?? []) this.onInverseOffer(o, io);
        break;
      case 'RESCIND_INVERSE_OFFER':
        for (const [aid, ioId] of o.pending) if (ioId === ev.rescind_inverse_offer?.inverse_offer_id.value) o.pending.delete(aid);
        break;
      case 'ERROR':
        this.host.log.warn('sim: other framework got ERROR', { name: o.spec.name, message: ev.error?.message });
        break;
      default:
        break;
    }
  }

  private onUpdate(o: Other, status: TaskStatus): void {
    const uuid = status.uuid;
    if (uuid !== undefined && status.agent_id) {
      const ack = { agent_id: status.agent_id, task_id: status.task_id, uuid };
      this.later(o, (m, fw) => m.acknowledge(fw, ack));
    }
    if (isTerminalState(status.state) && status.agent_id) this.later(o, () => this.acceptIfEmpty(o, status.agent_id!.value));
  }

  private onInverseOffer(o: Other, io: MesosInverseOffer): void {
    const aid = io.agent_id?.value ?? '';
    switch (o.spec.behaviour) {
      case 'accept':
        this.answer(o, io.id.value, false);
        break;
      case 'decline':
        this.answer(o, io.id.value, true);
        break;
      case 'accept-when-empty':
        o.pending.set(aid, io.id.value);
        this.later(o, () => this.acceptIfEmpty(o, aid));
        break;
      case 'never':
        break;
    }
  }

  /** accept-when-empty: ACCEPT the outstanding inverse offer of an agent once no task of ours is left there. */
  private acceptIfEmpty(o: Other, agentId: string): void {
    const ioId = o.pending.get(agentId);
    const fw = this.host.master()?.frameworks.get(o.frameworkId);
    if (ioId === undefined || !fw) return;
    for (const t of fw.tasks.values()) if (t.agent.id === agentId && !isTerminalState(t.mState)) return;
    o.pending.delete(agentId);
    this.answer(o, ioId, false);
  }

  private answer(o: Other, ioId: string, decline: boolean): void {
    const call = { inverse_offer_ids: [{ value: ioId }], filters: { refuse_seconds: o.spec.refuseSeconds } };
    this.later(o, (m, fw) => m.acceptInverseOffers(fw, call, decline));
  }

  /** Calls go to the master on a later turn, as an HTTP framework's would (never re-entrant). */
  private later(o: Other, fn: (m: Master, fw: NonNullable<ReturnType<Master['getFramework']>>) => void): void {
    const conn = o.conn;
    this.host.timers.soon(() => {
      const m = this.host.master();
      const fw = m?.frameworks.get(o.frameworkId);
      if (!m || !fw || o.conn !== conn || fw.conn !== conn) return;
      fn(m, fw);
    });
  }
}
