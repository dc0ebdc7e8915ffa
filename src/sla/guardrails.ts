/**
 * Guardrails and overrides: the policy the rules actually apply to a job, and why (pure).
 *
 * 1. The job's own policy; without one, the cluster default (`default_sla`, off by default);
 * 2. bounded by the cluster's upper bound on what a job may require (`max_percentage`,
 *    `max_duration_seconds`): a job may require at most ⌊max_percentage / 100 × instances⌋
 *    instances up — rounding toward the fleet, so a bound below 100 % always lets one instance of a
 *    job of ≥ 100 / (100 − max_percentage) instances go — and instances to have run at most
 *    `max_duration_seconds`. A capped policy becomes a count policy (its domain rule and
 *    coordinator kept);
 * 3. lowered for one request by an override with a reason (`--override-sla 80%/10m`): the required
 *    count and the duration each become the smaller of the two; an override never raises anything.
 *    An override does not silence a coordinator: the service still has its say (only --force
 *    overrides it).
 * The coordinator-only policy has nothing to bound or lower; a job that has one keeps it.
 */
import type { AnySlaJob, AnySlaPolicy, SlaPolicy } from './policy.js';
import { describeSla, requiredFor } from './policy.js';
import type { SlaGuardrails, SlaOverride } from './validate.js';
import { overridePolicy } from './validate.js';

export interface EffectiveSla {
  /** The policy the rules apply (undefined: no SLA). */
  policy?: AnySlaPolicy;
  source: 'job' | 'cluster-default' | 'none';
  /** The cluster bound lowered it. */
  capped: boolean;
  /** The request's override lowered it. */
  overridden: boolean;
  /** Instances it requires up (with the job's current size). */
  required: number;
  /** One sentence per step taken (for `sla probe`, `host query`, logs). */
  notes: string[];
  /** The notes, joined. */
  explanation: string;
}

const EPSILON = 1e-9;

function options(p: SlaPolicy): Partial<SlaPolicy> {
  const o: Partial<SlaPolicy> = {};
  if (p.max_unavailable_domains !== undefined) {
    o.max_unavailable_domains = p.max_unavailable_domains;
    o.domain = p.domain ?? 'rack';
  }
  if (p.coordinator) o.coordinator = p.coordinator;
  return o;
}

function withCount(p: SlaPolicy, count: number, duration_seconds: number): SlaPolicy {
  return { kind: 'count', count, duration_seconds, ...options(p) } as SlaPolicy;
}

function finish(e: Omit<EffectiveSla, 'explanation'>): EffectiveSla {
  return { ...e, explanation: e.notes.join('; ') };
}

/** The policy applied to `job` under the cluster guardrails. */
export function effectiveSla(job: AnySlaJob, g: SlaGuardrails = {}): EffectiveSla {
  const n = Math.max(0, job.instances);
  const notes: string[] = [];
  let policy: AnySlaPolicy | undefined = job.sla;
  let source: EffectiveSla['source'] = 'job';
  if (!policy) {
    if (!g.default_sla) return finish({ source: 'none', capped: false, overridden: false, required: 0, notes: ['no SLA (and no cluster default)'] });
    policy = g.default_sla;
    source = 'cluster-default';
    notes.push(`no SLA of its own: the cluster default applies (${describeSla(policy)})`);
  } else notes.push(describeSla(policy));
  let capped = false;
  if (policy.kind !== 'coordinator') {
    const req = requiredFor(n, policy);
    const capReq = g.max_percentage !== undefined ? Math.floor((g.max_percentage * n) / 100 + EPSILON) : Infinity;
    const capDur = g.max_duration_seconds ?? Infinity;
    const dur = Math.min(policy.duration_seconds, capDur);
    if (req > capReq || dur < policy.duration_seconds) {
      capped = true;
      const parts: string[] = [];
      if (req > capReq) parts.push(`${req} of ${n} up is above the cluster bound of ${g.max_percentage}% (${capReq} of ${n})`);
      if (dur < policy.duration_seconds) parts.push(`${policy.duration_seconds}s is above the cluster bound of ${capDur}s`);
      policy = req > capReq ? withCount(policy, capReq, dur) : { ...policy, duration_seconds: dur };
      notes.push(`capped: ${parts.join(' and ')}; applied: ${describeSla(policy)}`);
    }
  }
  return finish({ policy, source, capped, overridden: false, required: requiredFor(n, policy), notes });
}

/** `eff` lowered for one request by `ov` (see the header). */
export function applyOverride(eff: EffectiveSla, instances: number, ov: SlaOverride): EffectiveSla {
  const n = Math.max(0, instances);
  const p = eff.policy;
  const head = `override ${ov.text} (reason: ${ov.reason})`;
  if (!p || p.kind === 'coordinator') {
    return finish({ ...eff, notes: [...eff.notes, `${head}: nothing to lower${p ? ' (the coordinator still decides)' : ''}`] });
  }
  const ovp = overridePolicy(ov);
  const reqNow = requiredFor(n, p);
  const reqOv = requiredFor(n, ovp);
  const dur = Math.min(p.duration_seconds, ov.duration_seconds);
  if (reqOv >= reqNow && dur >= p.duration_seconds) {
    return finish({ ...eff, notes: [...eff.notes, `${head}: does not lower ${describeSla(p)} (an override never raises it)`] });
  }
  const lowered: SlaPolicy = reqOv < reqNow ? ({ ...ovp, duration_seconds: dur, ...options(p) } as SlaPolicy) : { ...p, duration_seconds: dur };
  const req = requiredFor(n, lowered);
  return finish({
    ...eff,
    policy: lowered,
    overridden: true,
    required: req,
    notes: [...eff.notes, `${head}: requires ${req} of ${n} up over ${dur}s instead of ${reqNow} over ${p.duration_seconds}s`],
  });
}
