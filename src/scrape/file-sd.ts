/**
 * file_sd_configs as Prometheus: JSON or YAML files (a list of {targets, labels}), glob patterns with one `*`
 * in the file name, re-read on change (fs.watch on the directories) and every refresh_interval. Each group
 * gets `__meta_filepath`. A file that fails to read or parse keeps its previous targets and the error is
 * reported through the log callback.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isValidLabelName } from '../config/relabel.js';
import type { FileSDConfig, TargetGroup } from '../config/types.js';

function globToRegExp(pattern: string): RegExp {
  const esc = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  return new RegExp(`^${esc}$`);
}

async function expand(pattern: string): Promise<string[]> {
  if (!pattern.includes('*')) return [pattern];
  const dir = dirname(pattern);
  const re = globToRegExp(basename(pattern));
  try {
    return (await readdir(dir))
      .filter((f) => re.test(f))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** Parses one SD file's content into target groups; throws with a clear message. */
export function parseSDFile(text: string, file: string): TargetGroup[] {
  const data: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  if (data === null || data === undefined) return [];
  if (!Array.isArray(data)) throw new Error(`${file}: expected a list of target groups`);
  return data.map((g: unknown, i: number) => {
    if (typeof g !== 'object' || g === null) throw new Error(`${file}: group ${i} is not a mapping`);
    const obj = g as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      if (k !== 'targets' && k !== 'labels') throw new Error(`${file}: group ${i}: field ${k} not found`);
    }
    const targets = obj.targets ?? [];
    if (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string')) {
      throw new Error(`${file}: group ${i}: targets must be a list of strings`);
    }
    for (const t of targets as string[])
      if (t.includes('/')) throw new Error(`${file}: ${JSON.stringify(t)} is not a valid hostname`);
    const labels: Record<string, string> = {};
    const rawLabels = obj.labels ?? {};
    if (typeof rawLabels !== 'object' || rawLabels === null || Array.isArray(rawLabels)) {
      throw new Error(`${file}: group ${i}: labels must be a mapping`);
    }
    for (const [k, v] of Object.entries(rawLabels as Record<string, unknown>)) {
      if (!isValidLabelName(k)) throw new Error(`${file}: ${JSON.stringify(k)} is not a valid label name`);
      if (typeof v !== 'string') throw new Error(`${file}: the value of label ${k} must be a string`);
      labels[k] = v;
    }
    labels.__meta_filepath = file;
    return { targets: targets as string[], labels, source: `${file}:${i}` };
  });
}

export class FileSD {
  private readonly byFile = new Map<string, TargetGroup[]>();
  private watchers: FSWatcher[] = [];
  private interval: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private stopped = false;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly cfg: FileSDConfig,
    private readonly onChange: () => void,
    private readonly log?: (msg: string, fields: Record<string, unknown>) => void,
  ) {}

  groups(): TargetGroup[] {
    const out: TargetGroup[] = [];
    for (const f of [...this.byFile.keys()].sort()) out.push(...this.byFile.get(f)!);
    return out;
  }

  async start(): Promise<void> {
    await this.refresh();
    const dirs = new Set(this.cfg.files.map((f) => dirname(f)));
    for (const d of dirs) {
      try {
        const w = watch(d, () => this.schedule());
        w.on('error', () => undefined);
        w.unref();
        this.watchers.push(w);
      } catch (err) {
        this.log?.('file_sd: cannot watch directory, relying on refresh_interval', {
          dir: d,
          err: String(err),
        });
      }
    }
    this.interval = setInterval(() => this.schedule(), Math.max(1000, this.cfg.refreshInterval));
    this.interval.unref();
  }

  private schedule(): void {
    if (this.stopped || this.debounce !== null) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.refresh();
    }, 50);
    this.debounce.unref();
  }

  /** Re-reads every file; calls onChange when any group changed. */
  async refresh(): Promise<void> {
    if (this.refreshing) {
      await this.refreshing;
    }
    this.refreshing = this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const files = new Set<string>();
    for (const p of this.cfg.files) for (const f of await expand(p)) files.add(f);
    let changed = false;
    for (const f of [...this.byFile.keys()]) {
      if (!files.has(f)) {
        this.byFile.delete(f);
        changed = true;
      }
    }
    for (const f of files) {
      let groups: TargetGroup[];
      try {
        groups = parseSDFile(await readFile(f, 'utf8'), f);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          if (this.byFile.delete(f)) changed = true;
        } else {
          this.log?.('file_sd: error reading file, keeping its previous targets', {
            file: f,
            err: (err as Error).message,
          });
        }
        continue;
      }
      const old = this.byFile.get(f);
      if (old === undefined || JSON.stringify(old) !== JSON.stringify(groups)) {
        this.byFile.set(f, groups);
        changed = true;
      }
    }
    if (changed && !this.stopped) this.onChange();
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.interval) clearInterval(this.interval);
    if (this.debounce) clearTimeout(this.debounce);
  }
}
