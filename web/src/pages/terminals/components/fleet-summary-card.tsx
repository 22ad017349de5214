import { RightOutlined } from '@ant-design/icons';
import { Button, Card, Col, Row, Statistic } from 'antd';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/error-alert';
import { useRequest } from '../../../hooks/use-request';
import { TERMINAL_STATUSES } from '../model';

/**
 * The overview's fleet card: terminals online and offline (offline counts activated terminals
 * only, as the server does), and how many in each status.
 */
export function FleetSummaryCard() {
  const { t } = useTranslation('terminals');
  const navigate = useNavigate();
  const summary = useRequest(() => unwrap(api.GET('/api/v1/terminals/summary')), []);
  const s = summary.data;
  return (
    <Card
      title={t('summary.title')}
      style={{ marginBottom: 16 }}
      loading={!s && !summary.error}
      data-testid="fleet-summary"
      extra={
        <Button type="link" onClick={() => void navigate('/terminals')}>
          {t('summary.open')} <RightOutlined />
        </Button>
      }
    >
      <ErrorAlert error={summary.error} />
      {s ? (
        <Row gutter={[16, 16]}>
          <Col flex="1 0 110px">
            <Statistic title={t('summary.total')} value={s.total} />
          </Col>
          <Col flex="1 0 110px">
            <Statistic title={t('online')} value={s.online} styles={{ content: { color: '#52c41a' } }} />
          </Col>
          <Col flex="1 0 110px">
            <Statistic title={t('offline')} value={s.offline} />
          </Col>
          {TERMINAL_STATUSES.map((st) => (
            <Col key={st} flex="1 0 110px">
              <Statistic title={t(`status.${st}`)} value={s.by_status[st]} data-testid={`fleet-summary-${st}`} />
            </Col>
          ))}
        </Row>
      ) : null}
    </Card>
  );
}
