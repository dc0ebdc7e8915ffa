/**
 * What Mesos masters publish in ZooKeeper (checked against apache/mesos src/zookeeper/group.cpp,
 * src/master/detector/zookeeper.cpp, src/master/contender and the recording of a real 1.12 master
 * in shared/reference/real-mesos-1.12/zk/):
 *
 * - every master candidate is an ephemeral sequential znode `json.info_<10-digit sequence>` directly
 *   under the path, holding its MasterInfo as JSON; the lowest sequence leads;
 * - `log_replicas` (the replicated log's group) and anything else that is not `json.info_<digits>`
 *   is not a master. Pre-0.24 masters wrote `info_<seq>` (protobuf MasterInfo) or bare `<seq>`
 *   (a UPID) nodes; Mesos 1.x masters write only `json.info_`, so those are ignored here.
 *
 * Pure functions, no I/O.
 */

export const MASTER_INFO_JSON_PREFIX = 'json.info_';

export interface MasterCandidate {
  /** Znode name, e.g. `json.info_0000000002`. */
  name: string;
  sequence: number;
}

/** The master candidates among a path's children, lowest sequence (the leader) first. */
export function masterCandidates(children: readonly string[]): MasterCandidate[] {
  const out: MasterCandidate[] = [];
  for (const name of children) {
    if (!name.startsWith(MASTER_INFO_JSON_PREFIX)) continue;
    const seq = name.slice(MASTER_INFO_JSON_PREFIX.length);
    if (!/^\d{1,10}$/.test(seq)) continue;
    out.push({ name, sequence: Number(seq) });
  }
  return out.sort((a, b) => a.sequence - b.sequence);
}

/** Name of the leading master's znode, or undefined when no master is registered. */
export function leaderNode(children: readonly string[]): string | undefined {
  return masterCandidates(children)[0]?.name;
}

/** The parts of MasterInfo a client needs (mesos.v1.MasterInfo as JSON). */
export interface ZkMasterInfo {
  id: string;
  /** `master@ip:port` */
  pid?: string;
  hostname?: string;
  port: number;
  /** Packed IPv4 (network byte order read as a little-endian uint32, as Mesos writes it). */
  ip?: number;
  address?: { hostname?: string; ip?: string; port?: number };
  version?: string;
}

export class MasterInfoError extends Error {
  override readonly name = 'MasterInfoError';
}

/** Parses a `json.info_` znode's data. Throws MasterInfoError with what is wrong. */
export function parseMasterInfo(data: Buffer | string): ZkMasterInfo {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new MasterInfoError(`MasterInfo is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new MasterInfoError('MasterInfo JSON is not an object');
  const o = v as Record<string, unknown>;
  if (typeof o['id'] !== 'string') throw new MasterInfoError('MasterInfo has no id');
  if (!isPort(o['port'])) throw new MasterInfoError('MasterInfo has no valid port');
  const info: ZkMasterInfo = { id: o['id'], port: o['port'] };
  if (typeof o['pid'] === 'string') info.pid = o['pid'];
  if (typeof o['hostname'] === 'string') info.hostname = o['hostname'];
  if (typeof o['ip'] === 'number' && Number.isInteger(o['ip'])) info.ip = o['ip'];
  if (typeof o['version'] === 'string') info.version = o['version'];
  const a = o['address'];
  if (a && typeof a === 'object' && !Array.isArray(a)) {
    const ar = a as Record<string, unknown>;
    info.address = {};
    if (typeof ar['hostname'] === 'string') info.address.hostname = ar['hostname'];
    if (typeof ar['ip'] === 'string') info.address.ip = ar['ip'];
    if (isPort(ar['port'])) info.address.port = ar['port'];
  }
  return info;
}

function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;
}

/** Dotted form of MasterInfo's packed `ip` (16777343 → 127.0.0.1). */
export function unpackIp(ip: number): string {
  const u = ip >>> 0;
  return [u & 0xff, (u >>> 8) & 0xff, (u >>> 16) & 0xff, (u >>> 24) & 0xff].join('.');
}

/**
 * The origin (`scheme://host:port`) to reach a master at. Host: `address.hostname`, else
 * `address.ip`, else `hostname`, else the packed `ip` — the same preference as a master's own
 * `/master/redirect` (hostname when known), so both detectors name a master the same way.
 */
export function masterOrigin(info: ZkMasterInfo, scheme: 'http' | 'https' = 'http'): string {
  const host = info.address?.hostname || info.address?.ip || info.hostname || (info.ip !== undefined ? unpackIp(info.ip) : undefined);
  if (!host) throw new MasterInfoError(`MasterInfo ${info.id} names no host`);
  const port = info.address?.port ?? info.port;
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new URL(`${scheme}://${h}:${port}`).origin;
}

/**
 * MasterInfo as a Mesos master writes it into its `json.info_` znode: JSON with the keys of every
 * object in alphabetical order (as in the 1.12 recording), no whitespace.
 */
export function masterInfoJson(info: object): string {
  return JSON.stringify(sortKeys(info));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = sortKeys(o[k]);
    return out;
  }
  return v;
}
