import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { ACCEPT_HEADER, ScrapeLoop } from '../src/scrape/loop.js';
import { compileScrapeConfig, isTarget, populateTarget } from '../src/scrape/target.js';
import {
  type Appendable,
  type AppendOutcome,
  type AppendRequest,
  emptyOutcome,
  NO_REF,
} from '../src/shared/ingest.js';
import { isStaleNaN } from '../src/shared/storage.js';

/** Records every appended sample by series (labels as a sorted `a="b",...` key). */
class MemoryAppendable implements Appendable {
  readonly series = new Map<string, { t: number[]; v: Float64Array[] }>();
  requests = 0;
  async append(req: AppendRequest): Promise<AppendOutcome> {
    this.requests++;
    const o = emptyOutcome();
    for (let i = 0; i < req.series.length; i++) {
      const l = req.series[i];
      let key = '';
      for (let j = 0; j < l.length; j += 2) key += `${l[j]}=${JSON.stringify(l[j + 1])},`;
      let s = this.series.get(key);
      if (!s) {
        s = { t: [], v: [] };
        this.series.set(key, s);
      }
      for (let k = req.sampleStart[i]; k < req.sampleStart[i + 1]; k++) {
        s.t.push(req.t[k]);
        s.v.push(req.v.slice(k, k + 1));
        o.appended++;
      }
    }
    return o;
  }
  /** Values of the series whose key contains all the given fragments. */
  find(...parts: string[]): { key: string; t: number[]; v: Float64Array[] }[] {
    const out = [];
    for (const [key, s] of this.series) if (parts.every((p) => key.includes(p))) out.push({ key, ...s });
    return out;
  }
  last(...parts: string[]): number {
    const s = this.find(...parts);
    if (s.length !== 1)
      throw new Error(`expected one series for ${parts.join(' ')}, got ${s.map((x) => x.key).join(' | ')}`);
    return s[0].v[s[0].v.length - 1][0];
  }
}

/**
 * A MemoryAppendable that resolves refs as the StorageEngine does: a series sent by labels gets a ref in the
 * outcome, and a series sent by ref alone is found by it. Counts how many series came each way. Turning
 * `resolvesRefs` off makes it a labels-only appendable (a remote_write tee) that refuses refs.
 */
class RefAppendable extends MemoryAppendable {
  resolvesRefs = true;
  private readonly refOf = new Map<string, number>();
  private readonly keyOf = new Map<number, readonly string[]>();
  byLabels = 0;
  byRef = 0;
  override async append(req: AppendRequest): Promise<AppendOutcome> {
    if (req.refs !== undefined && !this.resolvesRefs)
      throw new Error('refs sent to an appendable without them');
    const n = req.series.length;
    const series: (readonly string[])[] = [];
    const refs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const given = req.refs?.[i] ?? NO_REF;
      let labels = req.series[i];
      if (given !== NO_REF) {
        const known = this.keyOf.get(given);
        if (known === undefined) throw new Error(`unknown ref ${given}`);
        labels = known;
        this.byRef++;
        refs[i] = given;
      } else {
        if (labels.length === 0) throw new Error('a series with neither labels nor a ref');
        this.byLabels++;
        const key = labels.join('\xff');
        let r = this.refOf.get(key);
        if (r === undefined) {
          r = this.refOf.size + 1;
          this.refOf.set(key, r);
          this.keyOf.set(r, [...labels]);
        }
        refs[i] = r;
      }
      series.push(labels);
    }
    const o = await super.append({ ...req, series, refs: undefined });
    if (req.refs !== undefined) o.refs = refs;
    return o;
  }
}

interface Reply {
  status?: number;
  body: string | Buffer;
  contentType?: string;
  gzip?: boolean;
  delay?: number;
}

