import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ParsedSamples, ParseError, parseExpositionAsync } from '../src/scrape/exposition.js';
import {
  GO_NAN,
  parseFloatSpan,
  parseLabelBlock,
  parseLabelBlockOnePass,
  type StringPool,
  scanLabelBlock,
  spanHash,
} from '../src/scrape/lexer.js';
import { parseOpenMetrics } from '../src/scrape/parse-openmetrics.js';
import { parseText } from '../src/scrape/parse-text.js';
import { SeriesCache } from '../src/scrape/series-cache.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(resolve(repo, '../shared'), 'fixtures', 'exposition');
const haveFixtures = existsSync(fixtures);
if (!haveFixtures) console.log(`skipping exposition fixture tests: ${fixtures} is absent`);

function bits(v: number): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return dv.getBigUint64(0);
}

interface Row {
  labels: Record<string, string>;
  v: number;
  t: number;
}

function rows(out: ParsedSamples, cache: SeriesCache): Row[] {
  const r: Row[] = [];
  for (let i = 0; i < out.count; i++) {
    const raw = cache.raw[out.entry[i]];
    const labels: Record<string, string> = {};
    for (let j = 0; j < raw.length; j += 2) labels[raw[j]] = raw[j + 1];
    r.push({ labels, v: out.v[i], t: out.t[i] });
  }
  return r;
}

function parse(body: string, om = false) {
  const cache = new SeriesCache();
  const out = new ParsedSamples();
  const err = om ? parseOpenMetrics(body, out, cache) : parseText(body, out, cache);
  return { err, out, cache, rows: rows(out, cache) };
}

function countLines(body: string): { samples: number; types: number } {
  let samples = 0;
  let types = 0;
  for (const l of body.split('\n')) {
    if (l.startsWith('# TYPE ')) types++;
    else if (l !== '' && !l.startsWith('#')) samples++;
  }
  return { samples, types };
}

