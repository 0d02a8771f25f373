/**
 * /api/v1/status/tsdb from the shards' parts: head figures summed, label cardinality merged from every
 * shard's postings (a label pair's series count is the sum over shards; a label name's value count is
 * the number of distinct values over all shards) and ranked as Prometheus 2.42's index stats rank them
 * (top 10 by count). Each shard's own figures, blocks and damaged blocks follow in `shardStatus`.
 */
import type { ShardTsdbStatus } from '../tsdb/shard-db.js';

export interface NameCount {
  name: string;
  value: number;
}

export interface HeadStats {
  numSeries: number;
  numLabelPairs: number;
  chunkCount: number;
  minTime: number;
  maxTime: number;
}

export interface CardinalityStats {
  seriesCountByMetricName: NameCount[];
  labelValueCountByLabelName: NameCount[];
  memoryInBytesByLabelName: NameCount[];
  seriesCountByLabelValuePair: NameCount[];
}

export interface ShardStatusSection extends CardinalityStats {
  shard: number;
  headStats: HeadStats;
  /** Head series with deleted intervals not yet cut away. */
  headSeriesWithTombstones: number;
  blocks: ShardTsdbStatus['blocks'];
  damagedBlocks: ShardTsdbStatus['damagedBlocks'];
}

export interface EngineTsdbStatus extends CardinalityStats {
  headStats: HeadStats;
  shardStatus: ShardStatusSection[];
}

const TOP = 10;

function top(m: Map<string, number>): NameCount[] {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, TOP)
    .map(([name, value]) => ({ name, value }));
}

/** Cardinality statistics over label pairs given as name -> value -> series count. */
function cardinality(byName: Map<string, Map<string, number>>): CardinalityStats & { pairs: number } {
  const metrics = new Map<string, number>();
  const valueCount = new Map<string, number>();
  const bytes = new Map<string, number>();
  const pairCount = new Map<string, number>();
  let pairs = 0;
  for (const [name, values] of byName) {
    valueCount.set(name, values.size);
    let size = 0;
    for (const [value, n] of values) {
      if (name === '__name__') metrics.set(value, n);
      pairCount.set(`${name}=${value}`, n);
      // Prometheus: len(value) in bytes times the series holding it.
      size += Buffer.byteLength(value) * n;
      pairs++;
    }
    bytes.set(name, size);
  }
  return {
    pairs,
    seriesCountByMetricName: top(metrics),
    labelValueCountByLabelName: top(valueCount),
    memoryInBytesByLabelName: top(bytes),
    seriesCountByLabelValuePair: top(pairCount),
  };
}

function addPairs(into: Map<string, Map<string, number>>, s: ShardTsdbStatus): void {
  for (let i = 0, k = 0; i + 1 < s.pairs.length; i += 2, k++) {
    let values = into.get(s.pairs[i]);
    if (values === undefined) {
      values = new Map();
      into.set(s.pairs[i], values);
    }
    values.set(s.pairs[i + 1], (values.get(s.pairs[i + 1]) ?? 0) + s.pairCounts[k]);
  }
}

/** An empty head reports 0 for its times (Prometheus prints MaxInt64/MinInt64, which JSON cannot carry). */
const time = (t: number) => (Number.isNaN(t) ? 0 : t);

export function mergeTsdbStatus(shards: readonly ShardTsdbStatus[]): EngineTsdbStatus {
  const all = new Map<string, Map<string, number>>();
  const sections: ShardStatusSection[] = [];
  let numSeries = 0;
  let chunkCount = 0;
  let minTime = Number.POSITIVE_INFINITY;
  let maxTime = Number.NEGATIVE_INFINITY;
  for (const s of shards) {
    addPairs(all, s);
    const own = new Map<string, Map<string, number>>();
    addPairs(own, s);
    const c = cardinality(own);
    numSeries += s.headSeries;
    chunkCount += s.headChunks;
    if (!Number.isNaN(s.headMinTime)) minTime = Math.min(minTime, s.headMinTime);
    if (!Number.isNaN(s.headMaxTime)) maxTime = Math.max(maxTime, s.headMaxTime);
    sections.push({
      shard: s.shard,
      headStats: {
        numSeries: s.headSeries,
        numLabelPairs: c.pairs,
        chunkCount: s.headChunks,
        minTime: time(s.headMinTime),
        maxTime: time(s.headMaxTime),
      },
      headSeriesWithTombstones: s.headTombstones,
      seriesCountByMetricName: c.seriesCountByMetricName,
      labelValueCountByLabelName: c.labelValueCountByLabelName,
      memoryInBytesByLabelName: c.memoryInBytesByLabelName,
      seriesCountByLabelValuePair: c.seriesCountByLabelValuePair,
      blocks: s.blocks,
      damagedBlocks: s.damagedBlocks,
    });
  }
  const c = cardinality(all);
  return {
    headStats: {
      numSeries,
      numLabelPairs: c.pairs,
      chunkCount,
      minTime: Number.isFinite(minTime) ? minTime : 0,
      maxTime: Number.isFinite(maxTime) ? maxTime : 0,
    },
    seriesCountByMetricName: c.seriesCountByMetricName,
    labelValueCountByLabelName: c.labelValueCountByLabelName,
    memoryInBytesByLabelName: c.memoryInBytesByLabelName,
    seriesCountByLabelValuePair: c.seriesCountByLabelValuePair,
    shardStatus: sections,
  };
}
