import { Button, Flex, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrapAs } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import type { StatementLine, StatementPage } from '../../../api/types';
import { ErrorAlert } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { asApiError } from '../../../hooks/use-request';
import { formatMicros } from '../../../utils/time';

const PAGE_SIZE = 50;

interface StatementTableProps {
  accountId: string;
  transferCodeName: (code: number) => string;
  /** Changes when the caller wants the statement read again from the newest line. */
  version?: number;
}

/** The account's statement, newest first, older pages on "load more" (cursor → `before`). */
export function StatementTable({ accountId, transferCodeName, version = 0 }: StatementTableProps) {
  const { t } = useTranslation('accounts');
  const [lines, setLines] = useState<StatementLine[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError>();
  const generation = useRef(0);

  const load = useCallback(
    async (before: string | null, mine: number) => {
      setLoading(true);
      setError(undefined);
      try {
        const query = { limit: PAGE_SIZE, ...(before ? { before: Number(before) } : {}) };
        const page = await unwrapAs<StatementPage>(
          api.GET('/api/v1/accounts/{id}/statement', { params: { path: { id: accountId }, query } }),
        );
        if (mine !== generation.current) return;
        setLines((old) => (before ? [...old, ...page.items] : page.items));
        setCursor(page.next_cursor);
      } catch (caught) {
        if (mine === generation.current) setError(asApiError(caught));
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [accountId],
  );

  useEffect(() => {
    const mine = ++generation.current;
    setLines([]);
    setCursor(null);
    void load(null, mine);
  }, [load, version]);

  return (
    <>
      <ErrorAlert error={error} />
      <Table<StatementLine>
        rowKey="id"
        size="middle"
        loading={loading && lines.length === 0}
        dataSource={lines}
        pagination={false}
        scroll={{ x: 'max-content' }}
        data-testid="statement-table"
        rowClassName={() => 'statement-row'}
        columns={[
          { title: t('time'), dataIndex: 'ts', render: (us: number) => formatMicros(us) },
          { title: t('code'), dataIndex: 'code', render: (code: number) => transferCodeName(code) },
          {
            title: t('side'),
            dataIndex: 'side',
            render: (side: StatementLine['side']) => <Tag color={side === 'credit' ? 'green' : 'volcano'}>{t(`sideName.${side}`)}</Tag>,
          },
          {
            title: t('amount'),
            dataIndex: 'amount',
            align: 'right',
            render: (fen: number) => <Money fen={fen} testId="statement-amount" />,
          },
          { title: t('balanceAfter'), dataIndex: 'balance_after', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
          { title: t('reference'), dataIndex: 'reference', render: (v: string | null) => v ?? '—' },
        ]}
      />
      <Flex justify="center" style={{ marginTop: 16 }}>
        {cursor ? (
          <Button onClick={() => void load(cursor, generation.current)} loading={loading} data-testid="statement-load-more">
            {t('loadMore')}
          </Button>
        ) : lines.length > 0 ? (
          <Typography.Text type="secondary" data-testid="statement-end">
            {t('endOfStatement')}
          </Typography.Text>
        ) : null}
      </Flex>
    </>
  );
}
