/**
 * `sluice doctor`'s judgements: pure functions from what the master answered (HTTP observations)
 * to findings, the clock-offset estimator, the exit code and the human report. No I/O here
 * (src/doctor/probe.ts asks the master).
 *
 * Exit codes (one per finding class; with several findings the lowest code wins — it is the most
 * fundamental: without a leader nothing else can be checked):
 *   0 all good · 10 no leader / unreachable · 11 credentials refused or missing ·
 *   12 maintenance endpoints missing or unusable · 13 clock skew over the threshold ·
 *   14 rack attribute missing on agents · 15 other warnings · 1 doctor failed · 2 usage.
 */

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, NO_LEADER: 10, AUTH: 11, MAINTENANCE: 12, CLOCK: 13, RACK: 14, OTHER: 15 } as const;

export type CheckId = 'leader' | 'master' | 'credentials' | 'maintenance' | 'clock' | 'rack' | 'role';
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface Check {
  id: CheckId;
  status: CheckStatus;
  /** Exit code class when not ok. */
  code?: number;
  summary: string;
  detail: Record<string, unknown>;
}

/** One HTTP exchange as the doctor saw it (never carries credentials). */
export interface HttpObs {
  url: string;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Network-level failure (refused, timeout, DNS). */
  error?: string;
}

export interface DoctorReport {
  ok: boolean;
  exit_code: number;
  masters: string[];
  leader?: string;
  checks: Check[];
}

const check = (id: CheckId, status: CheckStatus, summary: string, detail: Record<string, unknown> = {}, code?: number): Check =>
  status === 'ok' || status === 'skipped' ? { id, status, summary, detail } : { id, status, code: code ?? EXIT.OTHER, summary, detail };

export function skipped(id: CheckId, why: string): Check {
  return check(id, 'skipped', why);
}

