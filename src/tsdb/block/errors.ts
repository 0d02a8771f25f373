/**
 * A block that cannot be read as it is on disk: a bad checksum, an offset or a length out of range, a
 * malformed meta.json. It names the block (its ULID, or its directory when the ULID is unknown) and the
 * file, so a caller can report the block and leave it out while serving the others.
 */
export class BlockCorruptionError extends Error {
  override readonly name = 'BlockCorruptionError';
  constructor(
    readonly block: string,
    readonly file: string,
    readonly detail: string,
  ) {
    super(`block ${block}: ${file}: ${detail}`);
  }
}

/** Thrown by the bounded decoders; the readers wrap it into a BlockCorruptionError naming the block. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}
