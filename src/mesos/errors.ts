/** Typed errors of the wire layer. Each carries a message an operator can act on. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    message: string,
    /** Field path where the problem was found, e.g. "offers.offers[3].resources[0].scalar". */
    readonly path: string = '',
  ) {
    super(path ? `${message} (at ${path})` : message);
  }
}

export class RecordIOError extends Error {
  override readonly name = 'RecordIOError';
  constructor(
    message: string,
    /** Byte offset in the stream where the bad record starts. */
    readonly offset: number,
  ) {
    super(`${message} (stream offset ${offset})`);
  }
}
