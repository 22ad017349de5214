import { Alert, Button, Card, Select, Spin, Tabs, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { formatFen } from '@xiaowei/money';
import { LanguageSwitch } from '../../../layouts/components/language-switch';
import { PasswordForm } from '../../login/components/password-form';
import { useSession } from '../../../session/session-context';
import { CodeTab } from './components/code-tab';
import { PayTab } from './components/pay-tab';
import { TransferTab } from './components/transfer-tab';
import { mobileApi, type CustomerAccount } from './mobile-api';

/** The customer's mobile page (/m/pay): pay a merchant's QR code, show a payment code, transfer. */
export default function MobilePay() {
  const { t } = useTranslation('mobile');
  const { session, refresh, signOut } = useSession();

  let body;
  if (session === undefined) body = <Spin />;
  else if (session === null) {
    body = (
      <Card size="small" title={t('signInHint')}>
        <PasswordForm onSignedIn={refresh} onEnrol={() => undefined} />
      </Card>
    );
  } else if (!session.can('payment:pay')) {
    body = (
      <>
        <Alert type="warning" showIcon title={t('notCustomer')} data-testid="mobile-not-customer" />
        <Button block style={{ marginTop: 16 }} onClick={() => void signOut()}>
          {t('signOut')}
        </Button>
      </>
    );
  } else body = <CustomerHome onSignOut={() => void signOut()} name={session.me.display_name} />;

  return (
    <div style={{ maxWidth: 480, margin: '0 auto', padding: 12, minHeight: '100vh', background: '#f5f5f5' }} data-testid="mobile-pay">
      <div style={{ display: 'flex', alignItems: 'center', justifyContent: 'space-between', marginBottom: 12 }}>
        <div>
          <Typography.Title level={4} style={{ margin: 0 }}>
            {t('title')}
          </Typography.Title>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('subtitle')}
          </Typography.Text>
        </div>
        <LanguageSwitch />
      </div>
      {body}
    </div>
  );
}

function CustomerHome({ name, onSignOut }: { name: string; onSignOut: () => void }) {
  const { t } = useTranslation('mobile');
  const [accounts, setAccounts] = useState<CustomerAccount[]>();
  const [accountId, setAccountId] = useState<string>();
  const [error, setError] = useState<ApiError>();

  const load = useCallback(async () => {
    try {
      const { items } = await mobileApi<{ items: CustomerAccount[] }>('GET', '/pay/accounts');
      setAccounts(items);
      setAccountId((current) => (current && items.some((a) => a.id === current) ? current : items[0]?.id));
    } catch (e) {
      setError(e as ApiError);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const account = accounts?.find((a) => a.id === accountId);
  return (
    <>
      <ErrorAlert error={error} testId="mobile-error" />
      <Card size="small" style={{ marginBottom: 12 }}>
        <div style={{ display: 'flex', justifyContent: 'space-between', marginBottom: 8 }}>
          <Typography.Text strong>{name}</Typography.Text>
          <Button size="small" type="link" onClick={onSignOut} data-testid="mobile-sign-out">
            {t('signOut')}
          </Button>
        </div>
        {accounts && accounts.length === 0 ? <Alert type="info" title={t('noAccounts')} /> : null}
        <Select
          style={{ width: '100%' }}
          value={accountId}
          onChange={setAccountId}
          loading={!accounts}
          data-testid="mobile-account"
          options={(accounts ?? []).map((a) => ({ value: a.id, label: `${a.name} · ${a.id.slice(-8)}` }))}
        />
        {account ? (
          <Typography.Text type="secondary" style={{ display: 'block', marginTop: 8 }}>
            {t('balance')}: <span data-testid="mobile-balance">{formatFen(account.balance)}</span>
          </Typography.Text>
        ) : null}
      </Card>
      <Tabs
        centered
        items={[
          { key: 'pay', label: <span data-testid="mobile-tab-pay">{t('tabPay')}</span>, children: <PayTab accountId={accountId} onPaid={() => void load()} /> },
          { key: 'code', label: <span data-testid="mobile-tab-code">{t('tabCode')}</span>, children: <CodeTab accountId={accountId} /> },
          { key: 'transfer', label: <span data-testid="mobile-tab-transfer">{t('tabTransfer')}</span>, children: <TransferTab accountId={accountId} onDone={() => void load()} /> },
        ]}
      />
    </>
  );
}
