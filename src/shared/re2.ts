/**
 * Translates the RE2 (Go regexp) syntax Prometheus users write into a JS RegExp source. Node 20's RegExp has
 * no inline flag groups, so `(?i)` / `(?i:...)` scopes are expanded into case-insensitive character sets;
 * `(?P<name>` becomes `(?<name>`, `\A` and `\z` become `^` and `$`. A linear scan; invalid patterns are left
 * for the RegExp constructor to refuse.
 */
export function re2ToJs(src: string): string {
  if (!/\(\?[a-zA-Z-]|\\[Az]/.test(src)) return src;
  let out = '';
  // Case-insensitivity per open group; the last entry is the current scope.
  const scopes: boolean[] = [false];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    const ci = scopes[scopes.length - 1];
    if (c === '\\') {
      const e = src[i + 1] ?? '';
      if (e === 'A') out += '^';
      else if (e === 'z') out += '$';
      else if (ci && /[a-zA-Z]/.test(e) && !/[dDwWsSbBpPnrtfvx0-9]/.test(e)) out += caseSet(e);
      else out += c + e;
      i += 2;
      continue;
    }
    if (c === '[') {
      // Copy the class; under (?i) add the other case of letters and letter ranges.
      let j = i + 1;
      let body = '';
      if (src[j] === '^') {
        body += '^';
        j++;
      }
      if (src[j] === ']') {
        body += '\\]';
        j++;
      }
      let extra = '';
      while (j < n && src[j] !== ']') {
        if (src[j] === '\\') {
          body += src.slice(j, j + 2);
          j += 2;
          continue;
        }
        if (src.startsWith('[:', j)) {
          const end = src.indexOf(':]', j + 2);
          if (end > 0) {
            body += posixClass(src.slice(j + 2, end));
            j = end + 2;
            continue;
          }
        }
        const ch = src[j];
        if (src[j + 1] === '-' && j + 2 < n && src[j + 2] !== ']') {
          const hi = src[j + 2];
          body += `${escapeClassChar(ch)}-${escapeClassChar(hi)}`;
          if (ci) extra += caseRange(ch, hi);
          j += 3;
          continue;
        }
        body += escapeClassChar(ch);
        if (ci && /[a-zA-Z]/.test(ch)) extra += swapCase(ch);
        j++;
      }
      out += `[${body}${extra}]`;
      i = j + 1;
      continue;
    }
    if (c === '(') {
      if (src[i + 1] === '?') {
        if (src[i + 2] === 'P' && src[i + 3] === '<') {
          out += '(?<';
          scopes.push(ci);
          i += 4;
          continue;
        }
        const m = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(src.slice(i));
        if (m !== null && (m[1] !== '' || m[2] !== undefined)) {
          let flag = ci;
          if (m[1].includes('i')) flag = true;
          if (m[2]?.includes('i')) flag = false;
          if (m[3] === ')') {
            scopes[scopes.length - 1] = flag;
          } else {
            out += '(?:';
            scopes.push(flag);
          }
          i += m[0].length;
          continue;
        }
      }
      scopes.push(ci);
      out += c;
      i++;
      continue;
    }
    if (c === ')') {
      if (scopes.length > 1) scopes.pop();
      out += c;
      i++;
      continue;
    }
    out += ci && /[a-zA-Z]/.test(c) ? caseSet(c) : c;
    i++;
  }
  return out;
}

function swapCase(c: string): string {
  const l = c.toLowerCase();
  return l === c ? c.toUpperCase() : l;
}

function caseSet(c: string): string {
  return `[${c.toLowerCase()}${c.toUpperCase()}]`;
}

function caseRange(lo: string, hi: string): string {
  const a = lo.charCodeAt(0);
  const b = hi.charCodeAt(0);
  let out = '';
  // Intersections with a-z and A-Z, mapped to the other case.
  const ranges: [number, number, number][] = [
    [97, 122, -32],
    [65, 90, 32],
  ];
  for (const [x, y, d] of ranges) {
    const s = Math.max(a, x);
    const e = Math.min(b, y);
    if (s <= e) out += `${String.fromCharCode(s + d)}-${String.fromCharCode(e + d)}`;
  }
  return out;
}

function escapeClassChar(c: string): string {
  return c === '[' ? '\\[' : c;
}

function posixClass(name: string): string {
  switch (name) {
    case 'alpha':
      return 'a-zA-Z';
    case 'digit':
      return '0-9';
    case 'alnum':
      return 'a-zA-Z0-9';
    case 'upper':
      return 'A-Z';
    case 'lower':
      return 'a-z';
    case 'space':
      return '\\t\\n\\v\\f\\r ';
    case 'xdigit':
      return '0-9A-Fa-f';
    case 'word':
      return '\\w';
    case 'punct':
      return '!-\\/:-@\\[-`{-~';
    default:
      return `[:${name}:]`;
  }
}
