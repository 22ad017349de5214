import { PlusOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Flex, Table, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { api, unwrapAs } from '../../api/client';
import type { ApiError } from '../../api/errors';
import type { Transfer, TransferPage } from '../../api/types';
import { ErrorAlert } from '../../components/error-alert';
import { Money } from '../../components/money';
import { PageContainer } from '../../components/page-container';
import { useChart } from '../../hooks/use-chart';
import { asApiError } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { TransferSearchForm, type TransferFilter } from './components/transfer-search-form';

const PAGE_SIZE = 50;

const accountLink = (id: string) => <Link to={`/accounts/${encodeURIComponent(id)}`}>{id}</Link>;

/** Transfer search, newest first, older pages on "load more". */
export default function TransfersPage() {
  const { t } = useTranslation('transfers');
  const { can } = useSignedIn();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const chart = useChart();
  const [filter, setFilter] = useState<TransferFilter>(() => (params.get('account') ? { account_id: params.get('account')! } : {}));
  const [rows, setRows] = useState<Transfer[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError>();
  const generation = useRef(0);

  const load = useCallback(
    async (before: string | null, mine: number) => {
      setLoading(true);
      setError(undefined);
      try {
        const query = { limit: PAGE_SIZE, ...filter, ...(before ? { before: Number(before) } : {}) };
        const page = await unwrapAs<TransferPage>(api.GET('/api/v1/transfers', { params: { query } }));
        if (mine !== generation.current) return;
        setRows((old) => (before ? [...old, ...page.items] : page.items));
        setCursor(page.next_cursor);
      } catch (caught) {
        if (mine === generation.current) setError(asApiError(caught));
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [filter],
  );

  useEffect(() => {
    const mine = ++generation.current;
    setRows([]);
    setCursor(null);
    void load(null, mine);
  }, [load]);

  return (
    <PageContainer
      title={t('title')}
      extra={
        can('transfer:create') ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => void navigate('/transfers/new')} data-testid="transfer-create">
            {t('newTitle')}
          </Button>
        ) : null
      }
    >
      <Card style={{ marginBottom: 16 }}>
        <TransferSearchForm codes={chart.data?.transfer_codes ?? []} initial={filter} onSearch={setFilter} />
      </Card>
      {error && error.code === 'validation_failed' && !filter.account_id ? (
        <Alert type="info" showIcon title={t('accountNeeded')} style={{ marginBottom: 16 }} data-testid="transfer-account-needed" />
      ) : (
        <ErrorAlert error={error} />
      )}
      <Card>
        <Table<Transfer>
          rowKey="id"
          size="middle"
          loading={loading && rows.length === 0}
          dataSource={rows}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="transfer-table"
          columns={[
            { title: t('time'), dataIndex: 'ts', render: (us: number) => formatMicros(us) },
            { title: t('debit'), dataIndex: 'debit_account_id', render: accountLink },
            { title: t('credit'), dataIndex: 'credit_account_id', render: accountLink },
            { title: t('code'), dataIndex: 'code', render: (code: number) => chart.transferCode(code) },
            { title: t('amount'), dataIndex: 'amount', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            { title: t('reference'), dataIndex: 'reference', render: (v: string | null) => v ?? '—' },
            {
              title: t('transferId'),
              dataIndex: 'id',
              render: (id: string) => <Typography.Text copyable={{ text: id }}>{id.slice(0, 8)}…</Typography.Text>,
            },
          ]}
        />
        <Flex justify="center" style={{ marginTop: 16 }}>
          {cursor ? (
            <Button onClick={() => void load(cursor, generation.current)} loading={loading} data-testid="transfer-load-more">
              {t('loadMore')}
            </Button>
          ) : null}
        </Flex>
      </Card>
    </PageContainer>
  );
}
