import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { formatFen } from '@xiaowei/money';
import { call } from '../../sdk/bridge';
import { useAppContext, usePick, useShellValue } from '../../sdk/hooks';
import '../../sdk/app.css';

const loadStatus = () => call('status');

/**
 * The cashier's place on the launcher. It takes no payment: payments arrive with the payments
 * release, and until then this app says so plainly and shows only what is already real — the
 * operator at the till and the limits the bank set for this terminal.
 */
function Cashier() {
  const context = useAppContext();
  const status = useShellValue('status', loadStatus);
  const pick = usePick(context?.language);
  if (!context || !status) return <p className="muted">…</p>;
  const limit = status.params.txn_limit_fen;
  const timeout = status.params.request_timeout_s;
  return (
    <main data-testid="cashier-app">
      <h1>{pick('收银台', 'Cashier')}</h1>
      <section className="card" data-testid="cashier-notice">
        <h2>{pick('尚未开通收款', 'Payments are not available yet')}</h2>
        <p>{pick('收款、撤销和退货功能将随支付版本提供。本版本不能收款，也不会记录任何交易。', 'Sales, voids and refunds arrive with the payments release. This version cannot take payments and records no transaction.')}</p>
      </section>
      <section className="card">
        <h2>{pick('收银参数', 'Cashier settings')}</h2>
        <dl className="rows">
          <dt>{pick('操作员', 'Operator')}</dt>
          <dd>{context.operator ? `${context.operator.no} ${context.operator.name ?? ''}` : '—'}</dd>
          <dt>{pick('单笔限额', 'Per-transaction limit')}</dt>
          <dd>{typeof limit === 'number' ? formatFen(limit) : '—'}</dd>
          <dt>{pick('交易超时', 'Transaction timeout')}</dt>
          <dd>{typeof timeout === 'number' ? `${timeout} s` : '—'}</dd>
        </dl>
      </section>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Cashier />
  </StrictMode>,
);
