/**
 * Scrape targets as Prometheus 2.42 builds them (scrape/target.go populateLabels and Target.URL): discovered
 * labels plus the job's defaults (job, __scheme__, __metrics_path__, __scrape_interval__, __scrape_timeout__,
 * __param_*), target relabelling, the default port for the scheme, __meta_* dropped, instance defaulting to
 * __address__; the URL from __scheme__, __address__, __metrics_path__ and the params.
 */

import { formatDuration, parseDuration } from '../config/duration.js';
import { type CompiledRelabel, compileRelabelConfigs, relabel, sortedPairs } from '../config/relabel.js';
import type { ScrapeConfig, TargetGroup } from '../config/types.js';

export interface Target {
  /** Final labels, sorted flattened pairs, including the internal `__*` ones that drive the scrape. */
  readonly all: readonly string[];
  /** The labels put on every sample: `all` without names starting with `__`, sorted flattened pairs. */
  readonly labels: readonly string[];
  /** The labels before relabelling (for /api/v1/targets discoveredLabels). */
  readonly discovered: Readonly<Record<string, string>>;
  readonly url: string;
  readonly interval: number;
  readonly timeout: number;
  /** Identity of the target within its pool: labels and URL. */
  readonly key: string;
  /** A stable 64-bit hash of the key (as a bigint) that spreads targets over the interval. */
  readonly hash: bigint;
}

export interface DroppedTarget {
  readonly discovered: Readonly<Record<string, string>>;
}

export interface TargetError {
  readonly discovered: Readonly<Record<string, string>>;
  readonly error: string;
}

export function pairsToObject(pairs: readonly string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) o[pairs[i]] = pairs[i + 1];
  return o;
}

/** Go's url.QueryEscape. */
function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's url.Values.Encode: keys sorted, each value escaped. */
export function encodeParams(params: Record<string, string[]>): string {
  const keys = Object.keys(params).sort();
  const parts: string[] = [];
  for (const k of keys) for (const v of params[k]) parts.push(`${queryEscape(k)}=${queryEscape(v)}`);
  return parts.join('&');
}

/** FNV-1a 64 over a string's UTF-8 bytes. */
export function fnv64a(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/** Splits host:port as Go's net.SplitHostPort; null when it cannot. */
function splitHostPort(s: string): [string, string] | null {
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':' || s.indexOf(']', end + 1) >= 0) return null;
    return [s.slice(1, end), s.slice(end + 2)];
  }
  const i = s.lastIndexOf(':');
  if (i < 0) return null;
  const host = s.slice(0, i);
  if (host.includes(':')) return null;
  return [host, s.slice(i + 1)];
}

export interface CompiledScrapeConfig {
  readonly cfg: ScrapeConfig;
  readonly relabel: CompiledRelabel[];
  readonly metricRelabel: CompiledRelabel[];
}

export function compileScrapeConfig(cfg: ScrapeConfig): CompiledScrapeConfig {
  return {
    cfg,
    relabel: compileRelabelConfigs(cfg.relabelConfigs),
    metricRelabel: compileRelabelConfigs(cfg.metricRelabelConfigs),
  };
}

/**
 * Builds the target of one discovered address. Returns a Target, a DroppedTarget (relabelling dropped it),
 * or a TargetError (as Prometheus, such targets are logged and skipped).
 */