describe.skipIf(!haveFixtures)('exposition fixtures', () => {
  const cases: [string, boolean, number, number][] = [
    ['prometheus-2.42-self.txt', false, 398, 159],
    ['node-exporter-1.5.0.txt', false, 507, 283],
    ['pushgateway-1.5.1-metrics.txt', false, 88, 47],
    ['python-client-0.16-text-0.0.4.txt', false, 29, 14],
    ['python-client-0.16-openmetrics.txt', true, 29, 9],
  ];
  for (const [file, om, samples, types] of cases) {
    it(`parses ${file}: ${samples} samples, ${types} types, twice through the cache`, () => {
      const body = readFileSync(join(fixtures, file), 'utf8');
      const cache = new SeriesCache();
      const out = new ParsedSamples();
      const parseFn = om ? parseOpenMetrics : parseText;
      expect(parseFn(body, out, cache)).toBeNull();
      expect(out.count).toBe(samples);
      expect(countLines(body).samples).toBe(samples);
      const typed = [...cache.metadata.values()].filter((m) => m.type !== 'unknown' || om).length;
      expect(typed).toBeLessThanOrEqual(types);
      expect(cache.metadata.size).toBeGreaterThanOrEqual(types);
      expect(out.newEntries.length).toBe(new Set(out.entry.subarray(0, out.count)).size);
      const first = rows(out, cache);
      const v1 = out.v.slice(0, out.count);
      // A second parse of the same body: everything from the cache, the same samples.
      expect(parseFn(body, out, cache)).toBeNull();
      expect(out.newEntries.length).toBe(0);
      expect(out.count).toBe(samples);
      expect(rows(out, cache)).toEqual(first);
      for (let i = 0; i < out.count; i++) expect(bits(out.v[i])).toBe(bits(v1[i]));
      // A cold cache gives the same answer as a warm one.
      const cold = parse(body, om);
      expect(cold.rows).toEqual(first);
    });
  }

  it('parses in small slices exactly as in one go, cold and warm', async () => {
    for (const [file, om] of cases) {
      const body = readFileSync(join(fixtures, file), 'utf8');
      const one = parse(body, om);
      const cache = new SeriesCache();
      const out = new ParsedSamples();
      for (let round = 0; round < 2; round++) {
        expect(await parseExpositionAsync(body, om, out, cache, 997)).toBeNull();
        expect(rows(out, cache)).toEqual(one.rows);
        expect(out.typeLines).toBe(one.out.typeLines);
      }
      const bad = `${body.slice(0, 2000)}\nbroken{ 1\n${body.slice(2000)}`;
      const e1 = om
        ? parseOpenMetrics(bad, new ParsedSamples(), new SeriesCache())
        : parseText(bad, new ParsedSamples(), new SeriesCache());
      const e2 = await parseExpositionAsync(bad, om, new ParsedSamples(), new SeriesCache(), 333);
      expect(e2?.message).toBe(e1?.message);
    }
  });

  it('counts TYPE lines exactly', () => {
    for (const [file, om, , types] of cases) {
      const body = readFileSync(join(fixtures, file), 'utf8');
      const { out } = parse(body, om);
      expect(countLines(body).types).toBe(types);
      const helpLines = body
        .split('\n')
        .filter((l) => l.startsWith('# HELP ') || l.startsWith('# UNIT ')).length;
      expect(out.typeLines).toBe(types + helpLines);
    }
  });

  it('unescapes label values and keeps metadata', () => {
    const py = parse(readFileSync(join(fixtures, 'python-client-0.16-text-0.0.4.txt'), 'utf8'));
    const room = py.rows.find(
      (r) => r.labels.__name__ === 'fixture_room_temperature_celsius' && r.v === -3.5,
    );
    expect(room?.labels.room).toBe('lab "A"\\north\nwing');
    expect(py.cache.metadata.get('fixture_legacy_value')?.type).toBe('unknown');
    expect(py.cache.metadata.get('fixture_http_requests_total')).toMatchObject({
      type: 'counter',
      help: 'HTTP requests handled.',
    });
    const nan = py.rows.find((r) => r.labels.room === 'server room');
    expect(bits(nan!.v)).toBe(bits(GO_NAN));
    expect(py.rows.find((r) => r.labels.__name__ === 'fixture_inflight_requests')?.v).toBe(Infinity);

    const pg = parse(readFileSync(join(fixtures, 'pushgateway-1.5.1-metrics.txt'), 'utf8'));
    const backup = pg.rows.find((r) => r.labels.__name__ === 'fixture_backup_files');
    expect(backup?.labels.env).toBe('staging/eu-west 1');
    expect(backup?.labels.instance).toBe('');
  });

  it('reads the OpenMetrics specifics: _created, exemplars, units, stateset, info', () => {
    const om = parse(readFileSync(join(fixtures, 'python-client-0.16-openmetrics.txt'), 'utf8'), true);
    expect(om.err).toBeNull();
    const names = om.rows.map((r) => r.labels.__name__);
    expect(names.filter((n) => n.endsWith('_created'))).toHaveLength(4);
    expect(names).toContain('fixture_build_info');
    expect(om.rows.filter((r) => r.labels.fixture_task_state !== undefined)).toHaveLength(3);
    const bucket = om.rows.find((r) => r.labels.le === '0.05');
    expect(bucket?.v).toBe(4);
    expect(om.rows.find((r) => r.labels.le === '1.0')?.labels.__name__).toBe(
      'fixture_queue_wait_seconds_bucket',
    );
    expect(om.cache.metadata.get('fixture_room_temperature_celsius')).toMatchObject({
      type: 'gauge',
      unit: 'celsius',
      help: 'Room temperature.',
    });
    expect(om.cache.metadata.get('fixture_task_state')?.type).toBe('stateset');
    expect(om.cache.metadata.get('fixture_queue_wait_seconds')?.type).toBe('gaugehistogram');
    expect(om.rows.find((r) => r.labels.__name__ === 'fixture_http_requests_created')?.v).toBe(
      1700000000.125,
    );
    expect(om.rows.find((r) => r.labels.src === 'b')?.v).toBe(1.2345678901234567e19);
    expect(om.rows.find((r) => r.labels.room?.startsWith('lab'))?.labels.room).toBe('lab "A"\\north\nwing');
  });
});

