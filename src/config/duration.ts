/** Prometheus' duration and size formats (model.Duration, units.Base2Bytes). */

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 86400000, 7 * 86400000, 86400000, 3600000, 60000, 1000, 1];

/** Parses `1h30m`, `15s`, `100ms`, `0` into milliseconds; null when invalid (as model.ParseDuration). */
export function parseDuration(s: string): number | null {
  if (s === '0') return 0;
  if (s === '') return null;
  const m = DURATION.exec(s);
  if (m === null) return null;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * UNIT_MS[i];
  if (!Number.isSafeInteger(ms)) return null;
  return ms;
}

/** Formats milliseconds as Prometheus prints a model.Duration (`1m`, `1h30m`, `15s`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = '';
  const units: [number, string][] = [
    [UNIT_MS[0], 'y'],
    [UNIT_MS[1], 'w'],
    [UNIT_MS[2], 'd'],
    [UNIT_MS[3], 'h'],
    [UNIT_MS[4], 'm'],
    [UNIT_MS[5], 's'],
    [1, 'ms'],
  ];
  for (const [u, name] of units) {
    if (ms >= u) {
      out += Math.floor(ms / u) + name;
      ms %= u;
    }
  }
  return out;
}

const SIZE = /^(\d+)(B|KB|MB|GB|TB|PB|EB|KiB|MiB|GiB|TiB|PiB|EiB)?$/;
const SIZE_UNIT: Record<string, number> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
  PB: 1024 ** 5,
  EB: 1024 ** 6,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  PiB: 1024 ** 5,
  EiB: 1024 ** 6,
};

/** Parses a body_size_limit such as `10MB` (base 2, as Prometheus' units.Base2Bytes); null when invalid. */
export function parseSize(s: string): number | null {
  const m = SIZE.exec(s.trim());
  if (m === null) return null;
  return Number(m[1]) * SIZE_UNIT[m[2] ?? 'B'];
}
