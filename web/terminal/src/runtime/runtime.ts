/**
 * The terminal runtime: everything the shell does besides drawing. It owns the device identity,
 * the session, the timers (heartbeat, poll, daily sign-on), the push stream, the command queue's
 * terminal side, the outbox and the updater, and publishes one immutable snapshot for the screens
 * (useSyncExternalStore) and the framed apps (bridge events).
 *
 * Lifecycle: start → (activation) → sign-on → operator log-in → ready. A session error signs on
 * again; a lock shows the locked screen until a request succeeds again; retirement wipes the
 * device. Network loss changes nothing but the indicator: timers keep trying, the outbox keeps
 * what must be sent, and the push stream reconnects by itself.
 */
import type { ApiAnswer, ApiCall, AppContext, MessageView, TerminalStatusView } from '../core/bridge-protocol';
import { buildAppDocument } from '../core/app-frame';
import { compareSemver, importSigningKey } from '../core/bundle';
import { deleteValue, getAll, getValue, putValue, request as idbRequest, transact, wipeAll } from '../core/idb';
import { Outbox, classifyAnswer, type OutboxEntry, type SendOutcome } from '../core/outbox';
import { bundleKey, type InstalledApp, type StoredBundle } from '../core/records';
import { SHELL_APP, SHELL_STATE_KEY, confirmShell, readShellState } from '../core/shell-boot';
import { currentLanguage } from '../locales';
import { BridgeRefusal, attachBridge, type BridgeHandlers, type BridgeServices } from './bridge-host';
import { IdbOutboxStore, webLock } from './idb-outbox';
import { createProtocol } from './protocol';
import { ProtocolError, type DeviceIdentity, type ProtocolAnswer, type SignedOn, type TerminalProtocol } from './protocol-types';
import type { LauncherApp, Phase, RuntimeSnapshot, ShellError, UpdateLogEntry } from './types';
import { DownloadError, Updater, type UpdateStatus, type UpdateTarget } from './updater';

/** An app as GET /api/v1/terminal/apps lists it. */
interface ServerApp {
  code: string;
  nameZh: string;
  nameEn: string;
  version: string;
  digest: string;
  signature: string;
  size: number;
  minShellVersion: string | null;
  rolloutId: string | null;
}

interface TerminalCommand {
  id: string;
  kind: 'update_available' | 'parameters' | 'lock' | 'unlock' | 'retire' | 'message';
  payload: Record<string, unknown>;
  expiresAt: number;
}

interface StoredMessage {
  id: string;
  zh: string;
  en: string;
  receivedAt: number;
  readAt: number | null;
  /** Outbox client id of the read receipt while it waits. */
  receiptId: string | null;
}

const API = '/api/v1/terminal';
/** Errors a new sign-on cures. */
const SESSION_CODES = new Set(['terminal_session_unknown', 'terminal_session_closed', 'terminal_session_expired', 'terminal_mac_invalid', 'terminal_request_replayed', 'terminal_request_stale']);
const OPERATOR_CODES = new Set(['terminal_operator_invalid', 'terminal_operator_required']);
/** Errors that pass: an outbox entry refused with one of them is kept and sent again later. */
const RETRYABLE = new Set([...SESSION_CODES, ...OPERATOR_CODES, 'terminal_locked', 'app_outside_maintenance_window', 'rate_limited', 'overloaded', 'shutting_down']);

const DEVICE_KEY = 'device';
const PARAMS_KEY = 'params';
const APPS_KEY = 'apps-list';
const LOG_KEY = 'update-log';
const RETRY_MS = 15_000;
const MAX_LOG = 30;
const MAX_MESSAGES = 100;
/** Commands live at most 30 days on the server (protocol-routes-staff.ts); remember them a little longer. */
const HANDLED_KEEP_MS = 40 * 86_400_000;

export interface RuntimeOptions {
  shellVersion: string;
  /** Called once this shell has started (confirmed itself after a switch). */
  onBooted?: () => void;
  protocol?: TerminalProtocol;
  reload?: () => void;
  now?: () => number;
}

function errorView(error: unknown): ShellError {
  if (error instanceof ProtocolError) return { code: error.code, zh: error.zh, en: error.en };
  const text = error instanceof Error ? error.message : String(error);
  return { code: 'client_error', zh: text, en: text };
}

function networkKind(): 'wifi' | '4g' | '5g' | 'ethernet' | 'other' {
  const connection = (navigator as Navigator & { connection?: { type?: string; effectiveType?: string } }).connection;
  if (connection?.type === 'wifi' || connection?.type === 'ethernet') return connection.type;
  if (connection?.type === 'cellular') return '4g';
  return 'other';
}

async function batteryState(): Promise<{ battery?: number; charging?: boolean }> {
  const getBattery = (navigator as Navigator & { getBattery?: () => Promise<{ level: number; charging: boolean }> }).getBattery;
  if (!getBattery) return {};
  try {
    const b = await getBattery.call(navigator);
    return { battery: Math.max(0, Math.min(100, Math.round(b.level * 100))), charging: b.charging };
  } catch {
    return {};
  }
}

