import { ArrowLeftOutlined, KeyOutlined, LockOutlined, StopOutlined, UnlockOutlined } from '@ant-design/icons';
import { App, Button, Card, Descriptions, Popconfirm, Skeleton, Space, Table, Tabs, Tag } from 'antd';
import { useMemo, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert, useErrorText } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { asApiError, useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { ActivationCodeModal } from '../terminals/components/activation-code-modal';
import { AddToGroupModal } from '../terminals/components/add-to-group-modal';
import { usePartyNames } from '../terminals/components/party-names';
import { useStatusActions } from '../terminals/components/status-actions';
import { OnlineBadge, StatusTag } from '../terminals/components/status-tag';
import { STATUS_ACTIONS, formatE6, type StatusAction } from '../terminals/model';
import { ActivationCodesPanel } from './components/activation-codes-panel';
import { CommandsPanel } from './components/commands-panel';
import { HeartbeatHistory } from './components/heartbeat-history';
import { ParamsPanel } from './components/params-panel';

const ACTION_ICON: Record<StatusAction, ReactNode> = { lock: <LockOutlined />, unlock: <UnlockOutlined />, retire: <StopOutlined /> };

/** One terminal: its record and status actions, parameters, groups, heartbeats, commands, codes. */
export default function TerminalDetailPage() {
  const { t } = useTranslation(['terminals', 'common']);
  const { id = '' } = useParams();
  const { pick } = useLanguage();
  const { can, me } = useSignedIn();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const navigate = useNavigate();
  const [issuing, setIssuing] = useState(false);
  const [grouping, setGrouping] = useState(false);
  const [codesVersion, setCodesVersion] = useState(0);
  const terminal = useRequest(() => unwrap(api.GET('/api/v1/terminals/{id}', { params: { path: { id } } })), [id]);
  const orgs = useRequest(() => (can('org:read') ? unwrap(api.GET('/api/v1/organisations')) : Promise.resolve([])), []);
  const x = terminal.data;
  const ownerName = usePartyNames(useMemo(() => [x?.owner_party_id], [x?.owner_party_id]));
  const statusAction = useStatusActions(terminal.reload);
  const writer = can('terminal:write');
  const staff = me.merchant_id === null;
  const org = orgs.data?.find((o) => o.id === x?.org_id);

  const removeFromGroup = async (groupId: string) => {
    try {
      await unwrap(
        api.POST('/api/v1/terminal-groups/{id}/members/remove', { params: { path: { id: groupId } }, body: { terminal_ids: [id] } }),
      );
      void message.success(t('groupRemoved'));
      terminal.reload();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    }
  };

  const actions = x && writer ? STATUS_ACTIONS[x.status] : [];
  return (
    <PageContainer
      title={
        <>
          <Button type="text" icon={<ArrowLeftOutlined />} onClick={() => void navigate('/terminals')} aria-label={t('common:back')} />
          <span data-testid="terminal-title">{x?.serial ?? t('detailTitle')}</span>
          {x ? (
            <Space style={{ marginLeft: 12 }}>
              <StatusTag status={x.status} />
              <OnlineBadge online={x.online} />
            </Space>
          ) : null}
        </>
      }
      extra={
        x ? (
          <>
            {writer && (x.status === 'registered' || x.status === 'active') ? (
              <Button type="primary" icon={<KeyOutlined />} onClick={() => setIssuing(true)} data-testid="terminal-issue-code">
                {t('code.open')}
              </Button>
            ) : null}
            {actions.map((action) => (
              <Button
                key={action}
                icon={ACTION_ICON[action]}
                danger={action === 'retire'}
                onClick={() => statusAction(action, [{ id: x.id, serial: x.serial }])}
                data-testid={`terminal-${action}`}
              >
                {t(`action.${action}`)}
              </Button>
            ))}
          </>
        ) : null
      }
    >
      <ErrorAlert error={terminal.error} />
      <Card style={{ marginBottom: 16 }}>
        {x ? (
          <Descriptions
            column={{ xs: 1, sm: 2, lg: 3 }}
            data-testid="terminal-fields"
            items={[
              { key: 'serial', label: t('serial'), children: x.serial },
              { key: 'model', label: t('model'), children: x.model },
              { key: 'kind', label: t('kindLabel'), children: t(`kind.${x.kind}`) },
              {
                key: 'owner',
                label: t('owner'),
                children: can('party:read') ? (
                  <Link to={`/parties/${encodeURIComponent(x.owner_party_id)}`}>{ownerName(x.owner_party_id)}</Link>
                ) : (
                  x.owner_party_id
                ),
              },
              { key: 'org', label: t('org'), children: org ? pick(org.name, org.name_en) : x.org_id },
              { key: 'region', label: t('region'), children: x.region_code ?? '—' },
              { key: 'coords', label: t('coords'), children: x.lat_e6 === null ? '—' : `${formatE6(x.lat_e6)}, ${formatE6(x.lng_e6)}` },
              { key: 'tags', label: t('tags'), children: x.tags.length ? x.tags.map((tag) => <Tag key={tag}>{tag}</Tag>) : '—' },
              { key: 'bound', label: t('deviceBound'), children: x.device_bound ? t('yes') : t('no') },
              { key: 'activated', label: t('activatedAt'), children: x.activated_at ? formatMicros(x.activated_at) : '—' },
              { key: 'seen', label: t('lastSeen'), children: x.last_seen_at ? formatMicros(x.last_seen_at) : '—' },
              { key: 'interval', label: t('heartbeatInterval'), children: t('secondsValue', { value: x.heartbeat_interval_s }) },
              {
                key: 'last',
                label: t('lastHeartbeat'),
                children: x.last_heartbeat
                  ? [x.last_heartbeat.network, x.last_heartbeat.battery === null ? null : `${x.last_heartbeat.battery}%`]
                      .filter(Boolean)
                      .join(' · ') || formatMicros(x.last_heartbeat.ts)
                  : '—',
              },
              { key: 'created', label: t('createdAt'), children: formatMicros(x.created_at) },
              { key: 'id', label: t('id'), children: x.id },
            ]}
          />
        ) : (
          <Skeleton active />
        )}
      </Card>
      {x ? (
        <Card>
          <Tabs
            destroyOnHidden
            items={[
              {
                key: 'params',
                label: t('tab.params'),
                children: <ParamsPanel terminalId={x.id} groups={x.groups} canWrite={writer && x.status !== 'retired'} />,
              },
              {
                key: 'groups',
                label: t('tab.groups', { count: x.groups.length }),
                children: (
                  <>
                    {writer && x.status !== 'retired' ? (
                      <Button style={{ marginBottom: 12 }} onClick={() => setGrouping(true)} data-testid="terminal-add-to-group">
                        {t('bulk.addToGroup')}
                      </Button>
                    ) : null}
                    <Table
                      rowKey="id"
                      size="small"
                      pagination={false}
                      dataSource={x.groups}
                      data-testid="terminal-groups"
                      columns={[
                        {
                          title: t('groupName'),
                          dataIndex: 'name',
                          render: (name: string, g) => <Link to={`/terminal-groups/${encodeURIComponent(g.id)}`}>{name}</Link>,
                        },
                        ...(writer
                          ? [
                              {
                                title: '',
                                key: 'remove',
                                render: (_: unknown, g: { id: string }) => (
                                  <Popconfirm title={t('groupRemoveConfirm')} onConfirm={() => void removeFromGroup(g.id)}>
                                    <Button size="small">{t('groupRemove')}</Button>
                                  </Popconfirm>
                                ),
                              },
                            ]
                          : []),
                      ]}
                    />
                  </>
                ),
              },
              {
                key: 'heartbeats',
                label: t('tab.heartbeats'),
                children: <HeartbeatHistory terminalId={x.id} heartbeatIntervalS={x.heartbeat_interval_s} />,
              },
              {
                key: 'commands',
                label: t('tab.commands'),
                children: <CommandsPanel terminalId={x.id} canWrite={writer && x.status !== 'retired'} />,
              },
              ...(staff
                ? [{ key: 'codes', label: t('tab.codes'), children: <ActivationCodesPanel terminalId={x.id} version={codesVersion} /> }]
                : []),
            ]}
          />
        </Card>
      ) : null}
      {x ? (
        <>
          <ActivationCodeModal
            open={issuing}
            terminalId={x.id}
            serial={x.serial}
            onClose={() => setIssuing(false)}
            onIssued={() => setCodesVersion((n) => n + 1)}
          />
          <AddToGroupModal
            open={grouping}
            terminalIds={[x.id]}
            onClose={() => setGrouping(false)}
            onAdded={() => {
              setGrouping(false);
              terminal.reload();
            }}
          />
        </>
      ) : null}
    </PageContainer>
  );
}
