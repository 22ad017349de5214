import { ReloadOutlined } from '@ant-design/icons';
import { Button, Card, Segmented, Skeleton } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrapAs } from '../../api/client';
import type { Overview } from '../../api/types';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useChart } from '../../hooks/use-chart';
import { useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { FleetSummaryCard } from '../terminals/components/fleet-summary-card';
import { BalancesByType } from './components/balances-by-type';
import { DailyChart, perDay } from './components/daily-chart';
import { KpiCards } from './components/kpi-cards';

const PERIODS = [7, 30, 90] as const;

/** Money moved per day, balances by account type and the headline numbers. */
export default function OverviewPage() {
  const { t } = useTranslation('overview');
  const [days, setDays] = useState<number>(30);
  const overview = useRequest(() => unwrapAs<Overview>(api.GET('/api/v1/dashboard/overview', { params: { query: { days } } })), [days]);
  const chart = useChart();
  const { can } = useSignedIn();
  const data = overview.data;

  const points = useMemo(() => (data ? perDay(data.from, data.to, data.daily) : []), [data]);
  const totals = useMemo(
    () => ({
      accounts: data?.balances_by_type.reduce((n, b) => n + b.accounts, 0) ?? 0,
      transfers: points.reduce((n, p) => n + p.count, 0),
      amount: points.reduce((n, p) => n + p.amount, 0),
    }),
    [data, points],
  );

  return (
    <PageContainer
      title={t('title')}
      extra={
        <>
          <Segmented<number>
            value={days}
            onChange={setDays}
            options={PERIODS.map((d) => ({ value: d, label: t('lastDays', { days: d }) }))}
          />
          <Button icon={<ReloadOutlined />} onClick={overview.reload} aria-label={t('reload')} />
        </>
      }
    >
      <ErrorAlert error={overview.error ?? chart.error} />
      {data ? (
        <>
          <KpiCards accounts={totals.accounts} transfers={totals.transfers} amountFen={totals.amount} days={days} />
          {can('terminal:read') ? <FleetSummaryCard /> : null}
          <Card title={t('dailyTitle', { from: data.from, to: data.to })} style={{ marginBottom: 16 }}>
            <DailyChart points={points} />
          </Card>
          <Card title={t('balancesTitle')}>
            <BalancesByType rows={data.balances_by_type} typeName={chart.accountType} />
          </Card>
        </>
      ) : (
        <Skeleton active />
      )}
    </PageContainer>
  );
}
