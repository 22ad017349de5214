import { ArrowLeftOutlined, ReloadOutlined, SwapOutlined } from '@ant-design/icons';
import { Button, Card, Descriptions, Skeleton } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/error-alert';
import { Money } from '../../components/money';
import { PageContainer } from '../../components/page-container';
import { useChart } from '../../hooks/use-chart';
import { useLanguage } from '../../hooks/use-language';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { StatementTable } from './components/statement-table';

/** React Router numbers its history entries; 0 means the console was opened on this page. */
const canGoBack = (): boolean => ((window.history.state as { idx?: number } | null)?.idx ?? 0) > 0;

/** One account: balances and its statement. */
export default function AccountDetailPage() {
  const { t } = useTranslation(['accounts', 'common']);
  const { id = '' } = useParams();
  const { can } = useSignedIn();
  const navigate = useNavigate();
  const chart = useChart();
  const [version, setVersion] = useState(0);
  const account = useRequest(() => unwrap(api.GET('/api/v1/accounts/{id}', { params: { path: { id } } })), [id, version]);
  const orgs = useRequest(() => unwrap(api.GET('/api/v1/organisations')), []);
  const { pick } = useLanguage();
  const a = account.data;
  const ownerOrg = orgs.data?.find((o) => o.id === a?.owner_id);
  const ownerId = a?.owner_id;
  const partyOwner = orgs.data && ownerId && !ownerOrg ? ownerId : undefined;
  const party = useRequest(
    () => (partyOwner ? unwrap(api.GET('/api/v1/parties/{id}', { params: { path: { id: partyOwner } } })) : Promise.resolve(undefined)),
    [partyOwner],
  );

  return (
    <PageContainer
      title={
        <>
          <Button
            type="text"
            icon={<ArrowLeftOutlined />}
            onClick={() => void (canGoBack() ? navigate(-1) : navigate('/accounts'))}
            aria-label={t('common:back')}
          />
          <span data-testid="account-title">{t('detailTitle', { id })}</span>
        </>
      }
      extra={
        <>
          <Button icon={<ReloadOutlined />} onClick={() => setVersion((v) => v + 1)} data-testid="account-reload">
            {t('common:reload')}
          </Button>
          {can('transfer:create') ? (
            <Link to={`/transfers/new?credit=${encodeURIComponent(id)}`}>
              <Button type="primary" icon={<SwapOutlined />} data-testid="account-new-transfer">
                {t('newTransfer')}
              </Button>
            </Link>
          ) : null}
        </>
      }
    >
      <ErrorAlert error={account.error} />
      <Card style={{ marginBottom: 16 }}>
        {a ? (
          <Descriptions
            column={{ xs: 1, sm: 2, lg: 3 }}
            items={[
              { key: 'name', label: t('name'), children: a.name ?? '—' },
              { key: 'type', label: t('type'), children: `${a.code} · ${chart.accountType(a.code)}` },
              {
                key: 'owner',
                label: t('owner'),
                children: ownerOrg ? (
                  pick(ownerOrg.name, ownerOrg.name_en)
                ) : a.owner_id ? (
                  <Link to={`/parties/${encodeURIComponent(a.owner_id)}`} data-testid="account-owner">
                    {party.data?.name ?? a.owner_id}
                  </Link>
                ) : (
                  '—'
                ),
              },
              { key: 'balance', label: t('balance'), children: <Money fen={a.balance} signed testId="account-balance" /> },
              { key: 'available', label: t('available'), children: <Money fen={a.available} signed testId="account-available" /> },
              { key: 'created', label: t('createdAt'), children: formatMicros(a.created_at) },
            ]}
          />
        ) : (
          <Skeleton active />
        )}
      </Card>
      <Card title={t('statementTitle')}>
        <StatementTable accountId={id} transferCodeName={chart.transferCode} version={version} />
      </Card>
    </PageContainer>
  );
}
