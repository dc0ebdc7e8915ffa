/**
 * What survives a master failover (the replicated registry): the maintenance schedule and machine
 * modes, admitted agents, deactivated/draining/gone agents. Inverse-offer statuses, frameworks,
 * offers and filters are master memory and do not survive.
 */
import type { MachineID, Schedule, TimeInfo } from '../mesos/types.js';
import { type MachineInfoRec, machineKey } from './model.js';

export interface RegistryDrainInfo {
  state: 'DRAINING' | 'DRAINED';
  maxGracePeriodNs?: bigint;
  markGone: boolean;
}

export class Registry {
  /** The single maintenance schedule ({} when none). */
  schedule: Schedule = {};
  /** MachineInfo of scheduled / down machines, by machine key. */
  machines = new Map<string, MachineInfoRec>();
  /** Agent ids admitted to the cluster, with the agent index they belong to. */
  admitted = new Map<string, number>();
  deactivated = new Set<string>();
  draining = new Map<string, RegistryDrainInfo>();
  gone = new Map<string, TimeInfo>();
  unreachable = new Map<string, TimeInfo>();

  machine(id: MachineID): MachineInfoRec | undefined {
    return this.machines.get(machineKey(id));
  }
}
