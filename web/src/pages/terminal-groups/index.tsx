import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Flex, Input, Table } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import type { TerminalGroup } from '../terminals/model';
import { GroupForm } from './components/group-form';

/** Terminal groups of the user's organisations: parameters and maintenance windows apply per group. */
export default function TerminalGroupsPage() {
  const { t } = useTranslation(['groups', 'common']);
  const { pick } = useLanguage();
  const { can, me } = useSignedIn();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [search, setSearch] = useState('');
  const [page, setPage] = useState({ current: 1, size: 20 });
  const [adding, setAdding] = useState(false);
  const groups = useRequest(
    () =>
      unwrap(
        api.GET('/api/v1/terminal-groups', {
          params: { query: { limit: page.size, offset: (page.current - 1) * page.size, ...(search ? { search } : {}) } },
        }),
      ),
    [search, page],
  );
  const orgs = useRequest(() => (can('org:read') ? unwrap(api.GET('/api/v1/organisations')) : Promise.resolve([])), []);
  const orgName = useMemo(() => {
    const byId = new Map((orgs.data ?? []).map((o) => [o.id, pick(o.name, o.name_en)]));
    return (id: string) => byId.get(id) ?? id;
  }, [orgs.data, pick]);
  const writer = can('terminal:write') && me.merchant_id === null;

  return (
    <PageContainer
      title={t('title')}
      extra={
        writer ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)} data-testid="group-add">
            {t('add')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={groups.error} />
      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Input.Search
            allowClear
            placeholder={t('searchPlaceholder')}
            style={{ maxWidth: 280 }}
            maxLength={64}
            onSearch={(value) => {
              setSearch(value.trim());
              setPage((p) => ({ ...p, current: 1 }));
            }}
          />
        </Flex>
        <Table<TerminalGroup>
          rowKey="id"
          size="middle"
          loading={groups.loading}
          dataSource={groups.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="group-table"
          pagination={{
            current: page.current,
            pageSize: page.size,
            total: groups.data?.total ?? 0,
            showSizeChanger: true,
            showTotal: (total) => t('common:total', { total }),
            onChange: (current, size) => setPage({ current, size }),
          }}
          columns={[
            {
              title: t('name'),
              dataIndex: 'name',
              render: (name: string, g) => (
                <Link to={`/terminal-groups/${encodeURIComponent(g.id)}`} data-testid={`group-link-${g.id}`}>
                  {name}
                </Link>
              ),
            },
            { title: t('org'), dataIndex: 'org_id', render: (id: string) => orgName(id) },
            { title: t('members'), dataIndex: 'member_count', align: 'right' },
            { title: t('window'), dataIndex: 'maintenance_window', render: (w: string | null) => w ?? t('anyTime') },
            { title: t('paramsCount'), dataIndex: 'params', render: (p: object) => Object.keys(p).length || '—' },
            { title: t('createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
          ]}
        />
      </Card>
      <GroupForm
        open={adding}
        organisations={orgs.data ?? []}
        defaultOrgId={me.org_id}
        onClose={() => setAdding(false)}
        onSaved={(group) => {
          setAdding(false);
          void message.success(t('created', { name: group.name }));
          void navigate(`/terminal-groups/${encodeURIComponent(group.id)}`);
        }}
      />
    </PageContainer>
  );
}
