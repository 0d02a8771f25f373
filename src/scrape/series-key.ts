/**
 * The label pairs of a scrape cache key (a sample line's series text exactly as the target wrote it). Used
 * only when an entry's labels were let go because the storage resolves its ref (series-cache BY_REF) and an
 * appendable without refs (a remote_write tee added by a reload) needs them again: the key was parsed once
 * already, so this is a re-parse of known-good text.
 */
import { parseLabelBlock, scanMetricName } from './lexer.js';
import type { SeriesCache } from './series-cache.js';

const LBRACE = 0x7b;

/** ['__name__', name, l1, v1, ...] in exposition order, or an error message. */
export function labelsOfKey(key: string, cache: SeriesCache): string[] | string {
  const len = key.length;
  const ne = scanMetricName(key, 0, len);
  if (ne === 0) return `no metric name in the series ${JSON.stringify(key.slice(0, 50))}`;
  const raw: string[] = ['__name__', cache.intern(key.substring(0, ne))];
  let lb = ne;
  // The text format allows blanks between the name and its label block.
  while (lb < len && (key.charCodeAt(lb) === 0x20 || key.charCodeAt(lb) === 0x09)) lb++;
  if (lb === len) return raw;
  if (key.charCodeAt(lb) !== LBRACE) return `unexpected text after the metric name in ${JSON.stringify(key)}`;
  const err = parseLabelBlock(key, lb, len, raw, true, (s) => s, cache);
  return err ?? raw;
}
