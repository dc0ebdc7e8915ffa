/**
 * Real Apache ZooKeeper for tests: Debian's `zookeeper` package (3.8) run by a Java runtime on
 * loopback, with a temp data dir and free ports. One standalone server per test file (mocha
 * before/after), or a 3-server ensemble for quorum-loss tests.
 *
 * Nothing is skipped when ZooKeeper is missing: startZooKeeper() throws a clear error saying what
 * to install (`.ci/run` installs it on a fresh Debian machine).
 *
 * Every server runs in its own process group under a tiny /bin/sh guard that SIGKILLs the JVM when
 * the test process goes away (its stdin pipe closes), so no JVM outlives a crashed or killed mocha;
 * stop() kills the whole group (SIGTERM, then SIGKILL).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const JAVA_DIR = process.env['SLUICE_ZK_JAVA_DIR'] ?? '/usr/share/java';
const ZK_JAR = path.join(JAVA_DIR, 'zookeeper.jar');
const INSTALL_HINT =
  "ZooKeeper tests need Debian's zookeeper package (3.8) and a Java runtime: " +
  'run `apt-get install zookeeper default-jre-headless` (or `bash .ci/run`, which installs them)';

/** Why ZooKeeper cannot run here, or undefined when it can. */
export function zooKeeperMissing(): string | undefined {
  if (!fs.existsSync(ZK_JAR)) return `${ZK_JAR} not found. ${INSTALL_HINT}`;
  const r = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) return `no working \`java\` on PATH (${r.error?.message ?? `exit ${r.status}`}). ${INSTALL_HINT}`;
  return undefined;
}

function classpath(): string {
  // zookeeper.jar's manifest Class-Path names its own dependencies; add one SLF4J binding (stderr).
  const simple = path.join(JAVA_DIR, 'slf4j-simple.jar');
  return fs.existsSync(simple) ? `${ZK_JAR}:${simple}` : `${ZK_JAR}:${JAVA_DIR}/*`;
}

const JVM_OPTS = [
  `-Xmx${process.env['SLUICE_TEST_ZK_HEAP'] ?? '128m'}`, // benchmarks with large states raise it
  '-Xms16m',
  '-Xss512k',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:-UsePerfData',
  '-Djava.net.preferIPv4Stack=true',
  '-Dzookeeper.admin.enableServer=false',
  '-Dzookeeper.jmx.log4j.disable=true',
  '-Dzookeeper.cnxTimeout=1000',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
];

/** The guard: runs java in the background, kills it when our stdin closes, exits with java's status. */
const GUARD = 'exec 3<&0; "$@" </dev/null & j=$!; ( read _ <&3; kill -9 $j 2>/dev/null ) & wait $j';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Sends a four-letter word (`srvr`, `ruok`, …) and returns the answer ('' when nothing answered). */
export async function fourLetterWord(port: number, word: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let out = '';
    const done = (): void => {
      clearTimeout(t);
      sock.destroy();
      resolve(out);
    };
    const t = setTimeout(done, timeoutMs);
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d) => (out += d.toString('utf8')));
    sock.on('end', done);
    sock.on('error', done);
  });
}

/** `srvr` mode of a server: standalone | leader | follower, or undefined when it is not serving. */
export async function serverMode(port: number): Promise<string | undefined> {
  const a = await fourLetterWord(port, 'srvr');
  return /^Mode: (\w+)/m.exec(a)?.[1];
}

interface ServerSpec {
  id: number;
  clientPort: number;
  quorumPort?: number;
  electionPort?: number;
}

export class ZkServerProcess {
  child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  readonly logFile: string;
  readonly cfgFile: string;

  constructor(
    readonly dir: string,
    readonly spec: ServerSpec,
  ) {
    this.logFile = path.join(dir, 'zookeeper.log');
    this.cfgFile = path.join(dir, 'zoo.cfg');
  }