let server: Server;
let port = 0;
let reply: Reply = { body: '' };
let lastHeaders: IncomingHttpHeaders = {};
const agent = new Agent({ keepAliveTimeout: 10_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    lastHeaders = req.headers;
    const r = reply;
    const send = () => {
      const headers: Record<string, string> = {
        'content-type': r.contentType ?? 'text/plain; version=0.0.4; charset=utf-8',
      };
      let body: Buffer = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
      if (r.gzip) {
        headers['content-encoding'] = 'gzip';
        body = gzipSync(body);
      }
      res.writeHead(r.status ?? 200, headers);
      res.end(body);
    };
    if (r.delay) setTimeout(send, r.delay);
    else send();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await agent.close();
});

function makeLoop(
  yaml: string,
  app: Appendable,
  address = `127.0.0.1:${port}`,
  groupLabels: Record<string, string> = {},
) {
  const cfg = parseConfig(yaml);
  const sc = compileScrapeConfig(cfg.scrapeConfigs[0]);
  const t = populateTarget(sc, groupLabels, address);
  if (!isTarget(t)) throw new Error('target dropped');
  return new ScrapeLoop({ appendable: app, dispatcher: agent, sc, target: t });
}

const JOB = 'scrape_configs:\n  - job_name: test\n    scrape_interval: 1s\n';

describe('one scrape', () => {
  it('appends samples with target labels and the five synthetic series', async () => {
    reply = { body: '# TYPE a counter\na_total{x="1"} 5\na_total{x="2"} 6\nb 1.5\n' };
    const app = new MemoryAppendable();
    const loop = makeLoop(JOB, app);
    await loop.scrapeAndReport();
    expect(loop.health).toBe('up');
    expect(loop.lastError).toBe('');
    const inst = `instance="127.0.0.1:${port}"`;
    expect(app.last('__name__="a_total"', 'x="1"', inst, 'job="test"')).toBe(5);
    expect(app.last('__name__="b"', inst)).toBe(1.5);
    expect(app.last('__name__="up"', inst, 'job="test"')).toBe(1);
    expect(app.last('__name__="scrape_samples_scraped"')).toBe(3);
    expect(app.last('__name__="scrape_samples_post_metric_relabeling"')).toBe(3);
    expect(app.last('__name__="scrape_series_added"')).toBe(3);
    expect(app.last('__name__="scrape_duration_seconds"')).toBeGreaterThan(0);
    // Request headers as Prometheus 2.42 sends them.
    expect(lastHeaders.accept).toBe(ACCEPT_HEADER);
    expect(lastHeaders['accept-encoding']).toBe('gzip');
    expect(lastHeaders['x-prometheus-scrape-timeout-seconds']).toBe('1');
    // A second scrape: all from the cache, no new series.
    reply = { body: '# TYPE a counter\na_total{x="1"} 7\na_total{x="2"} 8\nb 2.5\n', gzip: true };
    await loop.scrapeAndReport();
    expect(app.last('__name__="a_total"', 'x="1"')).toBe(7);
    expect(app.last('__name__="scrape_series_added"')).toBe(0);
    expect(loop.cache.metadata.get('a')?.type).toBe('counter');
  });

  it('parses OpenMetrics when the target answers with it', async () => {
    reply = {
      contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
      body: '# TYPE c counter\nc_total 1 # {t="x"} 1\nc_created 1700000000.5\n# EOF\n',
    };
    const app = new MemoryAppendable();
    const loop = makeLoop(JOB, app);
    await loop.scrapeAndReport();
    expect(loop.lastError).toBe('');
    expect(app.last('__name__="c_total"')).toBe(1);
    expect(app.last('__name__="c_created"')).toBe(1700000000.5);
  });

  it('renames conflicting labels to exported_* unless honor_labels', async () => {
    reply = { body: 'm{job="other",instance="i",exported_job="x"} 1\n' };
    const app = new MemoryAppendable();
    await makeLoop(JOB, app).scrapeAndReport();
    const s = app.find('__name__="m"');
    expect(s).toHaveLength(1);
    expect(s[0].key).toContain('job="test"');
    expect(s[0].key).toContain('exported_instance="i"');
    expect(s[0].key).toContain('exported_exported_job="other"');
    expect(s[0].key).toContain('exported_job="x"');

    const app2 = new MemoryAppendable();
    reply = { body: 'm{job="other",instance=""} 1\n' };
    await makeLoop(`${JOB}    honor_labels: true\n`, app2).scrapeAndReport();
    const s2 = app2.find('__name__="m"');
    // The exposed job wins; an exposed empty instance suppresses the target's.
    expect(s2[0].key).toBe('__name__="m",job="other",');
  });

  it('applies metric_relabel_configs and counts post-relabel samples', async () => {
    reply = { body: 'keep_me 1\ndrop_me 2\nrename_me{a="x"} 3\n' };
    const app = new MemoryAppendable();
    const loop = makeLoop(
      `${JOB}    metric_relabel_configs:
      - {source_labels: [__name__], regex: drop_.*, action: drop}
      - {source_labels: [a], target_label: b, replacement: 'y_$1'}
      - {regex: a, action: labeldrop}
`,
      app,
    );
    await loop.scrapeAndReport();
    expect(app.find('__name__="drop_me"')).toHaveLength(0);
    expect(app.find('__name__="rename_me"')[0].key).toContain('b="y_x"');
    expect(app.find('__name__="rename_me"')[0].key).not.toContain('a="x"');
    expect(app.last('__name__="scrape_samples_scraped"')).toBe(3);
    expect(app.last('__name__="scrape_samples_post_metric_relabeling"')).toBe(2);
  });

  it('keeps or ignores exposed timestamps by honor_timestamps', async () => {
    reply = { body: 'ts_metric 1 1600000000000\n' };
    const app = new MemoryAppendable();
    await makeLoop(JOB, app).scrapeAndReport();
    expect(app.find('ts_metric')[0].t[0]).toBe(1600000000000);
    const app2 = new MemoryAppendable();
    await makeLoop(`${JOB}    honor_timestamps: false\n`, app2).scrapeAndReport();
    expect(app2.find('ts_metric')[0].t[0]).toBeGreaterThan(1700000000000);
  });
});

