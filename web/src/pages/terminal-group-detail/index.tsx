import { ArrowLeftOutlined, EditOutlined } from '@ant-design/icons';
import { App, Button, Card, Descriptions, Flex, Input, Modal, Skeleton, Table, Tabs, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import type { ApiError } from '../../api/errors';
import { ErrorAlert, useErrorText } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { asApiError, useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { ParamsForm } from '../terminals/components/params-form';
import { OnlineBadge, StatusTag } from '../terminals/components/status-tag';
import type { Terminal, TerminalParams, TerminalStatus } from '../terminals/model';
import { GroupForm } from '../terminal-groups/components/group-form';

/** Serials typed or pasted one per line (or separated by commas or spaces). */
function parseSerials(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** One group: its window, its parameters (which its members inherit) and its members. */
export default function TerminalGroupDetailPage() {
  const { t } = useTranslation(['groups', 'terminals', 'common']);
  const { id = '' } = useParams();
  const { pick } = useLanguage();
  const { can, me } = useSignedIn();
  const { message, modal } = App.useApp();
  const errorText = useErrorText();
  const navigate = useNavigate();
  const [editing, setEditing] = useState(false);
  const [adding, setAdding] = useState(false);
  const [page, setPage] = useState({ current: 1, size: 20 });
  const [selected, setSelected] = useState<string[]>([]);
  const group = useRequest(() => unwrap(api.GET('/api/v1/terminal-groups/{id}', { params: { path: { id } } })), [id]);
  const members = useRequest(
    () =>
      unwrap(
        api.GET('/api/v1/terminals', { params: { query: { group_id: id, limit: page.size, offset: (page.current - 1) * page.size } } }),
      ),
    [id, page],
  );
  const orgs = useRequest(() => (can('org:read') ? unwrap(api.GET('/api/v1/organisations')) : Promise.resolve([])), []);
  const g = group.data;
  const org = orgs.data?.find((o) => o.id === g?.org_id);
  const writer = can('terminal:write') && me.merchant_id === null;

  const reloadAll = () => {
    group.reload();
    members.reload();
  };

  const remove = () => {
    void modal.confirm({
      title: t('removeConfirm', { count: selected.length }),
      okButtonProps: { danger: true },
      onOk: async () => {
        try {
          const reply = await unwrap(
            api.POST('/api/v1/terminal-groups/{id}/members/remove', { params: { path: { id } }, body: { terminal_ids: selected } }),
          );
          void message.success(t('removed', { count: reply.removed ?? 0 }));
          setSelected([]);
          reloadAll();
        } catch (caught) {
          void message.error(errorText(asApiError(caught)));
        }
      },
    });
  };

  const saveParams = async (params: TerminalParams) => {
    const reply = await unwrap(api.PUT('/api/v1/terminal-groups/{id}/params', { params: { path: { id } }, body: params }));
    void message.success(t('paramsSaved', { count: reply.changed_terminals }));
    group.reload();
  };

  const ownParams = useMemo(() => g?.params ?? {}, [g]);
  return (
    <PageContainer
      title={
        <>
          <Button
            type="text"
            icon={<ArrowLeftOutlined />}
            onClick={() => void navigate('/terminal-groups')}
            aria-label={t('common:back')}
          />
          <span data-testid="group-title">{g?.name ?? t('detailTitle')}</span>
        </>
      }
      extra={
        g && writer ? (
          <Button icon={<EditOutlined />} onClick={() => setEditing(true)} data-testid="group-edit">
            {t('edit')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={group.error} />
      <Card style={{ marginBottom: 16 }}>
        {g ? (
          <Descriptions
            column={{ xs: 1, sm: 2, lg: 3 }}
            items={[
              { key: 'name', label: t('name'), children: g.name },
              { key: 'org', label: t('org'), children: org ? pick(org.name, org.name_en) : g.org_id },
              { key: 'members', label: t('members'), children: g.member_count },
              {
                key: 'window',
                label: t('window'),
                children: <span data-testid="group-window-value">{g.maintenance_window ?? t('anyTime')}</span>,
              },
              { key: 'created', label: t('createdAt'), children: formatMicros(g.created_at) },
              { key: 'id', label: t('id'), children: g.id },
            ]}
          />
        ) : (
          <Skeleton active />
        )}
      </Card>
      {g ? (
        <Card>
          <Tabs
            items={[
              {
                key: 'members',
                label: t('membersTab', { count: g.member_count }),
                children: (
                  <>
                    {writer ? (
                      <Flex gap={8} style={{ marginBottom: 12 }}>
                        <Button type="primary" onClick={() => setAdding(true)} data-testid="group-add-members">
                          {t('addMembers')}
                        </Button>
                        <Button danger disabled={selected.length === 0} onClick={remove} data-testid="group-remove-members">
                          {t('removeMembers', { count: selected.length })}
                        </Button>
                      </Flex>
                    ) : null}
                    <ErrorAlert error={members.error} />
                    <Table<Terminal>
                      rowKey="id"
                      size="small"
                      loading={members.loading}
                      dataSource={members.data?.items}
                      scroll={{ x: 'max-content' }}
                      data-testid="group-members"
                      rowSelection={writer ? { selectedRowKeys: selected, onChange: (keys) => setSelected(keys.map(String)) } : undefined}
                      pagination={{
                        current: page.current,
                        pageSize: page.size,
                        total: members.data?.total ?? 0,
                        showTotal: (total) => t('common:total', { total }),
                        onChange: (current, size) => setPage({ current, size }),
                      }}
                      columns={[
                        {
                          title: t('terminals:serial'),
                          dataIndex: 'serial',
                          render: (s: string, x) => <Link to={`/terminals/${encodeURIComponent(x.id)}`}>{s}</Link>,
                        },
                        { title: t('terminals:model'), dataIndex: 'model' },
                        { title: t('terminals:statusLabel'), dataIndex: 'status', render: (s: TerminalStatus) => <StatusTag status={s} /> },
                        { title: t('terminals:presence'), dataIndex: 'online', render: (o: boolean) => <OnlineBadge online={o} /> },
                        {
                          title: t('terminals:lastSeen'),
                          dataIndex: 'last_seen_at',
                          render: (us: number | null) => (us ? formatMicros(us) : '—'),
                        },
                      ]}
                    />
                  </>
                ),
              },
              {
                key: 'params',
                label: t('paramsTab'),
                children: (
                  <>
                    <Typography.Paragraph type="secondary">{t('paramsHint')}</Typography.Paragraph>
                    <ParamsForm own={ownParams} disabled={!writer} testId="group-params" onSave={saveParams} />
                  </>
                ),
              },
            ]}
          />
        </Card>
      ) : null}
      <GroupForm
        open={editing}
        group={g}
        organisations={orgs.data ?? []}
        defaultOrgId={me.org_id}
        onClose={() => setEditing(false)}
        onSaved={() => {
          setEditing(false);
          void message.success(t('saved'));
          group.reload();
        }}
      />
      <AddMembersModal
        open={adding}
        groupId={id}
        onClose={() => setAdding(false)}
        onAdded={(count) => {
          setAdding(false);
          void message.success(t('added', { count }));
          reloadAll();
        }}
      />
    </PageContainer>
  );
}

function AddMembersModal({
  open,
  groupId,
  onClose,
  onAdded,
}: {
  open: boolean;
  groupId: string;
  onClose: () => void;
  onAdded: (count: number) => void;
}) {
  const { t } = useTranslation(['groups', 'common']);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const serials = parseSerials(text);

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const reply = await unwrap(
        api.POST('/api/v1/terminal-groups/{id}/members', { params: { path: { id: groupId } }, body: { serials } }),
      );
      setText('');
      onAdded(reply.added ?? 0);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('addMembers')}
      okText={t('addMembersSubmit', { count: serials.length })}
      cancelText={t('common:cancel')}
      okButtonProps={{ disabled: serials.length === 0, 'data-testid': 'group-add-members-submit' }}
      confirmLoading={busy}
      onOk={() => void submit()}
      onCancel={onClose}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Typography.Paragraph type="secondary">{t('addMembersHint')}</Typography.Paragraph>
      <Input.TextArea
        rows={6}
        value={text}
        onChange={(e) => setText(e.target.value)}
        spellCheck={false}
        data-testid="group-add-members-serials"
      />
    </Modal>
  );
}
