/**
 * Typed errors of the ZooKeeper layer. Messages never carry credentials: URLs are shown through
 * redactUrl, digest credentials never at all.
 */

/** Base class of every error src/zk rejects with. */
export class ZkError extends Error {
  override readonly name: string = 'ZkError';
}

/** A `zk://` (or `file://`) URL that cannot be used; the message says what is wrong. */
export class ZkUrlError extends ZkError {
  override readonly name = 'ZkUrlError';
}

/** No server of the ensemble answered within the connect timeout. */
export class ZkUnreachableError extends ZkError {
  override readonly name = 'ZkUnreachableError';
}

/** No leading master is known (the message says why: unreachable, nothing registered, NO_AUTH, ...). */
export class ZkNoLeaderError extends ZkError {
  override readonly name = 'ZkNoLeaderError';
}

/** The session ended (expired at the server, or lost for longer than the session timeout). */
export class ZkSessionExpiredError extends ZkError {
  override readonly name = 'ZkSessionExpiredError';
}

/** The session was closed by us; calls after close() reject with this. */
export class ZkClosedError extends ZkError {
  override readonly name = 'ZkClosedError';
}

/**
 * A ZooKeeper operation failed with a server/client error code, e.g. NO_NODE, NODE_EXISTS,
 * BAD_VERSION, NO_AUTH, CONNECTION_LOSS. For multi(), `opIndex` is the first operation that failed.
 */
export class ZkOperationError extends ZkError {
  override readonly name = 'ZkOperationError';
  constructor(
    /** Library/ZooKeeper code name, e.g. 'NO_NODE'. */
    readonly code: string,
    readonly op: string,
    readonly path: string,
    readonly opIndex?: number,
  ) {
    super(`ZooKeeper ${op} ${path} failed: ${code}${opIndex !== undefined ? ` (operation #${opIndex})` : ''}`);
  }
}
