import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { Rollout } from '../../apps/model';
import { FleetChart, type FleetChartOption } from '../../terminals/components/echarts';

/** One sample of the totals, taken at each refresh (ms since the epoch). */
export interface Sample {
  at: number;
  installed: number;
  downloading: number;
  notified: number;
  failed: number;
}

const COLOURS = { installed: '#52c41a', downloading: '#1677ff', notified: '#13c2c2', pending: '#d9d9d9', failed: '#ff4d4f' } as const;
const PARTS = ['installed', 'downloading', 'notified', 'pending', 'failed'] as const;

/**
 * Per stage, where its terminals stand (stacked bars), redrawn on each refresh by merging, so the
 * legend choices stay. The stage bars share one axis of terminal counts.
 */
export function StageChart({ rollout }: { rollout: Rollout }) {
  const { t } = useTranslation('rollouts');
  const option = useMemo<FleetChartOption>(
    () => ({
      animation: false,
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: {
        type: 'category',
        inverse: true,
        data: rollout.stages.map((s) => t('stageName', { no: s.stage_no + 1, percent: s.percent })),
      },
      series: PARTS.map((part) => ({
        type: 'bar' as const,
        name: t(`target.${part}`),
        stack: 'terminals',
        data: rollout.stages.map((s) => s[part]),
        itemStyle: { color: COLOURS[part] },
        emphasis: { focus: 'series' as const },
      })),
    }),
    [rollout, t],
  );
  return <FleetChart option={option} height={Math.max(160, rollout.stages.length * 48 + 60)} testId="rollout-stage-chart" merge />;
}

/** Installed, in progress and failed over the time this page has been watching. */
export function TimelineChart({ samples }: { samples: readonly Sample[] }) {
  const { t } = useTranslation('rollouts');
  const option = useMemo<FleetChartOption>(
    () => ({
      animation: false,
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', minInterval: 1 },
      series: (['installed', 'downloading', 'notified', 'failed'] as const).map((part) => ({
        type: 'line' as const,
        name: t(`target.${part}`),
        data: samples.map((s) => [s.at, s[part]]),
        showSymbol: samples.length < 40,
        itemStyle: { color: COLOURS[part] },
      })),
    }),
    [samples, t],
  );
  return <FleetChart option={option} height={240} testId="rollout-timeline-chart" merge />;
}
