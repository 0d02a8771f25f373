// The select reply's label sets (shared/protocol.ts FlatLabels): a symbol table plus indices, so that
// label sets sharing strings clone each distinct string once between a shard and the main thread.
import { describe, expect, it } from 'vitest';
import type { Labels } from '../src/shared/labels.js';
import { flattenLabels, unflattenLabels } from '../src/shared/protocol.js';

describe('flattenLabels / unflattenLabels', () => {
  it('round-trips label sets, empty ones included, and stores each distinct string once', () => {
    const sets: Labels[] = [];
    for (let k = 0; k < 1000; k++)
      sets.push([
        { name: '__name__', value: `m${k % 3}` },
        { name: 'instance', value: `host-${k}` },
        { name: 'job', value: 'node' },
      ]);
    sets.splice(500, 0, []);
    const f = flattenLabels(sets);
    // __name__, instance, job, node, 3 names and 1000 instances.
    expect(f.symbols.length).toBe(3 + 1 + 3 + 1000);
    expect(f.labelStart.length).toBe(sets.length + 1);
    expect(f.refs.length).toBe(6 * 1000);
    for (let k = 0; k < sets.length; k++) expect(unflattenLabels(f, k)).toEqual(sets[k]);
  });

  it('survives a structured clone with the indices transferred', () => {
    const sets: Labels[] = [
      [{ name: 'a', value: 'x' }],
      [
        { name: 'a', value: '' },
        { name: 'b', value: 'x' },
      ],
    ];
    const f = flattenLabels(sets);
    const copy = structuredClone(f, {
      transfer: [f.refs.buffer as ArrayBuffer, f.labelStart.buffer as ArrayBuffer],
    });
    expect(f.refs.byteLength).toBe(0);
    expect([0, 1].map((k) => unflattenLabels(copy, k))).toEqual(sets);
  });
});
