/**
 * Relabelling as Prometheus 2.42's model/relabel: every action, Go's regex template expansion ($1, ${1},
 * $name, ${name}, $$), md5-based hashmod, anchored regexes. RE2 syntax is translated to JavaScript where the
 * two differ in the common cases ((?P<name>), leading (?i)/(?s) flags, \z, \A, POSIX classes); anything that
 * cannot be translated is refused when the config is loaded, never at scrape time.
 */
import { createHash } from 'node:crypto';
import { compareStrings } from '../shared/labels.js';
import type { RelabelConfig } from './types.js';

export const DEFAULT_REGEX = '(.*)';

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Translates an RE2 pattern to a JavaScript RegExp anchored at both ends. Throws with a clear message. */
export function compileAnchored(re2: string): RegExp {
  let src = re2;
  let flags = '';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead !== null) {
    if (lead[1].includes('U'))
      throw new Error(`regex flag U (ungreedy) is not supported: ${JSON.stringify(re2)}`);
    for (const f of lead[1]) if (!flags.includes(f)) flags += f;
    src = src.slice(lead[0].length);
  }
  if (/\(\?[imsU-]+[:)]/.test(src)) {
    throw new Error(
      `inline regex flags are only supported at the start of the pattern: ${JSON.stringify(re2)}`,
    );
  }
  src = src
    .replace(/\(\?P</g, '(?<')
    .replace(/\[:(\^?)([a-z]+):\]/g, (m, neg: string, name: string) => {
      const cls = POSIX[name];
      if (cls === undefined) throw new Error(`unknown POSIX class ${m} in ${JSON.stringify(re2)}`);
      if (neg !== '') throw new Error(`negated POSIX classes are not supported: ${JSON.stringify(re2)}`);
      return cls;
    })
    .replace(/(^|[^\\])((?:\\\\)*)\\z/g, '$1$2$')
    .replace(/(^|[^\\])((?:\\\\)*)\\A/g, '$1$2^');
  if (/\\[pP]/.test(src)) flags += 'u';
  try {
    return new RegExp(`^(?:${src})$`, flags);
  } catch (err) {
    throw new Error(`error parsing regexp ${JSON.stringify(re2)}: ${(err as Error).message}`);
  }
}

/**
 * Go's regexp.Expand: `$name` takes the longest run of [A-Za-z0-9_] (so `$1x` names group "1x", which does
 * not exist and expands to nothing), `${name}` is explicit, `$$` is a dollar, and a `$` followed by anything
 * else is kept as written.
 */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  if (template.indexOf('$') < 0) return template;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d + 1;
    if (i < template.length && template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    if (i < template.length && template[i] === '{') {
      const close = template.indexOf('}', i + 1);
      const inner = close < 0 ? '' : template.slice(i + 1, close);
      if (close < 0 || !/^[A-Za-z0-9_]+$/.test(inner)) {
        out += '$';
        continue;
      }
      name = inner;
      i = close + 1;
    } else {
      let j = i;
      while (j < template.length && /[A-Za-z0-9_]/.test(template[j])) j++;
      if (j === i) {
        out += '$';
        continue;
      }
      name = template.slice(i, j);
      i = j;
    }
    if (/^[0-9]+$/.test(name)) {
      const idx = Number(name);
      if (idx < m.length) out += m[idx] ?? '';
    } else {
      out += m.groups?.[name] ?? '';
    }
  }
  return out;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RELABEL_TARGET = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

export function isValidLabelName(s: string): boolean {
  return LABEL_NAME.test(s);
}

