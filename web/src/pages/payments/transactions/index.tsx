import { SearchOutlined } from '@ant-design/icons';
import { Button, Card, Col, DatePicker, Flex, Form, Input, Row, Select, Table } from 'antd';
import type { Dayjs } from 'dayjs';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { PageContainer } from '../../../components/page-container';
import { asApiError } from '../../../hooks/use-request';
import { formatMicros } from '../../../utils/time';
import { PartyPicker } from '../../terminals/components/party-picker';
import { TerminalPicker } from '../../terminals/components/terminal-picker';
import { ResponseCodeText, TxnStatusTag, TxnTypeText } from '../components/txn-tags';
import { TXN_STATUSES, TXN_TYPES, type Txn, type TxnQuery, type TxnStatus, type TxnType } from '../model';
import { TxnDrawer } from './txn-drawer';

const PAGE = 50;

type Filter = Omit<TxnQuery, 'before' | 'limit'>;
const DAY = 'YYYY-MM-DD';

interface Values extends Omit<Filter, 'from' | 'to'> {
  range?: [Dayjs | null, Dayjs | null] | null;
}

/** Payment transactions: search, newest first, "load more" by cursor, a detail drawer. */
export default function TransactionsPage() {
  const { t } = useTranslation('payments');
  const [params, setParams] = useSearchParams();
  const [filter, setFilter] = useState<Filter>(() => (params.get('merchant') ? { merchant_party_id: params.get('merchant')! } : {}));
  const [rows, setRows] = useState<Txn[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError>();
  const generation = useRef(0);
  const open = params.get('txn');

  const load = useCallback(
    async (before: string | null, mine: number) => {
      setLoading(true);
      try {
        const page = await unwrap(
          api.GET('/api/v1/payments/transactions', { params: { query: { ...filter, limit: PAGE, ...(before ? { before } : {}) } } }),
        );
        if (mine !== generation.current) return;
        setRows((old) => (before ? [...old, ...page.items] : page.items));
        setCursor(page.next_before);
        setError(undefined);
      } catch (caught) {
        if (mine === generation.current) setError(asApiError(caught));
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [filter],
  );
  useEffect(() => {
    void load(null, ++generation.current);
  }, [load]);

  const finish = (v: Values) => {
    const [start, end] = v.range ?? [null, null];
    const last4 = v.last4?.trim();
    setFilter({
      ...(v.merchant_party_id ? { merchant_party_id: v.merchant_party_id } : {}),
      ...(v.terminal_id ? { terminal_id: v.terminal_id } : {}),
      ...(v.type ? { type: v.type } : {}),
      ...(v.status ? { status: v.status } : {}),
      ...(start ? { from: start.format(DAY) } : {}),
      ...(end ? { to: end.format(DAY) } : {}),
      ...(last4 ? { last4 } : {}),
    });
  };
  const show = (id: string | null) =>
    setParams((p) => {
      const next = new URLSearchParams(p);
      if (id) next.set('txn', id);
      else next.delete('txn');
      return next;
    });

  return (
    <PageContainer title={t('txn.title')}>
      <ErrorAlert error={error} />
      <Card style={{ marginBottom: 16 }}>
        <Form<Values> layout="vertical" onFinish={finish} initialValues={{ merchant_party_id: filter.merchant_party_id }}>
          <Row gutter={12}>
            <Col xs={24} sm={12} lg={6}>
              <Form.Item name="merchant_party_id" label={t('txn.merchant')}>
                <PartyPicker testId="txn-filter-merchant" />
              </Form.Item>
            </Col>
            <Col xs={24} sm={12} lg={6}>
              <Form.Item name="terminal_id" label={t('txn.terminal')}>
                <TerminalPicker testId="txn-filter-terminal" />
              </Form.Item>
            </Col>
            <Col xs={12} sm={6} lg={3}>
              <Form.Item name="type" label={t('txn.type')}>
                <Select<TxnType>
                  allowClear
                  options={TXN_TYPES.map((x) => ({ value: x, label: t(`txnType.${x}`) }))}
                  data-testid="txn-filter-type"
                />
              </Form.Item>
            </Col>
            <Col xs={12} sm={6} lg={3}>
              <Form.Item name="status" label={t('txn.status')}>
                <Select<TxnStatus> allowClear options={TXN_STATUSES.map((x) => ({ value: x, label: t(`txnStatus.${x}`) }))} />
              </Form.Item>
            </Col>
            <Col xs={12} sm={8} lg={4}>
              <Form.Item name="range" label={t('txn.period')}>
                <DatePicker.RangePicker allowEmpty={[true, true]} style={{ width: '100%' }} />
              </Form.Item>
            </Col>
            <Col xs={12} sm={4} lg={2}>
              <Form.Item name="last4" label={t('txn.last4')} rules={[{ pattern: /^\d{4}$/, message: t('txn.last4Invalid') }]}>
                <Input maxLength={4} inputMode="numeric" data-testid="txn-filter-last4" />
              </Form.Item>
            </Col>
          </Row>
          <Button type="primary" htmlType="submit" icon={<SearchOutlined />} data-testid="txn-search">
            {t('search')}
          </Button>
        </Form>
      </Card>
      <Card>
        <Table<Txn>
          rowKey="id"
          size="middle"
          loading={loading}
          dataSource={rows}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="txn-table"
          onRow={(x) => ({ onClick: () => show(x.id), style: { cursor: 'pointer' } })}
          columns={[
            { title: t('txn.at'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
            { title: t('txn.type'), dataIndex: 'type', render: (x: TxnType) => <TxnTypeText type={x} /> },
            { title: t('txn.amount'), dataIndex: 'amount', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            { title: t('txn.fee'), dataIndex: 'fee', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            { title: t('txn.status'), dataIndex: 'status', render: (s: TxnStatus) => <TxnStatusTag status={s} /> },
            { title: t('txn.code'), dataIndex: 'response_code', render: (c: string) => <ResponseCodeText code={c} /> },
            { title: t('txn.card'), dataIndex: 'card_last4', render: (v: string | null) => (v ? `**** ${v}` : '—') },
            { title: t('txn.trace'), dataIndex: 'trace_no', render: (v: number | null) => v ?? '—' },
            { title: t('txn.date'), dataIndex: 'business_date' },
          ]}
        />
        {cursor ? (
          <Flex justify="center" style={{ marginTop: 16 }}>
            <Button onClick={() => void load(cursor, generation.current)} loading={loading} data-testid="txn-load-more">
              {t('loadMore')}
            </Button>
          </Flex>
        ) : null}
      </Card>
      <TxnDrawer id={open} onClose={() => show(null)} onOpen={show} />
    </PageContainer>
  );
}
