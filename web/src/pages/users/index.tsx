import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Table, Tag } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import type { Role, User } from '../../api/types';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMillis } from '../../utils/time';
import { UserForm } from './components/user-form';

/** Staff and merchant-side users of the user's organisations. */
export default function UsersPage() {
  const { t } = useTranslation(['users', 'common']);
  const { pick } = useLanguage();
  const { can, me } = useSignedIn();
  const { message } = App.useApp();
  const [adding, setAdding] = useState(false);
  const users = useRequest(() => unwrap(api.GET('/api/v1/users')), []);
  const orgs = useRequest(() => unwrap(api.GET('/api/v1/organisations')), []);
  const orgName = useMemo(() => {
    const byId = new Map((orgs.data ?? []).map((o) => [o.id, pick(o.name, o.name_en)]));
    return (id: string) => byId.get(id) ?? id;
  }, [orgs.data, pick]);

  return (
    <PageContainer
      title={t('title')}
      extra={
        can('user:write') ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)} data-testid="user-add">
            {t('add')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={users.error} />
      <Card>
        <Table<User>
          rowKey="id"
          size="middle"
          loading={users.loading}
          dataSource={users.data}
          scroll={{ x: 'max-content' }}
          pagination={{ pageSize: 50, showTotal: (total) => t('common:total', { total }) }}
          data-testid="user-table"
          columns={[
            { title: t('username'), dataIndex: 'username' },
            { title: t('displayName'), dataIndex: 'display_name' },
            { title: t('role'), dataIndex: 'role', render: (r: Role) => t(`common:role.${r}`) },
            { title: t('org'), dataIndex: 'org_id', render: orgName },
            {
              title: t('status'),
              key: 'status',
              render: (_: unknown, u) => (
                <>
                  {u.disabled ? (
                    <Tag color="default">{t('disabled')}</Tag>
                  ) : u.locked ? (
                    <Tag color="red">{t('locked')}</Tag>
                  ) : (
                    <Tag color="green">{t('active')}</Tag>
                  )}
                  {u.totp_enabled ? <Tag color="blue">{t('totp')}</Tag> : null}
                </>
              ),
            },
            { title: t('lastLogin'), dataIndex: 'last_login_at', render: (ms: number | null) => formatMillis(ms) },
            { title: t('createdAt'), dataIndex: 'created_at', render: (ms: number) => formatMillis(ms) },
          ]}
        />
      </Card>
      <UserForm
        open={adding}
        organisations={orgs.data ?? []}
        defaultOrgId={me.org_id}
        onClose={() => setAdding(false)}
        onCreated={(user) => {
          setAdding(false);
          void message.success(t('created', { name: user.username }));
          users.reload();
        }}
      />
    </PageContainer>
  );
}
