/** Capped exponential backoff with full jitter ("decorrelated" enough for reconnect storms). */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0 = no jitter, 1 = full jitter (delay uniformly in [0, d]). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (0-based). `random` is injectable for deterministic tests. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt)));
  const spread = base * policy.jitter;
  return Math.round(base - spread + random() * spread);
}
