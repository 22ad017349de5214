import client from 'prom-client';

interface Series {
  labels: Readonly<Record<string, string>>;
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/** One exposed sample, as prom-client's registry reads it. */
interface Sample {
  labels: Readonly<Record<string, string | number>>;
  value: number;
  metricName: string;
}

/**
 * The HTTP request duration histogram, observed once per request. prom-client's `Histogram`
 * validates and hashes the label object on every observation (and allocates for it); here a
 * series is found by one string key and an observation is a bucket search and three additions.
 * It is read through the same registry, in the same exposition format as prom-client's own.
 */
export class RequestDurations {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['method', 'route', 'status'] as const;
  private series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly upperBounds: readonly number[],
    registry: client.Registry,
  ) {
    registry.registerMetric(this as unknown as client.Metric);
  }

  /** One request's duration in seconds, by method, route pattern (not the URL) and status. */
  observe(method: string, route: string, status: number, seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = {
        labels: { method, route, status: String(status) },
        counts: new Array<number>(this.upperBounds.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.series.set(key, series);
    }
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += seconds;
    series.count++;
  }

  /** prom-client's metric contract: every series as cumulative buckets, sum and count. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { le: this.upperBounds[i]!, ...s.labels }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.series = new Map();
  }
}

/** Prometheus metrics of one server instance (its own registry, so tests can build many apps). */
export class Metrics {
  readonly registry = new client.Registry();
  readonly httpDuration = new RequestDurations(
    'xiaowei_http_request_duration_seconds',
    'HTTP request duration by route and status',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    this.registry,
  );
  readonly transfersCommitted = new client.Counter({
    name: 'xiaowei_ledger_transfers_committed_total',
    help: 'Transfers committed to the ledger',
    registers: [this.registry],
  });
  readonly transfersRejected = new client.Counter({
    name: 'xiaowei_ledger_transfers_rejected_total',
    help: 'Transfers rejected by the ledger (any result code other than exists)',
    registers: [this.registry],
  });
  readonly batchSize = new client.Histogram({
    name: 'xiaowei_ledger_commit_batch_size',
    help: 'Transfers per group commit',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 8190],
    registers: [this.registry],
  });
  readonly commitLatency = new client.Histogram({
    name: 'xiaowei_ledger_commit_latency_seconds',
    help: 'Duration of one durable group commit',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly logins = new client.Counter({
    name: 'xiaowei_logins_total',
    help: 'Sign-in attempts by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'xiaowei_' });
  }
}
