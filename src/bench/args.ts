/**
 * Argument parsing for `promshard bench`: `--name=value`, `--name value` and bare boolean flags, each
 * checked against a declared set, so a typo is a clear error (exit code 2) instead of a silent default.
 */

export class UsageError extends Error {}

export type FlagKind = 'int' | 'number' | 'string' | 'bool' | 'duration' | 'url';

export interface FlagSpec {
  kind: FlagKind;
  help: string;
  default?: string | number | boolean;
  min?: number;
  max?: number;
  /** Allowed values (strings). */
  choices?: readonly string[];
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

/** Seconds from `90`, `90s`, `2m`, `500ms`, `1h`. */
export function parseSeconds(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new UsageError(`invalid duration ${JSON.stringify(s)} (e.g. 60s, 2m, 500ms)`);
  const n = Number(m[1]);
  switch (m[2]) {
    case 'ms':
      return n / 1000;
    case 'm':
      return n * 60;
    case 'h':
      return n * 3600;
    default:
      return n;
  }
}

export interface Parsed {
  positional: string[];
  flags: FlagValues;
}

export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>, where: string): Parsed {
  const flags: FlagValues = {};
  for (const [k, s] of Object.entries(specs)) flags[k] = s.default;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || a === '--') {
      if (a.startsWith('-') && a !== '-' && a !== '--')
        throw new UsageError(`${where}: unknown option ${JSON.stringify(a)}`);
      if (a !== '--') positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    let name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    let inline: string | undefined = eq >= 0 ? a.slice(eq + 1) : undefined;
    let spec = specs[name];
    if (
      spec === undefined &&
      name.startsWith('no-') &&
      specs[name.slice(3)]?.kind === 'bool' &&
      inline === undefined
    ) {
      name = name.slice(3);
      spec = specs[name];
      inline = 'false';
    }
    if (spec === undefined) throw new UsageError(`${where}: unknown flag --${name}`);
    if (spec.kind === 'bool') {
      if (inline !== undefined && inline !== 'true' && inline !== 'false')
        throw new UsageError(`${where}: --${name} takes true or false, got ${JSON.stringify(inline)}`);
      flags[name] = inline !== 'false';
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined || (inline === undefined && raw.startsWith('--')))
      throw new UsageError(`${where}: --${name} needs a value`);
    flags[name] = convert(name, raw, spec, where);
  }
  return { positional, flags };
}

function convert(name: string, raw: string, spec: FlagSpec, where: string): string | number {
  const range = (n: number) => {
    if (spec.min !== undefined && n < spec.min)
      throw new UsageError(`${where}: --${name} must be >= ${spec.min}, got ${raw}`);
    if (spec.max !== undefined && n > spec.max)
      throw new UsageError(`${where}: --${name} must be <= ${spec.max}, got ${raw}`);
    return n;
  };
  switch (spec.kind) {
    case 'int': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(n))
        throw new UsageError(`${where}: --${name} must be an integer, got ${JSON.stringify(raw)}`);
      return range(n);
    }
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new UsageError(`${where}: --${name} must be a number, got ${JSON.stringify(raw)}`);
      return range(n);
    }
    case 'duration': {
      try {
        return range(parseSeconds(raw));
      } catch (e) {
        if (e instanceof UsageError && !e.message.startsWith(where))
          throw new UsageError(`${where}: --${name}: ${e.message}`);
        throw e;
      }
    }
    case 'url': {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw new UsageError(`${where}: --${name} is not a URL: ${JSON.stringify(raw)}`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        throw new UsageError(`${where}: --${name} must be an http(s) URL, got ${JSON.stringify(raw)}`);
      return raw.replace(/\/+$/, '');
    }
    default:
      if (spec.choices && !spec.choices.includes(raw))
        throw new UsageError(
          `${where}: --${name} must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(raw)}`,
        );
      return raw;
  }
}

export function flagHelp(specs: Record<string, FlagSpec>): string {
  return Object.entries(specs)
    .map(([k, s]) => {
      const d = s.default === undefined ? '' : ` (default ${String(s.default)})`;
      return `  --${k.padEnd(18)} ${s.help}${d}`;
    })
    .join('\n');
}
