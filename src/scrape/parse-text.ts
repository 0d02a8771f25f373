/** Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4`). */
import { type ParsedSamples, type ParseError, parseExposition } from './exposition.js';
import type { SeriesCache } from './series-cache.js';

/**
 * Parses a text 0.0.4 body into `out`, through the target's scrape cache. Timestamps are integer
 * milliseconds; `# HELP`/`# TYPE` fill the cache's metadata (`untyped` is kept as `unknown`, as Prometheus
 * does); other comments and blank lines are ignored. Returns null or the error of the first bad line.
 */
export function parseText(body: string, out: ParsedSamples, cache: SeriesCache): ParseError | null {
  return parseExposition(body, false, out, cache);
}
