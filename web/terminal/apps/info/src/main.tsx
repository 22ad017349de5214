import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { formatFen } from '@xiaowei/money';
import { call } from '../../sdk/bridge';
import { useAppContext, usePick, useShellValue } from '../../sdk/hooks';
import '../../sdk/app.css';

const loadStatus = () => call('status');

function text(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : '—';
}

function time(ms: number | null | undefined, language: string): string {
  return ms ? new Date(ms).toLocaleString(language, { hour12: false }) : '—';
}

/** Terminal info: who and what this terminal is, and whether it is talking to the bank. */
function Info() {
  const context = useAppContext();
  const status = useShellValue('status', loadStatus);
  const pick = usePick(context?.language);
  if (!context || !status) return <p className="muted">…</p>;
  const lang = context.language;
  const limit = status.params.txn_limit_fen;
  return (
    <main data-testid="info-app">
      <h1>{pick('终端信息', 'Terminal info')}</h1>
      <section className="card">
        <h2>{pick('终端', 'Terminal')}</h2>
        <dl className="rows">
          <dt>{pick('序列号', 'Serial')}</dt>
          <dd data-testid="info-serial">{context.terminal.serial}</dd>
          <dt>{pick('商户', 'Merchant')}</dt>
          <dd>{context.terminal.merchantName ?? '—'}</dd>
          <dt>{pick('机构', 'Organisation')}</dt>
          <dd>{context.terminal.orgName ?? '—'}</dd>
          <dt>{pick('操作员', 'Operator')}</dt>
          <dd>{context.operator ? `${context.operator.no} ${context.operator.name ?? ''} (${pick(context.operator.role === 'supervisor' ? '主管' : '收银员', context.operator.role)})` : '—'}</dd>
        </dl>
      </section>
      <section className="card">
        <h2>{pick('连接', 'Connection')}</h2>
        <dl className="rows">
          <dt>{pick('网络', 'Network')}</dt>
          <dd>
            <span className={`tag ${status.online ? 'ok' : 'off'}`}>{status.online ? pick('在线', 'Online') : pick('离线', 'Offline')}</span>{' '}
            <span className={`tag ${status.pushConnected ? 'ok' : 'warn'}`}>{status.pushConnected ? pick('推送已连接', 'Push connected') : pick('推送未连接', 'Push not connected')}</span>
          </dd>
          <dt>{pick('上次心跳', 'Last heartbeat')}</dt>
          <dd data-testid="info-heartbeat">{time(status.lastHeartbeatAt, lang)}</dd>
          <dt>{pick('心跳/轮询间隔', 'Heartbeat / poll')}</dt>
          <dd>
            {status.heartbeatIntervalS} s / {status.pollIntervalS} s
          </dd>
          <dt>{pick('签到批次', 'Batch')}</dt>
          <dd>{status.session?.batchNo ?? '—'}</dd>
          <dt>{pick('签到时间', 'Signed on')}</dt>
          <dd>{time(status.session?.openedAt, lang)}</dd>
          <dt>{pick('待发请求', 'Queued requests')}</dt>
          <dd>{status.outboxPending}</dd>
        </dl>
      </section>
      <section className="card">
        <h2>{pick('参数', 'Parameters')}</h2>
        <dl className="rows">
          <dt>{pick('单笔限额', 'Per-transaction limit')}</dt>
          <dd>{typeof limit === 'number' ? formatFen(limit) : '—'}</dd>
          <dt>{pick('小票抬头', 'Receipt header')}</dt>
          <dd>{text(pick(status.params.receipt_header_zh, status.params.receipt_header_en))}</dd>
        </dl>
      </section>
      <section className="card">
        <h2>{pick('版本', 'Versions')}</h2>
        <dl className="rows" data-testid="info-versions">
          {Object.entries(status.versions)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([code, version]) => [<dt key={`${code}-k`}>{code}</dt>, <dd key={`${code}-v`}>{version}</dd>])}
        </dl>
      </section>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Info />
  </StrictMode>,
);
