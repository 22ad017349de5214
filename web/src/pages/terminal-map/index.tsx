import { ArrowLeftOutlined, ReloadOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Flex, Select, Statistic } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useRequest } from '../../hooks/use-request';
import { FleetChart, type ChartClick, type FleetChartOption } from '../terminals/components/echarts';
import { GroupPicker } from '../terminals/components/group-picker';
import { TERMINAL_STATUSES, e6ToDegrees, formatE6, type Terminal, type TerminalQuery, type TerminalStatus } from '../terminals/model';

const PAGE = 500;
/** A map of more points than this says so rather than loading the whole fleet into a tablet. */
const MAX_POINTS = 5_000;

/** One point: longitude and latitude (degrees, for drawing), then the terminal's id and serial. */
type Point = [number, number, string, string];

async function loadAll(filter: TerminalQuery): Promise<{ items: Terminal[]; total: number }> {
  const items: Terminal[] = [];
  let total = 0;
  for (let offset = 0; offset < MAX_POINTS; offset += PAGE) {
    const page = await unwrap(api.GET('/api/v1/terminals', { params: { query: { ...filter, limit: PAGE, offset } } }));
    items.push(...page.items);
    total = page.total;
    if (items.length >= total || page.items.length < PAGE) break;
  }
  return { items, total };
}

/**
 * Terminals by their coordinates, online in green and offline in grey, on plain axes: no map
 * tiles, because the bank's network may have no way to the internet. A click opens the terminal.
 */
export default function TerminalMapPage() {
  const { t } = useTranslation(['terminals', 'common']);
  const navigate = useNavigate();
  const [status, setStatus] = useState<TerminalStatus>();
  const [groupId, setGroupId] = useState<string>();
  const filter = useMemo<TerminalQuery>(
    () => ({ ...(status ? { status } : {}), ...(groupId ? { group_id: groupId } : {}) }),
    [status, groupId],
  );
  const terminals = useRequest(() => loadAll(filter), [filter]);

  const { online, offline, unplaced } = useMemo(() => {
    const on: Point[] = [];
    const off: Point[] = [];
    let none = 0;
    for (const x of terminals.data?.items ?? []) {
      if (x.lat_e6 === null || x.lng_e6 === null) {
        none += 1;
        continue;
      }
      (x.online ? on : off).push([e6ToDegrees(x.lng_e6), e6ToDegrees(x.lat_e6), x.id, x.serial]);
    }
    return { online: on, offline: off, unplaced: none };
  }, [terminals.data]);

  const option = useMemo<FleetChartOption>(
    () => ({
      animation: false,
      grid: { left: 8, right: 24, top: 40, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: {
        trigger: 'item',
        formatter: (p) => {
          const d = (p as unknown as { data: Point }).data;
          return `${d[3]}<br/>${formatE6(Math.round(d[1] * 1_000_000))}, ${formatE6(Math.round(d[0] * 1_000_000))}`;
        },
      },
      // Degrees on plain axes; ECharts picks tick steps that suit the spread of the points.
      xAxis: { type: 'value', scale: true, name: t('map.lng') },
      yAxis: { type: 'value', scale: true, name: t('map.lat') },
      dataZoom: [
        { type: 'inside', xAxisIndex: 0 },
        { type: 'inside', yAxisIndex: 0 },
      ],
      series: [
        { type: 'scatter', name: t('online'), data: online, symbolSize: 9, itemStyle: { color: '#52c41a' } },
        { type: 'scatter', name: t('offline'), data: offline, symbolSize: 9, itemStyle: { color: '#8c8c8c' } },
      ],
    }),
    [online, offline, t],
  );

  const open = (click: ChartClick) => {
    const point = click.data as Point | undefined;
    if (point?.[2]) void navigate(`/terminals/${encodeURIComponent(point[2])}`);
  };

  const loaded = terminals.data?.items.length ?? 0;
  const total = terminals.data?.total ?? 0;
  return (
    <PageContainer
      title={
        <>
          <Button type="text" icon={<ArrowLeftOutlined />} onClick={() => void navigate('/terminals')} aria-label={t('common:back')} />
          {t('map.title')}
        </>
      }
      extra={<Button icon={<ReloadOutlined />} onClick={terminals.reload} aria-label={t('common:reload')} />}
    >
      <ErrorAlert error={terminals.error} />
      <Card>
        <Flex gap={12} wrap align="center" style={{ marginBottom: 16 }}>
          <Select<TerminalStatus>
            allowClear
            placeholder={t('statusFilter')}
            style={{ minWidth: 130 }}
            value={status}
            onChange={setStatus}
            options={TERMINAL_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
          />
          <GroupPicker
            allowClear
            placeholder={t('groupFilter')}
            style={{ minWidth: 180 }}
            value={groupId}
            onChange={setGroupId}
            testId="map-group-filter"
          />
          <Statistic title={t('online')} value={online.length} styles={{ content: { fontSize: 18 } }} />
          <Statistic title={t('offline')} value={offline.length} styles={{ content: { fontSize: 18 } }} />
          <Statistic title={t('map.unplaced')} value={unplaced} styles={{ content: { fontSize: 18 } }} />
        </Flex>
        {loaded < total ? (
          <Alert type="info" showIcon title={t('map.truncated', { shown: loaded, total })} style={{ marginBottom: 12 }} />
        ) : null}
        <FleetChart option={option} height={560} testId="terminal-map" onItemClick={open} />
      </Card>
    </PageContainer>
  );
}
