/** Queries over the data set of promql-dataset.ts, shared by the differential and shard tests. */

/** Expressions valid as range queries too. */
export const EXPRESSIONS: string[] = [
  'http_requests_total',
  'http_requests_total{job="api"}',
  'http_requests_total{job=~"a.*|w.*", method!="POST"}',
  '{__name__=~"http_.*", code="200", instance=~".*1.*"}',
  'http_requests_total{job=~"(?i)API"}',
  'rate(http_requests_total[5m])',
  'rate(http_requests_total[1m])',
  'irate(http_requests_total[5m])',
  'increase(http_requests_total[10m])',
  'delta(temperature_celsius[10m])',
  'idelta(temperature_celsius[5m])',
  'deriv(temperature_celsius[10m])',
  'predict_linear(temperature_celsius[10m], 600)',
  'resets(http_requests_total[30m])',
  'changes(temperature_celsius[10m])',
  'avg_over_time(temperature_celsius[10m])',
  'min_over_time(temperature_celsius[10m])',
  'max_over_time(temperature_celsius[10m])',
  'sum_over_time(temperature_celsius[10m])',
  'count_over_time(up[10m])',
  'last_over_time(temperature_celsius[10m])',
  'present_over_time(up[5m])',
  'stddev_over_time(temperature_celsius[10m])',
  'stdvar_over_time(temperature_celsius[10m])',
  'quantile_over_time(0.9, temperature_celsius[10m])',
  'quantile_over_time(0.25, http_requests_total[15m])',
  'absent_over_time(nonexistent{job="x"}[5m])',
  'absent_over_time(up{instance="b2"}[5m])',
  'absent(nonexistent{job="x", instance=~"a.*"})',
  'absent(up{job="batch"})',
  'holt_winters(temperature_celsius[10m], 0.5, 0.5)',
  'holt_winters(http_requests_total[5m], 0.1, 0.9)',
  'sum(rate(http_requests_total[5m])) by (job)',
  'sum without (instance) (rate(http_requests_total[5m]))',
  'sum(http_requests_total)',
  'avg by (job) (temperature_celsius)',
  'max by (job) (temperature_celsius)',
  'min by (job) (temperature_celsius)',
  'count by (job) (http_requests_total)',
  'group by (job) (http_requests_total)',
  'stddev by (job) (temperature_celsius)',
  'stdvar(temperature_celsius)',
  'topk(3, http_requests_total)',
  'bottomk(2, temperature_celsius)',
  'topk by (job) (1, rate(http_requests_total[5m]))',
  'quantile(0.5, temperature_celsius)',
  'quantile by (job) (0.9, rate(http_requests_total[5m]))',
  'count_values("value", up)',
  'count_values by (job) ("v", round(temperature_celsius))',
  'histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))',
  'histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket[10m])))',
  'histogram_quantile(0.99, request_duration_seconds_bucket)',
  'rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])',
  'http_requests_total / on(job, instance) group_left sum by (job, instance) (http_requests_total)',
  'sum by (job, method) (rate(http_requests_total[5m])) / ignoring(method) group_left sum by (job) (rate(http_requests_total[5m]))',
  'sum by (job) (rate(http_requests_total[5m])) * on(job) group_right count by (job, instance) (temperature_celsius)',
  'temperature_celsius > 25',
  'temperature_celsius > bool 25',
  '25 < temperature_celsius',
  '26 >= bool temperature_celsius',
  'http_requests_total and http_requests_total{job="api"}',
  'http_requests_total unless http_requests_total{method="GET"}',
  'up or temperature_celsius',
  'up{job="batch"} or on(job) up',
  'rate(http_requests_total[5m]) * 60',
  '-temperature_celsius',
  '2 ^ 3 ^ 2',
  '-2 ^ 2',
  '1 + 2 * 3 - 4 / 5 % 3',
  'time()',
  'vector(1) + time()',
  'scalar(sum(up))',
  'scalar(up)',
  'timestamp(up)',
  'timestamp(sum(up))',
  'up offset 10m',
  'up @ end()',
  'temperature_celsius @ start()',
  'rate(http_requests_total[5m] @ start())',
  'rate(http_requests_total[5m] offset -5m)',
  'max_over_time(rate(http_requests_total[2m])[10m:1m])',
  'avg_over_time(temperature_celsius[10m:])',
  'sum_over_time(up[1h:5m])',
  'max_over_time(deriv(temperature_celsius[5m])[20m:2m] offset 3m)',
  'min_over_time(sum by (job) (rate(http_requests_total[3m]))[15m:45s])',
  'rate(http_requests_total[10m:30s])',
  'abs(delta(temperature_celsius[5m]))',
  'ceil(temperature_celsius)',
  'floor(temperature_celsius)',
  'round(temperature_celsius, 0.5)',
  'round(rate(http_requests_total[5m]))',
  'clamp(temperature_celsius, 21, 26)',
  'clamp_min(temperature_celsius, 24)',
  'clamp_max(temperature_celsius, 24)',
  'exp(temperature_celsius / 10)',
  'ln(temperature_celsius)',
  'log2(http_requests_total)',
  'log10(http_requests_total)',
  'sqrt(temperature_celsius)',
  'sgn(delta(temperature_celsius[5m]))',
  'sin(temperature_celsius) + cos(temperature_celsius) * tan(temperature_celsius)',
  'asin(temperature_celsius / 100) + acos(temperature_celsius / 100) + atan(temperature_celsius)',
  'sinh(temperature_celsius / 10) - cosh(temperature_celsius / 10) + tanh(temperature_celsius)',
  'asinh(temperature_celsius) + acosh(temperature_celsius) + atanh(temperature_celsius / 100)',
  'deg(temperature_celsius) + rad(temperature_celsius) + pi()',
  'hour(timestamp(up))',
  'minute(timestamp(up))',
  'day_of_week()',
  'month() + year() + days_in_month() + day_of_year() + day_of_month()',
  'minute()',
  'label_replace(up, "host", "$1", "instance", "(.*)1")',
  'label_replace(up, "job", "x-$1-${2}", "instance", "([a-z]+)([0-9])")',
  'label_join(up, "combined", "-", "job", "instance")',
  'sort(temperature_celsius)',
  'sort_desc(temperature_celsius)',
  'odd_values',
  'rate(odd_values[5m])',
  'sum(odd_values)',
  'avg_over_time(odd_values[10m])',
  'odd_values > 0',
  'max(odd_values)',
  'min(odd_values)',
  'deriv(odd_values[5m])',
  'up == 1',
  'count(up == 1)',
  'sum(http_requests_total) by (job) > 10000',
  'http_requests_total % 7',
  'temperature_celsius atan2 20',
  'count by (job) (http_requests_total) == bool 4',
  'sum by (le) (request_duration_seconds_bucket)',
  'avg(rate(http_requests_total[5m]) > 0.5)',
  'up unless on(job) temperature_celsius',
  'temperature_celsius and on(job) (up == 1)',
];

