import { formatFen } from '@xiaowei/money';
import { Card, Col, Row, Statistic } from 'antd';
import { useTranslation } from 'react-i18next';

interface KpiCardsProps {
  accounts: number;
  transfers: number;
  amountFen: number;
  days: number;
}

export function KpiCards({ accounts, transfers, amountFen, days }: KpiCardsProps) {
  const { t } = useTranslation('overview');
  const cards = [
    { key: 'accounts', title: t('kpiAccounts'), value: accounts.toLocaleString() },
    { key: 'transfers', title: t('kpiTransfers', { days }), value: transfers.toLocaleString() },
    { key: 'amount', title: t('kpiAmount', { days }), value: formatFen(amountFen) },
  ];
  return (
    <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
      {cards.map((c) => (
        <Col key={c.key} xs={24} sm={8}>
          <Card data-testid={`kpi-${c.key}`}>
            <Statistic title={c.title} value={c.value} />
          </Card>
        </Col>
      ))}
    </Row>
  );
}
