// GET /federate?match[]=...: the latest sample of each matching series within the lookback window, in text
// format 0.0.4, grouped by metric name with `# TYPE <name> untyped`, external labels added, as Prometheus
// 2.42 serves it.
import type { FastifyInstance } from 'fastify';
import { compareLabels, compareStrings, type Label, type Labels, labelsKey } from '../shared/labels.js';
import type { Matcher } from '../shared/matchers.js';
import { isStaleNaN } from '../shared/storage.js';
import type { AppContext, RouteInstaller } from './app.js';
import { requestForm } from './form.js';
import { formatValueG } from './format.js';
import { parseMatchersParam } from './params.js';

export interface FederateOptions {
  readonly externalLabels?: () => Labels;
  /** --query.lookback-delta in ms (default 5m). */
  readonly lookbackDeltaMs?: number;
}

function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : v;
}

interface Point {
  labels: Labels;
  name: string;
  t: number;
  v: number;
}

export function federateRoutes(o: FederateOptions = {}): RouteInstaller {
  const lookback = o.lookbackDeltaMs ?? 300_000;
  return (app: FastifyInstance, ctx: AppContext) => {
    app.get('/federate', async (req, reply) => {
      const text = (code: number, msg: string) =>
        reply.code(code).type('text/plain; charset=utf-8').send(`${msg}\n`);
      if (!ctx.ready()) return text(503, 'Service Unavailable');
      const form = requestForm(req);
      let sets: Matcher[][];
      try {
        sets = parseMatchersParam(form.getAll('match[]'));
      } catch (e) {
        return text(400, (e as Error).message);
      }
      const now = ctx.now();
      const ext = o.externalLabels?.() ?? [];
      const seen = new Set<string>();
      const points: Point[] = [];
      for (const set of sets) {
        let data: Awaited<ReturnType<typeof ctx.opts.queryable.select>>;
        try {
          data = await ctx.opts.queryable.select(set, now - lookback, now);
        } catch (e) {
          return text(500, (e as Error).message);
        }
        for (const s of data) {
          const n = s.t.length;
          if (n === 0) continue;
          const key = labelsKey(s.labels);
          if (seen.has(key)) continue;
          seen.add(key);
          const v = s.v[n - 1];
          if (isStaleNaN(v)) continue;
          let name = '';
          for (const l of s.labels) if (l.name === '__name__') name = l.value;
          if (name === '') continue;
          points.push({ labels: s.labels, name, t: s.t[n - 1], v });
        }
      }
      points.sort((a, b) => compareStrings(a.name, b.name) || compareLabels(a.labels, b.labels));
      let out = '';
      let last = '';
      for (const p of points) {
        if (p.name !== last) {
          out += `# TYPE ${p.name} untyped\n`;
          last = p.name;
        }
        const pairs: Label[] = p.labels.filter((l) => l.name !== '__name__');
        for (const e of ext) if (!pairs.some((l) => l.name === e.name)) pairs.push(e);
        pairs.sort((a, b) => compareStrings(a.name, b.name));
        out += p.name;
        if (pairs.length > 0) {
          out += `{${pairs.map((l) => `${l.name}="${escapeLabelValue(l.value)}"`).join(',')}}`;
        }
        out += ` ${formatValueG(p.v)} ${p.t}\n`;
      }
      return reply.code(200).type('text/plain; version=0.0.4; charset=utf-8').send(out);
    });
  };
}
