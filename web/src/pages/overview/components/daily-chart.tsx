import { formatFen } from '@xiaowei/money';
import dayjs from 'dayjs';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { DailyTotal } from '../../../api/types';
import { EChart, type ChartOption } from './echarts';

export interface DayPoint {
  day: string;
  amount: number;
  count: number;
}

/** One point per calendar day from `from` to `to`, summed across transfer codes; empty days are 0. */
export function perDay(from: string, to: string, daily: DailyTotal[]): DayPoint[] {
  const byDay = new Map<string, DayPoint>();
  for (let d = dayjs(from); !d.isAfter(dayjs(to), 'day'); d = d.add(1, 'day')) {
    const day = d.format('YYYY-MM-DD');
    byDay.set(day, { day, amount: 0, count: 0 });
  }
  for (const row of daily) {
    const point = byDay.get(row.day) ?? { day: row.day, amount: 0, count: 0 };
    point.amount += row.amount;
    point.count += row.count;
    byDay.set(row.day, point);
  }
  return [...byDay.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
}

/** "¥1,200" on an axis: whole yuan only, the data stay integer fen. */
const axisYuan = (fen: number) => formatFen(Math.round(fen)).replace(/\.00$/, '');

export function DailyChart({ points }: { points: DayPoint[] }) {
  const { t } = useTranslation('overview');
  const option = useMemo<ChartOption>(
    () => ({
      // Cheap tablets: no animation, and a still picture the moment the data arrive.
      animation: false,
      grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: {
        trigger: 'axis',
        valueFormatter: (value, index) => (index === 0 ? formatFen(Number(value)) : String(value)),
      },
      xAxis: { type: 'category', data: points.map((p) => p.day.slice(5)) },
      yAxis: [
        { type: 'value', name: t('axisAmount'), axisLabel: { formatter: axisYuan } },
        { type: 'value', name: t('axisCount'), minInterval: 1, splitLine: { show: false } },
      ],
      series: [
        { type: 'bar', name: t('seriesAmount'), data: points.map((p) => p.amount), itemStyle: { color: '#1677ff' } },
        {
          type: 'line',
          name: t('seriesCount'),
          yAxisIndex: 1,
          data: points.map((p) => p.count),
          showSymbol: points.length <= 31,
          itemStyle: { color: '#fa8c16' },
        },
      ],
    }),
    [points, t],
  );
  return <EChart option={option} height={320} testId="daily-chart" />;
}