describe('text format details', () => {
  it('reads timestamps, special values, trailing commas and blanks', () => {
    const { err, rows: r } = parse(
      [
        '# a free comment',
        'a 1 1700000000123',
        'b{x="1",} -Inf -5',
        '  c { y = "2" , z="3" }  +Inf  ',
        '',
        'd NaN',
        'e -0',
        'f 1e400',
        'g 0.1',
        'h 123456789012345678',
        'i{v="a\\tb"} 2',
      ].join('\n'),
    );
    expect(err).toBeNull();
    expect(r.map((x) => x.labels.__name__)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    expect(r[0].t).toBe(1700000000123);
    expect(Number.isNaN(r[1].t)).toBe(false);
    expect(r[1]).toMatchObject({ v: -Infinity, t: -5, labels: { x: '1' } });
    expect(r[2]).toMatchObject({ v: Infinity, labels: { y: '2', z: '3' } });
    expect(Number.isNaN(r[2].t)).toBe(true);
    expect(Object.is(r[4].v, -0)).toBe(true);
    expect(r[5].v).toBe(Infinity);
    expect(r[6].v).toBe(0.1);
    expect(r[7].v).toBe(Number('123456789012345678'));
    expect(r[8].labels.v).toBe('a\\tb');
  });

  it('parses floats exactly as Number() for decimal inputs', () => {
    const rnd = (n: number) => Math.floor(Math.random() * n);
    for (let k = 0; k < 20000; k++) {
      const x = (Math.random() - 0.5) * 10 ** (rnd(40) - 20);
      const forms = [String(x), x.toExponential(rnd(17)), x.toFixed(rnd(12)), x.toPrecision(1 + rnd(20))];
      for (const s of forms) expect(parseFloatSpan(s, 0, s.length)).toBe(Number(s));
    }
  });

  it('does not confuse a cached key with a longer series text', () => {
    const cache = new SeriesCache();
    const out = new ParsedSamples();
    expect(parseText('foo 1\nbar 2\n', out, cache)).toBeNull();
    expect(parseText('foo {a="b"} 3\nfoo 4\nbar_x 5\nbar 6\n', out, cache)).toBeNull();
    expect(rows(out, cache).map((r) => [r.labels, r.v])).toEqual([
      [{ __name__: 'foo', a: 'b' }, 3],
      [{ __name__: 'foo' }, 4],
      [{ __name__: 'bar_x' }, 5],
      [{ __name__: 'bar' }, 6],
    ]);
    expect(out.newEntries).toHaveLength(2);
  });
});

describe('scrape cache index', () => {
  it('finds every series again in any order, across growth and compaction, and keeps metadata', () => {
    const n = 5000;
    const line = (k: number) => `m_${k % 7}{a="${k}",b="x\\"${k % 13}"} ${k}\n`;
    const cache = new SeriesCache();
    const out = new ParsedSamples();
    let body = '# HELP m_0 zero\n# TYPE m_0 gauge\n';
    for (let k = 0; k < n; k++) body += line(k);
    expect(parseText(body, out, cache)).toBeNull();
    expect(cache.size).toBe(n);
    const entryOf = new Map<number, number>();
    for (let i = 0; i < out.count; i++) entryOf.set(out.v[i], out.entry[i]);
    // Reversed: no line is where the cache predicts it, so each is found through the index.
    let rev = '';
    for (let k = n - 1; k >= 0; k--) rev += line(k);
    expect(parseText(rev, out, cache)).toBeNull();
    expect(cache.size).toBe(n);
    expect(out.newEntries).toHaveLength(0);
    for (let i = 0; i < out.count; i++) expect(out.entry[i]).toBe(entryOf.get(out.v[i]));
    // A blank before the brace is another series text (a new entry), as is a longer one.
    expect(parseText('m_0 {a="0",b="x\\"0"} 1\nm_0{a="0",b="x\\"0",c="1"} 2\n', out, cache)).toBeNull();
    expect(out.newEntries).toHaveLength(2);
    // Compaction drops the unseen entries; the survivors are found under their new numbers.
    cache.compact();
    expect(cache.size).toBe(2);
    let half = '';
    for (let k = 0; k < n; k += 2) half += line(k);
    expect(parseText(half, out, cache)).toBeNull();
    expect(out.newEntries).toHaveLength(n / 2);
    expect(parseText(half, out, cache)).toBeNull();
    expect(out.newEntries).toHaveLength(0);
    expect(cache.metadata.size).toBe(0);
    expect(parseText(body, out, cache)).toBeNull();
    expect(cache.metadata.get('m_0')).toEqual({ type: 'gauge', help: 'zero', unit: '' });
  });
});

describe('malformed input', () => {
  const bad: [string, string, number, boolean][] = [
    ['no value', 'a 1\nb\n', 2, false],
    ['bad value', 'a 1\nb x1\n', 2, false],
    ['bad timestamp', 'a 1 12x\n', 1, false],
    ['float timestamp in text', 'a 1 1.5\n', 1, false],
    ['unterminated labels', 'a 1\n\nb{x="1" 2\n', 3, false],
    ['unterminated quote', 'b{x="1} 2\n', 1, false],
    ['bad label name', 'b{1x="1"} 2\n', 1, false],
    ['missing equals', 'b{x"1"} 2\n', 1, false],
    ['missing comma', 'b{x="1" y="2"} 2\n', 1, false],
    ['bad metric name', '1abc 2\n', 1, false],
    ['garbage after value', 'a 1 2 3\n', 1, false],
    ['bad type', '# TYPE a blah\na 1\n', 1, false],
    ['bad type name', '# TYPE 9a gauge\n', 1, false],
    ['exemplar in text', 'a 1 # {x="y"} 1\n', 1, false],
    ['binary junk', 'a 1\n\u0000\u0001\u0002\n', 2, false],
    ['om without EOF', 'a 1\n', 1, true],
    ['om data after EOF', 'a 1\n# EOF\nb 2\n', 3, true],
    ['om blank line', 'a 1\n\nb 2\n# EOF\n', 2, true],
    ['om free comment', '# hello\na 1\n# EOF\n', 1, true],
    ['om bad exemplar', 'a_total 1 # {x=y} 1\n# EOF\n', 1, true],
    ['om exemplar without value', 'a_total 1 # {x="y"}\n# EOF\n', 1, true],
    ['om bad unit', '# UNIT a_seconds bytes\n# EOF\n', 1, true],
    ['om bad timestamp', 'a 1 NaN\n# EOF\n', 1, true],
  ];
  for (const [what, body, line, om] of bad) {
    it(`${what}: an error naming line ${line}`, () => {
      const { err } = parse(body, om);
      expect(err).toBeInstanceOf(ParseError);
      expect(err).toBeInstanceOf(Error);
      expect(err!.line).toBe(line);
      expect(err!.message).toMatch(new RegExp(`^line ${line}: `));
    });
  }

  // OpenMetrics bodies and whether Prometheus 2.42 accepted them (observed with the real binary scraping each
  // body on loopback: target up or down).
  const omVerdicts: [string, string, boolean][] = [
    ['two spaces before the value', '# TYPE a gauge\na  1\n# EOF\n', false],
    ['tab before the value', '# TYPE a gauge\na\t1\n# EOF\n', false],
    ['space inside braces', 'a{l="x", m="y"} 1\n# EOF\n', false],
    ['space before the brace', 'a {l="x"} 1\n# EOF\n', false],
    ['trailing comma in labels', 'a{l="x",} 1\n# EOF\n', false],
    ['empty braces', 'a{} 1\n# EOF\n', true],
    ['TYPE with a trailing space', '# TYPE a gauge \na 1\n# EOF\n', false],
    ['HELP without text', '# HELP a\na 1\n# EOF\n', false],
    ['HELP with empty text', '# HELP a \na 1\n# EOF\n', true],
    ['TYPE without text', '# TYPE a\na 1\n# EOF\n', false],
    ['unit not after an underscore', '# TYPE abytes gauge\n# UNIT abytes bytes\nabytes 1\n# EOF\n', false],
    ['unit after an underscore', '# TYPE a_bytes gauge\n# UNIT a_bytes bytes\na_bytes 1\n# EOF\n', true],
    ['space after the timestamp', 'a 1 2 \n# EOF\n', false],
    ['space after the value', 'a 1 \n# EOF\n', false],
    ['float timestamp', 'a 1 1700000000.5\n# EOF\n', true],
    ['negative timestamp', 'a 1 -5\n# EOF\n', true],
    ['exponent timestamp', 'a 1 1e3\n# EOF\n', true],
    ['hex value', 'a 0x1F\n# EOF\n', false],
    ['lower-case inf', 'a inf\n# EOF\n', true],
    ['exemplar', 'a_total 1 # {t="x"} 1\n# EOF\n', true],
    ['exemplar with timestamp', 'a_total 1 # {t="x"} 1 123\n# EOF\n', true],
    ['two spaces before an exemplar', 'a_total 1  # {t="x"} 1\n# EOF\n', false],
    ['exemplar without a space after #', 'a_total 1 #{t="x"} 1\n# EOF\n', false],
    ['empty exemplar labels', 'a_total 1 # {} 1\n# EOF\n', true],
    ['CRLF line ends', 'a 1\r\n# EOF\r\n', false],
    ['EOF without newline', 'a 1\n# EOF', true],
    ['two newlines after EOF', 'a 1\n# EOF\n\n', false],
    ['unknown escape in a value', 'a{l="x\\ty"} 1\n# EOF\n', true],
    ['TYPE twice', '# TYPE a gauge\n# TYPE a counter\na 1\n# EOF\n', true],
    ['non-ASCII metric name', 'a\u00e9 1\n# EOF\n', false],
    ['# alone', '#\na 1\n# EOF\n', false],
  ];
  for (const [what, body, ok] of omVerdicts) {
    it(`OpenMetrics ${what}: ${ok ? 'accepted' : 'refused'} as by 2.42`, () => {
      const { err } = parse(body, true);
      if (ok) expect(err).toBeNull();
      else expect(err).toBeInstanceOf(ParseError);
    });
  }

  it('survives random garbage without throwing or hanging', () => {
    const alphabet = 'ab_{}="\\, \n#0123.eE+-NaInf\t\r:';
    const cache = new SeriesCache();
    const out = new ParsedSamples();
    for (let k = 0; k < 3000; k++) {
      let s = '';
      const n = Math.floor(Math.random() * 80);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
      const e1 = parseText(s, out, cache);
      const e2 = parseOpenMetrics(s, out, cache);
      for (const e of [e1, e2]) if (e !== null) expect(e).toBeInstanceOf(ParseError);
    }
  });
});

describe('one-pass label block parse (cold scrapes)', () => {
  // A small deterministic generator, so a failure reproduces.
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const chars = ['a', '_', '1', '=', '"', ',', '{', '}', ' ', '\t', '\\', '\n', 'n', 'é'];
  const values = ['v', '\\"', '\\\\', '\\n', '}', '{', ',', ' ', 'a value longer than 13', 'é', '\\x'];
  const blank = (): string => (rnd(4) === 0 ? [' ', '\t', '  '][rnd(3)] : '');
  function block(): string {
    let s = '{';
    if (rnd(3) === 0) {
      for (let j = rnd(8); j > 0; j--) s += chars[rnd(chars.length)];
      return rnd(2) ? `${s}}` : s;
    }
    const n = rnd(4);
    for (let j = 0; j < n; j++) {
      s += `${blank()}${['a', 'name', '_x1', 'le'][rnd(4)]}${blank()}=${blank()}"`;
      for (let q = rnd(6); q > 0; q--) s += values[rnd(values.length)];
      s += `"${blank()}`;
      if (j < n - 1 || rnd(4) === 0) s += ',';
    }
    s += `${blank()}}`;
    if (rnd(5) === 0) {
      const p = rnd(s.length);
      s = s.slice(0, p) + chars[rnd(chars.length)] + s.slice(p + rnd(2));
    }
    return s;
  }
  const pool: StringPool = { intern: (x) => x, internSpan: (b, s, e, _h, own) => own(b.substring(s, e)) };

  it('accepts exactly what scanLabelBlock + parseLabelBlock accept, with the same end, hash and pairs', () => {
    let accepted = 0;
    for (let k = 0; k < 40000; k++) {
      const pre = rnd(3) ? '' : 'xx';
      const body = `${pre}${block()}${rnd(2) ? ' 1\n' : ''}`;
      const lenient = rnd(2) === 0;
      const prev = rnd(2) ? [] : ['__name__', 'm', 'a', 'v', 'name', 'a value longer than 13'];
      const h0 = rnd(1 << 30);
      const ke = scanLabelBlock(body, pre.length, body.length, h0);
      const h1 = spanHash;
      const two = ['__name__', 'm'];
      const err =
        ke < 0 ? 'unterminated' : parseLabelBlock(body, pre.length, ke, two, lenient, (x) => x, pool, prev);
      const one = ['__name__', 'm'];
      const ke1 = parseLabelBlockOnePass(
        body,
        Buffer.from(body, 'latin1'),
        pre.length,
        body.length,
        h0,
        one,
        lenient,
        (x) => x,
        pool,
        prev,
      );
      if (err === null) {
        accepted++;
        expect({ body, ke: ke1, h: spanHash, one }).toEqual({ body, ke, h: h1, one: two });
      } else expect({ body, ke: ke1 }).toEqual({ body, ke: -1 });
    }
    expect(accepted).toBeGreaterThan(10000);
  });

  it('gives a cold parse the same series and errors as a parse with a non-empty cache', () => {
    for (let k = 0; k < 3000; k++) {
      let body = '';
      for (let j = rnd(4); j >= 0; j--) body += `m${rnd(3)}${rnd(4) ? block() : ''} ${rnd(9)}\n`;
      for (const om of [false, true]) {
        const text = om ? `${body}# EOF\n` : body;
        const parse = om ? parseOpenMetrics : parseText;
        const coldOut = new ParsedSamples();
        const cold = new SeriesCache();
        const e1 = parse(text, coldOut, cold);
        // A cache with an unrelated entry takes the two-pass path for every line.
        const warmOut = new ParsedSamples();
        const warm = new SeriesCache();
        parse(om ? 'other 1\n# EOF\n' : 'other 1\n', warmOut, warm);
        const e2 = parse(text, warmOut, warm);
        expect({ text, err: e1?.message }).toEqual({ text, err: e2?.message });
        expect(rows(coldOut, cold)).toEqual(rows(warmOut, warm));
      }
    }
  });
});

describe('HELP/TYPE lines (the run of usual spellings checked by one regular expression)', () => {
  let seed = 777;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const pick = <T>(a: readonly T[]): T => a[rnd(a.length)];
  const names = ['m', 'm_total', 'a:b_c', '_x', 'go_gc_duration_seconds', '1m', 'a-b', 'é', ''];
  const helps = [
    '',
    ' ',
    'some text',
    'with \\n and \\\\',
    ' leading',
    'tab\there',
    'cr\r',
    'é ünïcode',
    '# HELP x y',
  ];
  const types = [
    'counter',
    'gauge',
    'histogram',
    'summary',
    'untyped',
    'bogus',
    'counter ',
    'counter\r',
    'Counter',
    '',
    'gauge x',
  ];
  function line(): string {
    switch (rnd(12)) {
      case 0:
      case 1:
      case 2:
        return rnd(6) ? `# HELP ${pick(names)} ${pick(helps)}` : `# HELP ${pick(names)}`;
      case 3:
      case 4:
      case 5:
        return `# TYPE ${pick(names)} ${pick(types)}`;
      case 6:
        return pick([
          '# a free comment',
          '#',
          '# HELPx y',
          '# TYPE\tm gauge',
          '#  HELP m two spaces',
          '# TYPE  m gauge',
          '# EOF',
        ]);
      case 7:
        return '';
      case 8:
        return pick(['m 1', 'bad-name 1', 'm{a="1"} 2', 'm_total{a="1",b="x"} 3 1700000000000', 'm']);
      default:
        return `${pick(names.slice(0, 5))}{i="${rnd(5)}"} ${rnd(100)}`;
    }
  }

  it('gives the same errors, samples, counts and metadata as the line-by-line check', () => {
    let ok = 0;
    for (let k = 0; k < 20000; k++) {
      const lines: string[] = [];
      for (let j = 1 + rnd(10); j > 0; j--) lines.push(line());
      const body = lines.join('\n') + (rnd(4) ? '\n' : '');
      // `#\t` for `# ` at a line start reads the same for textComment but is not a spelling the run accepts.
      const slow = body.replace(/^# /gm, '#\t');
      const a = parse(body);
      const b = parse(slow);
      const norm = (e: ParseError | null) =>
        e === null ? null : [e.line, e.message.replaceAll('#\\t', '# ')];
      expect({ body, err: norm(a.err) }).toEqual({ body, err: norm(b.err) });
      expect({ body, rows: a.rows, types: a.out.typeLines }).toEqual({
        body,
        rows: b.rows,
        types: b.out.typeLines,
      });
      if (a.err === null) {
        ok++;
        expect({ body, meta: [...a.cache.metadata] }).toEqual({ body, meta: [...b.cache.metadata] });
      }
    }
    expect(ok).toBeGreaterThan(2000);
  });
});

describe('cold parses on the body bytes', () => {
  it('keeps an asynchronous parse apart from synchronous ones between its slices', async () => {
    const body = (tag: string, n: number) => {
      let s = '';
      for (let k = 0; k < n; k++)
        s += `# TYPE m_${tag}${k % 9} gauge\nm_${tag}${k % 9}{i="${k}",t="${tag}"} ${k}\n`;
      return s;
    };
    const big = body('a', 3000);
    const expected = parse(big).rows;
    const out = new ParsedSamples();
    const cache = new SeriesCache();
    const pending = parseExpositionAsync(big, false, out, cache, 4096);
    // Synchronous cold parses of other ASCII bodies run while the asynchronous one waits between slices; they
    // are a little smaller than `big`, so a shared byte buffer sized for `big` would be reused (overwritten).
    for (let k = 0; k < 20; k++) {
      const other = parse(body(`b${k}`, 2500 + k));
      expect(other.err).toBeNull();
      expect(other.rows[0].labels.t).toBe(`b${k}`);
      await new Promise((r) => setImmediate(r));
    }
    expect(await pending).toBeNull();
    expect(rows(out, cache)).toEqual(expected);
  });

  it('parses a body with characters above 127 (the string path) as the same body in ASCII', () => {
    const ascii = '# HELP m help\n# TYPE m gauge\nm{a="x",b="long value, longer than 13"} 1\nm{a="y"} 2\n';
    const wide = ascii.replace('help', 'h\u00e9lp \u2603').replace('x"', 'x\u00e9"');
    const a = parse(ascii);
    const w = parse(wide);
    expect(w.err).toBeNull();
    expect(w.rows.map((r) => r.labels.a)).toEqual(['x\u00e9', 'y']);
    expect(w.rows.map((r) => [r.labels.b, r.v])).toEqual(a.rows.map((r) => [r.labels.b, r.v]));
    expect(w.cache.metadata.get('m')).toEqual({ type: 'gauge', help: 'h\u00e9lp \u2603', unit: '' });
  });
});

describe('a new cache sized from the body (SeriesCache.reserve)', () => {
  it('grows past the guess when lines are shorter than it assumes, and finds every series again', () => {
    const n = 5000;
    const lines: string[] = [];
    for (let k = 0; k < n; k++) lines.push(`m${k % 7}{i="${k}"} ${k}`);
    const cache = new SeriesCache();
    const out = new ParsedSamples();
    expect(parseText(`${lines.join('\n')}\n`, out, cache)).toBeNull();
    expect(cache.size).toBe(n);
    expect(cache.ref.length).toBeGreaterThanOrEqual(n);
    // Another order defeats the prediction: every line goes through the key index.
    lines.reverse();
    const out2 = new ParsedSamples();
    expect(parseText(`${lines.join('\n')}\n`, out2, cache)).toBeNull();
    expect(cache.size).toBe(n);
    expect(out2.newEntries.length).toBe(0);
    const r = rows(out2, cache);
    for (let k = 0; k < n; k++)
      expect(r[k]).toEqual({
        labels: { __name__: `m${(n - 1 - k) % 7}`, i: `${n - 1 - k}` },
        v: n - 1 - k,
        t: Number.NaN,
      });
  });

  it('keeps every entry column as long as the refs, reserved or grown', () => {
    for (const n of [40, 300, 5000]) {
      const lines: string[] = [];
      for (let k = 0; k < n; k++) lines.push(`metric_with_a_longer_name_${k % 5}{instance="host-${k}"} ${k}`);
      const cache = new SeriesCache();
      expect(parseText(`${lines.join('\n')}\n`, new ParsedSamples(), cache)).toBeNull();
      for (const col of [cache.tracked, cache.lastIter, cache.succ, cache.prefixLines, cache.prefixMeta])
        expect(col.length).toBe(cache.ref.length);
      // The succ chain of the parse visits every entry in body order, each seen by this parse.
      const seen: number[] = [];
      for (let e = cache.first; e >= 0 && seen.length <= n; e = cache.succ[e]) seen.push(e);
      expect(seen).toEqual([...Array(n).keys()]);
      for (let e = 0; e < n; e++) expect(cache.lastIter[e]).toBe(cache.iter);
    }
  });
});