describe('staleness', () => {
  it('marks a disappeared series, then every series when the target fails', async () => {
    const app = new MemoryAppendable();
    const loop = makeLoop(JOB, app);
    reply = { body: 'a 1\nb 2\nc{x="1"} 3\n' };
    await loop.scrapeAndReport();
    reply = { body: 'a 1\nc{x="1"} 3\n' };
    await loop.scrapeAndReport();
    const b = app.find('__name__="b"')[0];
    expect(b.v).toHaveLength(2);
    expect(isStaleNaN(b.v[1][0])).toBe(true);
    expect(app.find('__name__="a"')[0].v.map((x) => x[0])).toEqual([1, 1]);
    // b stays stale only once.
    await loop.scrapeAndReport();
    expect(app.find('__name__="b"')[0].v).toHaveLength(2);
    // The target fails: a and c get markers; up is 0.
    reply = { status: 500, body: 'oops' };
    await loop.scrapeAndReport();
    expect(loop.health).toBe('down');
    expect(loop.lastError).toMatch(/server returned HTTP status 500 Internal Server Error/);
    expect(app.last('__name__="up"')).toBe(0);
    for (const name of ['a', 'c']) {
      const s = app.find(`__name__="${name}"`)[0];
      expect(isStaleNaN(s.v[s.v.length - 1][0])).toBe(true);
    }
    // It comes back: values again.
    reply = { body: 'a 5\n' };
    await loop.scrapeAndReport();
    expect(app.last('__name__="a"')).toBe(5);
    expect(app.last('__name__="up"')).toBe(1);
  });

  it('marks every series and the synthetic ones when the loop stops for good', async () => {
    const app = new MemoryAppendable();
    const cfg = parseConfig(
      'scrape_configs:\n  - job_name: t\n    scrape_interval: 100ms\n    scrape_timeout: 100ms\n',
    );
    const sc = compileScrapeConfig(cfg.scrapeConfigs[0]);
    const t = populateTarget(sc, {}, `127.0.0.1:${port}`);
    if (!isTarget(t)) throw new Error('dropped');
    const loop = new ScrapeLoop({ appendable: app, dispatcher: agent, sc, target: t });
    reply = { body: 'gone 1\n' };
    await loop.scrapeAndReport();
    await loop.stop(true);
    const s = app.find('__name__="gone"')[0];
    expect(isStaleNaN(s.v[1][0])).toBe(true);
    expect(s.t[1]).toBeGreaterThan(s.t[0]);
    const up = app.find('__name__="up"')[0];
    expect(isStaleNaN(up.v[up.v.length - 1][0])).toBe(true);
  });
});

