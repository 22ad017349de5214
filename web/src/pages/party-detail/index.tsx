import { ArrowLeftOutlined, PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Descriptions, Skeleton, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { AccountTable } from '../../components/account-table';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useChart } from '../../hooks/use-chart';
import { useLanguage } from '../../hooks/use-language';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMillis } from '../../utils/time';
import { OpenAccountModal } from './components/open-account-modal';

/** One party: who they are and their accounts, with "open account". */
export default function PartyDetailPage() {
  const { t } = useTranslation(['parties', 'common']);
  const { id = '' } = useParams();
  const { pick } = useLanguage();
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [opening, setOpening] = useState(false);
  const party = useRequest(() => unwrap(api.GET('/api/v1/parties/{id}', { params: { path: { id } } })), [id]);
  const accounts = useRequest(
    () => unwrap(api.GET('/api/v1/accounts', { params: { query: { owner_id: id, limit: 500, offset: 0 } } })),
    [id],
  );
  const orgs = useRequest(() => unwrap(api.GET('/api/v1/organisations')), []);
  const chart = useChart();
  const p = party.data;
  const org = orgs.data?.find((o) => o.id === p?.org_id);

  return (
    <PageContainer
      title={
        <>
          <Button type="text" icon={<ArrowLeftOutlined />} onClick={() => void navigate('/parties')} aria-label={t('common:back')} />
          <span data-testid="party-title">{p?.name ?? t('detailTitle')}</span>
        </>
      }
    >
      <ErrorAlert error={party.error ?? accounts.error} />
      <Card style={{ marginBottom: 16 }}>
        {p ? (
          <Descriptions
            column={{ xs: 1, sm: 2, lg: 3 }}
            items={[
              { key: 'id', label: t('id'), children: p.id },
              { key: 'kind', label: t('kindLabel'), children: t(`kind.${p.kind}`) },
              { key: 'roles', label: t('roles'), children: p.roles.map((r) => <Tag key={r}>{t(`role.${r}`)}</Tag>) },
              { key: 'org', label: t('org'), children: org ? pick(org.name, org.name_en) : p.org_id },
              { key: 'nid', label: t('nationalId'), children: p.national_id_masked ?? '—' },
              { key: 'phone', label: t('phone'), children: p.phone ?? '—' },
              { key: 'region', label: t('region'), children: p.region_code ?? '—' },
              { key: 'created', label: t('createdAt'), children: formatMillis(p.created_at) },
            ]}
          />
        ) : (
          <Skeleton active />
        )}
      </Card>
      <Card
        title={t('accountsTitle')}
        extra={
          can('account:write') ? (
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setOpening(true)}
              disabled={!p || !chart.data}
              data-testid="open-account"
            >
              {t('openAccount')}
            </Button>
          ) : null
        }
      >
        <AccountTable accounts={accounts.data?.items} loading={accounts.loading} typeName={chart.accountType} />
      </Card>
      <OpenAccountModal
        open={opening}
        ownerId={id}
        types={chart.data?.account_types.filter((a) => !a.internal) ?? []}
        onClose={() => setOpening(false)}
        onOpened={(account) => {
          setOpening(false);
          void message.success(t('accountOpened', { id: account.id }));
          accounts.reload();
        }}
      />
    </PageContainer>
  );
}
