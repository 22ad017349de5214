import { PlayCircleOutlined } from '@ant-design/icons';
import { App, Button, Card, DatePicker, Flex, Table, Tag, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { PageContainer } from '../../../components/page-container';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import { PartyPicker } from '../../terminals/components/party-picker';
import { SETTLEMENT_COLOUR, type Settlement } from '../model';

const DAY = 'YYYY-MM-DD';

/** Settlements by business date; staff with settlement:run run a date after confirming. */
export default function SettlementsPage() {
  const { t } = useTranslation('payments');
  const { can } = useSignedIn();
  const { modal, message } = App.useApp();
  const errorText = useErrorText();
  const [params, setParams] = useSearchParams();
  const date = params.get('date') ?? dayjs().format(DAY);
  const [merchant, setMerchant] = useState<string>();
  const list = useRequest(
    () =>
      unwrap(
        api.GET('/api/v1/settlements', { params: { query: { date, ...(merchant ? { merchant_party_id: merchant } : {}), limit: 1000 } } }),
      ),
    [date, merchant],
  );
  const setDate = (d: Dayjs | null) => setParams(d ? { date: d.format(DAY) } : {});

  const run = () =>
    void modal.confirm({
      title: t('settlement.runConfirm', { date }),
      content: t('settlement.runExplain'),
      okText: t('settlement.run'),
      okButtonProps: { 'data-testid': 'settlement-run-confirm' },
      onOk: async () => {
        try {
          const run = await unwrap(api.POST('/api/v1/settlements/run', { body: { date } }));
          void message.success(t('settlement.runDone', { date, merchants: run.merchants }));
          list.reload();
        } catch (caught) {
          void message.error(errorText(asApiError(caught)));
        }
      },
    });

  return (
    <PageContainer
      title={t('settlement.title')}
      extra={
        can('settlement:run') ? (
          <Button type="primary" icon={<PlayCircleOutlined />} onClick={run} data-testid="settlement-run">
            {t('settlement.run')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={list.error} />
      <Card>
        <Flex gap={12} wrap align="center" style={{ marginBottom: 16 }}>
          <Typography.Text>{t('settlement.date')}</Typography.Text>
          <DatePicker value={dayjs(date, DAY)} onChange={setDate} allowClear={false} data-testid="settlement-date" />
          <PartyPicker
            testId="settlement-merchant"
            placeholder={t('txn.merchant')}
            style={{ minWidth: 240 }}
            value={merchant}
            onChange={setMerchant}
          />
        </Flex>
        <Table<Settlement>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={list.data?.items}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="settlement-table"
          columns={[
            {
              title: t('txn.merchant'),
              dataIndex: 'merchant_party_id',
              render: (id: string, s) => (
                <Link to={`/payments/settlements/${encodeURIComponent(s.id)}`} data-testid={`settlement-link-${id}`}>
                  {s.merchant_name ?? id}
                </Link>
              ),
            },
            { title: t('settlement.date'), dataIndex: 'business_date' },
            { title: t('merchant.cycle'), dataIndex: 'cycle' },
            {
              title: t('settlement.status'),
              dataIndex: 'status',
              render: (st: Settlement['status']) => <Tag color={SETTLEMENT_COLOUR[st]}>{t(`settlementStatus.${st}`)}</Tag>,
            },
            { title: t('settlement.count'), dataIndex: 'sale_count' },
            { title: t('settlement.gross'), dataIndex: 'sale_amount', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            { title: t('settlement.fees'), dataIndex: 'fee_amount', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            { title: t('settlement.refunds'), dataIndex: 'refund_amount', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            { title: t('settlement.net'), dataIndex: 'net', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
            { title: t('settlement.at'), dataIndex: 'settled_at', render: (us: number | null) => (us ? formatMicros(us) : '—') },
          ]}
        />
      </Card>
    </PageContainer>
  );
}
