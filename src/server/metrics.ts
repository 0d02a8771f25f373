// Self-monitoring: prom-client's process and Node.js metrics, plus the storage's figures read from the
// shards' shared counters at scrape time, named like Prometheus' where they mean the same.
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { CounterField, ShardFigures } from '../shared/counters.js';

export interface FigureSource {
  figures(): ShardFigures[];
}

interface Family {
  name: string;
  help: string;
  field: CounterField;
  kind: 'counter' | 'gauge';
}

/** Totals over all shards, under Prometheus' names. */
const TOTALS: readonly Family[] = [
  {
    name: 'prometheus_tsdb_head_series',
    help: 'Total number of series in the head block.',
    field: 'series',
    kind: 'gauge',
  },
  {
    name: 'prometheus_tsdb_head_chunks',
    help: 'Total number of chunks in the head block.',
    field: 'chunks',
    kind: 'gauge',
  },
  {
    name: 'prometheus_tsdb_head_samples_appended_total',
    help: 'Total number of appended samples.',
    field: 'samplesAppended',
    kind: 'counter',
  },
  {
    name: 'prometheus_tsdb_out_of_order_samples_total',
    help: 'Total number of out of order samples ingestion failed attempts.',
    field: 'outOfOrder',
    kind: 'counter',
  },
  {
    name: 'prometheus_tsdb_out_of_bound_samples_total',
    help: 'Total number of out of bound samples ingestion failed attempts.',
    field: 'outOfBounds',
    kind: 'counter',
  },
];

/** Per shard, ours. */
const PER_SHARD: readonly Family[] = [
  { name: 'promshard_shard_series', help: 'Series in the shard head.', field: 'series', kind: 'gauge' },
  {
    name: 'promshard_shard_samples_appended_total',
    help: 'Samples appended by the shard.',
    field: 'samplesAppended',
    kind: 'counter',
  },
  {
    name: 'promshard_shard_duplicates_ignored_total',
    help: 'Identical resent samples ignored.',
    field: 'duplicatesIgnored',
    kind: 'counter',
  },
  {
    name: 'promshard_shard_out_of_order_total',
    help: 'Samples refused as out of order.',
    field: 'outOfOrder',
    kind: 'counter',
  },
  {
    name: 'promshard_shard_duplicate_timestamp_total',
    help: 'Samples refused with a duplicate timestamp.',
    field: 'duplicateTimestamp',
    kind: 'counter',
  },
  {
    name: 'promshard_shard_out_of_bounds_total',
    help: 'Samples refused as out of bounds.',
    field: 'outOfBounds',
    kind: 'counter',
  },
  {
    name: 'promshard_shard_too_far_in_future_total',
    help: 'Samples refused as too far in the future.',
    field: 'tooFarInFuture',
    kind: 'counter',
  },
  {
    name: 'promshard_shard_wal_bytes_total',
    help: 'Bytes written to the shard WAL.',
    field: 'walBytes',
    kind: 'counter',
  },
  {
    name: 'promshard_shard_queued_batches',
    help: 'Batches sent to the shard and not yet answered.',
    field: 'queuedBatches',
    kind: 'gauge',
  },
  {
    name: 'promshard_shard_batches_total',
    help: 'Append batches handled by the shard.',
    field: 'batches',
    kind: 'counter',
  },
  { name: 'promshard_shard_head_chunks', help: 'Chunks in the shard head.', field: 'chunks', kind: 'gauge' },
  {
    name: 'promshard_shard_head_chunk_bytes',
    help: 'Bytes of head chunks in the shard.',
    field: 'headChunkBytes',
    kind: 'gauge',
  },
  {
    name: 'promshard_shard_append_latency_seconds_sum',
    help: 'Total time the shard spent appending batches.',
    field: 'appendLatencySumMicros',
    kind: 'counter',
  },
];

export function createRegistry(source?: () => FigureSource | undefined): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (source === undefined) return registry;

  const read = (): ShardFigures[] => source()?.figures() ?? [];
  for (const f of TOTALS) {
    const collect = function (this: Counter | Gauge) {
      let sum = 0;
      for (const s of read()) sum += s[f.field];
      if (this instanceof Counter) {
        this.reset();
        this.inc(sum);
      } else (this as Gauge).set(sum);
    };
    if (f.kind === 'counter') new Counter({ name: f.name, help: f.help, registers: [registry], collect });
    else new Gauge({ name: f.name, help: f.help, registers: [registry], collect });
  }
  for (const f of PER_SHARD) {
    const scale = f.field === 'appendLatencySumMicros' ? 1e-6 : 1;
    const collect = function (this: Counter<'shard'> | Gauge<'shard'>) {
      const figs = read();
      this.reset();
      figs.forEach((s, i) => {
        const v = s[f.field] * scale;
        if (this instanceof Counter) this.inc({ shard: String(i) }, v);
        else (this as Gauge<'shard'>).set({ shard: String(i) }, v);
      });
    };
    if (f.kind === 'counter') {
      new Counter({ name: f.name, help: f.help, labelNames: ['shard'], registers: [registry], collect });
    } else new Gauge({ name: f.name, help: f.help, labelNames: ['shard'], registers: [registry], collect });
  }
  return registry;
}
