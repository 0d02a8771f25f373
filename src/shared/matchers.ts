import type { Labels } from './labels.js';
import { re2ToJs } from './re2.js';

export type MatchType = '=' | '!=' | '=~' | '!~';

/** A label matcher with Prometheus semantics: a missing label has the value "". */
export interface Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
}

/** A matcher with its regex compiled once (fully anchored, as Prometheus' regexes are). */
export class CompiledMatcher implements Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  private readonly re: RegExp | null;

  constructor(m: Matcher) {
    this.type = m.type;
    this.name = m.name;
    this.value = m.value;
    this.re = m.type === '=~' || m.type === '!~' ? compileAnchored(m.value) : null;
  }

  matches(value: string): boolean {
    switch (this.type) {
      case '=':
        return value === this.value;
      case '!=':
        return value !== this.value;
      case '=~':
        return this.re!.test(value);
      case '!~':
        return !this.re!.test(value);
    }
  }

  matchesEmpty(): boolean {
    return this.matches('');
  }
}

/**
 * Compiles a Prometheus (RE2) regex as a fully anchored JS regex. `s` makes `.` match newlines, as
 * Prometheus compiles matchers with `(?s:...)`. Throws a SyntaxError for an invalid pattern.
 */
export function compileAnchored(pattern: string): RegExp {
  return new RegExp(`^(?:${re2ToJs(pattern)})$`, 's');
}

export function compileMatchers(ms: readonly Matcher[]): CompiledMatcher[] {
  return ms.map((m) => (m instanceof CompiledMatcher ? m : new CompiledMatcher(m)));
}

/** True when every matcher accepts the label set (absent labels count as ""). */
export function matchLabels(ms: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const m of ms) {
    let v = '';
    for (const l of labels) {
      if (l.name === m.name) {
        v = l.value;
        break;
      }
    }
    if (!m.matches(v)) return false;
  }
  return true;
}

/** Prometheus refuses a selector whose matchers all match the empty string (`{a=~".*"}`). */
export function hasNonEmptyMatcher(ms: readonly CompiledMatcher[]): boolean {
  return ms.some((m) => !m.matchesEmpty());
}
