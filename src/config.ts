/**
 * Sluice configuration: command-line flags > environment > config file > defaults.
 *
 * | Setting                  | Flag                    | Environment               | File key            | Default              |
 * |--------------------------|-------------------------|---------------------------|---------------------|----------------------|
 * | Mesos master URL(s)      | --master (repeat/comma) | SLUICE_MASTER (comma)     | master (str/array)  | none: embedded sim   |
 * |   or one zk:// URL       | --master zk://h1:2181,h2:2181/mesos (ZooKeeper detection; file:// holding one) |  |      |
 * | Framework name           | --framework-name        | SLUICE_FRAMEWORK_NAME     | framework_name      | sluice               |
 * | Role                     | --role                  | SLUICE_ROLE               | role                | *                    |
 * | Unix user of tasks       | --user                  | SLUICE_USER               | user                | current user         |
 * | Principal                | --principal             | SLUICE_PRINCIPAL          | principal           | none                 |
 * | Secret (HTTP Basic)      | --secret                | SLUICE_SECRET             | secret              | none                 |
 * | Failover timeout         | --failover-timeout      | SLUICE_FAILOVER_TIMEOUT   | failover_timeout    | 7d (604800 s)        |
 * | Store directory          | --store                 | SLUICE_STORE              | store               | ./.sluice/store      |
 * | Operator API address     | --api-listen            | SLUICE_API_LISTEN         | api_listen          | 127.0.0.1:5070       |
 * | Operator API token       | --api-token             | SLUICE_API_TOKEN          | api_token           | none (loopback only) |
 * | API allowed Host names   | --api-allowed-hosts     | SLUICE_API_ALLOWED_HOSTS  | api_allowed_hosts   | none (listen address, localhost) |
 * | API tokens file (roles)  | --api-tokens-file       | SLUICE_API_TOKENS_FILE    | api_tokens_file     | none                 |
 * | Verbs needing a reason   | --require-reason (comma)| SLUICE_REQUIRE_REASON     | require_reason      | none (--force always)|
 * | Audit retention          | --audit-retention       | SLUICE_AUDIT_RETENTION    | audit_retention     | 100000,90d           |
 * | Hosts DRAINING at once   | --max-draining-hosts    | SLUICE_MAX_DRAINING_HOSTS | max_draining_hosts  | none (no cluster cap)|
 * | Implicit reconciliation  | --reconcile-interval    | SLUICE_RECONCILE_INTERVAL | reconcile_interval  | 15m                  |
 * | Log level                | --log-level             | SLUICE_LOG_LEVEL          | log_level           | info                 |
 * | Env names for post_drain | --post-drain-env (comma)| SLUICE_POST_DRAIN_ENV     | post_drain_env      | none                 |
 * | Log format (json/pretty) | --log-format            | SLUICE_LOG_FORMAT         | log_format          | pretty on a terminal, else json |
 * | Rack attribute of agents | --rack-attribute        | SLUICE_RACK_ATTRIBUTE     | rack_attribute      | rack                 |
 * | SLA guardrails (JSON)    | --sla-guardrails        | SLUICE_SLA_GUARDRAILS     | sla_guardrails (object) | none (off)       |
 * | Master codec             | --codec                 | SLUICE_CODEC              | codec               | json                 |
 * | Largest event record     | --max-record-bytes      | SLUICE_MAX_RECORD_BYTES   | max_record_bytes    | 16MiB                |
 * | Wait for other frameworks| --others-deadline       | SLUICE_OTHERS_DEADLINE    | others_deadline     | 0 (the window start) |
 * | ... then, at the deadline| --others-at-deadline    | SLUICE_OTHERS_AT_DEADLINE | others_at_deadline  | wait (or down, drain_agent) |
 * | DRAIN_AGENT grace cap    | --drain-agent-max-grace-period | SLUICE_DRAIN_AGENT_MAX_GRACE_PERIOD | drain_agent_max_grace_period | 5m |
 * | Config file              | --config                | SLUICE_CONFIG             | -                   | none                 |
 * | Demo jobs (embedded sim) | --no-demo               | SLUICE_DEMO=0             | demo                | true                 |
 * | Simulated agents / racks | --sim-agents/--sim-racks| -                         | sim_agents/sim_racks| 12 / 3               |
 *
 * The API port is 5070, next to Mesos's 5050/5051. (Not 5060: browsers and every WHATWG fetch,
 * Node's included, refuse port 5060 as a "bad port" reserved for SIP.)
 *
 * Durations accept seconds (`900`) or a number with a unit (`15m`, `7d`, `36h`, `30s`, `500ms`).
 * A non-loopback --api-listen requires an API token (refused here, before anything starts); the CLI
 * then needs SLUICE_API_TOKEN too. Master URLs with credentials are redacted in describeConfig.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiConfigError, checkApiExposure, parseAllowedHosts } from './util/api-address.js';
import { redactUrl } from './util/redact.js';
import { readTokensFile, TokensFileError } from './util/tokens-file.js';
import { DEFAULT_MAX_RECORD_BYTES } from './mesos/recordio.js';
import { validateGuardrails, type SlaGuardrails } from './sla/index.js';

export interface SluiceConfig {
  /** Empty: start the embedded simulator. */
  masters: string[];
  frameworkName: string;
  role: string;
  user: string;
  principal?: string;
  secret?: string;
  failoverTimeoutSeconds: number;
  storePath: string;
  apiListen: string;
  apiToken?: string;
  /** Extra Host names the operator API answers to (`name` or `name:port`; e.g. behind a proxy). */
  apiAllowedHosts: string[];
  /** Identities and policy of the operator API (src/api/auth.ts). */
  apiAccess: {
    /** `NAME ROLE sha256:HEX` lines (absolute path); checked here, re-read by the API on change/SIGHUP. */
    tokensFile?: string;
    /** Maintenance verbs that must carry --reason (start, complete, abort); --force always must. */
    requireReason: string[];
  };
  /** How much of the audit trail the store keeps (the oldest entries are pruned beyond either bound). */
  auditRetention: AuditRetention;
  reconcileIntervalSeconds: number;
  /** Cluster-wide cap on hosts DRAINING at once across all maintenance requests (undefined: none). */
  maxDrainingHosts?: number;
  /** Environment variable NAMES passed through to post_drain hooks (secrets never are). */
  postDrainEnv: string[];
  /** Cluster default SLA and upper bound on what a job may require (src/sla/guardrails.ts); absent: off. */
  slaGuardrails?: SlaGuardrails;
  logLevel: string;
  /** Undefined: pretty when stderr is a terminal, JSON otherwise (see util/logger defaultLogFormat). */
  logFormat?: 'json' | 'pretty';
  /** Media type spoken to the master's scheduler API. */
  codec: Codec;
  /** Agent attribute naming the rack: --group-by rack, rack_spread (unless the job names one), doctor. */
  rackAttribute: string;
  /**
   * Other frameworks on a host Sluice takes down: how long after the window start it waits for their
   * tasks to go (or their ACCEPT), and what it does then (wait: never take them down; down: machine
   * down anyway, logged and audited).
   */
  othersDeadlineSeconds: number;
  othersAtDeadline: 'wait' | 'down' | 'drain_agent';
  /** others_at_deadline=drain_agent: DRAIN_AGENT's max_grace_period (seconds, whole; at least 1). */
  drainAgentMaxGraceSeconds: number;
  /** Largest RecordIO record (one event) accepted on the subscription stream. */
  maxRecordBytes: number;
  demo: boolean;
  simAgents: number;
  simRacks: number;
  /** Forget the stored framework id and register anew. */
  newFramework: boolean;
  /** Open a damaged store keeping its last good write (damaged files are set aside). */
  repairStore: boolean;
  /**
   * HA: `zk://hosts/path` — run as one of several replicas: leader election and the store in
   * ZooKeeper under that path (the file store is not used). Undefined: one process, file store.
   */
  ha?: string;
  /** HA: ZooKeeper session timeout (the lease is 2/3 of it). */
  haSessionTimeoutMs: number;
  /** Where each setting came from (for `sluice start` to print). */
  sources: Record<string, 'flag' | 'env' | 'file' | 'default'>;
}

