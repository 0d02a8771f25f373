import { afterEach, describe, expect, it } from 'vitest';
import { maybeYield, noteForeground, setBackgroundShare } from '../src/tsdb/block/yield.js';

/** Busy-waits `ms` (a slice of block work). */
function work(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

/** Ends the current slice (a turn is due after 10 ms of work), so that the next one starts now. */
async function freshSlice(): Promise<void> {
  work(11);
  await maybeYield();
}

/** How long the turn that maybeYield gives after a slice of work lasts, in ms (call freshSlice first). */
async function turnAfter(sliceMs: number): Promise<number> {
  work(sliceMs);
  const p = maybeYield();
  expect(p).toBeDefined();
  const t0 = performance.now();
  await p;
  return performance.now() - t0;
}

describe('block work share', () => {
  afterEach(() => setBackgroundShare(1));

  it('pauses block work to its share only while foreground requests arrive', async () => {
    setBackgroundShare(0.1);
    // Idle thread: nothing to make room for, the turn is immediate.
    await freshSlice();
    const idle = await turnAfter(15);
    expect(idle).toBeLessThan(80);
    // Requests arrived since the last turn: the work pauses about 9x its slice (share 0.1).
    noteForeground();
    const busy = await turnAfter(15);
    expect(busy).toBeGreaterThanOrEqual(100);
    // And without new requests it runs at full speed again.
    const after = await turnAfter(15);
    expect(after).toBeLessThan(80);
  });

  it('never pauses at a share of 1', async () => {
    setBackgroundShare(1);
    await freshSlice();
    noteForeground();
    expect(await turnAfter(15)).toBeLessThan(80);
  });
});