describe('series refs (an appendable that resolves them)', () => {
  it('sends known series by ref alone, marks stale by ref, and gives labels back to an appendable without refs', async () => {
    const app = new RefAppendable();
    const loop = makeLoop(JOB, app);
    reply = { body: 'a 1\nb{x="1"} 2\nc{x="2",y="z"} 3\n' };
    await loop.scrapeAndReport();
    // First scrape: three series and five synthetic ones by labels; the cache lets the label arrays go.
    expect(app.byLabels).toBe(8);
    expect(app.byRef).toBe(0);
    expect(loop.cache.released).toBe(3);
    reply = { body: 'a 4\nc{x="2",y="z"} 6\n' };
    await loop.scrapeAndReport();
    // Second: everything by ref, b's stale marker too.
    expect(app.byLabels).toBe(8);
    expect(app.byRef).toBe(8);
    const inst = `instance="127.0.0.1:${port}"`;
    expect(app.last('__name__="a"', inst, 'job="test"')).toBe(4);
    expect(app.last('__name__="c"', 'x="2"', 'y="z"')).toBe(6);
    expect(isStaleNaN(app.last('__name__="b"', 'x="1"'))).toBe(true);
    expect(app.last('__name__="scrape_samples_scraped"')).toBe(2);
    // A reload adds a remote_write tee: refs are no longer understood, the labels come back from the keys.
    app.resolvesRefs = false;
    reply = { body: 'a 7\n' };
    await loop.scrapeAndReport();
    expect(loop.health).toBe('up');
    expect(loop.cache.released).toBe(0);
    expect(app.last('__name__="a"', inst, 'job="test"')).toBe(7);
    expect(isStaleNaN(app.last('__name__="c"', 'x="2"', 'y="z"'))).toBe(true);
    // The same series, not new ones: one per label set and the synthetic five.
    expect(app.series.size).toBe(8);
    // And refs again.
    app.resolvesRefs = true;
    reply = { body: 'a 8\nb{x="1"} 9\n' };
    await loop.scrapeAndReport();
    reply = { body: 'a 10\n' };
    const before = app.byRef;
    await loop.scrapeAndReport();
    expect(app.byRef - before).toBe(7);
    expect(isStaleNaN(app.last('__name__="b"', 'x="1"'))).toBe(true);
    expect(app.last('__name__="a"')).toBe(10);
    expect(app.series.size).toBe(8);
    // Stopping for good marks the rest stale by ref.
    await loop.stop(false);
  });

  it('keeps relabelled and renamed (exported_) labels when they are derived again', async () => {
    const app = new RefAppendable();
    const yaml = `${JOB}    metric_relabel_configs:\n      - source_labels: [x]\n        target_label: y\n        replacement: "v$1"\n`;
    const loop = makeLoop(yaml, app);
    reply = { body: 'm{x="1",job="inner"} 1\n' };
    await loop.scrapeAndReport();
    const key = [...app.series.keys()].find((k) => k.includes('__name__="m"'))!;
    app.resolvesRefs = false;
    reply = { body: 'm{x="1",job="inner"} 2\n' };
    await loop.scrapeAndReport();
    expect(app.find('__name__="m"')).toHaveLength(1);
    expect(app.find('__name__="m"')[0].key).toBe(key);
    expect(key).toContain('exported_job="inner"');
    expect(key).toContain('y="v1"');
  });
});

