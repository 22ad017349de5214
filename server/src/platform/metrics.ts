import client from 'prom-client';

/** Prometheus metrics of one server instance (its own registry, so tests can build many apps). */
export class Metrics {
  readonly registry = new client.Registry();
  readonly httpDuration = new client.Histogram({
    name: 'xiaowei_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
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
