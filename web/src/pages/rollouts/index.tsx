import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Flex, Progress, Select, Table } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { ROLLOUT_STATES, type Rollout, type RolloutQuery, type RolloutState } from '../apps/model';
import { RolloutForm } from './components/rollout-form';
import { RolloutStateTag } from './components/state-tag';

/** Rollouts of app versions to terminal groups, newest first, with their overall progress. */
export default function RolloutsPage() {
  const { t } = useTranslation(['rollouts', 'common']);
  const { pick } = useLanguage();
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [state, setState] = useState<RolloutState>();
  const [appId, setAppId] = useState<string | undefined>(params.get('app') ?? undefined);
  const [page, setPage] = useState({ current: 1, size: 20 });
  const [adding, setAdding] = useState(false);
  const query: RolloutQuery = {
    limit: page.size,
    offset: (page.current - 1) * page.size,
    ...(state ? { state } : {}),
    ...(appId ? { app_id: appId } : {}),
  };
  const rollouts = useRequest(() => unwrap(api.GET('/api/v1/rollouts', { params: { query } })), [state, appId, page]);
  const apps = useRequest(() => unwrap(api.GET('/api/v1/apps', { params: { query: {} } })), []);

  return (
    <PageContainer
      title={t('title')}
      extra={
        can('app:write') ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)} data-testid="rollout-add">
            {t('add')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={rollouts.error} />
      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Select<RolloutState>
            allowClear
            placeholder={t('stateFilter')}
            style={{ minWidth: 150 }}
            value={state}
            onChange={(s) => {
              setState(s);
              setPage((p) => ({ ...p, current: 1 }));
            }}
            options={ROLLOUT_STATES.map((s) => ({ value: s, label: t(`state.${s}`) }))}
            data-testid="rollout-state-filter"
          />
          <Select<string>
            allowClear
            placeholder={t('appFilter')}
            style={{ minWidth: 200 }}
            value={appId}
            onChange={(a) => {
              setAppId(a);
              setPage((p) => ({ ...p, current: 1 }));
            }}
            showSearch={{ optionFilterProp: 'label' }}
            options={(apps.data ?? []).map((a) => ({ value: a.id, label: pick(a.name_zh, a.name_en) }))}
          />
        </Flex>
        <Table<Rollout>
          rowKey="id"
          size="middle"
          loading={rollouts.loading}
          dataSource={rollouts.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="rollout-table"
          pagination={{
            current: page.current,
            pageSize: page.size,
            total: rollouts.data?.total ?? 0,
            showTotal: (total) => t('common:total', { total }),
            onChange: (current, size) => setPage({ current, size }),
          }}
          columns={[
            {
              title: t('name'),
              dataIndex: 'name',
              render: (name: string, r) => (
                <Link to={`/rollouts/${encodeURIComponent(r.id)}`} data-testid={`rollout-link-${r.id}`}>
                  {name}
                </Link>
              ),
            },
            { title: t('app'), key: 'app', render: (_: unknown, r) => `${r.app_code} ${r.version}` },
            { title: t('stateLabel'), key: 'state', render: (_: unknown, r) => <RolloutStateTag rollout={r} /> },
            {
              title: t('stage'),
              key: 'stage',
              render: (_: unknown, r) =>
                r.current_stage < 0 ? '—' : `${r.current_stage + 1} / ${r.stages.length} (${r.stages[r.current_stage]?.percent ?? 0}%)`,
            },
            {
              title: t('progress'),
              key: 'progress',
              width: 200,
              render: (_: unknown, r) => {
                const total = r.totals.total || 1;
                return (
                  <Progress
                    size="small"
                    percent={Math.round(((r.totals.installed + r.totals.failed) * 100) / total)}
                    success={{ percent: Math.round((r.totals.installed * 100) / total) }}
                    status={r.totals.failed ? 'exception' : undefined}
                    format={() => `${r.totals.installed}/${r.totals.total}`}
                  />
                );
              },
            },
            { title: t('createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
          ]}
        />
      </Card>
      <RolloutForm
        open={adding}
        appId={appId}
        onClose={() => setAdding(false)}
        onCreated={(created) => {
          setAdding(false);
          void message.success(t('created', { name: created.name }));
          void navigate(`/rollouts/${encodeURIComponent(created.id)}`);
        }}
      />
    </PageContainer>
  );
}