function answer(o: HttpObs): string {
  if (o.error) return o.error;
  const loc = o.headers?.['location'];
  const body = (o.body ?? '').trim().slice(0, 200);
  return `${o.status}${loc ? ` → ${loc}` : ''}${body ? ` ${JSON.stringify(body)}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// leader

export interface LeaderProbe {
  /** Each configured master and what it answered to GET /master/redirect. */
  asked: Array<{ master: string; obs: HttpObs; leader?: string }>;
  /** The leader chosen and the /master/state hops that confirmed it (307s followed). */
  leader?: string;
  stateHops: HttpObs[];
  /** Configuration problem with the master list (malformed URL, bad zk:// syntax). */
  configError?: string;
  /** `--master zk://…`: what ZooKeeper said (state: leader | no_master | unreachable | error …). */
  zk?: { url: string; state: string; message: string; leader?: string; node?: string };
}

export function leaderCheck(p: LeaderProbe): Check {
  const how = p.asked.map((a) => ({ master: a.master, answered: answer(a.obs), leader: a.leader }));
  const hops = p.stateHops.map((h) => ({ url: h.url, answered: h.status === 200 ? '200' : answer(h) }));
  if (p.configError) return check('leader', 'fail', p.configError, { asked: how }, EXIT.NO_LEADER);
  if (p.zk && !p.zk.leader) return check('leader', 'fail', `no leading master found in ZooKeeper ${p.zk.url}: ${p.zk.message}`, { zookeeper: p.zk }, EXIT.NO_LEADER);
  if (!p.leader) {
    const anyUp = p.asked.some((a) => a.obs.status !== undefined);
    return check('leader', 'fail', anyUp ? 'no master knows a leader (503 No leader elected, or unexpected answers)' : 'no configured master could be reached', { asked: how, state: hops }, EXIT.NO_LEADER);
  }
  const last = p.stateHops[p.stateHops.length - 1];
  if (!last || last.status !== 200) {
    return check('leader', 'fail', `the leader ${p.leader} did not serve /master/state: ${last ? answer(last) : 'not asked'}`, { asked: how, state: hops }, last?.status === 401 ? EXIT.AUTH : EXIT.NO_LEADER);
  }
  const named = new Set(p.asked.map((a) => a.leader).filter((l): l is string => !!l));
  const found_by = p.zk
    ? `ZooKeeper ${p.zk.url}: the lowest json.info_ sequence${p.zk.node ? ` (${p.zk.node})` : ''} names ${p.zk.leader}, confirmed by its GET /master/redirect`
    : 'GET /master/redirect on the configured masters, 307 Location followed';
  const detail = { leader: p.leader, found_by, asked: how, state: hops, ...(p.zk ? { zookeeper: p.zk } : {}) };
  if (named.size > 1) return check('leader', 'warn', `masters disagree on the leader (${[...named].join(', ')}); using ${p.leader}`, detail);
  return check('leader', 'ok', `${p.leader} leads (${how.map((h) => `${h.master}: ${h.answered}`).join('; ')})`, detail);
}

// ---------------------------------------------------------------------------------------------
// master version and capabilities (from /master/state)

export interface MasterState {
  version?: string;
  git_tag?: string;
  id?: string;
  hostname?: string;
  cluster?: string;
  start_time?: number;
  elected_time?: number;
  capabilities?: string[];
  flags?: Record<string, string>;
  slaves?: Array<{ hostname?: string; attributes?: Record<string, unknown> }>;
}

export function masterCheck(state: MasterState): Check {
  const caps = Array.isArray(state.capabilities) ? state.capabilities.map(String) : [];
  const f = state.flags ?? {};
  const detail: Record<string, unknown> = {
    version: state.version,
    id: state.id,
    hostname: state.hostname,
    cluster: state.cluster,
    capabilities: caps,
    start_time: state.start_time,
    elected_time: state.elected_time,
    authenticate_http_frameworks: f['authenticate_http_frameworks'],
    authenticate_http_readonly: f['authenticate_http_readonly'],
    authenticate_http_readwrite: f['authenticate_http_readwrite'],
  };
  const v = /^(\d+)\.(\d+)/.exec(state.version ?? '');
  const text = `Mesos ${state.version ?? '(version unknown)'}${state.cluster ? `, cluster ${state.cluster}` : ''}; capabilities ${caps.length ? caps.join(', ') : 'none'}`;
  if (!v) return check('master', 'warn', `${text}: /master/state has no version`, detail);
  if (Number(v[1]) < 1) return check('master', 'warn', `${text}: the v1 scheduler API needs Mesos 1.0 or later`, detail);
  return check('master', 'ok', text, detail);
}

// ---------------------------------------------------------------------------------------------
// credentials

export interface CredentialsProbe {
  principal?: string;
  /** A secret is configured (its value never reaches the doctor's report). */
  hasSecret: boolean;
  /** GET /api/v1/scheduler without Authorization: 401 = authentication required, 405 = open. */
  anonymous: HttpObs;
  /** The same with the configured credentials. */
  withCredentials?: HttpObs;
}

export function credentialsCheck(p: CredentialsProbe): Check {
  const required = p.anonymous.status === 401;
  const realm = /realm="([^"]*)"/.exec(p.anonymous.headers?.['www-authenticate'] ?? '')?.[1];
  const detail: Record<string, unknown> = { principal: p.principal, secret_configured: p.hasSecret, authentication_required: required, realm };
  if (p.anonymous.status === undefined) return check('credentials', 'warn', `could not ask the scheduler endpoint: ${answer(p.anonymous)}`, detail);
  if (!required && p.anonymous.status !== 405) {
    return check('credentials', 'warn', `unexpected answer to an unauthenticated GET /api/v1/scheduler: ${answer(p.anonymous)}`, detail);
  }
  const configured = p.principal !== undefined && p.hasSecret;
  if (!configured) {
    if (required) return check('credentials', 'fail', `the master requires HTTP authentication (realm ${realm ?? '?'}) but no principal and secret are configured (--principal, SLUICE_SECRET)`, detail, EXIT.AUTH);
    return check('credentials', 'ok', 'the master does not require framework authentication; none configured', detail);
  }
  const w = p.withCredentials;
  detail['answer'] = w ? (w.status ?? w.error) : undefined;
  if (!required) return check('credentials', 'ok', `the master does not require framework authentication (principal "${p.principal}" is sent but not checked)`, detail);
  if (w?.status === 401) return check('credentials', 'fail', `principal "${p.principal}" refused: 401 (realm ${realm ?? '?'}); check the principal and secret against the master's --credentials`, detail, EXIT.AUTH);
  if (w?.status === 405) return check('credentials', 'ok', `principal "${p.principal}" accepted (realm ${realm ?? '?'})`, detail);
  return check('credentials', 'warn', `unexpected answer with credentials: ${w ? answer(w) : 'none'}`, detail);
}

// ---------------------------------------------------------------------------------------------
// maintenance endpoints (asked as Sluice's maintenance client asks them: without credentials)

