// A small leveled logger writing Prometheus-style logfmt (or JSON) lines to stderr.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string, kv?: Record<string, unknown>): void;
  info(msg: string, kv?: Record<string, unknown>): void;
  warn(msg: string, kv?: Record<string, unknown>): void;
  error(msg: string, kv?: Record<string, unknown>): void;
}

function logfmtValue(v: unknown): string {
  const s = v instanceof Error ? v.message : typeof v === 'string' ? v : JSON.stringify(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

export function createLogger(
  level: Level,
  format: 'logfmt' | 'json' = 'logfmt',
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const min = RANK[level];
  const log = (lvl: Level, msg: string, kv: Record<string, unknown> = {}) => {
    if (RANK[lvl] < min) return;
    const ts = new Date().toISOString();
    if (format === 'json') {
      const o: Record<string, unknown> = { ts, level: lvl, msg };
      for (const [k, v] of Object.entries(kv)) o[k] = v instanceof Error ? v.message : v;
      write(`${JSON.stringify(o)}\n`);
      return;
    }
    let line = `ts=${ts} level=${lvl} msg=${logfmtValue(msg)}`;
    for (const [k, v] of Object.entries(kv)) line += ` ${k}=${logfmtValue(v)}`;
    write(`${line}\n`);
  };
  return {
    debug: (m, kv) => log('debug', m, kv),
    info: (m, kv) => log('info', m, kv),
    warn: (m, kv) => log('warn', m, kv),
    error: (m, kv) => log('error', m, kv),
  };
}
