/**
 * The leading master for one leadership term. A master failover builds a fresh one (from the
 * Registry), exactly as a new Mesos leader starts with an empty memory.
 *
 * Split the way Mesos splits its master (apache/mesos c1b42f7, as the contract), one part per file
 * in src/sim/master/:
 *   state.ts          the books shared by the parts (master.hpp members), timers of the term
 *   validation.ts     src/master/validation.cpp, common/validation.cpp, roles.cpp, maintenance validation
 *   allocator.ts      allocator/mesos/hierarchical.cpp: DRF, offers, filters, REVIVE/SUPPRESS/DECLINE
 *   inverse-offers.ts inverse offers and their answers (hierarchical.cpp + master.cpp)
 *   frameworks.ts     SUBSCRIBE, failover, heartbeats, disconnection, TEARDOWN, UPDATE_FRAMEWORK
 *   accept.ts         ACCEPT: LAUNCH, LAUNCH_GROUP and the other operations
 *   tasks.ts          the master's tasks: add/update/remove, status updates, KILL, SHUTDOWN, ACKNOWLEDGE
 *   reconcile.ts      RECONCILE, RECONCILE_OPERATIONS
 *   agents.ts         agent (re-)registration, removal, unreachability, reconnection
 *   drain.ts          DEACTIVATE_AGENT, REACTIVATE_AGENT, DRAIN_AGENT, mark gone
 *   maintenance.ts    src/master/maintenance.cpp: schedule, machine down/up, cluster status
 * This class composes them and is the one entry point of http.ts, cluster.ts and views.ts.
 */
import type { ClusterStatus, Filters, FrameworkInfo, MachineID, MasterInfo, Offer as MesosOffer, Operation, Schedule, TaskInfo, TaskStatus, TimeInfo } from '../mesos/types.js';
import type { MasterLink } from './agent.js';
import type { Agent, Conn, Framework, MachineInfoRec, Offer, StatusLite, Task } from './model.js';
import { Accept } from './master/accept.js';
import { Agents } from './master/agents.js';
import { Allocator } from './master/allocator.js';
import { Drain } from './master/drain.js';
import { Frameworks } from './master/frameworks.js';
import { InverseOffers } from './master/inverse-offers.js';
import { Maintenance } from './master/maintenance.js';
import { Reconciler } from './master/reconcile.js';
import { type CallResult, type MasterContext, MasterState } from './master/state.js';
import { Tasks } from './master/tasks.js';

export {
  AGENT_PING_TIMEOUT_MS,
  AGENT_REREGISTER_TIMEOUT_MS,
  HEARTBEAT_INTERVAL_SECONDS,
  MAX_AGENT_PING_TIMEOUTS,
  MAX_COMPLETED_FRAMEWORKS,
  MAX_COMPLETED_TASKS_PER_FRAMEWORK,
  agentUrl,
  machineText,
  refuseSeconds,
  type CallResult,
  type MasterContext,
  type SimEvent,
} from './master/state.js';
export { machineJson, validateId, validateMachine, validateMachines, validateRole } from './master/validation.js';
export type { MachineInfoRec };

type Ack = { agent_id: { value: string }; task_id: { value: string }; uuid: Uint8Array };
type Kill = { task_id: { value: string }; agent_id?: { value: string }; kill_policy?: { grace_period?: { nanoseconds: bigint } } };
type TaskRefs = { tasks?: Array<{ task_id: { value: string }; agent_id?: { value: string } }> };
type Subscribe = { framework_info: FrameworkInfo; suppressed_roles?: string[]; offer_constraints?: unknown };

export class Master extends MasterState implements MasterLink {
  readonly inverse: InverseOffers;
  readonly allocator: Allocator;
  readonly reconciler: Reconciler;
  readonly tasks: Tasks;
  readonly frameworkManager: Frameworks;
  readonly acceptor: Accept;
  readonly agents: Agents;
  readonly drainer: Drain;
  readonly maintenance: Maintenance;

  constructor(ctx: MasterContext, masterId: string, epoch: number, info: MasterInfo) {
    super(ctx, masterId, epoch, info);
    this.inverse = new InverseOffers(this);
    this.allocator = new Allocator(this, this.inverse);
    this.reconciler = new Reconciler(this);
    this.tasks = new Tasks(this, this.allocator, this.reconciler);
    this.frameworkManager = new Frameworks(this, this.allocator, this.inverse, this.tasks);
    this.acceptor = new Accept(this, this.allocator, this.tasks);
    this.agents = new Agents(this, this.allocator, this.inverse, this.tasks);
    this.drainer = new Drain(this, this.agents, this.tasks);
    this.maintenance = new Maintenance(this, this.allocator, this.inverse, this.agents);
    this.allocTimer = ctx.timers.every(ctx.allocationIntervalMs, () => this.allocate());
  }

  /** Stops every timer of this master (failover / shutdown). Streams are closed by the caller. */
  close(): void {
    this.closed = true;
    this.ctx.timers.cancel(this.allocTimer);
    for (const t of this.timers) this.ctx.timers.cancel(t);
    this.timers.clear();
    for (const fw of this.frameworks.values()) {
      this.ctx.timers.cancel(fw.heartbeat);
      this.ctx.timers.cancel(fw.failoverTimer);
    }
    for (const a of this.agentsById.values()) this.dropAgentM(a);
    for (const a of this.ctx.agents) if (a.m) this.dropAgentM(a);
  }

