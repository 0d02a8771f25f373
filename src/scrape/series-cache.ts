/**
 * The per-target scrape cache, as in Prometheus' scrapeCache: a sample line's series text (metric name plus
 * the label block exactly as the target wrote it) maps to an entry holding its parsed label pairs and, once the
 * scrape loop has computed them, its final labels (target labels and metric relabelling applied) and its series
 * id. A repeated scrape finds every line in the cache and never re-parses or re-hashes its labels.
 *
 * Entries are plain integers indexing parallel arrays, so a parse writes one Int32 per sample and allocates
 * nothing per known series. Each entry also remembers which entry followed it in the previous parse (`succ`)
 * and the exact text between the previous sample's line and its own value (`prefix`: the HELP/TYPE lines
 * before it, then its series text). A target writes the same families in the same order every time, so the
 * parser compares the next stretch of the body with the predicted entry's prefix in one string comparison
 * (memcmp speed, no hashing, no comment re-parsing) and only falls back to line-by-line parsing and the map
 * when something changed.
 */

/** A copy of a string that does not keep the (large) string it was cut from alive. */
export function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

export interface MetricMetadata {
  /** counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown (text `untyped`). */
  type: string;
  help: string;
  unit: string;
  /** The parse iteration that last saw a HELP, TYPE or UNIT line of this family. */
  lastIter: number;
}

/** A final label set after relabelling, flattened [name0, value0, ...] sorted by name; null when dropped. */
export type FinalLabels = readonly string[] | null;

export class SeriesCache {
  /** Entry -> the series text of its line. */
  keys: string[] = [];
  /** Entry -> the label pairs as parsed, flattened ['__name__', name, l1, v1, ...] in exposition order. */
  raw: (readonly string[])[] = [];
  /** Entry -> final labels, filled by the scrape loop (undefined until then, null when relabelling dropped it). */
  final: (FinalLabels | undefined)[] = [];
  /** Entry -> series id (index into `seriesLabels`), -1 until the loop interns the final labels. */
  sid: number[] = [];
  /** Entry -> the iteration of the last parse that saw it. */
  lastIter: number[] = [];
  /** Entry -> the entry that followed it in the last parse, -1 if none. */
  succ: number[] = [];
  /** Entry -> the body text from the end of the previous sample line through this entry's series text. */
  prefix: string[] = [];
  /** Entry -> the number of lines in its prefix before its own line. */
  prefixLines: number[] = [];
  /** Entry -> the metadata families its prefix's HELP/TYPE/UNIT lines describe (null when none). */
  prefixMeta: (MetricMetadata[] | null)[] = [];
  /** Entry -> shard and series ref, for the coordinator's fast path (-1 when unknown). */
  shard: number[] = [];
  ref: number[] = [];
  readonly map = new Map<string, number>();
  /** The first entry of the last parse. */
  first = -1;
  /** Incremented at the start of every parse. */
  iter = 0;

  /** Series ids: one per distinct final label set, shared by entries whose texts differ but relabel alike. */
  readonly seriesIndex = new Map<string, number>();
  seriesLabels: (readonly string[])[] = [];
  seriesLastIter: number[] = [];

  /** Metric metadata of the target by family name, for /api/v1/metadata and /api/v1/targets/metadata. */
  readonly metadata = new Map<string, MetricMetadata>();

  get size(): number {
    return this.keys.length;
  }

  add(key: string, raw: readonly string[]): number {
    const e = this.keys.length;
    this.keys.push(key);
    this.prefix.push(key);
    this.prefixLines.push(0);
    this.prefixMeta.push(null);
    this.raw.push(raw);
    this.final.push(undefined);
    this.sid.push(-1);
    this.lastIter.push(this.iter);
    this.succ.push(-1);
    this.shard.push(-1);
    this.ref.push(-1);
    this.map.set(key, e);
    return e;
  }

  /** Interns a final label set (flattened, sorted) and returns its series id. */
  internSeries(final: readonly string[]): number {
    let key = '';
    for (let i = 0; i < final.length; i++) key += final[i] + '\xff';
    let id = this.seriesIndex.get(key);
    if (id === undefined) {
      id = this.seriesLabels.length;
      this.seriesIndex.set(key, id);
      this.seriesLabels.push(final);
      this.seriesLastIter.push(-1);
    }
    return id;
  }

  /**
   * Drops entries, series and metadata the last successful parse did not see, once they are a sizeable part
   * of the cache (series churn or several spellings of one series). Entry numbers change: call it only when
   * the parse output of this iteration is no longer needed. Returns the old -> new series id map when
   * series ids changed (-1 for dropped ones), null otherwise.
   */
  compact(): Int32Array | null {
    const iter = this.iter;
    let seriesRemap: Int32Array | null = null;
    let unseen = 0;
    for (let e = 0; e < this.keys.length; e++) if (this.lastIter[e] !== iter) unseen++;
    if (unseen > 64 && unseen * 4 > this.keys.length) {
      const remap = new Int32Array(this.keys.length).fill(-1);
      const old = {
        keys: this.keys,
        raw: this.raw,
        final: this.final,
        lastIter: this.lastIter,
        succ: this.succ,
        shard: this.shard,
        ref: this.ref,
        prefix: this.prefix,
        prefixLines: this.prefixLines,
        prefixMeta: this.prefixMeta,
      };
      this.prefix = [];
      this.prefixLines = [];
      this.prefixMeta = [];
      this.keys = [];
      this.raw = [];
      this.final = [];
      this.sid = [];
      this.lastIter = [];
      this.succ = [];
      this.shard = [];
      this.ref = [];
      this.map.clear();
      seriesRemap = new Int32Array(this.seriesLabels.length).fill(-1);
      const oldSid = this.sid;
      const oldSeriesLastIter = this.seriesLastIter;
      this.seriesIndex.clear();
      this.seriesLabels = [];
      this.seriesLastIter = [];
      for (let e = 0; e < old.keys.length; e++) {
        if (old.lastIter[e] !== iter) continue;
        const n = this.add(old.keys[e], old.raw[e]);
        remap[e] = n;
        this.final[n] = old.final[e];
        this.lastIter[n] = iter;
        this.shard[n] = old.shard[e];
        this.ref[n] = old.ref[e];
        this.prefix[n] = old.prefix[e];
        this.prefixLines[n] = old.prefixLines[e];
        this.prefixMeta[n] = old.prefixMeta[e];
        const f = old.final[e];
        if (f) {
          const id = this.internSeries(f);
          this.sid[n] = id;
          if (oldSid[e] >= 0) {
            seriesRemap[oldSid[e]] = id;
            this.seriesLastIter[id] = oldSeriesLastIter[oldSid[e]];
          }
        }
      }
      for (let e = 0; e < old.keys.length; e++) {
        const n = remap[e];
        if (n >= 0) this.succ[n] = old.succ[e] >= 0 ? remap[old.succ[e]] : -1;
      }
      this.first = this.first >= 0 ? remap[this.first] : -1;
    }
    for (const [name, m] of this.metadata) if (m.lastIter !== iter) this.metadata.delete(name);
    return seriesRemap;
  }
}