describe('scrape timestamps', () => {
  it('aligns a scrape up to the tolerance late to the schedule, as Prometheus 2.42', async () => {
    const app = new MemoryAppendable();
    const cfg = parseConfig('scrape_configs:\n  - job_name: t\n    scrape_interval: 1s\n');
    const sc = compileScrapeConfig(cfg.scrapeConfigs[0]);
    const t = populateTarget(sc, {}, `127.0.0.1:${port}`);
    if (!isTarget(t)) throw new Error('dropped');
    const loop = new ScrapeLoop({
      appendable: app,
      dispatcher: agent,
      sc,
      target: t,
      timestampToleranceMs: 5,
    });
    reply = { body: 'a 1\n' };
    const realNow = Date.now;
    let now = Math.floor(realNow() / 1000) * 1000;
    Date.now = () => now;
    try {
      await loop.scrapeAndReport();
      now += 1003; // 3 ms late: on the schedule
      await loop.scrapeAndReport();
      now += 1009; // 12 ms after the schedule: as measured
      await loop.scrapeAndReport();
      now += 2991; // two missed intervals, then 3 ms late on the schedule: on it
      await loop.scrapeAndReport();
    } finally {
      Date.now = realNow;
    }
    const a = app.find('__name__="a"')[0];
    const t0 = a.t[0];
    expect(a.t.map((x) => x - t0)).toEqual([0, 1000, 2012, 5000]);
  });
});

