/**
 * Sluice's Mesos 1.12 master simulator: real HTTP endpoints on loopback, indistinguishable on the
 * wire from a real master for what schedulers and operators use. See docs/DESIGN.md and the
 * contract (mesos-contract.md) for the behaviour; src/sim/cluster.ts for the API.
 */
export { Sim, Sim as SimCluster, startSim } from './cluster.js';
export { runSimCli } from './cli.js';
export type { SimOptions, AgentSpec, AgentView, GroundTruthTask, FailoverOptions, Faults } from './cluster.js';
export type { SimEvent } from './master.js';
export type { TaskTransition } from './agent.js';
export { BEHAVIOUR_LABELS } from './agent.js';
export type { TaskBehaviour } from './model.js';
export { OtherFrameworks, INVERSE_OFFER_BEHAVIOURS, otherFrameworkSpecs } from './others.js';
export type { InverseOfferBehaviour, OtherFrameworkSpec, OtherFrameworkView, OtherTaskOptions } from './others.js';
