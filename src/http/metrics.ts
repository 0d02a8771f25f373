// The HTTP server's own metrics, named as Prometheus names them.
import { Counter, Histogram, type Registry } from 'prom-client';

export class HttpMetrics {
  private readonly requests: Counter<'code' | 'handler'>;
  private readonly duration: Histogram<'handler'>;

  constructor(registry: Registry) {
    this.requests =
      (registry.getSingleMetric('prometheus_http_requests_total') as
        | Counter<'code' | 'handler'>
        | undefined) ??
      new Counter({
        name: 'prometheus_http_requests_total',
        help: 'Counter of HTTP requests.',
        labelNames: ['code', 'handler'],
        registers: [registry],
      });
    this.duration =
      (registry.getSingleMetric('prometheus_http_request_duration_seconds') as
        | Histogram<'handler'>
        | undefined) ??
      new Histogram({
        name: 'prometheus_http_request_duration_seconds',
        help: 'Histogram of latencies for HTTP requests.',
        labelNames: ['handler'],
        // Prometheus' own buckets for this histogram.
        buckets: [0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120],
        registers: [registry],
      });
  }

  observe(handler: string, code: number, seconds: number): void {
    this.requests.inc({ code: String(code), handler });
    this.duration.observe({ handler }, seconds);
  }
}