  get port(): number {
    return this.spec.clientPort;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the JVM (config must be written). Resolves once spawned, not when serving. */
  spawn(): void {
    const fd = fs.openSync(this.logFile, 'a');
    const child = spawn('/bin/sh', ['-c', GUARD, 'zk-guard', 'java', ...JVM_OPTS, '-cp', classpath(), 'org.apache.zookeeper.server.quorum.QuorumPeerMain', this.cfgFile], {
      detached: true,
      stdio: ['pipe', fd, fd],
    });
    fs.closeSync(fd);
    child.stdin?.on('error', () => undefined);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    liveGroups.add(child);
    child.once('exit', () => liveGroups.delete(child));
  }

  logTail(lines = 15): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Waits until `srvr` reports one of `modes` (any serving mode by default). */
  async waitServing(timeoutMs: number, modes?: readonly string[]): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`ZooKeeper server ${this.spec.id} (port ${this.port}) exited during start-up:\n${this.logTail()}`);
      const mode = await serverMode(this.port);
      if (mode && (!modes || modes.includes(mode))) return mode;
      if (Date.now() > deadline) throw new Error(`ZooKeeper server ${this.spec.id} (port ${this.port}) not serving after ${timeoutMs} ms:\n${this.logTail()}`);
      await sleep(100);
    }
  }

  /** Stops the process group: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 2_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.running) {
      killGroup(child, 'SIGTERM');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    killGroup(child, 'SIGKILL'); // the guard's stdin watcher too
  }

  /** SIGKILL of the whole group, no grace (a crash). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    killGroup(child, 'SIGKILL');
    await this.exited;
  }
}

const liveGroups = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of liveGroups) killGroup(c, 'SIGKILL');
});

function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    /* already gone */
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function baseConfig(dataDir: string, clientPort: number): string[] {
  return [
    'tickTime=500',
    'initLimit=20',
    'syncLimit=10',
    `dataDir=${dataDir}`,
    `clientPort=${clientPort}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=*',
    'minSessionTimeout=1000',
    'maxSessionTimeout=60000',
    'maxClientCnxns=0',
    'autopurge.purgeInterval=0',
  ];
}

export interface ZooKeeper {
  /** `127.0.0.1:port` (comma-separated for an ensemble). */
  readonly connectString: string;
  /** `zk://<connectString><path>`. */
  url(zkPath: string, credentials?: string): string;
  stop(): Promise<void>;
}

/** A standalone server. */
export class ZooKeeperStandalone implements ZooKeeper {
  constructor(
    readonly server: ZkServerProcess,
    private readonly root: string,
  ) {}

  get port(): number {
    return this.server.port;
  }

  get connectString(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  url(zkPath: string, credentials?: string): string {
    return `zk://${credentials ? `${credentials}@` : ''}${this.connectString}${zkPath}`;
  }

  async stop(): Promise<void> {
    await this.server.stop();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

function requireZooKeeper(): void {
  const missing = zooKeeperMissing();
  if (missing) throw new Error(missing);
}

const START_TIMEOUT_MS = 60_000; // JVM start on a loaded 2-core machine

/** Starts one standalone ZooKeeper server on 127.0.0.1 (free port, temp data dir) and waits until it serves. */
export async function startZooKeeper(): Promise<ZooKeeperStandalone> {
  requireZooKeeper();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-zk-'));
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(dataDir);
    const server = new ZkServerProcess(root, { id: 1, clientPort: await freePort() });
    fs.writeFileSync(server.cfgFile, baseConfig(dataDir, server.port).join('\n') + '\n');
    server.spawn();
    try {
      await server.waitServing(START_TIMEOUT_MS, ['standalone']);
      return new ZooKeeperStandalone(server, root);
    } catch (e) {
      lastError = e; // most likely the port was taken between freePort() and bind: try new ports
      await server.kill();
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  throw lastError;
}

/** A 3-server (or n-server) ensemble on loopback. Servers can be stopped and restarted one by one. */
export class ZooKeeperEnsemble implements ZooKeeper {
  constructor(
    readonly servers: ZkServerProcess[],
    private readonly root: string,
  ) {}

  get connectString(): string {
    return this.servers.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  url(zkPath: string, credentials?: string): string {
    return `zk://${credentials ? `${credentials}@` : ''}${this.connectString}${zkPath}`;
  }

  /** Modes by server (`undefined` = not serving, e.g. no quorum or stopped). */
  async modes(): Promise<Array<string | undefined>> {
    return Promise.all(this.servers.map((s) => (s.running ? serverMode(s.port) : Promise.resolve(undefined))));
  }

  /** Waits until the running servers form a quorum (one leader, the rest followers). */
  async waitQuorum(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    await Promise.all(this.servers.filter((s) => s.running).map((s) => s.waitServing(timeoutMs, ['leader', 'follower'])));
  }

  async stopServer(i: number): Promise<void> {
    await this.servers[i]!.stop();
  }

  async startServer(i: number): Promise<void> {
    this.servers[i]!.spawn();
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Starts an ensemble of `n` servers (default 3) on loopback ports and waits for its quorum. */
export async function startZooKeeperEnsemble(n = 3): Promise<ZooKeeperEnsemble> {
  requireZooKeeper();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-zk-ensemble-'));
    const specs: ServerSpec[] = [];
    for (let i = 1; i <= n; i++) specs.push({ id: i, clientPort: await freePort(), quorumPort: await freePort(), electionPort: await freePort() });
    const peers = specs.map((s) => `server.${s.id}=127.0.0.1:${s.quorumPort}:${s.electionPort}`);
    const servers = specs.map((s) => {
      const dir = path.join(root, `server${s.id}`);
      const dataDir = path.join(dir, 'data');
      fs.mkdirSync(dataDir, { recursive: true });
      fs.writeFileSync(path.join(dataDir, 'myid'), `${s.id}\n`);
      const server = new ZkServerProcess(dir, s);
      fs.writeFileSync(server.cfgFile, [...baseConfig(dataDir, s.clientPort), ...peers].join('\n') + '\n');
      return server;
    });
    for (const s of servers) s.spawn();
    const ensemble = new ZooKeeperEnsemble(servers, root);
    try {
      await ensemble.waitQuorum();
      return ensemble;
    } catch (e) {
      lastError = e;
      await Promise.all(servers.map((s) => s.kill()));
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  throw lastError;
}