export function maintenanceCheck(schedule: HttpObs, status: HttpObs, sentCredentials = false): Check {
  const detail: Record<string, unknown> = { schedule: answerBrief(schedule), status: answerBrief(status) };
  const problems: string[] = [];
  for (const [name, o] of [
    ['/master/maintenance/schedule', schedule],
    ['/master/maintenance/status', status],
  ] as const) {
    if (o.status === 200) {
      try {
        JSON.parse(o.body ?? '');
      } catch {
        problems.push(`${name} answered 200 but not JSON`);
      }
    } else if (o.status === 404) problems.push(`${name} is missing (404)`);
    else if (o.status === 401) {
      const realm = /realm="([^"]*)"/.exec(o.headers?.['www-authenticate'] ?? '')?.[1];
      problems.push(
        `${name} requires HTTP authentication (realm ${realm ?? '?'}) and ${sentCredentials ? 'refused the configured principal/secret' : 'no principal/secret is configured (--principal, SLUICE_SECRET)'}`,
      );
    } else problems.push(`${name}: ${answer(o)}`);
  }
  if (problems.length) return check('maintenance', 'fail', problems.join('; '), detail, EXIT.MAINTENANCE);
  let windows = 0;
  let draining = 0;
  let down = 0;
  try {
    const s = JSON.parse(schedule.body ?? '{}') as { windows?: unknown[] };
    windows = s.windows?.length ?? 0;
    const st = JSON.parse(status.body ?? '{}') as { draining_machines?: unknown[]; down_machines?: unknown[] };
    draining = st.draining_machines?.length ?? 0;
    down = st.down_machines?.length ?? 0;
  } catch {
    // already checked above
  }
  Object.assign(detail, { windows, draining_machines: draining, down_machines: down });
  return check('maintenance', 'ok', `schedule and status answer (${windows} window(s), ${draining} draining, ${down} down)`, detail);
}

function answerBrief(o: HttpObs): string | number | undefined {
  return o.status ?? o.error;
}

// ---------------------------------------------------------------------------------------------
// clock offset from the master's Date header

export interface DateSample {
  /** Local wall-clock time (ms, sub-ms precision) when the request was sent and when the answer came. */
  sentMs: number;
  receivedMs: number;
  /** The master's Date header. */
  date: string | undefined;
}

export interface ClockEstimate {
  /** Master clock minus this host's clock, ms (positive: the master is ahead). */
  offsetMs: number;
  /** Half-width of the interval that certainly holds the offset (ms). */
  uncertaintyMs: number;
  lowMs: number;
  highMs: number;
  samples: number;
}

/**
 * The master writes `Date` (whole seconds, truncated) at some instant between our send and our
 * receive, so each sample bounds the offset: D − received ≤ offset < D + 1000 − sent. Samples spread
 * over a second land on both sides of a second boundary, and the intersection of their bounds is
 * the estimate: its width is about the sampling step plus the round trip. Undefined when no sample
 * has a Date; `inconsistent` when the bounds do not intersect (the master's clock stepped).
 */
export function estimateClockOffset(samples: readonly DateSample[]): (ClockEstimate & { inconsistent?: boolean }) | undefined {
  let lo = -Infinity;
  let hi = Infinity;
  let n = 0;
  let minLo = Infinity;
  let maxHi = -Infinity;
  for (const s of samples) {
    const d = s.date === undefined ? NaN : Date.parse(s.date);
    if (!Number.isFinite(d)) continue;
    n++;
    const l = d - s.receivedMs;
    const h = d + 1000 - s.sentMs;
    lo = Math.max(lo, l);
    hi = Math.min(hi, h);
    minLo = Math.min(minLo, l);
    maxHi = Math.max(maxHi, h);
  }
  if (!n) return undefined;
  if (lo > hi) {
    // no single offset explains every sample: report the hull, honestly wide
    return { offsetMs: (minLo + maxHi) / 2, uncertaintyMs: (maxHi - minLo) / 2, lowMs: minLo, highMs: maxHi, samples: n, inconsistent: true };
  }
  return { offsetMs: (lo + hi) / 2, uncertaintyMs: (hi - lo) / 2, lowMs: lo, highMs: hi, samples: n };
}

export function clockCheck(samples: readonly DateSample[], maxSkewMs: number): Check {
  const e = estimateClockOffset(samples);
  if (!e) return check('clock', 'warn', 'the master sent no usable Date header: clock offset unknown', { samples: samples.length });
  const r = (x: number) => Math.round(x);
  const detail = {
    offset_ms: r(e.offsetMs),
    uncertainty_ms: r(e.uncertaintyMs),
    interval_ms: [r(e.lowMs), r(e.highMs)],
    samples: e.samples,
    threshold_ms: maxSkewMs,
    method: "master's Date header (1 s resolution), bracketed by send/receive times over ~1 s of samples",
  };
  const txt = `master clock ${e.offsetMs >= 0 ? '+' : '−'}${fmtMs(Math.abs(e.offsetMs))} ± ${fmtMs(e.uncertaintyMs)} against this host`;
  if (e.inconsistent) return check('clock', 'warn', `${txt}: the samples disagree (did the master's clock step?)`, detail);
  const least = Math.min(Math.abs(e.lowMs), Math.abs(e.highMs)) * (e.lowMs <= 0 && e.highMs >= 0 ? 0 : 1);
  const most = Math.max(Math.abs(e.lowMs), Math.abs(e.highMs));
  if (least > maxSkewMs) {
    return check('clock', 'fail', `${txt}: over the ${fmtMs(maxSkewMs)} threshold — maintenance windows (absolute times) shift by as much; fix NTP`, detail, EXIT.CLOCK);
  }
  if (most > maxSkewMs) return check('clock', 'warn', `${txt}: may exceed the ${fmtMs(maxSkewMs)} threshold`, detail);
  return check('clock', 'ok', txt, detail);
}

