// The bytes of an exposition body for the cold parse (see bodyBytes).

/** The bytes of synchronous parses (one at a time), reused; see bodyBytes. */
let syncBuf = Buffer.allocUnsafeSlow(0);
let syncBytes = new Uint8Array(0);
const SYNC_BUF_MAX = 1 << 21;

/**
 * The body as bytes, one per character, when it is ASCII (its UTF-8 length is its length; the check and the
 * copy run at memory speed, ~1 us for node_exporter's 57 kB): the cold path scans those instead of calling
 * charCodeAt, which V8 dispatches on the string's representation at every character. Null for other bodies,
 * which take the string path. A synchronous parse reuses one buffer; an asynchronous one (slices of a large
 * body, possibly interleaved with other parses) gets its own.
 */
export function bodyBytes(body: string, async: boolean): Uint8Array | null {
  const n = body.length;
  if (n === 0 || Buffer.byteLength(body, 'utf8') !== n) return null;
  if (async || n > SYNC_BUF_MAX) {
    const buf = Buffer.allocUnsafeSlow(n);
    buf.write(body, 0, n, 'latin1');
    return new Uint8Array(buf.buffer, buf.byteOffset, n);
  }
  if (syncBuf.length < n) {
    let cap = 1 << 12;
    while (cap < n) cap *= 2;
    syncBuf = Buffer.allocUnsafeSlow(cap);
    syncBytes = new Uint8Array(syncBuf.buffer, syncBuf.byteOffset, cap);
  }
  syncBuf.write(body, 0, n, 'latin1');
  return syncBytes;
}
