import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Table, Tag } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import type { Organisation, OrgKind } from '../../api/types';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMillis } from '../../utils/time';
import { OrganisationForm } from './components/organisation-form';
import { buildOrgTree, type OrgNode } from './components/org-tree';

const KIND_COLOUR: Record<OrgKind, string> = { bank: 'blue', branch: 'green', service_point: 'orange' };

/** The bank, its branches and their village service points. */
export default function OrganisationsPage() {
  const { t } = useTranslation('organisations');
  const { pick } = useLanguage();
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const [adding, setAdding] = useState(false);
  const orgs = useRequest(() => unwrap(api.GET('/api/v1/organisations')), []);
  // The server caches each user's organisation scope for a few seconds, so a fresh list may not
  // hold what was just added yet: keep our own additions until it does.
  const [added, setAdded] = useState<Organisation[]>([]);
  const all = useMemo(() => {
    const listed = orgs.data ?? [];
    const ids = new Set(listed.map((o) => o.id));
    return [...listed, ...added.filter((o) => !ids.has(o.id))];
  }, [orgs.data, added]);
  const tree = useMemo(() => buildOrgTree(all), [all]);

  return (
    <PageContainer
      title={t('title')}
      extra={
        can('org:write') ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)} data-testid="org-add">
            {t('add')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={orgs.error} />
      <Card>
        <Table<OrgNode>
          rowKey="id"
          size="middle"
          loading={orgs.loading}
          dataSource={tree}
          pagination={false}
          scroll={{ x: 'max-content' }}
          expandable={{ defaultExpandAllRows: true }}
          key={all.length}
          data-testid="org-table"
          columns={[
            { title: t('name'), dataIndex: 'name', render: (_: string, o) => pick(o.name, o.name_en) },
            { title: t('code'), dataIndex: 'code' },
            {
              title: t('kindLabel'),
              dataIndex: 'kind',
              render: (kind: OrgKind) => <Tag color={KIND_COLOUR[kind]}>{t(`kind.${kind}`)}</Tag>,
            },
            { title: t('region'), dataIndex: 'region_code', render: (v: string | null) => v ?? '—' },
            { title: t('createdAt'), dataIndex: 'created_at', render: (ms: number) => formatMillis(ms) },
          ]}
        />
      </Card>
      <OrganisationForm
        open={adding}
        organisations={all}
        onClose={() => setAdding(false)}
        onCreated={(org) => {
          setAdding(false);
          setAdded((list) => [...list, org]);
          void message.success(t('created', { name: org.name }));
          orgs.reload();
        }}
      />
    </PageContainer>
  );
}
