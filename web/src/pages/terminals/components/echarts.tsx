import { BarChart, LineChart, ScatterChart, type BarSeriesOption, type LineSeriesOption, type ScatterSeriesOption } from 'echarts/charts';
import {
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  type DataZoomComponentOption,
  type GridComponentOption,
  type LegendComponentOption,
  type TooltipComponentOption,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

// The fleet and rollout pages draw scatter (the map), lines (timelines, progress) and bars only.
echarts.use([BarChart, LineChart, ScatterChart, GridComponent, LegendComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

export type FleetChartOption = echarts.ComposeOption<
  | BarSeriesOption
  | LineSeriesOption
  | ScatterSeriesOption
  | GridComponentOption
  | LegendComponentOption
  | TooltipComponentOption
  | DataZoomComponentOption
>;

/** What a click on a data item hands back: the series' name and the item's own data. */
export interface ChartClick {
  seriesName: string | undefined;
  data: unknown;
}

interface FleetChartProps {
  option: FleetChartOption;
  height: number;
  testId?: string;
  onItemClick?: (click: ChartClick) => void;
  /**
   * Merge new options into the drawn chart instead of redrawing it: a chart that refreshes every
   * few seconds then keeps the legend choices and zoom the user made.
   */
  merge?: boolean;
}

/**
 * Like the overview's chart, plus item clicks and merge updates. A chart is drawn once its
 * first option has been set, and the element then says so in `data-rendered` (browser tests
 * wait for it instead of sleeping).
 */
export function FleetChart({ option, height, testId, onItemClick, merge = false }: FleetChartProps) {
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts>(undefined);
  const clickHandler = useRef(onItemClick);
  useEffect(() => {
    clickHandler.current = onItemClick;
  });

  useEffect(() => {
    const el = element.current;
    if (!el) return;
    const instance = echarts.init(el, undefined, { renderer: 'canvas' });
    chart.current = instance;
    instance.on('click', (params) => {
      const p = params as { seriesName?: string; data?: unknown };
      clickHandler.current?.({ seriesName: p.seriesName, data: p.data });
    });
    instance.on('finished', () => el.setAttribute('data-rendered', 'true'));
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(el);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = undefined;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: !merge, lazyUpdate: true });
  }, [option, merge]);

  return <div ref={element} data-testid={testId} style={{ height, width: '100%', cursor: onItemClick ? 'pointer' : undefined }} />;
}
