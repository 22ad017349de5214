import { Button, Empty, Flex, Table, Tag } from 'antd';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import { formatMicros } from '../../../utils/time';
import { FleetChart, type FleetChartOption } from '../../terminals/components/echarts';
import { formatE6, heartbeatTimeline, type Heartbeat } from '../../terminals/model';

const PAGE = 200;

interface HeartbeatHistoryProps {
  terminalId: string;
  heartbeatIntervalS: number;
}

/**
 * Battery and presence over time from the heartbeats (newest page first, older on "load more"),
 * as a small chart above the table.
 */
export function HeartbeatHistory({ terminalId, heartbeatIntervalS }: HeartbeatHistoryProps) {
  const { t } = useTranslation('terminals');
  const [rows, setRows] = useState<Heartbeat[]>([]);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError>();
  const generation = useRef(0);

  const load = useCallback(
    async (before: number | undefined, mine: number) => {
      setLoading(true);
      setError(undefined);
      try {
        const query = { limit: PAGE, ...(before !== undefined ? { before } : {}) };
        const page = await unwrap(api.GET('/api/v1/terminals/{id}/heartbeats', { params: { path: { id: terminalId }, query } }));
        if (mine !== generation.current) return;
        setRows((old) => (before !== undefined ? [...old, ...page.items] : page.items));
        setMore(page.items.length === PAGE);
      } catch (caught) {
        if (mine === generation.current) setError(asApiError(caught));
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [terminalId],
  );
  const reload = useCallback(() => void load(undefined, ++generation.current), [load]);
  useEffect(reload, [reload]);

  const option = useMemo<FleetChartOption>(() => {
    const { battery, online } = heartbeatTimeline(rows, heartbeatIntervalS);
    return {
      animation: false,
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'time' },
      yAxis: [
        { type: 'value', name: t('heartbeat.battery'), min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
        {
          type: 'value',
          min: 0,
          max: 1,
          interval: 1,
          splitLine: { show: false },
          axisLabel: { formatter: (v: number) => (v ? t('online') : t('offline')) },
        },
      ],
      series: [
        {
          type: 'line',
          name: t('heartbeat.battery'),
          data: battery,
          connectNulls: false,
          showSymbol: battery.length <= 60,
          itemStyle: { color: '#52c41a' },
        },
        {
          type: 'line',
          name: t('presence'),
          yAxisIndex: 1,
          step: 'end',
          data: online,
          showSymbol: false,
          areaStyle: { opacity: 0.15 },
          itemStyle: { color: '#1677ff' },
        },
      ],
    };
  }, [rows, heartbeatIntervalS, t]);

  return (
    <>
      <ErrorAlert error={error} />
      {rows.length ? (
        <FleetChart option={option} height={220} testId="heartbeat-chart" />
      ) : loading ? null : (
        <Empty description={t('heartbeat.none')} />
      )}
      <Table<Heartbeat>
        rowKey="ts"
        size="small"
        loading={loading && rows.length === 0}
        dataSource={rows}
        pagination={false}
        scroll={{ x: 'max-content', y: 360 }}
        style={{ marginTop: 16 }}
        data-testid="heartbeat-table"
        columns={[
          { title: t('heartbeat.at'), dataIndex: 'ts', render: (us: number) => formatMicros(us) },
          { title: t('heartbeat.network'), dataIndex: 'network', render: (v: string | null) => v ?? '—' },
          { title: t('heartbeat.battery'), dataIndex: 'battery', render: (v: number | null) => (v === null ? '—' : `${v}%`) },
          {
            title: t('heartbeat.location'),
            key: 'loc',
            render: (_: unknown, h) => (h.lat_e6 === null ? '—' : `${formatE6(h.lat_e6)}, ${formatE6(h.lng_e6)}`),
          },
          {
            title: t('heartbeat.apps'),
            dataIndex: 'app_versions',
            render: (v: Record<string, string> | null) =>
              v ? Object.entries(v).map(([code, version]) => <Tag key={code}>{`${code} ${version}`}</Tag>) : '—',
          },
        ]}
      />
      <Flex justify="center" style={{ marginTop: 12 }}>
        {more ? (
          <Button loading={loading} onClick={() => void load(rows.at(-1)?.ts, generation.current)}>
            {t('loadMore')}
          </Button>
        ) : null}
      </Flex>
    </>
  );
}
