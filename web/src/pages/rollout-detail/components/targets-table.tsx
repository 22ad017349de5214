import { Flex, Select, Table, Tag } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/error-alert';
import { useRequest } from '../../../hooks/use-request';
import { formatMicros } from '../../../utils/time';
import { TARGET_STATUSES, type Stage, type Target, type TargetStatus } from '../../apps/model';
import { useTerminalSerials } from '../../terminals/components/terminal-serials';

const STATUS_COLOUR: Record<TargetStatus, string> = {
  pending: 'default',
  notified: 'cyan',
  downloading: 'blue',
  installed: 'green',
  failed: 'red',
};

/** The rollout's terminals, by stage and status; refreshed with the rest of the page. */
export function TargetsTable({ rolloutId, stages, version }: { rolloutId: string; stages: Stage[]; version: number }) {
  const { t } = useTranslation('rollouts');
  const [stage, setStage] = useState<number>();
  const [status, setStatus] = useState<TargetStatus>();
  const [page, setPage] = useState({ current: 1, size: 20 });
  const targets = useRequest(
    () =>
      unwrap(
        api.GET('/api/v1/rollouts/{id}/targets', {
          params: {
            path: { id: rolloutId },
            query: {
              limit: page.size,
              offset: (page.current - 1) * page.size,
              ...(stage !== undefined ? { stage } : {}),
              ...(status ? { status } : {}),
            },
          },
        }),
      ),
    [rolloutId, stage, status, page, version],
  );
  const serial = useTerminalSerials(useMemo(() => (targets.data?.items ?? []).map((x) => x.terminal_id), [targets.data]));

  return (
    <>
      <Flex gap={12} wrap style={{ marginBottom: 12 }}>
        <Select<number>
          allowClear
          placeholder={t('stageFilter')}
          style={{ minWidth: 160 }}
          value={stage}
          onChange={(s) => {
            setStage(s);
            setPage((p) => ({ ...p, current: 1 }));
          }}
          options={stages.map((s) => ({ value: s.stage_no, label: t('stageName', { no: s.stage_no + 1, percent: s.percent }) }))}
        />
        <Select<TargetStatus>
          allowClear
          placeholder={t('statusFilter')}
          style={{ minWidth: 140 }}
          value={status}
          onChange={(s) => {
            setStatus(s);
            setPage((p) => ({ ...p, current: 1 }));
          }}
          options={TARGET_STATUSES.map((s) => ({ value: s, label: t(`target.${s}`) }))}
        />
      </Flex>
      <ErrorAlert error={targets.error} />
      <Table<Target>
        rowKey="terminal_id"
        size="small"
        loading={targets.loading && !targets.data}
        dataSource={targets.data?.items}
        scroll={{ x: 'max-content' }}
        data-testid="rollout-targets"
        pagination={{
          current: page.current,
          pageSize: page.size,
          total: targets.data?.total ?? 0,
          onChange: (current, size) => setPage({ current, size }),
        }}
        columns={[
          {
            title: t('terminal'),
            dataIndex: 'terminal_id',
            render: (id: string) => <Link to={`/terminals/${encodeURIComponent(id)}`}>{serial(id)}</Link>,
          },
          { title: t('stage'), dataIndex: 'stage_no', render: (n: number) => n + 1 },
          {
            title: t('stateLabel'),
            dataIndex: 'status',
            render: (s: TargetStatus) => <Tag color={STATUS_COLOUR[s]}>{t(`target.${s}`)}</Tag>,
          },
          { title: t('updatedAt'), dataIndex: 'updated_at', render: (us: number) => formatMicros(us) },
        ]}
      />
    </>
  );
}