describe('limits and bad input', () => {
  it('fails the scrape on sample_limit and appends nothing of it', async () => {
    const app = new MemoryAppendable();
    const loop = makeLoop(`${JOB}    sample_limit: 2\n`, app);
    reply = { body: 'a 1\nb 2\n' };
    await loop.scrapeAndReport();
    expect(loop.health).toBe('up');
    reply = { body: 'a 1\nb 2\nc 3\n' };
    await loop.scrapeAndReport();
    expect(loop.health).toBe('down');
    expect(loop.lastError).toBe('sample limit exceeded');
    expect(app.find('__name__="c"')).toHaveLength(0);
    expect(isStaleNaN(app.find('__name__="a"')[0].v[1][0])).toBe(true);
    expect(app.last('__name__="up"')).toBe(0);
    expect(app.last('__name__="scrape_samples_scraped"')).toBe(3);
  });

  it('fails the scrape on a malformed line, naming it', async () => {
    const app = new MemoryAppendable();
    const loop = makeLoop(JOB, app);
    reply = { body: 'a 1\nb 2\nc{x="1" 3\nd 4\n' };
    await loop.scrapeAndReport();
    expect(loop.health).toBe('down');
    expect(loop.lastError).toMatch(/^line 3: /);
    expect(app.find('__name__="a"')).toHaveLength(0);
    expect(app.last('__name__="up"')).toBe(0);
  });

  it('fails the scrape on invalid UTF-8 in a label value or HELP text, as Prometheus 2.42', async () => {
    // Observed with the real 2.42 binary on loopback: `invalid UTF-8 label value` (text and OpenMetrics),
    // `help text is not a valid utf8 string`; invalid bytes in a free comment are ignored.
    const bytes = (...parts: (string | number[])[]) =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    const app = new MemoryAppendable();
    const loop = makeLoop(JOB, app);
    reply = { body: bytes('a 1\nb{l="x', [0xff, 0xfe], 'y"} 2\n') };
    await loop.scrapeAndReport();
    expect(loop.health).toBe('down');
    expect(loop.lastError).toBe('line 2: invalid UTF-8 label value');
    expect(app.find('__name__="a"')).toHaveLength(0);
    expect(app.last('__name__="up"')).toBe(0);

    reply = { body: bytes('# HELP c help ', [0xc3], ' text\nc 1\n') };
    await loop.scrapeAndReport();
    expect(loop.lastError).toBe('line 1: help text is not a valid utf8 string');

    reply = {
      body: bytes('# TYPE e gauge\ne{l="x', [0xff], '"} 1\n# EOF\n'),
      contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
    };
    await loop.scrapeAndReport();
    expect(loop.lastError).toBe('line 2: invalid UTF-8 label value');

    // An earlier malformed line is reported first, as 2.42 stops at the first bad entry.
    reply = { body: bytes('a{ 1\nb{l="', [0xff], '"} 2\n') };
    await loop.scrapeAndReport();
    expect(loop.lastError).toMatch(/^line 1: /);

    reply = { body: bytes('# just a comment ', [0xff], '\nd 1\nf{l="x\u{fffd}y"} 2\n') };
    await loop.scrapeAndReport();
    expect(loop.health).toBe('up');
    expect(app.last('__name__="d"')).toBe(1);
    // A correctly encoded U+FFFD is a valid character.
    expect(app.last('__name__="f"', 'l="x\u{fffd}y"')).toBe(2);
  });

  it('cuts a hanging target at its timeout', async () => {
    const app = new MemoryAppendable();
    const loop = makeLoop(
      'scrape_configs:\n  - job_name: t\n    scrape_interval: 1s\n    scrape_timeout: 200ms\n',
      app,
    );
    reply = { body: 'a 1\n', delay: 2000 };
    const t0 = Date.now();
    await loop.scrapeAndReport();
    const took = Date.now() - t0;
    expect(loop.health).toBe('down');
    expect(loop.lastError).toMatch(/context deadline exceeded/);
    expect(took).toBeLessThan(1500);
  });

  it('enforces label limits and body_size_limit', async () => {
    reply = { body: 'a{x="1",y="2",z="3"} 1\n' };
    const app = new MemoryAppendable();
    const loop = makeLoop(`${JOB}    label_limit: 3\n`, app);
    await loop.scrapeAndReport();
    expect(loop.lastError).toMatch(/label_limit exceeded \(metric: a, number of labels: 6, limit: 3\)/);
    const loop2 = makeLoop(`${JOB}    label_value_length_limit: 2\n`, app);
    await loop2.scrapeAndReport();
    expect(loop2.lastError).toMatch(/label_value_length_limit exceeded/);
    reply = { body: `big ${'1'.repeat(2000)}\n`, gzip: true };
    const loop3 = makeLoop(`${JOB}    body_size_limit: 1KB\n`, app);
    await loop3.scrapeAndReport();
    expect(loop3.lastError).toMatch(/body size limit exceeded/);
  });

  it('parses a huge body in slices, leaving the event loop free in between', async () => {
    let body = '';
    for (let i = 0; i < 60000; i++) body += `huge_metric{i="${i}",pad="${'x'.repeat(40)}"} ${i}\n`;
    expect(body.length).toBeGreaterThan(3 << 20);
    reply = { body };
    const app = new MemoryAppendable();
    const loop = makeLoop(JOB, app);
    let during = false;
    let ticksDuringParse = 0;
    const timer = setInterval(() => {
      if (during) ticksDuringParse++;
    }, 1);
    // Count event-loop turns between the end of the response and the append (the parse).
    const origAppend = app.append.bind(app);
    app.append = async (req) => {
      during = false;
      return origAppend(req);
    };
    const inner = loop as unknown as { fetchBody: () => Promise<{ body: string; contentType: string }> };
    const fetchBody = inner.fetchBody.bind(loop);
    inner.fetchBody = async () => {
      const r = await fetchBody();
      during = true;
      return r;
    };
    await loop.scrapeAndReport();
    clearInterval(timer);
    expect(loop.lastError).toBe('');
    expect(app.last('__name__="scrape_samples_scraped"')).toBe(60000);
    expect(ticksDuringParse).toBeGreaterThan(0);
  });

  it('reports a refused connection', async () => {
    const app = new MemoryAppendable();
    const loop = makeLoop(JOB, app, '127.0.0.1:1');
    await loop.scrapeAndReport();
    expect(loop.health).toBe('down');
    expect(loop.lastError).toMatch(/^Get "http:\/\/127\.0\.0\.1:1\/metrics": /);
  });
});