export interface AuditRetention {
  maxEntries: number;
  /** Undefined: no age bound (the count still bounds it). */
  maxAgeMs?: number;
}

/** Verbs `require_reason` may name. */
export const REASON_ACTIONS = ['start', 'complete', 'abort', 'pause', 'resume', 'edit'] as const;
export const DEFAULT_AUDIT_RETENTION: AuditRetention = { maxEntries: 100_000, maxAgeMs: 90 * 86_400_000 };

/**
 * `audit_retention`: a count (`100000`), an age with a unit (`90d`, `12h`), or both (`100000,90d`);
 * whichever is reached first prunes. There is always a count bound (the default when only an age is
 * given), so the audit can never grow without limit.
 */
export function parseAuditRetention(v: unknown, where: string): AuditRetention {
  const items = typeof v === 'number' ? [String(v)] : splitList(v, where);
  let maxEntries: number | undefined;
  let maxAgeMs: number | undefined;
  if (!items.length) throw new ConfigError(`${where}: expected a count (100000), an age (90d) or both (100000,90d)`);
  for (const it of items) {
    if (/^\d+$/.test(it)) {
      if (maxEntries !== undefined) throw new ConfigError(`${where}: two counts given (${JSON.stringify(it)})`);
      maxEntries = parseIntIn(it, `${where} (count)`, 1, 10_000_000);
    } else if (/^\d+(\.\d+)?\s*(s|m|h|d|w)$/i.test(it)) {
      if (maxAgeMs !== undefined) throw new ConfigError(`${where}: two ages given (${JSON.stringify(it)})`);
      maxAgeMs = Math.round(parseSeconds(it, where) * 1000);
      if (maxAgeMs < 60_000) throw new ConfigError(`${where}: the age must be at least 1m; got ${JSON.stringify(it)}`);
    } else throw new ConfigError(`${where}: ${JSON.stringify(it.slice(0, 40))} is neither a count (100000) nor an age with a unit (90d, 12h)`);
  }
  return { maxEntries: maxEntries ?? DEFAULT_AUDIT_RETENTION.maxEntries, ...(maxAgeMs !== undefined ? { maxAgeMs } : {}) };
}