function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

// ---------------------------------------------------------------------------------------------
// rack attribute

export function rackCheck(state: MasterState, attribute: string): Check {
  const agents = Array.isArray(state.slaves) ? state.slaves : [];
  const without = agents.filter((a) => a.attributes?.[attribute] === undefined).map((a) => a.hostname ?? '?');
  const values = new Set(agents.map((a) => a.attributes?.[attribute]).filter((v) => v !== undefined).map(String));
  const detail = { attribute, agents: agents.length, with: agents.length - without.length, without: without.length, racks: values.size, missing_on: without.slice(0, 20) };
  if (!agents.length) return check('rack', 'warn', 'no agents are registered: cannot check the rack attribute', detail);
  if (without.length) {
    const list = without.slice(0, 5).join(', ') + (without.length > 5 ? `, … (${without.length - 5} more)` : '');
    return check(
      'rack',
      'fail',
      `${without.length} of ${agents.length} agents lack the attribute "${attribute}" (${list}): --group-by rack and rack_spread treat them as one unnamed rack`,
      detail,
      EXIT.RACK,
    );
  }
  return check('rack', 'ok', `all ${agents.length} agents carry "${attribute}" (${values.size} distinct value(s))`, detail);
}

// ---------------------------------------------------------------------------------------------
// role and quota (/master/roles)

interface RoleJson {
  name: string;
  weight?: number;
  frameworks?: string[];
  quota?: { guarantee?: Record<string, number>; limit?: Record<string, number> };
  allocated?: Record<string, number>;
}

export function roleCheck(obs: HttpObs, role: string): Check {
  if (obs.status !== 200) return check('role', 'warn', `/master/roles: ${answer(obs)}`, { role });
  let roles: RoleJson[];
  try {
    roles = ((JSON.parse(obs.body ?? '') as { roles?: RoleJson[] }).roles ?? []).filter((r) => r && typeof r.name === 'string');
  } catch {
    return check('role', 'warn', '/master/roles answered 200 but not JSON', { role });
  }
  const r = roles.find((x) => x.name === role);
  const detail: Record<string, unknown> = { role, known_roles: roles.map((x) => x.name) };
  if (!r) return check('role', 'ok', `role "${role}" has no frameworks, weight or quota yet (roles appear when used)`, detail);
  const limit = r.quota?.limit ?? {};
  const guarantee = r.quota?.guarantee ?? {};
  Object.assign(detail, { weight: r.weight, frameworks: r.frameworks?.length ?? 0, quota_guarantee: guarantee, quota_limit: limit, allocated: r.allocated ?? {} });
  const q = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
  const txt = `role "${role}": weight ${r.weight ?? 1}, ${r.frameworks?.length ?? 0} framework(s), quota guarantee {${q(guarantee)}} limit {${q(limit)}}`;
  const zero = Object.entries(limit).filter(([k, v]) => (k === 'cpus' || k === 'mem') && v === 0).map(([k]) => k);
  if (zero.length) return check('role', 'warn', `${txt}: a quota limit of 0 ${zero.join(', ')} means nothing can be launched`, detail);
  return check('role', 'ok', txt, detail);
}

// ---------------------------------------------------------------------------------------------
// report

export function report(masters: string[], leader: string | undefined, checks: Check[]): DoctorReport {
  const codes = checks.filter((c) => c.status === 'fail' || c.status === 'warn').map((c) => c.code ?? EXIT.OTHER);
  const exit = codes.length ? Math.min(...codes) : EXIT.OK;
  return { ok: exit === EXIT.OK, exit_code: exit, masters, leader, checks };
}

export function formatReport(r: DoctorReport): string {
  const w = Math.max(...r.checks.map((c) => c.id.length));
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skipped: 'skip' };
  const lines = [`sluice doctor: ${r.masters.join(', ')}`];
  for (const c of r.checks) lines.push(`  ${mark[c.status]}  ${c.id.padEnd(w)}  ${c.summary}${c.code !== undefined ? `  [exit ${c.code}]` : ''}`);
  lines.push(r.ok ? 'All checks passed.' : `Exit ${r.exit_code}: ${EXIT_MEANING[r.exit_code] ?? 'see above'}.`);
  return lines.join('\n');
}

const EXIT_MEANING: Record<number, string> = {
  10: 'no leading master could be found',
  11: 'the master refuses (or requires) the framework credentials',
  12: 'the maintenance endpoints are missing or unusable',
  13: "the master's clock is skewed beyond the threshold",
  14: 'agents lack the rack attribute',
  15: 'warnings',
};
