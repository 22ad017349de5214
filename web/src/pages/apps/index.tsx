import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Flex, Select, Table, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { AppForm } from './components/app-form';
import { SCENARIOS, type AppSummary, type Scenario } from './model';

/** The bank-wide app catalogue: what terminals may run, each app with its signed versions. */
export default function AppsPage() {
  const { t } = useTranslation(['apps', 'common']);
  const { pick } = useLanguage();
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [scenario, setScenario] = useState<Scenario>();
  const [adding, setAdding] = useState(false);
  const apps = useRequest(() => unwrap(api.GET('/api/v1/apps', { params: { query: scenario ? { scenario } : {} } })), [scenario]);

  return (
    <PageContainer
      title={t('title')}
      extra={
        can('app:write') ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)} data-testid="app-add">
            {t('add')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={apps.error} />
      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Select<Scenario>
            allowClear
            placeholder={t('scenarioFilter')}
            style={{ minWidth: 180 }}
            value={scenario}
            onChange={setScenario}
            options={SCENARIOS.map((s) => ({ value: s, label: t(`scenario.${s}`) }))}
          />
        </Flex>
        <Table<AppSummary>
          rowKey="id"
          size="middle"
          loading={apps.loading}
          dataSource={apps.data}
          scroll={{ x: 'max-content' }}
          pagination={{ pageSize: 50, hideOnSinglePage: true, showTotal: (total) => t('common:total', { total }) }}
          data-testid="app-table"
          columns={[
            {
              title: t('name'),
              key: 'name',
              render: (_: unknown, a) => (
                <Link to={`/apps/${encodeURIComponent(a.id)}`} data-testid={`app-link-${a.code}`}>
                  {pick(a.name_zh, a.name_en)}
                </Link>
              ),
            },
            { title: t('code'), dataIndex: 'code' },
            { title: t('scenarioLabel'), dataIndex: 'scenario', render: (s: Scenario) => <Tag>{t(`scenario.${s}`)}</Tag> },
            { title: t('latestVersion'), dataIndex: 'latest_version', render: (v: string | null) => v ?? '—' },
            { title: t('latestApproved'), dataIndex: 'latest_approved_version', render: (v: string | null) => v ?? '—' },
            { title: t('versionCount'), dataIndex: 'version_count', align: 'right' },
            { title: t('createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
          ]}
        />
      </Card>
      <AppForm
        open={adding}
        onClose={() => setAdding(false)}
        onCreated={(created) => {
          setAdding(false);
          void message.success(t('created', { name: pick(created.name_zh, created.name_en) }));
          void navigate(`/apps/${encodeURIComponent(created.id)}`);
        }}
      />
    </PageContainer>
  );
}