export type Codec = 'json' | 'protobuf';
export const DEFAULT_CODEC: Codec = 'json';

export const DEFAULT_API_LISTEN = '127.0.0.1:5070';
export const DEFAULT_API_URL = 'http://127.0.0.1:5070';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Seconds from `900`, `"900"`, `"15m"`, `"7d"`, `"1.5h"`, `"500ms"`. */
export function parseSeconds(v: unknown, where: string): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v >= 0) return v;
  } else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(v);
    if (m) return Number(m[1]) * UNITS[(m[2] ?? 's').toLowerCase()]!;
  }
  throw new ConfigError(`${where}: expected a duration like 900, 15m, 7d; got ${JSON.stringify(v)}`);
}

function parseIntIn(v: unknown, where: string, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${where}: expected a whole number from ${min} to ${max}; got ${JSON.stringify(v)}`);
  return n;
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** Bytes from `16777216`, `"16MiB"`, `"512k"`, `"1GiB"` (binary units), within [min, max]. */
export function parseBytes(v: unknown, where: string, min: number, max: number): number {
  let n = NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
    const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
    if (m && unit !== undefined) n = Math.round(Number(m[1]) * unit);
  }
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${where}: expected a size from ${min} bytes to ${max / 1024 ** 3} GiB, like 16MiB, 512KiB or 1048576; got ${JSON.stringify(v)}`);
  }
  return n;
}

function parseBool(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
  }
  throw new ConfigError(`${where}: expected true or false; got ${JSON.stringify(v)}`);
}

function splitList(v: unknown, where: string): string[] {
  const items = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const x of items) {
    if (typeof x !== 'string') throw new ConfigError(`${where}: expected a string or a list of strings; got ${JSON.stringify(x)}`);
    for (const s of x.split(',')) if (s.trim()) out.push(s.trim());
  }
  return out;
}