/** A seeded generator of well-typed random queries over the data set's metrics. */
export function randomQueries(count: number, seed: number): string[] {
  let a = seed >>> 0;
  const r = (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r(xs.length))];
  const sels = [
    'http_requests_total',
    'http_requests_total{method="GET"}',
    'http_requests_total{job!="db"}',
    'temperature_celsius',
    'temperature_celsius{instance="host-1"}',
    'up',
    'odd_values',
    'request_duration_seconds_count',
    '{__name__=~"temperature_celsius|up", job="api"}',
  ];
  // Not `offset 5m @ end()`: Prometheus 2.42's timestamp() returns nothing for a selector whose offset equals
  // the lookback delta under @ (a quirk of its timestamp() special case; the selector alone works).
  const mods = ['', '', '', ' offset 2m', ' offset -1m', ' @ start()', ' @ end()', ' offset 3m @ end()'];
  const durs = ['1m', '2m', '5m', '90s', '10m', '16m'];
  const rangeFns = [
    'rate',
    'irate',
    'increase',
    'delta',
    'idelta',
    'deriv',
    'changes',
    'resets',
    'avg_over_time',
    'min_over_time',
    'max_over_time',
    'sum_over_time',
    'count_over_time',
    'last_over_time',
    'stddev_over_time',
    'present_over_time',
  ];
  const mathFns = ['abs', 'ceil', 'floor', 'sqrt', 'ln', 'exp', 'sgn', 'timestamp', 'round'];
  const aggs = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar'];
  // No @ inside subqueries: Prometheus 2.42 answers an @ selector inside an @ subquery inside another
  // subquery inconsistently (empty in one run, values in the next; instant and range disagree).
  let inSubquery = 0;
  const mod = (): string => (inSubquery > 0 ? pick(mods.filter((m) => !m.includes('@'))) : pick(mods));
  const sel = (): string => pick(sels) + mod();
  const scalar = (d: number): string => {
    const k = Math.floor(r(d > 0 ? 4 : 2));
    if (k === 0) return pick(['0', '1', '2', '0.5', '-3', '100']);
    if (k === 1) return 'time()';
    if (k === 2) return `scalar(sum(${vec(d - 1)}))`;
    return `(${scalar(d - 1)} ${pick(['+', '-', '*', '/'])} ${scalar(d - 1)})`;
  };
  // topk/bottomk only at the top: in a range evaluation Prometheus breaks their ties by the order of the
  // input series, which it takes from a Go map (random), so nested under anything their choice can differ.
  const vec = (d: number, root = false): string => {
    if (d <= 0) return sel();
    switch (Math.floor(r(root && inSubquery === 0 ? 12 : 11))) {
      case 0:
        return sel();
      case 1:
      case 2: {
        const rv = pick(sels) + `[${pick(durs)}]` + mod();
        return `${pick(rangeFns)}(${rv})`;
      }
      case 3:
        return `${pick(mathFns)}(${vec(d - 1)})`;
      case 4:
        return `${pick(aggs)} by (job) (${vec(d - 1)})`;
      case 5:
        return `${pick(aggs)} without (instance) (${vec(d - 1)})`;
      case 6:
        return `${vec(d - 1)} ${pick(['+', '-', '*', '/', '%', '^'])} ${scalar(d - 1)}`;
      case 7:
        return `${vec(d - 1)} ${pick(['>', '<', '==', '!=', '>=', '<='])} ${pick(['', 'bool '])}${pick(['0', '1', '25', '1000'])}`;
      case 8: {
        const ag = pick(aggs);
        return `${ag} by (job) (${vec(d - 1)}) ${pick(['+', '/', '>', '-'])} on(job) ${pick(aggs)} by (job) (${vec(d - 1)})`;
      }
      case 9:
        return `${vec(d - 1)} ${pick(['and', 'or', 'unless'])} ${pick(['', 'on(job) ', 'ignoring(method) '])}${vec(d - 1)}`;
      case 10: {
        inSubquery++;
        const inner = vec(d - 1);
        inSubquery--;
        return `${pick(rangeFns)}((${inner})[${pick(['5m', '10m', '3m'])}:${pick(['', '1m', '30s', '45s'])}]${mod()})`;
      }
      default:
        return `${pick(['topk', 'bottomk'])}(${pick(['1', '2', '5'])}, ${vec(d - 1)})`;
    }
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(vec(1 + Math.floor(r(3)), true));
  return out;
}
