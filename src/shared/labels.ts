/** One label of a series. A label set is kept sorted by name, `__name__` included, as in Prometheus. */
export interface Label {
  readonly name: string;
  readonly value: string;
}

/** A canonical label set: sorted by name (byte order), names unique, no empty values. */
export type Labels = readonly Label[];

export const METRIC_NAME = '__name__';

/** Compares two strings by UTF-8 byte order, as Go compares strings (JS `<` compares UTF-16 units). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      // Surrogates (0xD800-0xDFFF) encode code points above 0xFFFF, which sort after 0xE000-0xFFFF in UTF-8.
      const sa = ca >= 0xd800 && ca <= 0xdfff;
      const sb = cb >= 0xd800 && cb <= 0xdfff;
      if (sa !== sb) return sa ? 1 : -1;
      return ca < cb ? -1 : 1;
    }
  }
  return a.length - b.length;
}

/** Orders label sets as Prometheus' `labels.Compare` does: label by label, name then value. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareStrings(a[i].name, b[i].name);
    if (c !== 0) return c;
    const d = compareStrings(a[i].value, b[i].value);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Builds a canonical label set from an object, dropping empty values. */
export function labelsFromObject(obj: Readonly<Record<string, string>>): Labels {
  const out: Label[] = [];
  for (const name of Object.keys(obj)) {
    const value = obj[name];
    if (value !== '') out.push({ name, value });
  }
  out.sort((x, y) => compareStrings(x.name, y.name));
  return out;
}

export function labelsToObject(labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) out[l.name] = l.value;
  return out;
}

export function getLabel(labels: Labels, name: string): string {
  for (const l of labels) if (l.name === name) return l.value;
  return '';
}

/** A stable text key for a label set (maps, dedup); not a wire format. */
export function labelsKey(labels: Labels): string {
  let s = '';
  for (const l of labels) s += `${l.name}\xff${l.value}\xff`;
  return s;
}

/** Prometheus' text form: `name{a="b", c="d"}` with Go-style escaping of values. */
export function formatLabels(labels: Labels): string {
  let name = '';
  const parts: string[] = [];
  for (const l of labels) {
    if (l.name === METRIC_NAME) name = l.value;
    else parts.push(`${l.name}=${JSON.stringify(l.value)}`);
  }
  return parts.length === 0 && name !== '' ? name : `${name}{${parts.join(', ')}}`;
}
