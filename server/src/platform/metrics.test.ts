import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Metrics, RequestDurations } from './metrics.js';

const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

describe('RequestDurations', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const ours = new client.Registry();
    const theirs = new client.Registry();
    const durations = new RequestDurations('x_seconds', 'help text', BOUNDS, ours);
    const reference = new client.Histogram({
      name: 'x_seconds',
      help: 'help text',
      labelNames: ['method', 'route', 'status'],
      buckets: BOUNDS,
      registers: [theirs],
    });
    const observations: [string, string, number, number][] = [
      ['POST', '/api/v1/transfers', 201, 0.0004],
      ['POST', '/api/v1/transfers', 201, 0.001],
      ['POST', '/api/v1/transfers', 201, 0.0011],
      ['POST', '/api/v1/transfers', 201, 2.5],
      ['POST', '/api/v1/transfers', 201, 7],
      ['POST', '/api/v1/transfers', 422, 0.03],
      ['GET', 'unmatched', 404, 0.0001],
      ['GET', '/api/v1/accounts/:id', 200, 0.25],
    ];
    for (const [method, route, status, seconds] of observations) {
      durations.observe(method, route, status, seconds);
      reference.observe({ method, route, status: String(status) }, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // The same samples as JSON too (prom-client adds an empty exemplar slot to each).
    const withoutExemplars = (json: unknown) =>
      JSON.parse(JSON.stringify(json, (key, value: unknown) => (key === 'exemplar' ? undefined : value))) as unknown;
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('ignores a duration that is not a finite number', async () => {
    const registry = new client.Registry();
    const durations = new RequestDurations('y_seconds', 'help', BOUNDS, registry);
    durations.observe('GET', '/a', 200, Number.NaN);
    durations.observe('GET', '/a', 200, 0.002);
    expect(await registry.metrics()).toMatch(/^y_seconds_count\{method="GET",route="\/a",status="200"\} 1$/m);
    expect(await registry.metrics()).toMatch(/^y_seconds_sum\{method="GET",route="\/a",status="200"\} 0.002$/m);
  });

  it('is the http duration metric of the server registry', async () => {
    const metrics = new Metrics();
    metrics.httpDuration.observe('GET', '/livez', 200, 0.003);
    expect(await metrics.registry.metrics()).toMatch(
      /^xiaowei_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/livez",status="200"\} 1$/m,
    );
  });
});