export function populateTarget(
  sc: CompiledScrapeConfig,
  groupLabels: Readonly<Record<string, string>>,
  address: string,
): Target | DroppedTarget | TargetError {
  const cfg = sc.cfg;
  const lb = new Map<string, string>();
  for (const [k, v] of Object.entries(groupLabels)) if (v !== '') lb.set(k, v);
  if (address !== '') lb.set('__address__', address);
  const defaults: [string, string][] = [
    ['job', cfg.jobName],
    ['__scrape_interval__', formatDuration(cfg.scrapeInterval)],
    ['__scrape_timeout__', formatDuration(cfg.scrapeTimeout)],
    ['__metrics_path__', cfg.metricsPath],
    ['__scheme__', cfg.scheme],
  ];
  for (const [k, v] of defaults) if ((lb.get(k) ?? '') === '') lb.set(k, v);
  for (const [k, v] of Object.entries(cfg.params)) {
    const name = `__param_${k}`;
    if (v.length > 0 && (lb.get(name) ?? '') === '') lb.set(name, v[0]);
  }
  const discovered = pairsToObject(sortedPairs(lb));
  if (!relabel(lb, sc.relabel)) return { discovered };
  let addr = lb.get('__address__') ?? '';
  if (addr === '') return { discovered, error: 'no address' };
  if (splitHostPort(addr) === null && splitHostPort(`${addr}:1234`) !== null) {
    const scheme = lb.get('__scheme__') ?? '';
    if (scheme === 'http' || scheme === '') addr += ':80';
    else if (scheme === 'https') addr += ':443';
    else return { discovered, error: `invalid scheme: ${JSON.stringify(cfg.scheme)}` };
    lb.set('__address__', addr);
  }
  if (/[/@]/.test(addr)) return { discovered, error: `${JSON.stringify(addr)} is not a valid hostname` };
  const intervalText = lb.get('__scrape_interval__') ?? '';
  const interval = parseDuration(intervalText);
  if (interval === null)
    return {
      discovered,
      error: `error parsing scrape interval: not a valid duration string: ${JSON.stringify(intervalText)}`,
    };
  if (interval === 0) return { discovered, error: 'scrape interval cannot be 0' };
  const timeoutText = lb.get('__scrape_timeout__') ?? '';
  const timeout = parseDuration(timeoutText);
  if (timeout === null)
    return {
      discovered,
      error: `error parsing scrape timeout: not a valid duration string: ${JSON.stringify(timeoutText)}`,
    };
  if (timeout === 0) return { discovered, error: 'scrape timeout cannot be 0' };
  if (timeout > interval) {
    return {
      discovered,
      error: `scrape timeout cannot be greater than scrape interval (${JSON.stringify(timeoutText)} > ${JSON.stringify(intervalText)})`,
    };
  }
  for (const name of [...lb.keys()]) if (name.startsWith('__meta_')) lb.delete(name);
  if ((lb.get('instance') ?? '') === '') lb.set('instance', addr);
  const all = sortedPairs(lb);
  const labels: string[] = [];
  for (let i = 0; i < all.length; i += 2) if (!all[i].startsWith('__')) labels.push(all[i], all[i + 1]);

  const params: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(cfg.params)) params[k] = [...v];
  for (let i = 0; i < all.length; i += 2) {
    if (!all[i].startsWith('__param_')) continue;
    const k = all[i].slice('__param_'.length);
    if (params[k] !== undefined && params[k].length > 0) params[k][0] = all[i + 1];
    else params[k] = [all[i + 1]];
  }
  const q = encodeParams(params);
  const scheme = lb.get('__scheme__') ?? 'http';
  let path = lb.get('__metrics_path__') ?? '';
  if (path !== '' && !path.startsWith('/')) path = `/${path}`;
  const url = `${scheme}://${addr}${path}${q ? `?${q}` : ''}`;
  let key = url;
  for (const s of all) key += `\xff${s}`;
  return { all, labels, discovered, url, interval, timeout, key, hash: fnv64a(key) };
}

export function isTarget(t: Target | DroppedTarget | TargetError): t is Target {
  return (t as Target).url !== undefined;
}

export function isTargetError(t: Target | DroppedTarget | TargetError): t is TargetError {
  return (t as TargetError).error !== undefined;
}

/** All targets of a pool's groups, in group order, deduplicated by key. */
export function targetsFromGroups(
  sc: CompiledScrapeConfig,
  groups: readonly TargetGroup[],
): { active: Target[]; dropped: DroppedTarget[]; errors: TargetError[] } {
  const active: Target[] = [];
  const dropped: DroppedTarget[] = [];
  const errors: TargetError[] = [];
  const seen = new Set<string>();
  for (const g of groups) {
    for (const addr of g.targets) {
      const t = populateTarget(sc, g.labels, addr);
      if (isTarget(t)) {
        if (!seen.has(t.key)) {
          seen.add(t.key);
          active.push(t);
        }
      } else if (isTargetError(t)) errors.push(t);
      else dropped.push(t);
    }
  }
  return { active, dropped, errors };
}

/**
 * How long after `now` the target's first scrape should start: its hash spreads targets over the interval,
 * pinned to absolute time so that every target keeps the same phase across restarts and reloads (as
 * Prometheus' Target.offset).
 */
export function scrapeOffset(hash: bigint, interval: number, now: number, jitterSeed = 0n): number {
  const iv = BigInt(Math.max(1, Math.round(interval)));
  const base = interval - (now % interval);
  const offset = Number((hash ^ jitterSeed) % iv);
  let next = base + offset;
  if (next > interval) next -= interval;
  return next;
}
