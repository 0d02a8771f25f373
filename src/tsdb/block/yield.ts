// Long block work (writing, merging) runs in a shard worker next to appends and queries: it gives the
// event loop a turn whenever it has held it for a few milliseconds.
const SLICE_MS = 10;
let last = performance.now();

/** Yields to the event loop if the current slice of work has run for more than 10 ms. */
export function maybeYield(): Promise<void> | undefined {
  const now = performance.now();
  if (now - last < SLICE_MS) return undefined;
  return new Promise((resolve) =>
    setImmediate(() => {
      last = performance.now();
      resolve();
    }),
  );
}
