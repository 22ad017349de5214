import { Button, Card, Flex, Table, Tag } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrapAs } from '../../api/client';
import type { ApiError } from '../../api/errors';
import type { AuditEntry, AuditPage } from '../../api/types';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { asApiError } from '../../hooks/use-request';
import { formatMillis } from '../../utils/time';

const PAGE_SIZE = 100;

/** Who did what, newest first; older entries on "load more" (`before` = the last entry's time). */
export default function AuditPage() {
  const { t } = useTranslation(['audit', 'common']);
  const [rows, setRows] = useState<AuditEntry[]>([]);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError>();
  const generation = useRef(0);

  const load = useCallback(async (before: number | undefined, mine: number) => {
    setLoading(true);
    setError(undefined);
    try {
      const query = { limit: PAGE_SIZE, ...(before !== undefined ? { before } : {}) };
      const page = await unwrapAs<AuditPage>(api.GET('/api/v1/audit', { params: { query } }));
      if (mine !== generation.current) return;
      setRows((old) => (before !== undefined ? [...old, ...page.items] : page.items));
      setMore(page.items.length === PAGE_SIZE);
    } catch (caught) {
      if (mine === generation.current) setError(asApiError(caught));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  const reload = useCallback(() => {
    const mine = ++generation.current;
    void load(undefined, mine);
  }, [load]);
  useEffect(reload, [reload]);

  return (
    <PageContainer title={t('title')} extra={<Button onClick={reload}>{t('common:reload')}</Button>}>
      <ErrorAlert error={error} />
      <Card>
        <Table<AuditEntry>
          rowKey="id"
          size="small"
          loading={loading && rows.length === 0}
          dataSource={rows}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="audit-table"
          columns={[
            { title: t('at'), dataIndex: 'at', render: (ms: number) => formatMillis(ms) },
            { title: t('actor'), dataIndex: 'actor_name', render: (v: string | null) => v ?? '—' },
            { title: t('action'), dataIndex: 'action' },
            { title: t('target'), dataIndex: 'target', render: (v: string | null) => v ?? '—' },
            {
              title: t('outcome'),
              dataIndex: 'outcome',
              render: (v: string) => (
                <Tag color={v === 'ok' || v === 'session' ? 'green' : v.startsWith('failed') ? 'red' : 'default'}>{v}</Tag>
              ),
            },
            { title: t('ip'), dataIndex: 'ip', render: (v: string | null) => v ?? '—' },
            { title: t('requestId'), dataIndex: 'request_id', render: (v: string | null) => v ?? '—' },
          ]}
        />
        <Flex justify="center" style={{ marginTop: 16 }}>
          {more ? (
            <Button onClick={() => void load(rows.at(-1)?.at, generation.current)} loading={loading} data-testid="audit-load-more">
              {t('loadMore')}
            </Button>
          ) : null}
        </Flex>
      </Card>
    </PageContainer>
  );
}