async function supportsEd25519(): Promise<boolean> {
  try {
    await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    return true;
  } catch {
    return false;
  }
}

function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Prints an app's receipt: plain text (never HTML) in a print-only block of the shell page; the
 * stylesheet (global.css, @media print) shows only that block, 58 mm wide. A sandboxed app frame
 * may not open the print dialog itself.
 */
function printLines(lines: string[]): void {
  let area = document.getElementById('xw-print');
  if (!area) {
    area = document.createElement('pre');
    area.id = 'xw-print';
    document.body.append(area);
  }
  area.textContent = lines.join('\n');
  window.print();
}

export class TerminalRuntime {
  readonly capabilities = { secureContext: typeof window !== 'undefined' && window.isSecureContext, ed25519: true };

  private snapshot: RuntimeSnapshot;
  private readonly listeners = new Set<() => void>();
  private readonly protocol: TerminalProtocol;
  private readonly now: () => number;
  private readonly reload: () => void;
  private readonly onBooted: () => void;
  private readonly outbox: Outbox;
  private readonly updater: Updater;

  private device: DeviceIdentity | null = null;
  private signingOn: Promise<void> | null = null;
  private signingKey: Promise<CryptoKey> | null = null;
  private fetching: Promise<void> | null = null;
  private fetchAgain = false;
  private closePush: (() => void) | null = null;
  private timers: ReturnType<typeof setTimeout>[] = [];
  /** `update_available` notices waiting for their moment within `downloadSpreadS`, by command id. */
  private readonly spreadWaits = new Map<string, ReturnType<typeof setTimeout>>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private serverApps: ServerApp[] = [];
  private installed = new Map<string, InstalledApp>();
  private appStates = new Map<string, { state: 'installing' | 'ready' | 'failed'; error: string | null }>();
  private storedMessages: StoredMessage[] = [];
  private documents = new Map<string, string>();
  private lastSessionRenewal = 0;
  private retiring = false;

  constructor(options: RuntimeOptions) {
    this.reload = options.reload ?? (() => window.location.reload());
    this.onBooted = options.onBooted ?? (() => undefined);
    const protocol = options.protocol ?? createProtocol(window.location.origin);
    this.protocol = protocol;
    // The server's time where the protocol knows it: session expiry and timestamps shown are server times.
    this.now = options.now ?? (() => protocol.now());
    this.snapshot = {
      phase: 'starting',
      device: null,
      operator: null,
      session: null,
      online: typeof navigator === 'undefined' ? true : navigator.onLine,
      pushConnected: false,
      lastHeartbeatAt: null,
      heartbeatIntervalS: 60,
      pollIntervalS: 300,
      params: {},
      apps: [],
      messages: [],
      outboxPending: 0,
      shellVersion: options.shellVersion,
      updateLog: [],
      error: null,
      busy: false,
    };
    this.outbox = new Outbox(new IdbOutboxStore(), (entry) => this.sendEntry(entry), {
      newId: newClientId,
      now: this.now,
      lock: webLock('xiaowei-terminal-outbox'),
      onChange: (pending) => this.set({ outboxPending: pending }),
      onSettled: (entry) => void this.settled(entry),
    });
    this.updater = new Updater({
      signingKey: () => this.platformKey(),
      download: (app, version) => this.download(app, version),
      report: (target, status, detail) => this.report(target, status, detail),
      ack: (commandId, result) => this.ack(commandId, result),
      runningVersion: async (app) => (app === SHELL_APP ? this.snapshot.shellVersion : (this.installed.get(app)?.version ?? null)),
      onState: (app, state, error) => {
        this.appStates.set(app, { state, error });
        this.publishApps();
      },
      now: this.now,
    });
  }

