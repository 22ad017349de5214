/**
 * installTerminalAuth fits each route with `config.terminalAuth` with its hooks as the route is
 * registered, so it must come first; guardTerminalRoutes makes any other order refuse to start.
 * No database: nothing here gets past the header check.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { guardTerminalRoutes, installTerminalAuth, type TerminalAuthDeps } from './terminal-auth.js';

// Never reached: every request below is refused for its missing headers first.
const deps = {} as TerminalAuthDeps;
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function guarded(): { app: FastifyInstance; calls: string[] } {
  const app = Fastify({ logger: false });
  apps.push(app);
  guardTerminalRoutes(app);
  return { app, calls: [] };
}

function terminalRoutes(app: FastifyInstance, calls: string[]): void {
  app.post('/pay', { config: { terminalAuth: 'ordered-seq' } }, async () => {
    calls.push('pay');
    return { ok: true };
  });
  app.get('/poll', { config: { terminalAuth: true } }, async () => {
    calls.push('poll');
    return { ok: true };
  });
}

const WRONG_ORDER = /Terminal routes registered before installTerminalAuth/;

describe('terminal auth is installed before the terminal routes', () => {
  it('starts, and verifies every terminal route, when installTerminalAuth comes first', async () => {
    const { app, calls } = guarded();
    installTerminalAuth(app, deps);
    await app.register(async (scope) => terminalRoutes(scope, calls));
    await app.ready();

    for (const [method, url] of [
      ['POST', '/pay'],
      ['GET', '/poll'],
      ['HEAD', '/poll'],
    ] as const) {
      const reply = await app.inject({ method, url, payload: method === 'POST' ? {} : undefined });
      expect(reply.statusCode, `${method} ${url}`).not.toBe(200);
    }
    expect(calls).toEqual([]);
  });

  it('refuses to start when a terminal route is registered before installTerminalAuth', async () => {
    const { app, calls } = guarded();
    terminalRoutes(app, calls);
    installTerminalAuth(app, deps);
    const failure = app.ready();
    await expect(failure).rejects.toThrow(WRONG_ORDER);
    await expect(failure).rejects.toThrow(/POST \/pay, GET \/poll, HEAD \/poll/);
  });

  it('refuses to start when installTerminalAuth is in a sibling scope', async () => {
    const { app, calls } = guarded();
    await app.register(async (scope) => installTerminalAuth(scope, deps));
    await app.register(async (scope) => terminalRoutes(scope, calls));
    await expect(app.ready()).rejects.toThrow(WRONG_ORDER);
  });

  it('refuses to start when installTerminalAuth is never called', async () => {
    const { app, calls } = guarded();
    terminalRoutes(app, calls);
    await expect(app.ready()).rejects.toThrow(WRONG_ORDER);
  });

  it('lets routes without config.terminalAuth be registered in any order', async () => {
    const { app } = guarded();
    app.get('/livez', async () => ({ ok: true }));
    installTerminalAuth(app, deps);
    await app.ready();
    expect((await app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200);
  });
});
