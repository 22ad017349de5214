import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canSeeOwner, visibleOwners } from './identity/access.js';
import { AuditLog } from './identity/audit.js';
import { installAuth } from './identity/auth-hook.js';
import { identityRoutes } from './identity/routes.js';
import { regionRoutes } from './identity/region-routes.js';
import type { RegionTables } from './identity/regions.js';
import type { IdentityTables } from './identity/tables.js';
import { createLedger, type Ledger } from './ledger/index.js';
import { ledgerRoutes } from './ledger/routes.js';
import type { Config } from './platform/config.js';
import type { Database } from './platform/db/database.js';
import { installErrorHandling } from './platform/http/error-handler.js';
import { validatorCompiler } from './platform/http/validation.js';
import { lazyChildren, loggerOptions } from './platform/logger.js';
import { Metrics } from './platform/metrics.js';
import type { Secrets } from './platform/secrets.js';
import { newId } from './platform/ids.js';
import { createCryptoService } from './crypto/index.js';
import type { CryptoService } from './crypto/service.js';
import { createGateway, type Gateway } from './gateway/index.js';
import { createPayments, type Payments } from './payments/index.js';
import { createTerminals, type Terminals } from './terminals/index.js';
import { fleetRoutes } from './terminals/fleet-routes.js';
import { appRoutes } from './terminals/app-routes.js';
import { guardTerminalRoutes } from './terminals/terminal-auth.js';

export interface BuildOptions {
  config: Config;
  database: Database;
  secrets: Secrets;
  /** false silences the request log (tests). */
  logger?: boolean;
  /** Folder of the built console; defaults to web/dist next to the server. */
  webDist?: string | null;
  /** Folder of the built terminal app (served at /terminal/); defaults to web/terminal/dist/shell. */
  terminalDist?: string | null;
}

export interface Xiaowei {
  app: FastifyInstance;
  ledger: Ledger;
  metrics: Metrics;
  /** The crypto service (software HSM), shared by every domain that needs keys. */
  crypto: CryptoService;
  terminals: Terminals;
  payments: Payments;
  /** ISO 8583 host, card-switch link, core-banking adapter; `gateway.start()` opens their sockets. */
  gateway: Gateway;
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_WEB_DIST = path.resolve(here, '../../web/dist');
export const DEFAULT_TERMINAL_DIST = path.resolve(here, '../../web/terminal/dist/shell');

/** Builds the whole server (every domain as a plugin) without listening: tests use `inject`. */
export async function buildApp(options: BuildOptions): Promise<Xiaowei> {
  const { config, database, secrets } = options;
  const app = Fastify({
    logger: options.logger === false ? false : loggerOptions(config.LOG_LEVEL),
    genReqId: () => newId(),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { coerceTypes: false } },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Each request's logger (its id bound) is made only when it logs something (see RequestLogger).
  if (options.logger !== false) lazyChildren(app.log);
  app.setValidatorCompiler(validatorCompiler());
  installErrorHandling(app);
  // Before any route: start fails if a terminal route is registered before terminals.installAuth below.
  guardTerminalRoutes(app);

  const metrics = new Metrics();
  const ledger = createLedger(database, config, {
    onCommit: (transfers, _requests, latencyMs) => {
      metrics.batchSize.observe(transfers);
      metrics.commitLatency.observe(latencyMs / 1000);
    },
    onResults: (committed, rejected) => {
      metrics.transfersCommitted.inc(committed);
      if (rejected) metrics.transfersRejected.inc(rejected);
    },
  });

  // Hooks that run on every request take a callback rather than returning a promise: no promise
  // and no microtask per request for work that is synchronous.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    void reply.header('x-content-type-options', 'nosniff');
    done(null, payload);
  });

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Xiaowei 小微云 API', version: '0.1.0', description: 'Payment settlement for rural banks. Amounts are integer fen (分). 金额单位为分（整数）。' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const db = database.kysely as Kysely<IdentityTables>;
  const auditLog = new AuditLog(db, database.sqlite);
  installAuth(app, { db, secrets, ttlSeconds: config.XIAOWEI_SESSION_TTL_S, sqlite: database.sqlite }, auditLog);
  const crypto = createCryptoService(secrets, { lmkVersion: config.XIAOWEI_LMK_VERSION });
  const terminals = createTerminals({ db: database, secrets, crypto, config });
  terminals.installAuth(app);
  const payments = createPayments({ database, ledger, crypto, secrets, config, commands: terminals.commands });
  const gateway = createGateway({ database, ledger, crypto, secrets, config, payments, log: app.log });

  app.get('/livez', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await database.ping();
      return { ok: true, database: database.dialect };
    } catch {
      return reply.status(503).send({ ok: false, database: database.dialect });
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  await app.register(
    async (api) => {
      await api.register(identityRoutes, { db, secrets, auditLog, ttlSeconds: config.XIAOWEI_SESSION_TTL_S, cookieSecure: config.XIAOWEI_COOKIE_SECURE });
      await api.register(regionRoutes, { db: database.kysely as Kysely<RegionTables> });
      await api.register(ledgerRoutes, {
        ledger,
        access: { canSeeOwner: (actor, owner) => canSeeOwner(db, actor, owner), visibleOwners: (actor) => visibleOwners(db, actor) },
      });
      await api.register(terminals.routes);
      await api.register(terminals.staffRoutes);
      await api.register(fleetRoutes, { db: database.kysely, dialect: database.dialect, secrets, commands: terminals.commands });
      await api.register(appRoutes, { db: database.kysely, dialect: database.dialect, crypto, commands: terminals.commands });
      await api.register(payments.routes);
      await api.register(gateway.routes);
    },
    { prefix: '/api/v1' },
  );

  const terminalDist = options.terminalDist === undefined ? DEFAULT_TERMINAL_DIST : options.terminalDist;
  if (terminalDist && fs.existsSync(path.join(terminalDist, 'index.html'))) {
    // The terminal PWA in its own scope (its own sendFile root); its screens fall back to its index.html.
    await app.register(async (scope) => {
      await scope.register(fastifyStatic, { root: terminalDist, prefix: '/terminal/', wildcard: false });
      scope.get('/terminal', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/terminal/'));
      scope.get('/terminal/*', { schema: { hide: true } }, async (request, reply) => {
        if (/\.[A-Za-z0-9]+$/.test(request.url.split('?')[0] ?? '')) return reply.callNotFound();
        return reply.header('cache-control', 'no-cache').sendFile('index.html');
      });
    });
  }
  const webDist = options.webDist === undefined ? DEFAULT_WEB_DIST : options.webDist;
  if (webDist && fs.existsSync(path.join(webDist, 'index.html'))) {
    await app.register(fastifyStatic, { root: webDist, wildcard: false });
    // Client-side routes of the console fall back to index.html.
    app.get('/*', { schema: { hide: true } }, async (request, reply) => {
      if (request.url.startsWith('/api/')) return reply.callNotFound();
      return reply.sendFile('index.html');
    });
  }

  app.addHook('onClose', async () => {
    await gateway.close();
    await payments.close();
    await ledger.drain();
    await terminals.close();
  });
  return { app, ledger, metrics, crypto, terminals, payments, gateway };
}
