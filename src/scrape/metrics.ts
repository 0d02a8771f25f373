/**
 * The scrape manager's figures as prom-client metrics for the server's own /metrics, under Prometheus 2.42's
 * names where one exists. Values are read from the manager at collection time.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ScrapeStats } from './loop.js';
import type { ScrapeManager } from './manager.js';

export function registerScrapeMetrics(registry: Registry, manager: ScrapeManager): void {
  const counter = (name: string, help: string, field: keyof ScrapeStats) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(manager.totals[field]);
      },
    });
  counter('promshard_scrapes_total', 'Scrapes performed.', 'scrapes');
  counter('promshard_scrapes_failed_total', 'Scrapes that failed (up == 0).', 'failed');
  counter(
    'promshard_scrape_missed_intervals_total',
    'Scrape intervals skipped because a loop fell behind.',
    'missedIntervals',
  );
  counter(
    'promshard_scrape_samples_appended_total',
    'Samples appended by scrapes, synthetic series and stale markers included.',
    'samplesAppended',
  );
  counter('promshard_scrape_append_errors_total', 'Appends of scraped samples that failed.', 'appendErrors');
  counter(
    'prometheus_target_scrapes_exceeded_sample_limit_total',
    'Total number of scrapes that hit the sample limit and were rejected.',
    'sampleLimitExceeded',
  );
  counter(
    'prometheus_target_scrapes_sample_out_of_order_total',
    'Total number of samples rejected due to not being out of the expected order.',
    'outOfOrder',
  );
  counter(
    'prometheus_target_scrapes_sample_duplicate_timestamp_total',
    'Total number of samples rejected due to duplicate timestamps but different values.',
    'duplicateTimestamp',
  );
  counter(
    'prometheus_target_scrapes_sample_out_of_bounds_total',
    'Total number of samples rejected due to timestamp falling outside of the time bounds.',
    'outOfBounds',
  );
  new Gauge({
    name: 'prometheus_sd_discovered_targets',
    help: 'Current number of discovered targets.',
    labelNames: ['config', 'name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of manager.poolSizes()) {
        this.set({ config: p.job, name: 'scrape' }, p.active + p.dropped + p.invalid);
      }
    },
  });
  new Gauge({
    name: 'promshard_scrape_targets',
    help: 'Targets by job and state (active, dropped by relabelling, invalid).',
    labelNames: ['job', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of manager.poolSizes()) {
        this.set({ job: p.job, state: 'active' }, p.active);
        this.set({ job: p.job, state: 'dropped' }, p.dropped);
        this.set({ job: p.job, state: 'invalid' }, p.invalid);
      }
    },
  });
  new Gauge({
    name: 'promshard_scrape_cache_series',
    help: 'Series held in the scrape caches of all targets.',
    registers: [registry],
    collect() {
      let n = 0;
      for (const l of manager.loops()) n += l.cache.size;
      this.set(n);
    },
  });
}
