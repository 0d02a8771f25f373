import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BlockCorruptionError } from './errors.js';

export interface BlockDesc {
  ulid: string;
  minTime: number;
  maxTime: number;
}

/** A block's meta.json (Prometheus' BlockMeta, version 1). maxTime is exclusive. */
export interface BlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats: { numSamples: number; numSeries: number; numChunks: number; numTombstones?: number };
  compaction: {
    level: number;
    sources: string[];
    parents?: BlockDesc[];
    deletable?: boolean;
    failed?: boolean;
  };
  version: 1;
  /** Our own section (Go's JSON decoder ignores unknown keys, so Prometheus reads the block as usual). */
  promshard?: { shard?: number; [k: string]: unknown };
}

export const META_FILENAME = 'meta.json';
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function isUlid(s: string): boolean {
  return ULID_RE.test(s);
}

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x);
}

/** Reads and validates `<dir>/meta.json`; any problem is a BlockCorruptionError naming the block. */
export function readMeta(dir: string): BlockMeta {
  const name = basename(dir);
  let text: string;
  try {
    text = readFileSync(join(dir, META_FILENAME), 'utf8');
  } catch (err) {
    throw new BlockCorruptionError(name, META_FILENAME, `cannot read: ${(err as Error).message}`);
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new BlockCorruptionError(name, META_FILENAME, `not valid JSON: ${(err as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new BlockCorruptionError(name, META_FILENAME, what);
  };
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return bad('not a JSON object');
  const o = m as Record<string, unknown>;
  if (o.version !== 1) bad(`unsupported version ${JSON.stringify(o.version)} (want 1)`);
  if (typeof o.ulid !== 'string' || !isUlid(o.ulid)) bad(`bad ulid ${JSON.stringify(o.ulid)}`);
  if (!isInt(o.minTime) || !isInt(o.maxTime)) bad('minTime/maxTime must be integers');
  if ((o.minTime as number) > (o.maxTime as number)) bad(`minTime ${o.minTime} > maxTime ${o.maxTime}`);
  const stats = (o.stats ?? {}) as Record<string, unknown>;
  if (typeof stats !== 'object') bad('stats is not an object');
  for (const k of ['numSamples', 'numSeries', 'numChunks', 'numTombstones']) {
    if (stats[k] !== undefined && !isInt(stats[k])) bad(`stats.${k} is not an integer`);
  }
  const c = o.compaction as Record<string, unknown> | undefined;
  if (typeof c !== 'object' || c === null) bad('compaction section missing');
  const comp = c as Record<string, unknown>;
  if (!isInt(comp.level) || (comp.level as number) < 1) bad('compaction.level must be an integer >= 1');
  const sources = comp.sources ?? [];
  if (!Array.isArray(sources) || !sources.every((s) => typeof s === 'string')) bad('compaction.sources');
  const parents = comp.parents;
  if (parents !== undefined && parents !== null) {
    if (!Array.isArray(parents)) bad('compaction.parents is not a list');
    for (const p of parents as unknown[]) {
      const pp = p as Record<string, unknown>;
      if (typeof pp !== 'object' || typeof pp.ulid !== 'string' || !isInt(pp.minTime) || !isInt(pp.maxTime)) {
        bad('compaction.parents entry malformed');
      }
    }
  }
  const meta: BlockMeta = {
    ulid: o.ulid as string,
    minTime: o.minTime as number,
    maxTime: o.maxTime as number,
    stats: {
      numSamples: (stats.numSamples as number) ?? 0,
      numSeries: (stats.numSeries as number) ?? 0,
      numChunks: (stats.numChunks as number) ?? 0,
    },
    compaction: { level: comp.level as number, sources: sources as string[] },
    version: 1,
  };
  if (isInt(stats.numTombstones)) meta.stats.numTombstones = stats.numTombstones;
  if (Array.isArray(parents)) meta.compaction.parents = parents as BlockDesc[];
  if (comp.deletable === true) meta.compaction.deletable = true;
  if (comp.failed === true) meta.compaction.failed = true;
  if (typeof o.promshard === 'object' && o.promshard !== null)
    meta.promshard = o.promshard as BlockMeta['promshard'];
  return meta;
}

/** meta.json text as Prometheus writes it (tab-indented). */
export function encodeMeta(meta: BlockMeta): string {
  const stats: Record<string, number> = {
    numSamples: meta.stats.numSamples,
    numSeries: meta.stats.numSeries,
    numChunks: meta.stats.numChunks,
  };
  if (meta.stats.numTombstones) stats.numTombstones = meta.stats.numTombstones;
  const compaction: Record<string, unknown> = {
    level: meta.compaction.level,
    sources: meta.compaction.sources,
  };
  if (meta.compaction.parents && meta.compaction.parents.length > 0)
    compaction.parents = meta.compaction.parents;
  if (meta.compaction.deletable) compaction.deletable = true;
  if (meta.compaction.failed) compaction.failed = true;
  const out: Record<string, unknown> = {
    ulid: meta.ulid,
    minTime: meta.minTime,
    maxTime: meta.maxTime,
    stats,
    compaction,
    version: 1,
  };
  if (meta.promshard) out.promshard = meta.promshard;
  return JSON.stringify(out, null, '\t');
}
