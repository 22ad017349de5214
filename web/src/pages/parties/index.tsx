import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Flex, Input, Select, Table, Tag } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { PARTY_ROLES } from '../../api/enums';
import type { Party, PartyKind, PartyRole } from '../../api/types';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMillis } from '../../utils/time';
import { PartyForm } from './components/party-form';

/** Customers, farmers, merchants, buyers and agents of the user's organisations. */
export default function PartiesPage() {
  const { t } = useTranslation(['parties', 'common']);
  const { pick } = useLanguage();
  const { can, me } = useSignedIn();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [search, setSearch] = useState('');
  const [role, setRole] = useState<PartyRole>();
  const [page, setPage] = useState({ current: 1, size: 20 });
  const [adding, setAdding] = useState(false);

  const parties = useRequest(
    () =>
      unwrap(
        api.GET('/api/v1/parties', {
          params: {
            query: { limit: page.size, offset: (page.current - 1) * page.size, ...(search ? { search } : {}), ...(role ? { role } : {}) },
          },
        }),
      ),
    [search, role, page],
  );
  const orgs = useRequest(() => unwrap(api.GET('/api/v1/organisations')), []);
  const orgName = useMemo(() => {
    const byId = new Map((orgs.data ?? []).map((o) => [o.id, pick(o.name, o.name_en)]));
    return (id: string) => byId.get(id) ?? id;
  }, [orgs.data, pick]);

  return (
    <PageContainer
      title={t('title')}
      extra={
        can('party:write') ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)} data-testid="party-add">
            {t('add')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={parties.error} />
      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Input.Search
            allowClear
            placeholder={t('searchPlaceholder')}
            style={{ maxWidth: 280 }}
            maxLength={50}
            data-testid="party-search"
            onSearch={(value) => {
              setSearch(value.trim());
              setPage((p) => ({ ...p, current: 1 }));
            }}
          />
          <Select<PartyRole>
            allowClear
            placeholder={t('roleFilter')}
            style={{ minWidth: 160 }}
            value={role}
            onChange={(value) => {
              setRole(value);
              setPage((p) => ({ ...p, current: 1 }));
            }}
            options={PARTY_ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))}
          />
        </Flex>
        <Table<Party>
          rowKey="id"
          size="middle"
          loading={parties.loading}
          dataSource={parties.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="party-table"
          pagination={{
            current: page.current,
            pageSize: page.size,
            total: parties.data?.total ?? 0,
            showSizeChanger: true,
            showTotal: (total) => t('common:total', { total }),
            onChange: (current, size) => setPage({ current, size }),
          }}
          columns={[
            {
              title: t('name'),
              dataIndex: 'name',
              render: (name: string, p) => (
                <Link to={`/parties/${encodeURIComponent(p.id)}`} data-testid={`party-link-${p.id}`}>
                  {name}
                </Link>
              ),
            },
            { title: t('kindLabel'), dataIndex: 'kind', render: (k: PartyKind) => t(`kind.${k}`) },
            {
              title: t('roles'),
              dataIndex: 'roles',
              render: (roles: PartyRole[]) => roles.map((r) => <Tag key={r}>{t(`role.${r}`)}</Tag>),
            },
            { title: t('org'), dataIndex: 'org_id', render: (id: string) => orgName(id) },
            { title: t('nationalId'), dataIndex: 'national_id_masked', render: (v: string | null) => v ?? '—' },
            { title: t('phone'), dataIndex: 'phone', render: (v: string | null) => v ?? '—' },
            { title: t('region'), dataIndex: 'region_code', render: (v: string | null) => v ?? '—' },
            { title: t('createdAt'), dataIndex: 'created_at', render: (ms: number) => formatMillis(ms) },
          ]}
        />
      </Card>
      <PartyForm
        open={adding}
        organisations={orgs.data ?? []}
        defaultOrgId={me.org_id}
        onClose={() => setAdding(false)}
        onCreated={(party) => {
          setAdding(false);
          void message.success(t('created', { name: party.name }));
          void navigate(`/parties/${encodeURIComponent(party.id)}`);
        }}
      />
    </PageContainer>
  );
}