  // ---- frameworks
  validateFrameworkInfo(info: FrameworkInfo): string | undefined {
    return this.frameworkManager.validate(info);
  }
  subscribe(conn: Conn, sub: Subscribe): void {
    this.frameworkManager.subscribe(conn, sub);
  }
  exited(conn: Conn): void {
    this.frameworkManager.exited(conn);
  }
  removeFramework(fw: Framework): void {
    this.frameworkManager.remove(fw);
  }
  teardown(fw: Framework): void {
    this.frameworkManager.remove(fw);
  }
  updateFrameworkCall(fw: Framework, uf: Subscribe): CallResult {
    return this.frameworkManager.updateCall(fw, uf);
  }

  // ---- allocator and offers
  allocate(): void {
    this.allocator.allocate();
  }
  allocateSoon(): void {
    this.allocator.allocateSoon();
  }
  markAllFreeDirty(): void {
    this.allocator.markAllFreeDirty();
  }
  offerJson(o: Offer): MesosOffer {
    return this.allocator.offerJson(o);
  }
  rescindOffer(o: Offer, filters?: Filters): void {
    this.allocator.rescindOffer(o, filters);
  }
  discardOffer(o: Offer, filters?: Filters | null): void {
    this.allocator.discardOffer(o, filters);
  }
  decline(fw: Framework, d: { offer_ids?: Array<{ value: string }>; filters?: Filters }): void {
    this.allocator.decline(fw, d);
  }
  revive(fw: Framework, r: { roles?: string[] }): void {
    this.allocator.revive(fw, r);
  }
  suppress(fw: Framework, s: { roles?: string[] }): void {
    this.allocator.suppress(fw, s);
  }
  accept(fw: Framework, acc: { offer_ids?: Array<{ value: string }>; operations?: Operation[]; filters?: Filters }): void {
    this.acceptor.accept(fw, acc);
  }
  acceptInverseOffers(fw: Framework, a: { inverse_offer_ids?: Array<{ value: string }>; filters?: Filters }, decline: boolean): void {
    this.inverse.answer(fw, a, decline);
  }

  // ---- tasks
  addTask(fw: Framework, task: Task, state: TaskStatus['state'], statuses?: StatusLite[]): void {
    this.tasks.addTask(fw, task, state, statuses);
  }
  launchUnoffered(fw: Framework, a: Agent, t: TaskInfo, role: string): void {
    this.tasks.launchUnoffered(fw, a, t, role);
  }
  placeTask(fw: Framework, task: Task): void {
    this.tasks.placeTask(fw, task);
  }
  removeTask(task: Task, unreachableTime?: TimeInfo): void {
    this.tasks.removeTask(task, unreachableTime);
  }
  kill(fw: Framework, k: Kill): void {
    this.tasks.kill(fw, k);
  }
  shutdown(fw: Framework, s: { executor_id: { value: string }; agent_id: { value: string } }): void {
    this.tasks.shutdown(fw, s);
  }
  acknowledge(fw: Framework, ack: Ack): void {
    const a = this.tasks.acknowledge(fw, ack);
    if (a) this.drainer.checkDrained(a);
  }
  reconcile(fw: Framework, rec: TaskRefs): void {
    this.reconciler.reconcile(fw, rec);
  }
  reconcileOperations(fw: Framework, rec: Parameters<Reconciler['operations']>[1]): void {
    this.reconciler.operations(fw, rec);
  }
  message(fw: Framework, msg: { agent_id: { value: string }; executor_id: { value: string } }): void {
    this.tasks.message(fw, msg);
  }
  /** MasterLink: a status update forwarded by an agent. */
  statusUpdate(a: Agent, task: Task, status: TaskStatus): void {
    this.tasks.statusUpdate(a, task, status);
  }

  // ---- agents
  machineDown(a: Agent): boolean {
    return this.agents.machineDown(a);
  }
  registerAgent(a: Agent): string | undefined {
    return this.agents.register(a);
  }
  removeAgent(a: Agent, cause: string): void {
    this.agents.remove(a, cause);
  }
  markUnreachable(a: Agent, message: string): void {
    this.agents.markUnreachable(a, message);
  }
  disconnectAgent(a: Agent): void {
    this.agents.disconnect(a);
  }
  resendKills(a: Agent): void {
    this.agents.resendKills(a);
  }
  reconnectAgent(a: Agent): void {
    this.agents.reconnect(a);
  }
  deactivateAgent(agentId: string): CallResult {
    return this.drainer.deactivate(agentId);
  }
  reactivateAgent(agentId: string): CallResult {
    return this.drainer.reactivate(agentId);
  }
  drainAgent(agentId: string, maxGraceNs: bigint | undefined, markGone: boolean): CallResult {
    return this.drainer.drain(agentId, maxGraceNs, markGone);
  }
  checkDrained(a: Agent): void {
    this.drainer.checkDrained(a);
  }

  // ---- maintenance
  validateSchedule(s: Schedule): string | undefined {
    return this.maintenance.validateSchedule(s);
  }
  updateSchedule(s: Schedule): void {
    this.maintenance.updateSchedule(s);
  }
  startMaintenance(ids: MachineID[]): CallResult {
    return this.maintenance.start(ids);
  }
  stopMaintenance(ids: MachineID[]): CallResult {
    return this.maintenance.stop(ids);
  }
  maintenanceStatus(): ClusterStatus {
    return this.maintenance.status();
  }
}
