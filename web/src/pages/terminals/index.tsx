import { EnvironmentOutlined, ImportOutlined, PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Flex, Input, Select, Space, Table, Tag, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { AddToGroupModal } from './components/add-to-group-modal';
import { GroupPicker } from './components/group-picker';
import { ImportModal } from './components/import-modal';
import { usePartyNames } from './components/party-names';
import { OnlineBadge, StatusTag } from './components/status-tag';
import { useStatusActions } from './components/status-actions';
import { TerminalForm } from './components/terminal-form';
import { TERMINAL_KINDS, TERMINAL_STATUSES, type Terminal, type TerminalKind, type TerminalQuery, type TerminalStatus } from './model';

type Presence = 'online' | 'offline';

interface Filter {
  status?: TerminalStatus;
  presence?: Presence;
  kind?: TerminalKind;
  group_id?: string;
  tag?: string;
  search?: string;
}

function isStatus(v: string | null): v is TerminalStatus {
  return v !== null && (TERMINAL_STATUSES as string[]).includes(v);
}

/** The fleet: filters, server paging, bulk group/lock/unlock, CSV import and registration. */
export default function TerminalsPage() {
  const { t } = useTranslation(['terminals', 'common']);
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [filter, setFilter] = useState<Filter>(() => ({
    ...(params.get('group') ? { group_id: params.get('group')! } : {}),
    ...(isStatus(params.get('status')) ? { status: params.get('status') as TerminalStatus } : {}),
  }));
  const [page, setPage] = useState({ current: 1, size: 20 });
  const [selected, setSelected] = useState<Terminal[]>([]);
  const [adding, setAdding] = useState(false);
  const [importing, setImporting] = useState(false);
  const [grouping, setGrouping] = useState(false);
  const writer = can('terminal:write');

  const query = useMemo<TerminalQuery>(() => {
    const { presence, ...rest } = filter;
    const q: TerminalQuery = { limit: page.size, offset: (page.current - 1) * page.size };
    for (const [k, v] of Object.entries(rest)) if (v) Object.assign(q, { [k]: v });
    if (presence) q.online = presence === 'online';
    return q;
  }, [filter, page]);
  const terminals = useRequest(() => unwrap(api.GET('/api/v1/terminals', { params: { query } })), [query]);
  const ownerName = usePartyNames(useMemo(() => (terminals.data?.items ?? []).map((x) => x.owner_party_id), [terminals.data]));

  const change = (patch: Partial<Filter>) => {
    setFilter((f) => ({ ...f, ...patch }));
    setPage((p) => ({ ...p, current: 1 }));
    setSelected([]);
  };
  const afterBulk = () => {
    setSelected([]);
    terminals.reload();
  };
  const statusAction = useStatusActions(afterBulk);

  return (
    <PageContainer
      title={t('title')}
      extra={
        <>
          <Button icon={<EnvironmentOutlined />} onClick={() => void navigate('/terminals/map')} data-testid="terminal-map-open">
            {t('map.open')}
          </Button>
          {writer ? (
            <>
              <Button icon={<ImportOutlined />} onClick={() => setImporting(true)} data-testid="terminal-import">
                {t('import.open')}
              </Button>
              <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)} data-testid="terminal-add">
                {t('add')}
              </Button>
            </>
          ) : null}
        </>
      }
    >
      <ErrorAlert error={terminals.error} />
      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Input.Search
            allowClear
            placeholder={t('searchPlaceholder')}
            style={{ maxWidth: 240 }}
            maxLength={40}
            data-testid="terminal-search"
            onSearch={(value) => change({ search: value.trim() || undefined })}
          />
          <Select<TerminalStatus>
            allowClear
            placeholder={t('statusFilter')}
            style={{ minWidth: 130 }}
            value={filter.status}
            onChange={(status) => change({ status })}
            options={TERMINAL_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
            data-testid="terminal-status-filter"
          />
          <Select<Presence>
            allowClear
            placeholder={t('presenceFilter')}
            style={{ minWidth: 120 }}
            value={filter.presence}
            onChange={(presence) => change({ presence })}
            options={[
              { value: 'online', label: t('online') },
              { value: 'offline', label: t('offline') },
            ]}
          />
          <Select<TerminalKind>
            allowClear
            placeholder={t('kindFilter')}
            style={{ minWidth: 130 }}
            value={filter.kind}
            onChange={(kind) => change({ kind })}
            options={TERMINAL_KINDS.map((k) => ({ value: k, label: t(`kind.${k}`) }))}
          />
          <GroupPicker
            allowClear
            placeholder={t('groupFilter')}
            style={{ minWidth: 180 }}
            value={filter.group_id}
            onChange={(group_id) => change({ group_id })}
            testId="terminal-group-filter"
          />
          <Input.Search
            allowClear
            placeholder={t('tagFilter')}
            style={{ maxWidth: 180 }}
            maxLength={32}
            onSearch={(value) => change({ tag: value.trim() || undefined })}
          />
        </Flex>
        {writer && selected.length > 0 ? (
          <Flex gap={8} align="center" wrap style={{ marginBottom: 12 }} data-testid="terminal-bulk">
            <Typography.Text>{t('bulk.selected', { count: selected.length })}</Typography.Text>
            <Button onClick={() => setGrouping(true)} data-testid="bulk-add-to-group">
              {t('bulk.addToGroup')}
            </Button>
            <Button
              onClick={() =>
                statusAction(
                  'lock',
                  selected.filter((x) => x.status !== 'locked' && x.status !== 'retired'),
                )
              }
              data-testid="bulk-lock"
            >
              {t('action.lock')}
            </Button>
            <Button
              onClick={() =>
                statusAction(
                  'unlock',
                  selected.filter((x) => x.status === 'locked'),
                )
              }
              data-testid="bulk-unlock"
            >
              {t('action.unlock')}
            </Button>
            <Button type="link" onClick={() => setSelected([])}>
              {t('bulk.clear')}
            </Button>
          </Flex>
        ) : null}
        <Table<Terminal>
          rowKey="id"
          size="middle"
          loading={terminals.loading}
          dataSource={terminals.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="terminal-table"
          rowSelection={
            writer
              ? {
                  selectedRowKeys: selected.map((x) => x.id),
                  onChange: (_keys, rows) => setSelected(rows),
                  getCheckboxProps: (x) => ({ disabled: x.status === 'retired' }),
                }
              : undefined
          }
          pagination={{
            current: page.current,
            pageSize: page.size,
            total: terminals.data?.total ?? 0,
            showSizeChanger: true,
            showTotal: (total) => t('common:total', { total }),
            onChange: (current, size) => setPage({ current, size }),
          }}
          columns={[
            {
              title: t('serial'),
              dataIndex: 'serial',
              render: (serial: string, x) => (
                <Link to={`/terminals/${encodeURIComponent(x.id)}`} data-testid={`terminal-link-${serial}`}>
                  {serial}
                </Link>
              ),
            },
            { title: t('model'), dataIndex: 'model' },
            { title: t('kindLabel'), dataIndex: 'kind', render: (k: TerminalKind) => t(`kind.${k}`) },
            { title: t('statusLabel'), dataIndex: 'status', render: (s: TerminalStatus) => <StatusTag status={s} /> },
            { title: t('presence'), dataIndex: 'online', render: (online: boolean) => <OnlineBadge online={online} /> },
            { title: t('owner'), dataIndex: 'owner_party_id', render: (id: string) => ownerName(id) },
            { title: t('region'), dataIndex: 'region_code', render: (v: string | null) => v ?? '—' },
            {
              title: t('tags'),
              dataIndex: 'tags',
              render: (tags: string[]) => (
                <Space size={[0, 4]} wrap>
                  {tags.map((tag) => (
                    <Tag key={tag}>{tag}</Tag>
                  ))}
                </Space>
              ),
            },
            { title: t('lastSeen'), dataIndex: 'last_seen_at', render: (us: number | null) => (us ? formatMicros(us) : '—') },
          ]}
        />
      </Card>
      <TerminalForm
        open={adding}
        onClose={() => setAdding(false)}
        onCreated={(created) => {
          setAdding(false);
          void message.success(t('created', { serial: created.serial }));
          void navigate(`/terminals/${encodeURIComponent(created.id)}`);
        }}
      />
      <ImportModal open={importing} onClose={() => setImporting(false)} onImported={() => terminals.reload()} />
      <AddToGroupModal
        open={grouping}
        terminalIds={selected.map((x) => x.id)}
        onClose={() => setGrouping(false)}
        onAdded={() => {
          setGrouping(false);
          afterBulk();
        }}
      />
    </PageContainer>
  );
}
