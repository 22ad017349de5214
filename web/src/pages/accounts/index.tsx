import { Card, Flex, Select } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { AccountTable } from '../../components/account-table';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useChart } from '../../hooks/use-chart';
import { useLanguage } from '../../hooks/use-language';
import { useRequest } from '../../hooks/use-request';

/** Every account the user may see, with balance and available amount. */
export default function AccountsPage() {
  const { t } = useTranslation(['accounts', 'common']);
  const { pick } = useLanguage();
  const [code, setCode] = useState<number>();
  const [page, setPage] = useState({ current: 1, size: 20 });
  const chart = useChart();
  const accounts = useRequest(
    () =>
      unwrap(
        api.GET('/api/v1/accounts', {
          params: { query: { limit: page.size, offset: (page.current - 1) * page.size, ...(code ? { code } : {}) } },
        }),
      ),
    [code, page],
  );
  const orgs = useRequest(() => unwrap(api.GET('/api/v1/organisations')), []);
  const ownerName = useMemo(() => {
    const byId = new Map((orgs.data ?? []).map((o) => [o.id, pick(o.name, o.name_en)]));
    return (id: string | null) => (id ? (byId.get(id) ?? id) : '—');
  }, [orgs.data, pick]);

  return (
    <PageContainer title={t('title')}>
      <ErrorAlert error={accounts.error} />
      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Select<number>
            allowClear
            placeholder={t('typeFilter')}
            style={{ minWidth: 220 }}
            value={code}
            onChange={(value) => {
              setCode(value);
              setPage((p) => ({ ...p, current: 1 }));
            }}
            options={(chart.data?.account_types ?? []).map((a) => ({ value: a.code, label: `${a.code} · ${pick(a.zh, a.en)}` }))}
          />
        </Flex>
        <AccountTable
          accounts={accounts.data?.items}
          loading={accounts.loading}
          typeName={chart.accountType}
          ownerName={ownerName}
          pagination={{
            current: page.current,
            pageSize: page.size,
            total: accounts.data?.total ?? 0,
            showSizeChanger: true,
            showTotal: (total) => t('common:total', { total }),
            onChange: (current, size) => setPage({ current, size }),
          }}
        />
      </Card>
    </PageContainer>
  );
}
