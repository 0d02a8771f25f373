/** The configuration `npm start` uses when no --config.file is given: promshard scraping itself. */
import { parseConfig } from './load.js';
import type { Config } from './types.js';

export const DEFAULT_CONFIG_YAML = `# promshard's built-in default configuration: it scrapes its own /metrics.
global:
  scrape_interval: 15s
  evaluation_interval: 15s

scrape_configs:
  - job_name: promshard
    static_configs:
      - targets: ['localhost:9090']
`;

export function defaultConfig(): Config {
  return parseConfig(DEFAULT_CONFIG_YAML);
}