  // ————————————————————————————————————————— snapshot

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): RuntimeSnapshot => this.snapshot;

  private set(patch: Partial<RuntimeSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener();
  }

  private setPhase(phase: Phase): void {
    if (this.snapshot.phase !== phase) this.set({ phase });
  }

  // ————————————————————————————————————————— start

  async start(): Promise<void> {
    // First of all, a shell that was just switched to confirms that it starts (before anything
    // that may wait on the network), so the service worker's watchdog does not count it as failed.
    await this.settleShellSwitch().catch(() => undefined);
    this.onBooted();
    this.capabilities.ed25519 = await supportsEd25519();
    if (!(await this.takePrimary())) {
      this.set({ phase: 'elsewhere' });
      return;
    }
    window.addEventListener('online', () => this.wake());
    window.addEventListener('offline', () => this.set({ online: false }));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.wake();
    });
    await this.outbox.refresh();
    await this.loadLocal();
    const device = await getValue<DeviceIdentity>('kv', DEVICE_KEY);
    if (!device) {
      this.set({ phase: 'activation' });
      return;
    }
    this.useDevice(device);
    await this.signOn();
  }

  /**
   * One window runs the terminal: a second one would sign on too and close the first one's
   * session (the server keeps one per terminal), and the two would take turns forever. The lock
   * is held for the page's life and passes on when it closes or reloads.
   */
  private takePrimary(): Promise<boolean> {
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    if (!locks) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      void locks.request('xiaowei-terminal-primary', { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        // Held until the page goes away.
        return lock ? new Promise<void>(() => undefined) : undefined;
      });
    });
  }

  private async loadLocal(): Promise<void> {
    const [installed, messages, params, apps, log] = await Promise.all([
      getAll<InstalledApp>('installed'),
      getAll<StoredMessage>('messages'),
      getValue<Record<string, unknown>>('kv', PARAMS_KEY),
      getValue<ServerApp[]>('kv', APPS_KEY),
      getValue<UpdateLogEntry[]>('kv', LOG_KEY),
    ]);
    this.installed = new Map(installed.map((i) => [i.app, i]));
    this.storedMessages = await this.pruneMessages(messages);
    await this.pruneHandled();
    this.serverApps = apps ?? [];
    this.set({ params: params ?? {}, updateLog: log ?? [] });
    this.applyIntervals(params ?? {});
    this.publishMessages();
    this.publishApps();
  }

  /** Keeps the newest messages only; a shop terminal is not an archive. */
  private async pruneMessages(messages: StoredMessage[]): Promise<StoredMessage[]> {
    const sorted = [...messages].sort((a, b) => b.receivedAt - a.receivedAt);
    for (const old of sorted.slice(MAX_MESSAGES)) if (old.receiptId === null) await deleteValue('messages', old.id);
    return sorted.filter((m, i) => i < MAX_MESSAGES || m.receiptId !== null);
  }

  /** Forgets handled command ids after the longest a command can live (the server expires it before). */
  private async pruneHandled(): Promise<void> {
    const cutoff = this.now() - HANDLED_KEEP_MS;
    const old = (await getAll<{ id: string; at: number }>('handled')).filter((h) => h.at < cutoff);
    for (const h of old) await deleteValue('handled', h.id);
  }

  /** A shell that started after a switch confirms itself (and reports), or reports the switch that failed. */
  private async settleShellSwitch(): Promise<void> {
    const state = readShellState(await getValue('kv', SHELL_STATE_KEY));
    const { next, confirmed } = confirmShell(state, this.snapshot.shellVersion);
    const failure = next.failure;
    if (!confirmed && !failure) return;
    await putValue('kv', { ...next, failure: null }, SHELL_STATE_KEY);
    if (confirmed) {
      const target = { app: SHELL_APP, version: confirmed.version, digest: confirmed.digest, signature: '', rolloutId: confirmed.rolloutId, commandId: confirmed.commandId };
      await this.report(target, 'installed', null);
      if (confirmed.commandId) await this.ack(confirmed.commandId, { status: 'installed', app: SHELL_APP, version: confirmed.version });
    }
    if (failure) {
      await this.updater.markFailed(SHELL_APP, failure.version, failure.digest);
      const target = { app: SHELL_APP, version: failure.version, digest: failure.digest, signature: '', rolloutId: failure.rolloutId, commandId: failure.commandId };
      await this.report(target, 'failed', failure.reason);
      if (failure.commandId) await this.ack(failure.commandId, { status: 'failed', app: SHELL_APP, version: failure.version, detail: failure.reason });
    }
  }

  private useDevice(device: DeviceIdentity): void {
    this.device = device;
    this.signingKey = null;
    this.set({
      device: { terminalId: device.terminalId, serial: device.serial, merchantName: device.merchantName, orgName: device.orgName, activatedAt: device.activatedAt },
    });
  }

  /** Back online, or awake after sleep: catch up at once instead of waiting for the timers. */
  private wake(): void {
    if (!this.device) return;
    if (this.snapshot.session === null || this.sessionExpired()) {
      void this.signOn();
      return;
    }
    void this.heartbeat();
    void this.fetchCommands();
    void this.outbox.flush();
  }

  private sessionExpired(): boolean {
    const expiresAt = this.snapshot.session?.expiresAt;
    return expiresAt !== null && expiresAt !== undefined && expiresAt <= this.now();
  }

  // ————————————————————————————————————————— activation, sign-on, operators

  async activate(serial: string, code: string): Promise<void> {
    this.set({ busy: true, error: null });
    try {
      const device = await this.protocol.activate(serial, code);
      await putValue('kv', device, DEVICE_KEY);
      this.useDevice(device);
    } catch (error) {
      this.set({ error: errorView(error), online: !(error instanceof ProtocolError && error.network) });
      return;
    } finally {
      this.set({ busy: false });
    }
    await this.signOn();
  }

  /** Sign-on (签到): at start, daily when the session ends, and whenever the session is refused. */
  signOn(): Promise<void> {
    if (this.signingOn) return this.signingOn;
    const device = this.device;
    if (!device) return Promise.resolve();
    this.signingOn = (async () => {
      this.stopLoops();
      this.set({ phase: this.snapshot.phase === 'locked' ? 'locked' : 'signing-on', busy: true, error: null, operator: null, session: null, pushConnected: false });
      try {
        const session = await this.protocol.signOn(device);
        this.lastSessionRenewal = this.now();
        this.onSignedOn(session);
      } catch (error) {
        this.onSignOnFailed(error);
      } finally {
        this.set({ busy: false });
        this.signingOn = null;
      }
    })();
    return this.signingOn;
  }

  private onSignedOn(session: SignedOn): void {
    const params = { ...this.snapshot.params, ...session.params };
    void putValue('kv', params, PARAMS_KEY);
    this.set({
      phase: 'operator',
      online: true,
      params,
      session: { id: session.sessionId, batchNo: session.batchNo, openedAt: session.openedAt, expiresAt: session.expiresAt },
      heartbeatIntervalS: session.heartbeatIntervalS,
      pollIntervalS: session.pollIntervalS,
    });
    this.startLoops(session);
    void this.afterConnect();
  }

  private onSignOnFailed(error: unknown): void {
    const code = error instanceof ProtocolError ? error.code : 'client_error';
    if (code === 'terminal_retired') {
      void this.retire();
      return;
    }
    this.protocol.dropSession();
    if (code === 'terminal_locked') this.setPhase('locked');
    else this.set({ phase: 'signing-on', error: errorView(error) });
    if (error instanceof ProtocolError && error.network) this.set({ online: false });
    // Keep trying: the network returns, the bank unlocks, the clock is fixed.
    this.scheduleRetry(() => void this.signOn(), code === 'terminal_locked' ? RETRY_MS * 2 : RETRY_MS);
  }

  async operatorSignOn(operatorNo: string, password: string): Promise<void> {
    this.set({ busy: true, error: null });
    try {
      const operator = await this.guarded(() => this.protocol.operatorSignOn(operatorNo, password));
      this.set({ operator, phase: 'ready' });
    } catch (error) {
      this.set({ error: errorView(error) });
    } finally {
      this.set({ busy: false });
    }
  }

  async operatorSignOff(): Promise<void> {
    try {
      await this.protocol.operatorSignOff();
    } catch {
      // The token dies with the session anyway; signing off locally is what matters here.
    }
    this.set({ operator: null, phase: 'operator', error: null });
  }

  /** After retirement: back to the activation screen. */
  startOver(): void {
    this.set({ phase: 'activation', error: null, device: null });
  }

  languageChanged(): void {
    this.set({});
  }

  // ————————————————————————————————————————— loops

  private startLoops(session: SignedOn): void {
    this.stopLoops();
    // Intervals are read at every tick: a parameters command or a heartbeat answer may change them.
    const every = (seconds: () => number, task: () => void): void => {
      const tick = (): void => {
        task();
        this.timers.push(setTimeout(tick, seconds() * 1000));
      };
      this.timers.push(setTimeout(tick, seconds() * 1000));
    };
    every(() => this.snapshot.heartbeatIntervalS, () => void this.heartbeat());
    every(() => this.snapshot.pollIntervalS, () => {
      void this.fetchCommands();
      void this.refreshApps();
    });
    if (session.expiresAt !== null) {
      // Daily sign-on: when the business day (and the session) ends.
      const delay = Math.max(1000, session.expiresAt - this.now() + 1000);
      this.timers.push(setTimeout(() => void this.signOn(), Math.min(delay, 2 ** 31 - 1)));
    }
    this.closePush = this.protocol.openPush({
      onWake: () => void this.fetchCommands(),
      onState: (connected) => {
        this.set({ pushConnected: connected });
        if (connected) {
          // (Re)connected: whatever was enqueued meanwhile is fetched now, and the outbox drains.
          this.set({ online: true });
          void this.fetchCommands();
          void this.outbox.flush();
        }
      },
      onError: (error) => this.onRequestError(error),
    });
  }

  private stopLoops(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
    this.closePush?.();
    this.closePush = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private scheduleRetry(task: () => void, ms: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      task();
    }, ms);
  }

  private applyIntervals(params: Record<string, unknown>): void {
    const heartbeat = params.heartbeat_interval_s;
    const poll = params.poll_interval_s;
    this.set({
      heartbeatIntervalS: typeof heartbeat === 'number' ? heartbeat : this.snapshot.heartbeatIntervalS,
      pollIntervalS: typeof poll === 'number' ? poll : this.snapshot.pollIntervalS,
    });
  }

  private async afterConnect(): Promise<void> {
    await this.heartbeat();
    await this.outbox.flush();
    await this.refreshApps();
    await this.fetchCommands();
  }

  // ————————————————————————————————————————— requests

  /**
   * Every signed request goes through here: it keeps the online indicator true to the last
   * answer and reacts to the conditions any request can reveal (session gone, operator gone,
   * locked, retired).
   */
  private async call(method: 'GET' | 'POST', path: string, body?: unknown, options?: { idempotencyKey?: string }): Promise<ProtocolAnswer> {
    return this.guarded(() => this.protocol.call(method, path, body, options));
  }

  private async guarded<T>(run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      this.set({ online: true });
      if (this.snapshot.phase === 'locked') this.unlocked();
      return result;
    } catch (error) {
      if (error instanceof ProtocolError) this.onRequestError(error);
      throw error;
    }
  }

  private onRequestError(error: ProtocolError): void {
    this.set({ online: !error.network });
    if (error.code === 'terminal_retired') {
      void this.retire();
    } else if (error.code === 'terminal_locked') {
      this.locked();
    } else if (SESSION_CODES.has(error.code)) {
      // Renew at most twice a minute, so a broken clock or key cannot spin.
      if (this.now() - this.lastSessionRenewal > 30_000) {
        this.lastSessionRenewal = this.now();
        void this.signOn();
      }
    } else if (OPERATOR_CODES.has(error.code) && this.snapshot.phase === 'ready') {
      this.set({ operator: null, phase: 'operator' });
    }
  }

  private async sendEntry(entry: OutboxEntry): Promise<SendOutcome> {
    if (!this.snapshot.session || this.signingOn) return { kind: 'retry', reason: 'no_session' };
    try {
      const answer = await this.call('POST', entry.path, entry.body, { idempotencyKey: entry.id });
      return { kind: 'done', status: 200, body: answer.body };
    } catch (error) {
      this.scheduleFlush();
      if (error instanceof ProtocolError) return classifyAnswer(error.status, error.network ? undefined : error.code, RETRYABLE);
      return { kind: 'retry', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** While entries wait, try again every few seconds (and at once on reconnect). */
  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (this.outbox.size > 0) void this.outbox.flush();
    }, 5_000);
  }

  private async enqueue(path: string, body: unknown, kind: string): Promise<OutboxEntry> {
    const entry = await this.outbox.enqueue({ method: 'POST', path, body, kind });
    void this.outbox.flush();
    return entry;
  }

  private async settled(entry: OutboxEntry): Promise<void> {
    if (entry.kind !== 'receipt') return;
    const message = this.storedMessages.find((m) => m.receiptId === entry.id);
    if (!message) return;
    const updated = { ...message, receiptId: null };
    await putValue('messages', updated);
    this.storedMessages = this.storedMessages.map((m) => (m.id === updated.id ? updated : m));
    this.publishMessages();
  }

  // ————————————————————————————————————————— heartbeat and commands

  private async heartbeat(): Promise<void> {
    if (!this.snapshot.session) return;
    const body = { appVersions: this.versions(), network: networkKind(), ...(await batteryState()) };
    try {
      const answer = await this.call('POST', `${API}/heartbeat`, body);
      const hb = answer.body as { heartbeatIntervalS?: number; pollIntervalS?: number; pendingCommands?: number };
      this.set({ lastHeartbeatAt: this.now() });
      if (typeof hb.heartbeatIntervalS === 'number' && typeof hb.pollIntervalS === 'number' && (hb.heartbeatIntervalS !== this.snapshot.heartbeatIntervalS || hb.pollIntervalS !== this.snapshot.pollIntervalS)) {
        this.set({ heartbeatIntervalS: hb.heartbeatIntervalS, pollIntervalS: hb.pollIntervalS });
      }
      if ((hb.pendingCommands ?? 0) > 0) void this.fetchCommands();
      if (this.outbox.size > 0) void this.outbox.flush();
    } catch {
      // The indicator shows it; the next beat tries again.
    }
  }

  private versions(): Record<string, string> {
    const versions: Record<string, string> = { [SHELL_APP]: this.snapshot.shellVersion };
    for (const [app, record] of this.installed) versions[app] = record.version;
    return versions;
  }

  /** Fetches and acts on pending commands; one fetch at a time, another right after if woken meanwhile. */
  fetchCommands(): Promise<void> {
    if (this.fetching) {
      this.fetchAgain = true;
      return this.fetching;
    }
    this.fetching = (async () => {
      do {
        this.fetchAgain = false;
        if (!this.snapshot.session || this.signingOn) return;
        let items: TerminalCommand[];
        try {
          items = ((await this.call('GET', `${API}/commands`)).body as { items: TerminalCommand[] }).items;
        } catch {
          return;
        }
        for (const command of items) await this.handleCommand(command);
      } while (this.fetchAgain);
    })().finally(() => {
      this.fetching = null;
    });
    return this.fetching;
  }

  private async handled(id: string): Promise<boolean> {
    return (await getValue('handled', id)) !== undefined;
  }

  private async markHandled(id: string): Promise<void> {
    await putValue('handled', { id, at: this.now() });
  }

  private async ack(commandId: string, result: Record<string, unknown>): Promise<void> {
    await this.enqueue(`${API}/commands/${encodeURIComponent(commandId)}/ack`, { result }, 'ack');
  }

  /** Acts on a command once, whatever the number of deliveries; acknowledges it once (outbox). */
  private async handleCommand(command: TerminalCommand): Promise<void> {
    if (await this.handled(command.id)) return;
    const p = command.payload;
    switch (command.kind) {
      case 'message': {
        // Payload `{ message: { zh, en }, from }` (server/src/terminals/protocol-routes-staff.ts).
        const text = (typeof p.message === 'object' && p.message !== null ? p.message : p) as Record<string, unknown>;
        const zh = typeof text.zh === 'string' ? text.zh : '';
        const en = typeof text.en === 'string' ? text.en : '';
        const message: StoredMessage = { id: command.id, zh, en, receivedAt: this.now(), readAt: null, receiptId: null };
        // Stored and marked in one transaction: shown once however often it is delivered. It is
        // acknowledged when the operator reads it (a read receipt for the bank).
        await transact(['messages', 'handled'], 'readwrite', async (tx) => {
          await idbRequest(tx.objectStore('messages').put(message));
          await idbRequest(tx.objectStore('handled').put({ id: command.id, at: this.now() }));
        });
        this.storedMessages = [...this.storedMessages.filter((m) => m.id !== message.id), message];
        this.publishMessages();
        return;
      }
      case 'parameters': {
        const params = { ...this.snapshot.params, ...((p.params ?? p) as Record<string, unknown>) };
        await putValue('kv', params, PARAMS_KEY);
        this.set({ params });
        this.applyIntervals(params);
        await this.markHandled(command.id);
        await this.ack(command.id, { applied: true });
        return;
      }
      case 'lock':
        await this.markHandled(command.id);
        await this.ack(command.id, { locked: true });
        this.locked();
        return;
      case 'unlock':
        await this.markHandled(command.id);
        await this.ack(command.id, { unlocked: true });
        this.unlocked();
        return;
      case 'retire':
        try {
          await this.call('POST', `${API}/commands/${encodeURIComponent(command.id)}/ack`, { result: { retired: true } });
        } catch {
          // Retired either way; the server already knows.
        }
        await this.retire();
        return;
      case 'update_available': {
        const target = this.targetFrom(p, command.id);
        if (!target) {
          await this.markHandled(command.id);
          await this.ack(command.id, { status: 'failed', detail: 'bad_payload' });
          return;
        }
        const spreadS = typeof p.downloadSpreadS === 'number' && p.downloadSpreadS > 0 ? p.downloadSpreadS : 0;
        if (spreadS > 0) {
          // A large stage (docs/terminal-protocol.md): start at a random moment within the spread,
          // so its terminals do not all download at once. Meanwhile the command is neither handled
          // nor acknowledged: a reload drops the wait and the next fetch brings the notice again; a
          // fetch before the moment finds it already waiting.
          if (this.spreadWaits.has(command.id)) return;
          const id = command.id;
          this.spreadWaits.set(
            id,
            setTimeout(() => {
              this.spreadWaits.delete(id);
              this.startInstall(id, target);
            }, Math.random() * spreadS * 1000),
          );
          return;
        }
        this.startInstall(command.id, target);
        return;
      }
    }
  }

  /**
   * Not awaited: a download must not hold up other commands. Marked handled only once the
   * outcome is final, so a deferred one (no network) is picked up by the next fetch.
   */
  private startInstall(commandId: string, target: UpdateTarget): void {
    void this.install(target).then(async (outcome) => {
      if (outcome !== 'deferred') await this.markHandled(commandId);
    });
  }

  private targetFrom(p: Record<string, unknown>, commandId: string | null): UpdateTarget | null {
    const { app, version, digest, signature, size, rolloutId } = p;
    if (typeof app !== 'string' || typeof version !== 'string' || typeof digest !== 'string' || typeof signature !== 'string') return null;
    return { app, version, digest, signature, size: typeof size === 'number' ? size : undefined, rolloutId: typeof rolloutId === 'string' ? rolloutId : null, commandId };
  }

  private locked(): void {
    if (this.snapshot.phase === 'locked' || this.snapshot.phase === 'retired') return;
    this.setPhase('locked');
    // Keep knocking: the first request that succeeds again means unlocked.
    this.scheduleRetry(() => this.probeLock(), RETRY_MS * 2);
  }

  private probeLock(): void {
    if (this.snapshot.phase !== 'locked') return;
    if (this.snapshot.session) void this.heartbeat();
    else void this.signOn();
    this.scheduleRetry(() => this.probeLock(), RETRY_MS * 2);
  }

  private unlocked(): void {
    if (this.snapshot.phase !== 'locked') return;
    this.setPhase(this.snapshot.session ? (this.snapshot.operator ? 'ready' : 'operator') : 'signing-on');
    if (!this.snapshot.session) void this.signOn();
  }

  /** Retired for good: forget the identity, keys, apps and queue. */
  private async retire(): Promise<void> {
    if (this.snapshot.phase === 'retired' || this.retiring) return;
    this.retiring = true;
    this.stopLoops();
    for (const wait of this.spreadWaits.values()) clearTimeout(wait);
    this.spreadWaits.clear();
    this.protocol.dropSession();
    this.device = null;
    await wipeAll().catch(() => undefined);
    this.installed.clear();
    this.storedMessages = [];
    this.serverApps = [];
    this.documents.clear();
    await this.outbox.refresh();
    this.set({ phase: 'retired', device: null, operator: null, session: null, apps: [], messages: [], params: {} });
    this.retiring = false;
  }

  // ————————————————————————————————————————— apps and updates

  private async refreshApps(): Promise<void> {
    if (!this.snapshot.session) return;
    let apps: ServerApp[];
    try {
      apps = ((await this.call('GET', `${API}/apps`)).body as { apps: ServerApp[] }).apps;
    } catch {
      return;
    }
    this.serverApps = apps;
    await putValue('kv', apps, APPS_KEY);
    await this.dropUnauthorised(new Set(apps.map((a) => a.code)));
    this.publishApps();
    const pendingShell = readShellState(await getValue('kv', SHELL_STATE_KEY)).pending?.version;
    for (const app of apps) {
      const running = app.code === SHELL_APP ? this.snapshot.shellVersion : (this.installed.get(app.code)?.version ?? null);
      if (running === app.version) continue;
      // Installed and waiting for the next start to run it: nothing more to do.
      if (app.code === SHELL_APP && pendingShell === app.version) continue;
      if (app.minShellVersion && compareSemver(this.snapshot.shellVersion, app.minShellVersion) < 0) {
        // Needs a newer shell: it comes when the shell's own update does.
        this.appStates.set(app.code, { state: 'failed', error: `needs shell ${app.minShellVersion}` });
        continue;
      }
      if (await this.updater.failedBefore({ ...app, app: app.code })) continue;
      void this.install({ app: app.code, version: app.version, digest: app.digest, signature: app.signature, size: app.size, rolloutId: app.rolloutId, commandId: null });
    }
    this.publishApps();
  }

  /** An app the bank no longer assigns leaves the launcher and the device. */
  private async dropUnauthorised(authorised: ReadonlySet<string>): Promise<void> {
    for (const code of [...this.installed.keys()]) {
      if (authorised.has(code)) continue;
      await transact(['installed', 'bundles'], 'readwrite', async (tx) => {
        await idbRequest(tx.objectStore('installed').delete(code));
        const bundles = tx.objectStore('bundles');
        for (const key of (await idbRequest(bundles.getAllKeys())) as string[]) if (key.startsWith(`${code}@`)) await idbRequest(bundles.delete(key));
      });
      this.installed.delete(code);
      for (const key of [...this.documents.keys()]) if (key.startsWith(`${code}@`)) this.documents.delete(key);
    }
  }

  /** Installs and settles the outcome: an app is reloaded from storage, the shell reloads the page. */
  private async install(target: UpdateTarget): Promise<'installed' | 'switching' | 'failed' | 'deferred'> {
    const outcome = await this.updater.install(target);
    if (outcome.kind === 'installed' && target.app !== SHELL_APP) {
      const record = await getValue<InstalledApp>('installed', target.app);
      if (record) this.installed.set(target.app, record);
      this.publishApps();
    }
    if (outcome.kind === 'switching') {
      // Only the service worker can serve the new shell: without one in control (first visit,
      // worker still installing) a reload would bring the same shell back, so wait for the next start.
      if (!navigator.serviceWorker?.controller) return outcome.kind;
      // Send the `downloading` report first if the network allows; the new shell reports `installed`.
      await Promise.race([this.outbox.flush(), new Promise((resolve) => setTimeout(resolve, 3000))]);
      this.reload();
    }
    return outcome.kind;
  }

  async checkUpdates(): Promise<void> {
    await this.refreshApps();
    await this.fetchCommands();
  }

  private async platformKey(): Promise<CryptoKey> {
    const device = this.device;
    if (!device) throw new Error('not activated');
    this.signingKey ??= importSigningKey(device.platformSigningKey);
    return this.signingKey;
  }

  private async download(app: string, version: string): Promise<Uint8Array> {
    try {
      return (await this.call('GET', `${API}/apps/${encodeURIComponent(app)}/versions/${encodeURIComponent(version)}/bundle`)).bytes;
    } catch (error) {
      if (error instanceof ProtocolError) throw new DownloadError(error.code, error.network || RETRYABLE.has(error.code) || error.status >= 500);
      throw error;
    }
  }

  private async report(target: UpdateTarget, status: UpdateStatus, detail: string | null): Promise<void> {
    const body: Record<string, unknown> = { app: target.app, version: target.version, status };
    if (detail) body.detail = detail.slice(0, 500);
    if (target.rolloutId) body.rolloutId = target.rolloutId;
    await this.enqueue(`${API}/updates`, body, 'update-report');
    const log = [{ at: this.now(), app: target.app, version: target.version, status, detail }, ...this.snapshot.updateLog].slice(0, MAX_LOG);
    this.set({ updateLog: log });
    await putValue('kv', log, LOG_KEY);
  }

  private publishApps(): void {
    const apps: LauncherApp[] = [];
    const listed = new Set<string>();
    for (const app of this.serverApps) {
      if (app.code === SHELL_APP) continue;
      listed.add(app.code);
      const installed = this.installed.get(app.code) ?? null;
      const state = this.appStates.get(app.code);
      apps.push({
        code: app.code,
        nameZh: app.nameZh,
        nameEn: app.nameEn,
        targetVersion: app.version,
        installedVersion: installed?.version ?? null,
        state: state?.state === 'installing' ? 'installing' : state?.state === 'failed' ? 'failed' : installed ? 'ready' : 'waiting',
        error: state?.error ?? null,
      });
    }
    this.set({ apps });
  }

  /** The page an installed app's frame shows (built once per version). */
  async appDocument(code: string, version: string): Promise<string> {
    const key = bundleKey(code, version);
    const cached = this.documents.get(key);
    if (cached) return cached;
    const bundle = await getValue<StoredBundle>('bundles', key);
    if (!bundle) throw new Error(`${key} is not stored`);
    const html = buildAppDocument(bundle);
    this.documents.set(key, html);
    return html;
  }

  // ————————————————————————————————————————— messages

  private publishMessages(): void {
    const messages: MessageView[] = [...this.storedMessages]
      .sort((a, b) => b.receivedAt - a.receivedAt)
      .map((m) => ({ id: m.id, zh: m.zh, en: m.en, receivedAt: m.receivedAt, readAt: m.readAt, receiptQueued: m.receiptId !== null }));
    this.set({ messages });
  }

  /** Marks a message read and queues its read receipt (the command's acknowledgement). */
  async markRead(id: string): Promise<{ queued: boolean }> {
    const message = this.storedMessages.find((m) => m.id === id);
    if (!message) throw new BridgeRefusal({ code: 'not_found', zh: '消息不存在', en: 'No such message' });
    if (message.readAt !== null) return { queued: message.receiptId !== null };
    const entry = await this.outbox.enqueue({ method: 'POST', path: `${API}/commands/${encodeURIComponent(id)}/ack`, body: { result: { read: true, readAt: this.now() } }, kind: 'receipt' });
    const updated: StoredMessage = { ...message, readAt: this.now(), receiptId: entry.id };
    await putValue('messages', updated);
    this.storedMessages = this.storedMessages.map((m) => (m.id === id ? updated : m));
    this.publishMessages();
    void this.outbox.flush();
    return { queued: true };
  }

  // ————————————————————————————————————————— the bridge for framed apps

  attachBridge(frame: HTMLIFrameElement, app: { code: string; version: string }, handlers: BridgeHandlers): () => void {
    return attachBridge(frame, app, this.bridgeServices(), handlers);
  }

  private bridgeServices(): BridgeServices {
    return {
      context: (app) => this.appContext(app),
      status: () => this.statusView(),
      messages: () => this.snapshot.messages,
      markRead: (id) => this.markRead(id),
      api: (call) => this.appApi(call),
      pinBlock: (pin, pan) => this.pinBlock(pin, pan),
      operatorSignOn: (operatorNo, password) => this.appOperatorSignOn(operatorNo, password),
      storageGet: (app, key) => getValue('kv', `app-data:${app}:${key}`),
      storageSet: (app, key, value) => putValue('kv', value, `app-data:${app}:${key}`),
      print: (lines) => printLines(lines),
      subscribe: (listener) => this.subscribe(listener),
    };
  }

  private async pinBlock(pin: string, pan: string): Promise<string> {
    if (!this.protocol.pinBlock || !this.snapshot.session) throw new BridgeRefusal({ code: 'terminal_session_unknown', zh: '尚未签到', en: 'Not signed on' });
    try {
      return await this.protocol.pinBlock(pin, pan);
    } catch (error) {
      // Never the PIN in an error: only what failed.
      const view = errorView(error instanceof ProtocolError ? error : new Error('PIN block failed'));
      throw new BridgeRefusal({ code: view.code, zh: view.zh, en: view.en });
    }
  }

  /** An app asks for another operator (a supervisor's authorisation): signed on like the log-in screen does. */
  private async appOperatorSignOn(operatorNo: string, password: string): Promise<NonNullable<AppContext['operator']>> {
    try {
      const operator = await this.guarded(() => this.protocol.operatorSignOn(operatorNo, password));
      this.set({ operator, phase: 'ready' });
      return operator;
    } catch (error) {
      const view = errorView(error);
      throw new BridgeRefusal({ code: view.code, zh: view.zh, en: view.en });
    }
  }

  private appContext(app: { code: string; version: string }): AppContext {
    const device = this.snapshot.device;
    return {
      language: currentLanguage(),
      app,
      terminal: { id: device?.terminalId ?? '', serial: device?.serial ?? '', merchantName: device?.merchantName ?? null, orgName: device?.orgName ?? null },
      operator: this.snapshot.operator,
    };
  }

  private statusView(): TerminalStatusView {
    const s = this.snapshot;
    return {
      online: s.online,
      pushConnected: s.pushConnected,
      lastHeartbeatAt: s.lastHeartbeatAt,
      heartbeatIntervalS: s.heartbeatIntervalS,
      pollIntervalS: s.pollIntervalS,
      session: s.session,
      params: s.params,
      versions: this.versions(),
      outboxPending: s.outboxPending,
    };
  }

  private async appApi(call: ApiCall): Promise<ApiAnswer> {
    if (call.durable) {
      if (call.method !== 'POST') throw new BridgeRefusal({ code: 'bad_request', zh: '只有 POST 请求可以排队发送', en: 'Only POST requests can be queued' });
      const entry = await this.enqueue(call.path, call.body ?? {}, 'app');
      return { status: 202, body: null, queuedId: entry.id };
    }
    try {
      const answer = await this.call(call.method, call.path, call.body);
      return { status: answer.status, body: answer.body };
    } catch (error) {
      const view = errorView(error);
      throw new BridgeRefusal({ code: view.code, zh: view.zh, en: view.en });
    }
  }
}
