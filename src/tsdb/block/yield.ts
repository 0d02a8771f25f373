// Long block work (writing, merging, head cuts) runs in a shard worker next to appends and queries: it
// gives the event loop a turn whenever it has held it for a few milliseconds. With a background share
// below 1 the turn is also a pause, so that block work takes at most that share of the thread (and of a
// CPU on a loaded machine): ingestion keeps its rate while a cut or a compaction runs, which then takes
// longer (it is never urgent: a head cut is due every 2h).
const SLICE_MS = 10;
/** Longest single pause, so a long synchronous step does not stall the work for seconds. */
const MAX_PAUSE_MS = 500;
let last = performance.now();
let share = 1;
/** Counts foreground requests (appends, queries) the thread served; see noteForeground. */
let foreground = 0;
let foregroundAtLastTurn = 0;
setBackgroundShare(Number(process.env.PROMSHARD_BLOCK_WORK_SHARE ?? 1));

/** Sets the fraction of the thread's time block work may take (1: only give turns, no pauses). */
export function setBackgroundShare(fraction: number): void {
  share = Number.isFinite(fraction) ? Math.min(1, Math.max(0.05, fraction)) : 1;
}

/**
 * Called by the thread for every foreground request it serves. Block work pauses only while there are
 * some: on an idle shard a cut or a compaction runs at full speed, under load it keeps to its share.
 */
export function noteForeground(): void {
  foreground++;
}

/** Yields to the event loop if the current slice of work has run for more than 10 ms. */
export function maybeYield(): Promise<void> | undefined {
  const now = performance.now();
  const worked = now - last;
  if (worked < SLICE_MS) return undefined;
  const contended = foreground !== foregroundAtLastTurn;
  foregroundAtLastTurn = foreground;
  const pause = share >= 1 || !contended ? 0 : Math.min(MAX_PAUSE_MS, (worked * (1 - share)) / share);
  return new Promise((resolve) => {
    const go = () => {
      last = performance.now();
      resolve();
    };
    if (pause > 0) setTimeout(go, pause);
    else setImmediate(go);
  });
}
