import { DownloadOutlined, PrinterOutlined } from '@ant-design/icons';
import { App, Button, Card, Descriptions, Table, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ApiError } from '../../../api/errors';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { PageContainer } from '../../../components/page-container';
import { useLanguage } from '../../../hooks/use-language';
import { useRequest } from '../../../hooks/use-request';
import { formatMicros } from '../../../utils/time';
import { TxnTypeText } from '../components/txn-tags';
import { SETTLEMENT_COLOUR, type StatementLine, type TxnType } from '../model';
import './statement.css';

/**
 * A merchant's settlement statement, laid out to print (the menu and buttons vanish in print),
 * with the CSV fetched in the console's language (the server localises its header row).
 */
export default function StatementPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation('payments');
  const { message } = App.useApp();
  const { language } = useLanguage();
  const errorText = useErrorText();
  const statement = useRequest(() => unwrap(api.GET('/api/v1/settlements/{id}/statement', { params: { path: { id } } })), [id]);
  const s = statement.data?.settlement;

  const download = async () => {
    const res = await fetch(`/api/v1/settlements/${encodeURIComponent(id)}/statement.csv`, {
      credentials: 'same-origin',
      headers: { 'accept-language': language },
    }).catch(() => undefined);
    if (!res?.ok) {
      void message.error(errorText(new ApiError(res?.status ?? 0, await res?.json().catch(() => undefined))));
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `statement-${s?.business_date ?? ''}-${s?.merchant_party_id ?? id}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  return (
    <PageContainer
      title={<span data-testid="statement-title">{t('settlement.statement')}</span>}
      extra={
        <span className="statement-actions" style={{ display: 'flex', gap: 8 }}>
          <Button icon={<PrinterOutlined />} onClick={() => window.print()} data-testid="statement-print">
            {t('settlement.print')}
          </Button>
          <Button icon={<DownloadOutlined />} onClick={() => void download()} data-testid="statement-csv">
            {t('settlement.csv')}
          </Button>
        </span>
      }
    >
      <ErrorAlert error={statement.error} />
      {s ? (
        <Card style={{ marginBottom: 16 }}>
          <Descriptions column={{ xs: 1, sm: 2, lg: 3 }} size="small" data-testid="statement-header">
            <Descriptions.Item label={t('txn.merchant')}>{s.merchant_name ?? s.merchant_party_id}</Descriptions.Item>
            <Descriptions.Item label={t('settlement.date')}>{s.business_date}</Descriptions.Item>
            <Descriptions.Item label={t('settlement.dueDate')}>{s.due_date}</Descriptions.Item>
            <Descriptions.Item label={t('merchant.cycle')}>{s.cycle}</Descriptions.Item>
            <Descriptions.Item label={t('settlement.status')}>
              <Tag color={SETTLEMENT_COLOUR[s.status]}>{t(`settlementStatus.${s.status}`)}</Tag>
            </Descriptions.Item>
            <Descriptions.Item label={t('settlement.id')}>{s.id}</Descriptions.Item>
            <Descriptions.Item label={t('settlement.gross')}>
              <Money fen={s.sale_amount} /> ({s.sale_count})
            </Descriptions.Item>
            <Descriptions.Item label={t('settlement.fees')}>
              <Money fen={s.fee_amount} />
            </Descriptions.Item>
            <Descriptions.Item label={t('settlement.refunds')}>
              <Money fen={s.refund_amount} /> ({s.refund_count})
            </Descriptions.Item>
            <Descriptions.Item label={t('settlement.net')}>
              <Money fen={s.net} signed testId="statement-net" />
            </Descriptions.Item>
            <Descriptions.Item label={t('settlement.at')}>{s.settled_at ? formatMicros(s.settled_at) : '—'}</Descriptions.Item>
            <Descriptions.Item label={t('settlement.transfer')}>{s.transfer_id ?? '—'}</Descriptions.Item>
          </Descriptions>
        </Card>
      ) : null}
      <Card className="statement-lines">
        <Table<StatementLine>
          rowKey="transaction_id"
          size="small"
          loading={statement.loading}
          dataSource={statement.data?.lines}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="statement-table"
          columns={[
            { title: t('txn.at'), dataIndex: 'time', render: (us: number) => formatMicros(us) },
            { title: t('txn.type'), dataIndex: 'type', render: (x: string) => <TxnTypeText type={x as TxnType} /> },
            { title: t('txn.card'), dataIndex: 'card', render: (v: string | null) => (v && /^\d{4}$/.test(v) ? `**** ${v}` : (v ?? '—')) },
            { title: t('txn.amount'), dataIndex: 'amount', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
            { title: t('txn.fee'), dataIndex: 'fee', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
            { title: t('settlement.net'), dataIndex: 'net', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
            { title: t('txn.terminal'), dataIndex: 'terminal_serial', render: (v: string | null) => v ?? '—' },
            { title: t('txn.trace'), dataIndex: 'trace_no', render: (v: number | null) => v ?? '—' },
            { title: t('txn.authCode'), dataIndex: 'auth_code', render: (v: string | null) => v ?? '—' },
          ]}
        />
      </Card>
    </PageContainer>
  );
}
