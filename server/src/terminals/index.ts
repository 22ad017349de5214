/**
 * The terminals domain's protocol side, as the rest of the server sees it: the durable command
 * queue, push, request-MAC verification for any route that asks for it, and the route plugins.
 * Fleet (`fleet-routes.ts`) and apps (`app-routes.ts`) are separate plugins that take `commands`.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import type { CryptoService } from '../crypto/service.js';
import { verifyEd25519 } from '../crypto/index.js';
import type { Config } from '../platform/config.js';
import type { Database } from '../platform/db/database.js';
import type { Secrets } from '../platform/secrets.js';
import { ActivationThrottle } from './activation.js';
import { createActivationWriter } from './activation-batch.js';
import { ACK_GROUP_INTERVAL_MS, CommandStore, pgAcks, sqliteAcks, type AckItem } from './commands.js';
import type { CommandQueue } from './contracts.js';
import { HeartbeatIngest } from './heartbeat.js';
import type { ProtocolTables } from './protocol-migration.js';
import { protocolRoutes } from './protocol-routes.js';
import { protocolStaffRoutes } from './protocol-routes-staff.js';
import { createSignOnBatch } from './sign-on-batch.js';
import { PushHub, WakePoller } from './push.js';
import { SqliteWriter, TickBatcher } from './terminal-auth-batch.js';
import { PG_IN_FLIGHT, TerminalAuthStore } from './terminal-auth-store.js';
import { installTerminalAuth, type TerminalAuthDeps } from './terminal-auth.js';

export type { TerminalPrincipal, CommandQueue, CommandInput, CommandKind } from './contracts.js';
export { requireTerminal, assertActsFor } from './terminal-auth.js';
export { requireOperator, requireSupervisor } from './operators.js';
export { currentSession } from './sign-on.js';
export type { CommandStore, Command } from './commands.js';
export type { PushHub } from './push.js';

export interface TerminalsOptions {
  db: Database;
  secrets: Secrets;
  crypto: CryptoService;
  config: Pick<Config, 'XIAOWEI_HEARTBEAT_HISTORY_S' | 'XIAOWEI_HEARTBEAT_KEEP_DAYS' | 'XIAOWEI_PUSH_POLL_MS'>;
  /** µs since the epoch; tests inject a clock. */
  now?: () => number;
}

export interface Terminals {
  /** The durable command queue (fleet and apps enqueue through it). */
  commands: CommandStore & CommandQueue;
  push: PushHub;
  heartbeats: HeartbeatIngest;
  /** Installs request-MAC verification at the root, for every route with `config.terminalAuth`. */
  installAuth(app: FastifyInstance): void;
  /** Terminal-facing routes (`/terminal/...`); register under `/api/v1`. */
  routes: FastifyPluginAsync;
  /** Staff routes for operators and command queues; register under `/api/v1`. */
  staffRoutes: FastifyPluginAsync;
  /** Wakes this process's push connections for commands enqueued elsewhere (also runs on a timer). */
  pollWakes(): Promise<void>;
  /** Deletes heartbeat history past its keep time (also runs hourly). */
  pruneHeartbeats(): Promise<number>;
  /** Marks overdue commands expired (also runs every minute). */
  expireCommands(): Promise<number>;
  /** Stops timers, ends push streams and waits for queued writes. */
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;
/**
 * Least time between two starts of the protocol's SQLite commit: at most 100 fsyncs a second,
 * each blocking the event loop 2–4 ms here, so commits take at most about a third of the loop
 * however many terminals call; a request waits at most this long for its group to start.
 */
const SQLITE_COMMIT_INTERVAL_MS = 10;
const MINUTE_MS = 60_000;

export function createTerminals(options: TerminalsOptions): Terminals {
  const { db: database, secrets, crypto, config } = options;
  const now = options.now ?? (() => Date.now() * 1000);
  const db = database.kysely as Kysely<ProtocolTables>;

  // SQLite: one durable commit per tick for sequence checks, heartbeats and acknowledgements together.
  const writer = database.sqlite ? new SqliteWriter(database.sqlite, { minIntervalMs: SQLITE_COMMIT_INTERVAL_MS, maxQueue: 100_000 }) : undefined;
  // The store first: its lane (sequence checks) must run before the heartbeats' in each commit.
  const store = new TerminalAuthStore(database, writer);
  const ackBatcher = writer ? undefined : new TickBatcher({ run: pgAcks(database.pool!), maxBatch: 2000, maxQueue: 100_000, maxInFlight: PG_IN_FLIGHT, minIntervalMs: ACK_GROUP_INTERVAL_MS });
  const acks = writer ? writer.lane(sqliteAcks(database.sqlite!), 5000) : (item: AckItem) => ackBatcher!.submit(item);

  const push = new PushHub();
  // Enqueue wakes this process's connections at once and tells the poller, so it does not wake them again.
  const commands = new CommandStore(db, now, (terminalIds, seqs) => {
    poller.wokeLocally(seqs);
    push.wake(terminalIds);
  }, acks);
  const poller = new WakePoller(commands, push, now, config.XIAOWEI_PUSH_POLL_MS);
  const heartbeats = new HeartbeatIngest({ database, commands, now, historyS: config.XIAOWEI_HEARTBEAT_HISTORY_S, writer });
  // A fleet powering on: activations and sign-ons of a tick share one statement set / one commit.
  const activations = createActivationWriter(database, writer);
  const signOns = createSignOnBatch(database, writer);
  const authDeps: TerminalAuthDeps = { db, store, crypto, now };

  // Housekeeping: failures are retried on the next round; they never reach a request.
  const timers = [
    setInterval(() => void commands.expireDue().catch(() => undefined), MINUTE_MS),
    setInterval(() => void heartbeats.prune(config.XIAOWEI_HEARTBEAT_KEEP_DAYS).catch(() => undefined), HOUR_MS),
  ];
  for (const t of timers) t.unref();

  const routes: FastifyPluginAsync = async (app) => {
    await app.register(protocolRoutes, {
      db,
      activation: { db, secrets, crypto, throttle: new ActivationThrottle(), now, writer: activations.write },
      signOn: { db, dialect: database.dialect, crypto, verifyEd25519, now, batch: signOns },
      commands,
      heartbeats,
      push,
      pushReady: () => poller.ready(),
      now,
    });
  };
  const staffRoutes: FastifyPluginAsync = async (app) => {
    await app.register(protocolStaffRoutes, { db, commands, now });
  };

  return {
    commands,
    push,
    heartbeats,
    installAuth: (app) => installTerminalAuth(app, authDeps),
    routes,
    staffRoutes,
    pollWakes: () => poller.poll(),
    pruneHeartbeats: () => heartbeats.prune(config.XIAOWEI_HEARTBEAT_KEEP_DAYS),
    expireCommands: () => commands.expireDue(),
    async close() {
      for (const t of timers) clearInterval(t);
      poller.stop();
      push.closeAll();
      await Promise.all([heartbeats.drain(), activations.drain(), signOns.drain(), store.drain(), ackBatcher?.drain()]);
      await writer?.drain();
    },
  };
}
