/** What the shell's screens draw: one immutable snapshot of the terminal runtime. */
import type { MessageView } from '../core/bridge-protocol';

export type Phase =
  /** Reading storage. */
  | 'starting'
  /** Another window of this terminal app is running (one device, one session). */
  | 'elsewhere'
  /** No device identity: activation screen. */
  | 'activation'
  /** Signing on (at start, daily, after the session ended). */
  | 'signing-on'
  /** Signed on, no operator: operator log-in. */
  | 'operator'
  /** Operator signed on: launcher and everything behind it. */
  | 'ready'
  | 'locked'
  | 'retired';

export interface DeviceView {
  terminalId: string;
  serial: string;
  merchantName: string | null;
  orgName: string | null;
  activatedAt: number | null;
}

export interface OperatorView {
  no: string;
  name: string | null;
  role: 'cashier' | 'supervisor';
}

export type AppInstallState = 'ready' | 'installing' | 'failed' | 'waiting';

/** An authorised app as the launcher shows it. */
export interface LauncherApp {
  code: string;
  nameZh: string;
  nameEn: string;
  /** The version the server wants this terminal to run. */
  targetVersion: string;
  /** The version installed here (what opens), if any. */
  installedVersion: string | null;
  state: AppInstallState;
  /** The last refusal or error, a BundleRefusal or error code. */
  error: string | null;
}

/** One line of the update log (newest first), shown in settings. */
export interface UpdateLogEntry {
  at: number;
  app: string;
  version: string;
  status: 'downloading' | 'installed' | 'failed';
  detail: string | null;
}

export interface ShellError {
  code: string;
  zh: string;
  en: string;
}

export interface RuntimeSnapshot {
  phase: Phase;
  device: DeviceView | null;
  operator: OperatorView | null;
  session: { id: string; batchNo: string | null; openedAt: number; expiresAt: number | null } | null;
  /** The browser has a network and the last request got an answer. */
  online: boolean;
  pushConnected: boolean;
  lastHeartbeatAt: number | null;
  heartbeatIntervalS: number;
  pollIntervalS: number;
  params: Record<string, unknown>;
  apps: LauncherApp[];
  messages: MessageView[];
  outboxPending: number;
  shellVersion: string;
  /** A newer shell is installed and switches at the next start (or now, when idle). */
  updateLog: UpdateLogEntry[];
  /** The last error worth showing on the current screen. */
  error: ShellError | null;
  /** True while a screen's action (activate, sign on, operator log-in) runs. */
  busy: boolean;
}