/** Validates a relabel config as Prometheus' relabel.Config.Validate; returns an error message or null. */
export function validateRelabelConfig(c: RelabelConfig): string | null {
  const a = c.action;
  if (a === 'hashmod' && c.modulus === 0)
    return 'relabel configuration for hashmod requires non-zero modulus';
  if (
    (a === 'replace' ||
      a === 'hashmod' ||
      a === 'lowercase' ||
      a === 'uppercase' ||
      a === 'keepequal' ||
      a === 'dropequal') &&
    c.targetLabel === ''
  ) {
    return `relabel configuration for ${a} action requires 'target_label' value`;
  }
  if (a === 'replace' && !c.targetLabel.includes('$') && !isValidLabelName(c.targetLabel)) {
    return `${JSON.stringify(c.targetLabel)} is invalid 'target_label' for ${a} action`;
  }
  if (a === 'replace' && c.targetLabel.includes('$') && !RELABEL_TARGET.test(c.targetLabel)) {
    return `${JSON.stringify(c.targetLabel)} is invalid 'target_label' for ${a} action`;
  }
  const eqOrCase = a === 'lowercase' || a === 'uppercase' || a === 'keepequal' || a === 'dropequal';
  if (eqOrCase && !isValidLabelName(c.targetLabel)) {
    return `${JSON.stringify(c.targetLabel)} is invalid 'target_label' for ${a} action`;
  }
  if (eqOrCase && c.replacement !== '$1') return `'replacement' can not be set for ${a} action`;
  if (a === 'labelmap' && !RELABEL_TARGET.test(c.replacement)) {
    return `${JSON.stringify(c.replacement)} is invalid 'replacement' for ${a} action`;
  }
  if (a === 'hashmod' && !isValidLabelName(c.targetLabel)) {
    return `${JSON.stringify(c.targetLabel)} is invalid 'target_label' for ${a} action`;
  }
  if (
    (a === 'dropequal' || a === 'keepequal') &&
    (c.regex !== DEFAULT_REGEX || c.modulus !== 0 || c.separator !== ';' || c.replacement !== '$1')
  ) {
    return `${a} action requires only 'source_labels' and \`target_label\`, and no other fields`;
  }
  if (
    (a === 'labeldrop' || a === 'labelkeep') &&
    (c.sourceLabels.length > 0 ||
      c.targetLabel !== '' ||
      c.modulus !== 0 ||
      c.separator !== ';' ||
      c.replacement !== '$1')
  ) {
    return `${a} action requires only 'regex', and no other fields`;
  }
  for (const s of c.sourceLabels)
    if (!isValidLabelName(s)) return `${JSON.stringify(s)} is not a valid label name`;
  try {
    compileAnchored(c.regex);
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}

/** A relabel config with its regex compiled, ready to apply. */
export interface CompiledRelabel {
  readonly cfg: RelabelConfig;
  readonly re: RegExp;
  readonly defaultRegex: boolean;
  readonly modulus: bigint;
}

export function compileRelabelConfigs(cfgs: readonly RelabelConfig[]): CompiledRelabel[] {
  return cfgs.map((cfg) => ({
    cfg,
    re: compileAnchored(cfg.regex),
    defaultRegex: cfg.regex === DEFAULT_REGEX,
    modulus: BigInt(Math.max(1, Math.floor(cfg.modulus))),
  }));
}

function hashmod(val: string, modulus: bigint): string {
  const sum = createHash('md5').update(val, 'utf8').digest();
  return (sum.readBigUInt64BE(8) % modulus).toString();
}

/**
 * Applies relabel configs to a label set held in a Map (mutated in place). Returns false when the set is
 * dropped. A label set to the empty value is removed, as Prometheus' labels.Builder does.
 */
export function relabel(labels: Map<string, string>, rules: readonly CompiledRelabel[]): boolean {
  for (const r of rules) {
    const c = r.cfg;
    let val: string;
    if (c.sourceLabels.length === 1) val = labels.get(c.sourceLabels[0]) ?? '';
    else {
      val = '';
      for (let i = 0; i < c.sourceLabels.length; i++) {
        if (i > 0) val += c.separator;
        val += labels.get(c.sourceLabels[i]) ?? '';
      }
    }
    switch (c.action) {
      case 'drop':
        if (r.re.test(val)) return false;
        break;
      case 'keep':
        if (!r.re.test(val)) return false;
        break;
      case 'dropequal':
        if ((labels.get(c.targetLabel) ?? '') === val) return false;
        break;
      case 'keepequal':
        if ((labels.get(c.targetLabel) ?? '') !== val) return false;
        break;
      case 'replace': {
        if (val === '' && r.defaultRegex && !c.targetLabel.includes('$') && !c.replacement.includes('$')) {
          setLabel(labels, c.targetLabel, c.replacement);
          break;
        }
        const m = r.re.exec(val);
        if (m === null) break;
        const target = expandTemplate(c.targetLabel, m);
        if (!isValidLabelName(target)) break;
        const res = expandTemplate(c.replacement, m);
        if (res === '') labels.delete(target);
        else labels.set(target, res);
        break;
      }
      case 'lowercase':
        setLabel(labels, c.targetLabel, val.toLowerCase());
        break;
      case 'uppercase':
        setLabel(labels, c.targetLabel, val.toUpperCase());
        break;
      case 'hashmod':
        setLabel(labels, c.targetLabel, hashmod(val, r.modulus));
        break;
      case 'labelmap':
        for (const [name, value] of [...labels]) {
          const m = r.re.exec(name);
          if (m !== null) setLabel(labels, expandTemplate(c.replacement, m), value);
        }
        break;
      case 'labeldrop':
        for (const name of [...labels.keys()]) if (r.re.test(name)) labels.delete(name);
        break;
      case 'labelkeep':
        for (const name of [...labels.keys()]) if (!r.re.test(name)) labels.delete(name);
        break;
    }
  }
  return true;
}

function setLabel(labels: Map<string, string>, name: string, value: string): void {
  if (value === '') labels.delete(name);
  else labels.set(name, value);
}

/** The label set as flattened pairs sorted by name in Go byte order, empty values dropped. */
export function sortedPairs(labels: Map<string, string>): string[] {
  const names = [...labels.keys()].sort(compareStrings);
  const out: string[] = [];
  for (const n of names) {
    const v = labels.get(n)!;
    if (v !== '') out.push(n, v);
  }
  return out;
}
