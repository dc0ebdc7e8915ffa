/**
 * Registers a Mesos master candidate in ZooKeeper the way a Mesos master does (the simulator's
 * masters use it with `--zk`): its own session, the persistent group path created if missing,
 * and an ephemeral sequential `json.info_<seq>` node holding its MasterInfo JSON. The lowest
 * sequence leads. withdraw() closes the session, so ZooKeeper deletes the node and announces the
 * next leader to every watcher — what happens when a real master process stops.
 *
 * With credentials in the URL, nodes get Mesos's ACL for authenticated groups
 * (EVERYONE_READ_CREATOR_ALL: the creator may do anything, everyone may read), as
 * apache/mesos src/zookeeper/group.cpp does; without, the open ACL.
 */
import type { Logger } from '../util/logger.js';
import { MASTER_INFO_JSON_PREFIX, masterInfoJson } from './master-info.js';
import { OPEN_ACL, ZkSession, type ZkAcl } from './session.js';
import type { ZkUrl } from './url.js';

export const EVERYONE_READ_CREATOR_ALL: readonly ZkAcl[] = [
  { scheme: 'auth', id: '', perms: ['all'] },
  { scheme: 'world', id: 'anyone', perms: ['read'] },
];

export class ZkMasterRegistration {
  private constructor(
    readonly session: ZkSession,
    /** Full path of the znode, e.g. /mesos/json.info_0000000003. */
    readonly node: string,
  ) {}

  get sequence(): number {
    return Number(this.node.slice(this.node.lastIndexOf('_') + 1));
  }

  /** Opens a session and creates the `json.info_` node for `masterInfo`. */
  static async register(url: ZkUrl, masterInfo: object, opts: { logger?: Logger; sessionTimeoutMs?: number; connectTimeoutMs?: number } = {}): Promise<ZkMasterRegistration> {
    const session = await ZkSession.connect(url, opts);
    try {
      const acl = url.digestCredentials !== undefined ? EVERYONE_READ_CREATOR_ALL : OPEN_ACL;
      await session.mkdirp(url.path, acl);
      const node = await session.create(`${url.path}/${MASTER_INFO_JSON_PREFIX}`, masterInfoJson(masterInfo), { mode: 'ephemeral_sequential', acl });
      opts.logger?.info('zk_master_registered', { event: 'zk_master_registered', zk: url.redacted, node });
      return new ZkMasterRegistration(session, node);
    } catch (e) {
      await session.close();
      throw e;
    }
  }

  /** Ends the session: ZooKeeper removes the node at once. */
  async withdraw(): Promise<void> {
    await this.session.close();
  }
}

/**
 * The registrations of several master processes (one ZooKeeper session each), by index: the
 * simulator's masters with `--zk`.
 */
export class ZkMasterGroup {
  private readonly regs = new Map<number, ZkMasterRegistration>();

  constructor(
    readonly url: ZkUrl,
    private readonly opts: { logger?: Logger; sessionTimeoutMs?: number; connectTimeoutMs?: number } = {},
  ) {}

  /** Registers master `index` (withdrawing its previous node, if any). */
  async register(index: number, masterInfo: object): Promise<ZkMasterRegistration> {
    await this.withdraw(index);
    const reg = await ZkMasterRegistration.register(this.url, masterInfo, this.opts);
    this.regs.set(index, reg);
    return reg;
  }

  /** Master `index` stops: its session ends and ZooKeeper deletes its node. */
  async withdraw(index: number): Promise<void> {
    const reg = this.regs.get(index);
    this.regs.delete(index);
    await reg?.withdraw();
  }

  registration(index: number): ZkMasterRegistration | undefined {
    return this.regs.get(index);
  }

  /**
   * Makes `index` the lowest sequence (the leader as ZooKeeper sees it): every other registered
   * master ahead of it re-registers (a standby restart), landing behind it.
   */
  async makeLowest(index: number, infoOf: (i: number) => object): Promise<void> {
    const mine = this.regs.get(index);
    if (!mine) throw new Error(`master ${index} is not registered in ZooKeeper`);
    const ahead = [...this.regs.entries()].filter(([i, r]) => i !== index && r.sequence < mine.sequence).map(([i]) => i);
    for (const i of ahead) await this.register(i, infoOf(i));
  }

  async close(): Promise<void> {
    await Promise.all([...this.regs.keys()].map((i) => this.withdraw(i)));
  }
}