/** Like splitList, but a `zk://h1:2181,h2:2181/path` (or `file://`) URL is one item: its commas separate ZooKeeper servers. */
function splitMasters(v: unknown, where: string): string[] {
  const items = Array.isArray(v) ? v : [v];
  const zk = items.filter((x) => typeof x === 'string' && /^\s*(zk|file):\/\//i.test(x));
  return zk.length ? [...zk.map((x) => (x as string).trim()), ...splitList(items.filter((x) => !zk.includes(x)), where)] : splitList(v, where);
}

const FILE_KEYS = [
  'master',
  'framework_name',
  'role',
  'user',
  'principal',
  'secret',
  'failover_timeout',
  'store',
  'api_listen',
  'api_token',
  'api_allowed_hosts',
  'api_tokens_file',
  'require_reason',
  'audit_retention',
  'max_draining_hosts',
  'reconcile_interval',
  'post_drain_env',
  'log_level',
  'log_format',
  'codec',
  'max_record_bytes',
  'rack_attribute',
  'others_deadline',
  'others_at_deadline',
  'drain_agent_max_grace_period',
  'sla_guardrails',
  'demo',
  'sim_agents',
  'sim_racks',
] as const;

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`config file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${file}: must be a JSON object`);
  const unknown = Object.keys(doc).filter((k) => !(FILE_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new ConfigError(`config file ${file}: unknown key(s) ${unknown.join(', ')}; known: ${FILE_KEYS.join(', ')}`);
  return doc as Record<string, unknown>;
}

/** sla_guardrails: a JSON object (flag / env: JSON text; file: an object), checked by validateGuardrails. */
function parseGuardrails(v: unknown, where: string): SlaGuardrails {
  let o: unknown = v;
  if (typeof v === 'string') {
    try {
      o = JSON.parse(v);
    } catch (e) {
      throw new ConfigError(`${where}: not valid JSON (${(e as Error).message}); e.g. {"max_percentage": 90, "default_sla": {"kind": "percentage", "percentage": 50, "duration_seconds": 60}}`);
    }
  }
  const r = validateGuardrails(o, 'sla_guardrails');
  if (!r.ok) throw new ConfigError(`${where}: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return r.value;
}

function currentUser(): string {
  try {
    return os.userInfo().username || 'root';
  } catch {
    return process.env['USER'] ?? 'root';
  }
}

/**
 * Resolves the configuration. `flags` uses the flag names without dashes (`master`, `api-listen`,
 * `no-demo`...); `env` is usually process.env.
 */
export function loadConfig(flags: FlagValues, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): SluiceConfig {
  const configPath = (flags['config'] as string | undefined) ?? env['SLUICE_CONFIG'];
  const file = configPath ? readConfigFile(path.resolve(cwd, configPath)) : {};
  const fileName = configPath ?? '';
  const sources: SluiceConfig['sources'] = {};

  /** Picks the first defined of flag, env, file, and records where it came from. */
  function pick(key: string, flag: string, envName: string | undefined, fileKey: string | undefined): { v: unknown; where: string } | undefined {
    const f = flags[flag];
    if (f !== undefined && !(Array.isArray(f) && f.length === 0)) {
      sources[key] = 'flag';
      return { v: f, where: `--${flag}` };
    }
    if (envName && env[envName] !== undefined && env[envName] !== '') {
      sources[key] = 'env';
      return { v: env[envName], where: envName };
    }
    if (fileKey && file[fileKey] !== undefined) {
      sources[key] = 'file';
      return { v: file[fileKey], where: `${fileName}: ${fileKey}` };
    }
    sources[key] = 'default';
    return undefined;
  }
  const str = (key: string, flag: string, envName: string | undefined, fileKey: string | undefined): string | undefined => {
    const p = pick(key, flag, envName, fileKey);
    if (!p) return undefined;
    if (typeof p.v !== 'string') throw new ConfigError(`${p.where}: expected a string; got ${JSON.stringify(p.v)}`);
    return p.v;
  };

  const m = pick('masters', 'master', 'SLUICE_MASTER', 'master');
  const masters = m ? splitMasters(m.v, m.where) : [];
  const fo = pick('failoverTimeoutSeconds', 'failover-timeout', 'SLUICE_FAILOVER_TIMEOUT', 'failover_timeout');
  const ri = pick('reconcileIntervalSeconds', 'reconcile-interval', 'SLUICE_RECONCILE_INTERVAL', 'reconcile_interval');
  const reconcileIntervalSeconds = ri ? parseSeconds(ri.v, ri.where) : 900;
  if (reconcileIntervalSeconds < 1) throw new ConfigError(`${ri!.where}: must be at least 1 second`);
  const pde = pick('postDrainEnv', 'post-drain-env', 'SLUICE_POST_DRAIN_ENV', 'post_drain_env');
  const postDrainEnv = pde ? splitList(pde.v, pde.where) : [];
  for (const n of postDrainEnv) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new ConfigError(`${pde!.where}: ${JSON.stringify(n)} is not an environment variable name`);
  const logFormat = str('logFormat', 'log-format', 'SLUICE_LOG_FORMAT', 'log_format');
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') {
    throw new ConfigError(`log format must be json or pretty; got ${JSON.stringify(logFormat)}`);
  }
  const codec = str('codec', 'codec', 'SLUICE_CODEC', 'codec') ?? DEFAULT_CODEC;
  if (codec !== 'json' && codec !== 'protobuf') throw new ConfigError(`codec must be json or protobuf; got ${JSON.stringify(codec)}`);

  const sg = pick('slaGuardrails', 'sla-guardrails', 'SLUICE_SLA_GUARDRAILS', 'sla_guardrails');
  const slaGuardrails = sg ? parseGuardrails(sg.v, sg.where) : undefined;
  const rackAttribute = str('rackAttribute', 'rack-attribute', 'SLUICE_RACK_ATTRIBUTE', 'rack_attribute') ?? 'rack';
  if (!rackAttribute.trim() || /[\s\x00]/.test(rackAttribute)) throw new ConfigError(`rack attribute must be a non-empty attribute name without spaces; got ${JSON.stringify(rackAttribute)}`);
  const od = pick('othersDeadlineSeconds', 'others-deadline', 'SLUICE_OTHERS_DEADLINE', 'others_deadline');
  const othersDeadlineSeconds = od ? parseSeconds(od.v, od.where) : 0;
  if (othersDeadlineSeconds > 365 * 86400) throw new ConfigError(`${od!.where}: at most 365d after the window start`);
  const othersAtDeadline = str('othersAtDeadline', 'others-at-deadline', 'SLUICE_OTHERS_AT_DEADLINE', 'others_at_deadline') ?? 'wait';
  if (othersAtDeadline !== 'wait' && othersAtDeadline !== 'down' && othersAtDeadline !== 'drain_agent') {
    throw new ConfigError(`others at deadline must be wait, down or drain_agent; got ${JSON.stringify(othersAtDeadline)}`);
  }
  const dg = pick('drainAgentMaxGraceSeconds', 'drain-agent-max-grace-period', 'SLUICE_DRAIN_AGENT_MAX_GRACE_PERIOD', 'drain_agent_max_grace_period');
  const drainAgentMaxGraceSeconds = dg ? Math.ceil(parseSeconds(dg.v, dg.where)) : 300;
  if (drainAgentMaxGraceSeconds < 1 || drainAgentMaxGraceSeconds > 86400) throw new ConfigError(`${dg!.where}: DRAIN_AGENT's max grace period must be from 1s to 1d`);
  const mrb = pick('maxRecordBytes', 'max-record-bytes', 'SLUICE_MAX_RECORD_BYTES', 'max_record_bytes');
  const maxRecordBytes = mrb ? parseBytes(mrb.v, mrb.where, 1024, 1024 ** 3) : DEFAULT_MAX_RECORD_BYTES;

  let demo = true;
  if (flags['no-demo'] === true) {
    demo = false;
    sources['demo'] = 'flag';
  } else {
    const d = pick('demo', 'demo', 'SLUICE_DEMO', 'demo');
    if (d) demo = parseBool(d.v, d.where);
  }
  const ah = pick('apiAllowedHosts', 'api-allowed-hosts', 'SLUICE_API_ALLOWED_HOSTS', 'api_allowed_hosts');
  const apiAllowedHosts = ah ? apiSetting(ah.where, () => parseAllowedHosts(splitList(ah.v, ah.where))) : [];
  const tf = str('apiTokensFile', 'api-tokens-file', 'SLUICE_API_TOKENS_FILE', 'api_tokens_file');
  const tokensFile = tf === undefined ? undefined : path.resolve(cwd, tf);
  if (tokensFile !== undefined) {
    // checked now, before anything starts (the API server reads it again and reports permissions)
    try {
      readTokensFile(tokensFile, () => undefined);
    } catch (e) {
      if (e instanceof TokensFileError) throw new ConfigError(e.message);
      throw e;
    }
  }
  const rr = pick('requireReason', 'require-reason', 'SLUICE_REQUIRE_REASON', 'require_reason');
  const requireReason = rr ? splitList(rr.v, rr.where) : [];
  for (const a of requireReason) {
    if (!(REASON_ACTIONS as readonly string[]).includes(a)) throw new ConfigError(`${rr!.where}: ${JSON.stringify(a.slice(0, 40))} is not a verb that takes a reason; choose from ${REASON_ACTIONS.join(', ')}`);
  }
  const ar = pick('auditRetention', 'audit-retention', 'SLUICE_AUDIT_RETENTION', 'audit_retention');
  const auditRetention = ar ? parseAuditRetention(ar.v, ar.where) : { ...DEFAULT_AUDIT_RETENTION };
  const md = pick('maxDrainingHosts', 'max-draining-hosts', 'SLUICE_MAX_DRAINING_HOSTS', 'max_draining_hosts');
  const maxDrainingHosts = md ? parseIntIn(md.v, md.where, 1, 100_000) : undefined;
  const ag = pick('simAgents', 'sim-agents', undefined, 'sim_agents');
  const rk = pick('simRacks', 'sim-racks', undefined, 'sim_racks');

  const cfg: SluiceConfig = {
    masters,
    frameworkName: str('frameworkName', 'framework-name', 'SLUICE_FRAMEWORK_NAME', 'framework_name') ?? 'sluice',
    role: str('role', 'role', 'SLUICE_ROLE', 'role') ?? '*',
    user: str('user', 'user', 'SLUICE_USER', 'user') ?? currentUser(),
    principal: str('principal', 'principal', 'SLUICE_PRINCIPAL', 'principal'),
    secret: str('secret', 'secret', 'SLUICE_SECRET', 'secret'),
    failoverTimeoutSeconds: fo ? parseSeconds(fo.v, fo.where) : 7 * 86400,
    storePath: path.resolve(cwd, str('storePath', 'store', 'SLUICE_STORE', 'store') ?? path.join('.sluice', 'store')),
    apiListen: str('apiListen', 'api-listen', 'SLUICE_API_LISTEN', 'api_listen') ?? DEFAULT_API_LISTEN,
    apiToken: str('apiToken', 'api-token', 'SLUICE_API_TOKEN', 'api_token'),
    apiAllowedHosts,
    apiAccess: { ...(tokensFile !== undefined ? { tokensFile } : {}), requireReason: [...new Set(requireReason)] },
    auditRetention,
    reconcileIntervalSeconds,
    postDrainEnv,
    logLevel: str('logLevel', 'log-level', 'SLUICE_LOG_LEVEL', 'log_level') ?? 'info',
    logFormat,
    codec,
    maxRecordBytes,
    rackAttribute,
    othersDeadlineSeconds,
    othersAtDeadline,
    drainAgentMaxGraceSeconds,
    ...(slaGuardrails ? { slaGuardrails } : {}),
    demo,
    ...(maxDrainingHosts !== undefined ? { maxDrainingHosts } : {}),
    simAgents: ag ? parseIntIn(ag.v, ag.where, 1, 100_000) : 12,
    simRacks: rk ? parseIntIn(rk.v, rk.where, 1, 1000) : 3,
    newFramework: flags['new-framework'] === true,
    repairStore: flags['repair-store'] === true,
    ha: str('ha', 'ha', 'SLUICE_HA', 'ha'),
    haSessionTimeoutMs: 10_000,
    sources,
  };
  const hst = pick('haSessionTimeoutMs', 'ha-session-timeout', 'SLUICE_HA_SESSION_TIMEOUT', 'ha_session_timeout');
  if (hst) {
    const sec = parseSeconds(hst.v, hst.where);
    if (sec < 1 || sec > 120) throw new ConfigError(`${hst.where}: the ZooKeeper session timeout must be between 1 s and 120 s`);
    cfg.haSessionTimeoutMs = sec * 1000;
  }
  if (cfg.ha !== undefined) {
    if (!/^zk:\/\//.test(cfg.ha)) throw new ConfigError(`--ha: expected zk://host:port[,host:port...]/path; got ${JSON.stringify(redactUrl(cfg.ha))}`);
    if (!cfg.masters.length) throw new ConfigError('--ha needs a Mesos master (--master): replicas cannot share an embedded simulator');
  }
  if (cfg.secret && !cfg.principal) throw new ConfigError('a secret was given without a principal (--principal / SLUICE_PRINCIPAL)');
  if (cfg.failoverTimeoutSeconds === 0) {
    // Mesos tears the framework down (killing every task) on any disconnect with 0.
    throw new ConfigError('failover timeout 0 would make Mesos kill every task on any disconnect; use e.g. 7d');
  }
  apiSetting(undefined, () => checkApiExposure(cfg.apiListen, cfg.apiToken ?? cfg.apiAccess.tokensFile));
  if (!/^[a-zA-Z0-9_.*/-]+$/.test(cfg.role)) throw new ConfigError(`role ${JSON.stringify(cfg.role)} is not a valid Mesos role name`);
  return cfg;
}

/** Runs an API setting check, turning its ApiConfigError into a ConfigError naming where it came from. */
function apiSetting<T>(where: string | undefined, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ApiConfigError) throw new ConfigError(where ? `${where}: ${e.message}` : e.message);
    throw e;
  }
}

/** The configuration as printable lines (secrets redacted, master URL credentials masked). */
export function describeConfig(c: SluiceConfig): string[] {
  const src = (k: string) => (c.sources[k] && c.sources[k] !== 'default' ? ` (${c.sources[k]})` : '');
  return [
    `master:            ${c.masters.length ? c.masters.map(redactUrl).join(', ') : 'embedded simulator'}${src('masters')}`,
    `framework:         ${c.frameworkName}, role ${c.role}, user ${c.user}${c.principal ? `, principal ${c.principal}` : ''}`,
    `failover timeout:  ${c.failoverTimeoutSeconds} s${src('failoverTimeoutSeconds')}`,
    c.ha
      ? `HA:                ${redactUrl(c.ha)} (leader election + store in ZooKeeper), session timeout ${c.haSessionTimeoutMs / 1000} s${src('ha')}`
      : `store:             ${c.storePath}${src('storePath')}`,
    `operator API:      ${c.apiListen}${c.apiToken || c.apiAccess.tokensFile ? ' (token required)' : ''}${src('apiListen')}` +
      (c.apiAllowedHosts.length ? `, also answers to ${c.apiAllowedHosts.join(', ')}` : ''),
    ...(c.apiAccess.tokensFile ? [`API tokens file:   ${c.apiAccess.tokensFile}${src('apiTokensFile')}`] : []),
    ...(c.apiAccess.requireReason.length ? [`reason required:   ${c.apiAccess.requireReason.join(', ')} (and --force)`] : []),
    `audit retention:   ${c.auditRetention.maxEntries} entries${c.auditRetention.maxAgeMs ? `, ${Math.round(c.auditRetention.maxAgeMs / 3_600_000)} h` : ''}${src('auditRetention')}`,
    `reconciliation:    implicit every ${c.reconcileIntervalSeconds} s`,
    `master codec:      ${c.codec}${src('codec')}, records up to ${c.maxRecordBytes} bytes${src('maxRecordBytes')}`,
  ];
}

/**
 * The secret values of a configuration (framework secret, API token, user info of the master URLs
 * and of the ZooKeeper URL of --ha, whose digest credentials guard the HA state): what must never
 * reach a hook's environment nor its recorded output.
 */
export function configSecrets(c: Pick<SluiceConfig, 'secret' | 'apiToken' | 'masters'> & Partial<Pick<SluiceConfig, 'ha'>>): string[] {
  const out = [c.secret, c.apiToken];
  for (const m of c.ha ? [...c.masters, c.ha] : c.masters) {
    const at = /^[a-z][a-z0-9+.-]*:\/\/([^/@]*)@/i.exec(m);
    if (!at) continue;
    const info = at[1]!;
    const pass = info.includes(':') ? info.slice(info.indexOf(':') + 1) : info;
    out.push(info, pass);
    try {
      out.push(decodeURIComponent(pass));
    } catch {
      // not percent-encoded
    }
  }
  return [...new Set(out.filter((s): s is string => !!s && s.length >= 4))];
}
