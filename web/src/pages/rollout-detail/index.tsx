import { ArrowLeftOutlined, ReloadOutlined } from '@ant-design/icons';
import { App, Badge, Button, Card, Col, Descriptions, Row, Skeleton, Statistic, Table, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert, useErrorText } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { asApiError, useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { rolloutActions, type Rollout, type RolloutAction, type Stage } from '../apps/model';
import { RolloutStateTag } from '../rollouts/components/state-tag';
import { StageChart, TimelineChart, type Sample } from './components/progress-chart';
import { TargetsTable } from './components/targets-table';

/** How often a running rollout is re-read; reports move its counters at any moment. */
export const REFRESH_MS = 3_000;
/** Samples kept for the timeline: an hour at one every three seconds. */
const MAX_SAMPLES = 1_200;

function post(action: RolloutAction, id: string, force = false) {
  const path = { params: { path: { id } } };
  switch (action) {
    case 'approve':
      return unwrap(api.POST('/api/v1/rollouts/{id}/approve', { params: { path: { id }, query: force ? { force: true } : {} } }));
    case 'pause':
      return unwrap(api.POST('/api/v1/rollouts/{id}/pause', { params: { path: { id }, query: {} } }));
    case 'resume':
      return unwrap(api.POST('/api/v1/rollouts/{id}/resume', { params: { path: { id }, query: {} } }));
    case 'cancel':
      return unwrap(api.POST('/api/v1/rollouts/{id}/cancel', { params: { path: { id }, query: {} } }));
    case 'rollback':
      return unwrap(api.POST('/api/v1/rollouts/{id}/rollback', path));
  }
}

/** One rollout: settings, per-stage progress drawn live while it runs, its terminals, and the actions. */
export default function RolloutDetailPage() {
  const { t } = useTranslation(['rollouts', 'common']);
  const { id = '' } = useParams();
  const { can } = useSignedIn();
  const { message, modal } = App.useApp();
  const errorText = useErrorText();
  const navigate = useNavigate();
  const rollout = useRequest(() => unwrap(api.GET('/api/v1/rollouts/{id}', { params: { path: { id } } })), [id]);
  const group = useRequest(
    () =>
      rollout.data?.group_id
        ? unwrap(api.GET('/api/v1/terminal-groups/{id}', { params: { path: { id: rollout.data.group_id } } }))
        : Promise.resolve(undefined),
    [rollout.data?.group_id],
  );
  const [samples, setSamples] = useState<Sample[]>([]);
  const [tick, setTick] = useState(0);
  const r = rollout.data;
  const running = r?.state === 'running';
  // A paused rollout starts no stage, but terminals already notified still report.
  const live = running || r?.state === 'paused';

  // Live while running or paused: re-read every few seconds, but not while the tab is hidden.
  useEffect(() => {
    if (!live) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') rollout.reload();
    }, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [live, rollout.reload]);

  // Every answer is a sample for the timeline, and refreshes the targets table too.
  useEffect(() => {
    if (!r) return;
    const { installed, downloading, notified, failed } = r.totals;
    setSamples((old) => [...old, { at: Date.now(), installed, downloading, notified, failed }].slice(-MAX_SAMPLES));
    setTick((n) => n + 1);
  }, [r]);

  const act = (action: RolloutAction) => {
    if (!r) return;
    const next = action === 'approve' && r.state === 'running';
    void modal.confirm({
      title: t(next ? 'confirm.next' : `confirm.${action}`, { name: r.name }),
      content: t(next ? 'explain.next' : `explain.${action}`),
      okText: t(next ? 'action.next' : `action.${action}`),
      okButtonProps: { danger: action === 'cancel' || action === 'rollback', 'data-testid': 'rollout-confirm' },
      onOk: async () => {
        try {
          const reply = await post(action, r.id);
          void message.success('notified' in reply ? t('rolledBack', { count: reply.notified }) : t(`done.${action}`));
        } catch (caught) {
          const error = asApiError(caught);
          if (error.code === 'rollout_stage_incomplete') {
            // The stage is below its success threshold: starting the next one anyway is a decision.
            void modal.confirm({
              title: t('confirm.force'),
              content: errorText(error),
              okText: t('action.force'),
              okButtonProps: { danger: true },
              onOk: async () => {
                try {
                  await post('approve', r.id, true);
                  void message.success(t('done.approve'));
                } catch (again) {
                  void message.error(errorText(asApiError(again)));
                }
                rollout.reload();
              },
            });
          } else {
            void message.error(errorText(error));
          }
        }
        rollout.reload();
      },
    });
  };

  const actions = r && can('app:write') ? rolloutActions(r) : [];
  return (
    <PageContainer
      title={
        <>
          <Button type="text" icon={<ArrowLeftOutlined />} onClick={() => void navigate('/rollouts')} aria-label={t('common:back')} />
          <span data-testid="rollout-title">{r?.name ?? t('detailTitle')}</span>
          {r ? (
            <span style={{ marginLeft: 12 }}>
              <RolloutStateTag rollout={r} />
            </span>
          ) : null}
        </>
      }
      extra={
        <>
          {live ? <Badge status="processing" text={t('live')} data-testid="rollout-live" /> : null}
          <Button icon={<ReloadOutlined />} onClick={rollout.reload} aria-label={t('common:reload')} />
          {actions.map((action) => (
            <Button
              key={action}
              type={action === 'approve' || action === 'resume' ? 'primary' : 'default'}
              danger={action === 'cancel' || action === 'rollback'}
              onClick={() => act(action)}
              data-testid={`rollout-${action}`}
            >
              {t(action === 'approve' && r?.state === 'running' ? 'action.next' : `action.${action}`)}
            </Button>
          ))}
        </>
      }
    >
      <ErrorAlert error={rollout.error} />
      {r ? (
        <>
          <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
            {(['total', 'installed', 'downloading', 'notified', 'pending', 'failed'] as const).map((k) => (
              <Col key={k} xs={12} sm={8} lg={4}>
                <Card size="small" data-testid={`rollout-total-${k}`}>
                  <Statistic title={t(k === 'total' ? 'totalTerminals' : `target.${k}`)} value={r.totals[k]} />
                </Card>
              </Col>
            ))}
          </Row>
          <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
            <Col xs={24} xl={12}>
              <Card title={t('stageProgress')}>
                <StageChart rollout={r} />
              </Card>
            </Col>
            <Col xs={24} xl={12}>
              <Card title={t('timeline')}>
                <TimelineChart samples={samples} />
              </Card>
            </Col>
          </Row>
          <Card title={t('stagesTitle')} style={{ marginBottom: 16 }}>
            <Table<Stage>
              rowKey="stage_no"
              size="small"
              pagination={false}
              dataSource={r.stages}
              scroll={{ x: 'max-content' }}
              data-testid="rollout-stages"
              rowClassName={(s) => (s.stage_no === r.current_stage ? 'ant-table-row-selected' : '')}
              columns={[
                { title: t('stage'), key: 'stage', render: (_: unknown, s) => t('stageName', { no: s.stage_no + 1, percent: s.percent }) },
                { title: t('totalTerminals'), dataIndex: 'total', align: 'right' },
                { title: t('target.pending'), dataIndex: 'pending', align: 'right' },
                { title: t('target.notified'), dataIndex: 'notified', align: 'right' },
                { title: t('target.downloading'), dataIndex: 'downloading', align: 'right' },
                { title: t('target.installed'), dataIndex: 'installed', align: 'right' },
                { title: t('target.failed'), dataIndex: 'failed', align: 'right' },
                { title: t('startedAt'), dataIndex: 'started_at', render: (us: number | null) => (us ? formatMicros(us) : '—') },
                { title: t('deadlineAt'), dataIndex: 'deadline_at', render: (us: number | null) => (us ? formatMicros(us) : '—') },
                { title: t('completedAt'), dataIndex: 'completed_at', render: (us: number | null) => (us ? formatMicros(us) : '—') },
              ]}
            />
          </Card>
          <Row gutter={[16, 16]}>
            <Col xs={24} xl={10}>
              <Card title={t('settings')}>
                <Settings rollout={r} groupName={group.data?.name} />
              </Card>
            </Col>
            <Col xs={24} xl={14}>
              <Card title={t('targets')}>
                <TargetsTable rolloutId={r.id} stages={r.stages} version={tick} />
              </Card>
            </Col>
          </Row>
        </>
      ) : (
        <Card>
          <Skeleton active />
        </Card>
      )}
    </PageContainer>
  );
}

function Settings({ rollout: r, groupName }: { rollout: Rollout; groupName: string | undefined }) {
  const { t } = useTranslation('rollouts');
  return (
    <Descriptions
      column={1}
      size="small"
      items={[
        {
          key: 'app',
          label: t('app'),
          children: (
            <Link to={`/apps/${encodeURIComponent(r.app_id)}`}>
              <Typography.Text strong>{`${r.app_code} ${r.version}`}</Typography.Text>
            </Link>
          ),
        },
        {
          key: 'group',
          label: t('group'),
          children: r.group_id ? (
            <Link to={`/terminal-groups/${encodeURIComponent(r.group_id)}`}>{groupName ?? r.group_id}</Link>
          ) : (
            t('chosenTerminals')
          ),
        },
        { key: 'stages', label: t('stages'), children: r.stages.map((s) => `${s.percent}%`).join(' → ') },
        { key: 'success', label: t('successThreshold'), children: `≥ ${r.success_threshold}%` },
        { key: 'error', label: t('errorThreshold'), children: `> ${r.error_threshold}% → ${t('pausesAutomatically')}` },
        { key: 'advance', label: t('autoAdvance'), children: r.auto_advance ? t('yes') : t('no') },
        { key: 'deadline', label: t('stageDeadline'), children: t('hoursValue', { value: Math.round(r.stage_deadline_s / 3_600) }) },
        { key: 'window', label: t('ignoreWindow'), children: r.ignore_maintenance_window ? t('yes') : t('no') },
        { key: 'created', label: t('createdAt'), children: formatMicros(r.created_at) },
        { key: 'started', label: t('startedAt'), children: r.started_at ? formatMicros(r.started_at) : '—' },
        { key: 'ended', label: t('endedAt'), children: r.ended_at ? formatMicros(r.ended_at) : '—' },
      ]}
    />
  );
}
