import Fastify from 'fastify';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RequestLogger, lazyChildren, loggerOptions } from './logger.js';

/** A server logging like the real one (level, redaction, lazy request loggers) into an array. */
function serverLoggingTo(lines: Record<string, unknown>[], level: string) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const app = Fastify({
    logger: { ...loggerOptions(level), stream },
    genReqId: () => `req-${lines.length}-${Math.random().toString(36).slice(2)}`,
  });
  lazyChildren(app.log);
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/loud', async (request) => {
    request.log.info({ step: 1 }, 'info line');
    request.log.warn({ body: { token: 'secret-token-value' } }, 'warn line');
    request.log.child({ extra: 'x' }).error('child line');
    return { ok: true, level: request.log.level, lazy: request.log instanceof RequestLogger };
  });
  app.get('/debug-route', { logLevel: 'debug' }, async (request) => {
    request.log.debug('debug line');
    return { ok: true };
  });
  return app;
}

describe('request loggers', () => {
  it('log with the request id and redaction at enabled levels, and nothing below', async () => {
    const lines: Record<string, unknown>[] = [];
    const app = serverLoggingTo(lines, 'warn');
    const quiet = await app.inject({ method: 'GET', url: '/quiet' });
    expect(quiet.statusCode).toBe(200);
    expect(lines).toEqual([]);
    const loud = await app.inject({ method: 'GET', url: '/loud' });
    expect(loud.json()).toEqual({ ok: true, level: 'warn', lazy: true });
    expect(lines.map((l) => l.msg)).toEqual(['warn line', 'child line']);
    const reqIds = new Set(lines.map((l) => l.reqId));
    expect(reqIds.size).toBe(1);
    expect([...reqIds][0]).toMatch(/^req-/);
    expect(lines[0]).toMatchObject({ level: 40, service: 'xiaowei', body: { token: '[redacted]' } });
    expect(lines[1]).toMatchObject({ level: 50, extra: 'x' });
    await app.close();
  });

  it("write fastify's own request lines at info, and honour a route's log level", async () => {
    const lines: Record<string, unknown>[] = [];
    const app = serverLoggingTo(lines, 'info');
    await app.inject({ method: 'GET', url: '/quiet' });
    expect(lines.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
    expect(lines[0]!.reqId).toBe(lines[1]!.reqId);
    expect(lines[0]).toMatchObject({ req: { method: 'GET', url: '/quiet' } });
    lines.length = 0;
    await app.inject({ method: 'GET', url: '/debug-route' });
    expect(lines.map((l) => l.msg)).toEqual(['incoming request', 'debug line', 'request completed']);
    await app.close();
  });
});
