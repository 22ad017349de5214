import { PlusOutlined } from '@ant-design/icons';
import { Button, Card as AntCard, Flex, Input, Select, Table, Tag } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { PageContainer } from '../../../components/page-container';
import { useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { usePartyNames } from '../../terminals/components/party-names';
import { CustomerPicker } from '../components/customer-picker';
import { CARD_STATUSES, type Card, type CardQuery, type CardStatus } from '../model';
import { CardActions } from './card-actions';
import { IssueModal } from './issue-modal';

const STATUS_COLOUR: Record<CardStatus, string> = { active: 'green', blocked: 'orange', lost: 'red', closed: 'default' };

/** The bank's own debit cards: search by holder / last 4 / status, issue, block, limits, PIN reset. */
export default function CardsPage() {
  const { t } = useTranslation('payments');
  const { can } = useSignedIn();
  const [filter, setFilter] = useState<Omit<CardQuery, 'limit' | 'offset'>>({});
  const [page, setPage] = useState({ current: 1, size: 50 });
  const [issuing, setIssuing] = useState(false);
  const query: CardQuery = { ...filter, limit: page.size, offset: (page.current - 1) * page.size };
  const cards = useRequest(() => unwrap(api.GET('/api/v1/cards', { params: { query } })), [filter, page]);
  const holder = usePartyNames(useMemo(() => (cards.data?.items ?? []).map((c) => c.party_id), [cards.data]));
  const writer = can('payment:write');

  return (
    <PageContainer
      title={t('card.title')}
      extra={
        writer ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setIssuing(true)} data-testid="card-issue">
            {t('card.issue')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={cards.error} />
      <AntCard>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <div style={{ minWidth: 240 }}>
            <CustomerPicker
              testId="card-filter-party"
              value={filter.party_id}
              onChange={(party_id) => setFilter((f) => ({ ...f, party_id }))}
            />
          </div>
          <Input.Search
            allowClear
            placeholder={t('card.last4')}
            maxLength={4}
            inputMode="numeric"
            style={{ maxWidth: 160 }}
            onSearch={(v) => setFilter((f) => ({ ...f, last4: /^\d{4}$/.test(v.trim()) ? v.trim() : undefined }))}
            data-testid="card-filter-last4"
          />
          <Select<CardStatus>
            allowClear
            placeholder={t('card.status')}
            style={{ minWidth: 130 }}
            onChange={(status) => setFilter((f) => ({ ...f, status }))}
            options={CARD_STATUSES.map((s) => ({ value: s, label: t(`cardStatus.${s}`) }))}
          />
        </Flex>
        <Table<Card>
          rowKey="id"
          size="middle"
          loading={cards.loading}
          dataSource={cards.data?.items}
          pagination={{
            current: page.current,
            pageSize: page.size,
            total: cards.data?.total ?? 0,
            onChange: (current, size) => setPage({ current, size }),
          }}
          scroll={{ x: 'max-content' }}
          data-testid="card-table"
          columns={[
            {
              title: t('card.number'),
              dataIndex: 'last4',
              render: (l4: string, c) => <span data-testid={`card-row-${l4}`}>{`${c.bin} **** ${l4}`}</span>,
            },
            {
              title: t('card.holder'),
              dataIndex: 'party_id',
              render: (id: string) => <Link to={`/parties/${encodeURIComponent(id)}`}>{holder(id)}</Link>,
            },
            {
              title: t('card.account'),
              dataIndex: 'account_id',
              render: (id: string) => <Link to={`/accounts/${encodeURIComponent(id)}`}>{id}</Link>,
            },
            { title: t('card.expiry'), dataIndex: 'expiry' },
            {
              title: t('card.status'),
              dataIndex: 'status',
              render: (s: CardStatus) => (
                <Tag color={STATUS_COLOUR[s]} data-testid="card-status">
                  {t(`cardStatus.${s}`)}
                </Tag>
              ),
            },
            { title: t('card.perTxnLimit'), dataIndex: 'per_txn_limit', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            { title: t('card.dailyLimit'), dataIndex: 'daily_limit', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            {
              title: t('card.pinTries'),
              dataIndex: 'pin_tries',
              render: (n: number) => (n >= 3 ? <Tag color="red">{t('card.pinLocked')}</Tag> : n),
            },
            ...(writer
              ? [{ title: '', key: 'actions', render: (_: unknown, c: Card) => <CardActions card={c} onDone={cards.reload} /> }]
              : []),
          ]}
        />
      </AntCard>
      <IssueModal open={issuing} onClose={() => setIssuing(false)} onDone={cards.reload} />
    </PageContainer>
  );
}
