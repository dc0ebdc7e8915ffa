/**
 * `zk://` URLs as Mesos frameworks take them (apache/mesos src/zookeeper/url.hpp,
 * src/master/detector/detector.cpp):
 *
 *   zk://[user:password@]host1:port1,host2:port2,.../path
 *   file:///etc/mesos/zk            (a file holding such a URL; read and trimmed)
 *
 * As in Mesos: the URL is trimmed; the path starts at the first `/` after `zk://`; the credentials
 * are everything before the last `@` and are used verbatim (no percent-decoding) for ZooKeeper's
 * `digest` scheme; the path `/` is refused ("a (chroot) path is expected"). Stricter than Mesos,
 * each of these is a clear error instead of a failure later: a missing path, an empty host, a bad
 * port, credentials that are not `user:password`, an unsupported scheme, a path ZooKeeper would
 * refuse. A host without a port gets 2181 (ZooKeeper's default).
 *
 * Credentials never appear in messages, toString() or JSON: use `redacted` for logs.
 */
import fs from 'node:fs';
import { redactUrl } from '../util/redact.js';
import { ZkUrlError } from './errors.js';

export const ZK_DEFAULT_PORT = 2181;

export interface ZkServerAddress {
  host: string;
  port: number;
}

export class ZkUrl {
  readonly #credentials: string | undefined;

  constructor(
    readonly servers: readonly ZkServerAddress[],
    /** Absolute znode path, never `/`, no trailing slash. */
    readonly path: string,
    credentials?: string,
  ) {
    this.#credentials = credentials;
  }

  /** `host:port,host:port` as ZooKeeper clients take it. */
  get connectString(): string {
    return this.servers.map((s) => `${s.host}:${s.port}`).join(',');
  }

  /** `user:password` for the digest scheme, if the URL has credentials. */
  get digestCredentials(): string | undefined {
    return this.#credentials;
  }

  /** The URL without its credentials (`zk://***@host:port/path`): safe for logs and errors. */
  get redacted(): string {
    return `zk://${this.#credentials !== undefined ? '***@' : ''}${this.connectString}${this.path}`;
  }

  /** The same ensemble and credentials with another path (e.g. a child of this one). */
  withPath(path: string): ZkUrl {
    return new ZkUrl(this.servers, checkPath(path, path), this.#credentials);
  }

  toString(): string {
    return this.redacted;
  }

  toJSON(): string {
    return this.redacted;
  }
}

export interface ParseZkUrlOptions {
  /** Reads a `file://` target (default fs.readFileSync as UTF-8). */
  readFile?: (path: string) => string;
}

/** True for strings that are meant as ZooKeeper master detection (zk:// or file://). */
export function isZkUrl(s: string): boolean {
  return /^\s*(zk|file):\/\//i.test(s);
}

/** Parses a `zk://` URL (or a `file://` naming a file that holds one). Throws ZkUrlError. */
export function parseZkUrl(raw: string, opts: ParseZkUrlOptions = {}): ZkUrl {
  if (typeof raw !== 'string') throw new ZkUrlError(`ZooKeeper URL must be a string; got ${typeof raw}`);
  const s = raw.trim();
  if (/^file:\/\//i.test(s)) return parseFileUrl(s, opts);
  return parseZk(s);
}

function parseFileUrl(s: string, opts: ParseZkUrlOptions): ZkUrl {
  const file = s.slice('file://'.length);
  if (!file) throw new ZkUrlError(`file:// URL names no file (${s}); expected file:///path/to/file holding a zk:// URL`);
  let text: string;
  try {
    text = (opts.readFile ?? ((p: string) => fs.readFileSync(p, 'utf8')))(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ZkUrlError(`cannot read the ZooKeeper URL from ${file}: ${code ?? (e as Error).message}`);
  }
  const inner = text.trim();
  if (/^file:\/\//i.test(inner)) throw new ZkUrlError(`${file} holds another file:// URL; it must hold a zk:// URL`);
  if (!/^zk:\/\//i.test(inner)) {
    throw new ZkUrlError(`${file} must hold a zk://host:port[,host:port...]/path URL; it holds ${JSON.stringify(redactUrl(inner).slice(0, 80))}`);
  }
  try {
    return parseZk(inner);
  } catch (e) {
    throw new ZkUrlError(`${file}: ${(e as Error).message}`);
  }
}

function parseZk(s: string): ZkUrl {
  const shown = JSON.stringify(redactUrl(s).slice(0, 200));
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  if (!scheme) throw new ZkUrlError(`not a URL: ${shown}; expected zk://host:port[,host:port...]/path`);
  if (scheme[1]!.toLowerCase() !== 'zk') {
    throw new ZkUrlError(`unsupported scheme ${scheme[1]}:// in ${shown}; expected zk://host:port[,host:port...]/path or file:///path`);
  }
  const rest = s.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  const at = authority.lastIndexOf('@');
  const credentials = at < 0 ? undefined : authority.slice(0, at);
  const serverList = at < 0 ? authority : authority.slice(at + 1);
  if (credentials !== undefined) {
    const colon = credentials.indexOf(':');
    if (colon <= 0) throw new ZkUrlError(`credentials in ${shown} must be user:password (ZooKeeper digest)`);
  }
  if (!serverList) throw new ZkUrlError(`no ZooKeeper server in ${shown}; expected zk://host:port[,host:port...]/path`);
  const servers = serverList.split(',').map((item, i) => parseServer(item, i, shown));
  if (!path || path === '/') {
    throw new ZkUrlError(`missing znode path in ${shown}: a (chroot) path is expected, e.g. zk://host:2181/mesos ('/' is not supported)`);
  }
  return new ZkUrl(servers, checkPath(path, shown), credentials);
}

function parseServer(item: string, i: number, shown: string): ZkServerAddress {
  const t = item.trim();
  if (!t) throw new ZkUrlError(`empty host (server #${i + 1}) in ${shown}`);
  if (t.startsWith('[')) throw new ZkUrlError(`IPv6 address ${JSON.stringify(t)} in ${shown} is not supported; use a host name or an IPv4 address`);
  const parts = t.split(':');
  if (parts.length > 2) throw new ZkUrlError(`bad server ${JSON.stringify(t)} in ${shown}: expected host or host:port`);
  const host = parts[0]!;
  const portText = parts[1];
  if (!host) throw new ZkUrlError(`empty host in server ${JSON.stringify(t)} in ${shown}`);
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(host)) {
    throw new ZkUrlError(`bad host ${JSON.stringify(host)} in ${shown}`);
  }
  let port = ZK_DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new ZkUrlError(`bad port ${JSON.stringify(portText)} for ${host} in ${shown}: expected 1-65535`);
    }
    port = Number(portText);
  }
  return { host, port };
}

/** ZooKeeper's own path rules (PathUtils.validatePath), as a clear error. */
function checkPath(path: string, shown: string): string {
  if (!path.startsWith('/')) throw new ZkUrlError(`znode path must start with / in ${shown}`);
  if (path.length > 1 && path.endsWith('/')) throw new ZkUrlError(`znode path must not end with / in ${shown}`);
  for (const seg of path.slice(1).split('/')) {
    if (!seg) throw new ZkUrlError(`empty segment (//) in znode path of ${shown}`);
    if (seg === '.' || seg === '..') throw new ZkUrlError(`relative segment ${JSON.stringify(seg)} in znode path of ${shown}`);
    if (/[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/.test(seg)) throw new ZkUrlError(`invalid character in znode path of ${shown}`);
  }
  return path;
}
