/** OpenMetrics 1.0 text format (`application/openmetrics-text; version=1.0.0`). */
import { type ParsedSamples, type ParseError, parseExposition } from './exposition.js';
import type { SeriesCache } from './series-cache.js';

/**
 * Parses an OpenMetrics 1.0 body into `out`, through the target's scrape cache. Timestamps are float seconds
 * (truncated to milliseconds as Prometheus does); `_created` samples are ordinary series, as Prometheus 2.42
 * stores them; exemplars are checked and skipped; `# UNIT` is kept in the metadata; the body must end with
 * `# EOF`. Returns null or the error of the first bad line.
 */
export function parseOpenMetrics(body: string, out: ParsedSamples, cache: SeriesCache): ParseError | null {
  return parseExposition(body, true, out, cache);
}

/** True when a response's Content-Type selects the OpenMetrics parser (anything else is text 0.0.4). */
export function isOpenMetricsContentType(contentType: string | undefined | null): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  const media = (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase();
  return media === 'application/openmetrics-text';
}
