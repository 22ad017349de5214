import { formatFen } from '@xiaowei/money';
import { Col, Row, Table } from 'antd';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { BalanceByType } from '../../../api/types';
import { Money } from '../../../components/money';
import { EChart, type ChartOption } from './echarts';

interface BalancesByTypeProps {
  rows: BalanceByType[];
  typeName: (code: number) => string;
}

export function BalancesByType({ rows, typeName }: BalancesByTypeProps) {
  const { t } = useTranslation('overview');
  const option = useMemo<ChartOption>(
    () => ({
      animation: false,
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: (value) => formatFen(Number(value)) },
      xAxis: { type: 'value', axisLabel: { formatter: (fen: number) => formatFen(Math.round(fen)).replace(/\.00$/, '') } },
      yAxis: { type: 'category', data: rows.map((r) => typeName(r.code)), inverse: true },
      series: [{ type: 'bar', name: t('balance'), data: rows.map((r) => r.balance), itemStyle: { color: '#13c2c2' } }],
    }),
    [rows, t, typeName],
  );
  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={12}>
        <EChart option={option} height={Math.max(200, rows.length * 40 + 40)} testId="balances-chart" />
      </Col>
      <Col xs={24} xl={12}>
        <Table<BalanceByType>
          size="small"
          rowKey="code"
          pagination={false}
          dataSource={rows}
          data-testid="balances-table"
          columns={[
            { title: t('accountType'), dataIndex: 'code', render: (code: number) => typeName(code) },
            { title: t('accounts'), dataIndex: 'accounts', align: 'right' },
            { title: t('balance'), dataIndex: 'balance', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
          ]}
        />
      </Col>
    </Row>
  );
}
