/**
 * Offers: one OFFERS event is answered in the step that receives it — record the offering agents,
 * place pending work (placement.ts), launch onto the offers that got something (one ACCEPT per
 * offer) and decline the rest (one DECLINE per refuse filter).
 */
import { calls as C } from '../mesos/calls.js';
import type { Offer, OfferID, TaskInfo } from '../mesos/types.js';
import { jobTaskVersion, type Job } from './job-spec.js';
import { rackCount, recordAgents } from './agents.js';
import { attach } from './instances.js';
import { graceMsOfJob } from './kills.js';
import { offerAttribute, place, type DeclineReason, type OfferDecision, type PlaceResult, type PlacementRequest } from './placement.js';
import { addUsage, getInstance, indexDelete, usageOf, type SchedulerState, type TaskRecord } from './state.js';
import type { Step } from './step.js';
import { taskInfo } from './task-info.js';
import { makeTaskId } from './task-id.js';

/**
 * One OFFERS event: record the offering agents, place pending work, launch onto the offers that got
 * something (one ACCEPT per offer) and decline the rest (one DECLINE per refuse filter).
 */
export function handleOffers(st: Step, offers: Offer[]): void {
  if (!offers.length) return;
  const batch = recordAgents(st, offers);
  const hold = st.s.reconcile.placementHoldUntilMs !== undefined && st.now < st.s.reconcile.placementHoldUntilMs;
  const { requests, tooBig } = hold ? { requests: [], tooBig: false } : placementRequests(st, offers.length, batch);
  const s = st.s;
  const result = place(requests, offers, {
    blocked: s.placementBlockedHosts,
    rackCount: (attr) => rackCount(s, attr),
    rackAttribute: s.config.rackAttribute,
    defaultRole: s.config.roles[0] ?? '*',
    nowMs: st.now,
  });
  for (const acc of result.accepts) launchOnOffer(st, acc);
  if (result.declines.length) declineOffers(st, result.declines, hold, tooBig);
}


/**
 * What each job with pending work (make-before-break surges first) asks of this batch, bounded by
 * what the batch can hold so a large backlog is not scanned for every event. `tooBig`: some pending
 * work needs more than this whole batch offers (its declines are then 'no_fit').
 */
export function placementRequests(st: Step, offerCount: number, batch: { cpus: number; mem: number }): { requests: PlacementRequest[]; tooBig: boolean } {
  const s = st.s;
  const requests: PlacementRequest[] = [];
  let tooBig = false;
  if (!s.subscribed || (!s.pending.size && !s.surges.size)) return { requests, tooBig };
  const jobsWithWork = new Set<string>([...s.pending.keys(), ...s.surges.keys()]);
  for (const job of jobsWithWork) {
    const j = s.jobs.get(job);
    if (!j || j.status === 'deleting') continue;
    const res = j.spec.resources;
    let cap = Math.floor(Math.min(batch.cpus / res.cpus, batch.mem / res.mem) + 1e-9);
    if (j.spec.constraints?.host_unique) cap = Math.min(cap, offerCount);
    if (cap <= 0) {
      tooBig = true;
      continue;
    }
    const insts = s.instances.get(job)!;
    const indices: number[] = [];
    // make-before-break replacements first: their hosts are being drained
    for (const idx of s.surges.get(job) ?? []) {
      if (indices.length >= cap) break;
      if (idx < j.spec.instances) indices.push(idx);
    }
    for (const idx of s.pending.get(job) ?? []) {
      if (indices.length >= cap) break;
      const inst = insts.get(idx);
      if (inst && idx < j.spec.instances && (inst.not_before_ms === undefined || inst.not_before_ms <= st.now)) indices.push(idx);
    }
    if (indices.length) requests.push({ job, spec: j.spec, indices, usage: usageOf(s, job) });
  }
  return { requests, tooBig };
}

/** Task records and TaskInfos for one offer's planned launches, and its ACCEPT. */
export function launchOnOffer(st: Step, acc: OfferDecision): void {
  const s = st.s;
  const infos: TaskInfo[] = [];
  const offer = acc.offer;
  const agentId = offer.agent_id.value;
  const agent = s.agents.get(agentId);
  // what is looked up per job, once per run of launches of the same job
  let name: string | undefined;
  let job!: Job;
  let version = 0;
  let graceMs = 0;
  let rackAttr = '';
  for (const pl of acc.launches) {
    if (pl.job !== name) {
      name = pl.job;
      job = s.jobs.get(name)!;
      version = jobTaskVersion(job);
      graceMs = graceMsOfJob(s, job);
      rackAttr = job.spec.constraints?.rack_attribute ?? s.config.rackAttribute;
    }
    const inst = getInstance(s, pl.job, pl.index)!;
    const taskId = makeTaskId(pl.job, pl.index, s.nextTaskSeq++);
    const t: TaskRecord = {
      task_id: taskId,
      job: pl.job,
      index: pl.index,
      agent_id: agentId,
      host: pl.host,
      rack: pl.rack ?? offerAttribute(offer, rackAttr),
      state: 'LAUNCHING',
      version,
      launched_ms: st.now,
      updated_ms: st.now,
    };
    if (job.spec.health_check) t.health_check = true;
    s.tasks.set(taskId, t);
    st.task(taskId);
    if (inst.task_id !== undefined && inst.surge && inst.surge.task_id === undefined) {
      // a make-before-break replacement: the instance keeps its current task until this one takes over
      t.surge = true;
      inst.surge.task_id = taskId;
      indexDelete(s.surges, inst.job, inst.index);
      addUsage(s, inst.job, t.host, t.rack);
      st.inst(inst);
    } else attach(st, inst, t);
    infos.push(taskInfo(job, pl.index, taskId, offer, pl.resources, pl.ports, graceMs));
    st.log('info', 'task_launching', { job: pl.job, instance: pl.index, task_id: taskId, agent_id: agentId, host: pl.host, state_from: 'PENDING', state_to: 'LAUNCHING' });
    // what the agent still has free after this launch (drainer capacity estimate)
    const free = agent?.free;
    if (free) {
      const res = job.spec.resources;
      free.cpus = Math.max(0, Math.round((free.cpus - res.cpus) * 1000) / 1000);
      free.mem = Math.max(0, Math.round((free.mem - res.mem) * 1000) / 1000);
    }
  }
  st.changes.meta = true;
  st.calls.push(C.accept([offer.id], [{ type: 'LAUNCH', launch: { task_infos: infos } }], { refuse_seconds: s.config.acceptFilterSeconds }));
}

/** One DECLINE per refuse filter length (the reason decides the filter). */
export function declineOffers(st: Step, declines: PlaceResult['declines'], hold: boolean, tooBig: boolean): void {
  const s = st.s;
  const bySeconds = new Map<number, OfferID[]>();
  for (const d of declines) {
    const sec = hold && d.reason === 'no_pending' ? s.config.declineHoldSeconds : declineSeconds(s, tooBig && d.reason === 'no_pending' ? 'no_fit' : d.reason);
    let list = bySeconds.get(sec);
    if (!list) bySeconds.set(sec, (list = []));
    list.push(d.offer.id);
  }
  for (const [sec, list] of bySeconds) st.calls.push(C.decline(list, { refuse_seconds: sec }));
}

export function declineSeconds(s: SchedulerState, reason: DeclineReason): number {
  switch (reason) {
    case 'no_pending':
      return s.config.declineIdleSeconds;
    case 'blocked_host':
    case 'unavailable':
      return s.config.declineBlockedSeconds;
    case 'no_fit':
      return s.config.declineUnfitSeconds;
  }
}

