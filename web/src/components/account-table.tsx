import { Table, type TablePaginationConfig } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import type { Account } from '../api/types';
import { formatMicros } from '../utils/time';
import { Money } from './money';

interface AccountTableProps {
  accounts: Account[] | undefined;
  loading: boolean;
  typeName: (code: number) => string;
  /** Shows the owner column (the party page leaves it out). */
  ownerName?: (ownerId: string | null) => string;
  pagination?: TablePaginationConfig | false;
}

/** Accounts with their balance and available amount; the id links to the statement. */
export function AccountTable({ accounts, loading, typeName, ownerName, pagination = false }: AccountTableProps) {
  const { t } = useTranslation('accounts');
  return (
    <Table<Account>
      rowKey="id"
      size="middle"
      loading={loading}
      dataSource={accounts}
      pagination={pagination}
      scroll={{ x: 'max-content' }}
      data-testid="account-table"
      columns={[
        {
          title: t('id'),
          dataIndex: 'id',
          render: (id: string) => (
            <Link to={`/accounts/${encodeURIComponent(id)}`} data-testid={`account-link-${id}`}>
              {id}
            </Link>
          ),
        },
        { title: t('type'), dataIndex: 'code', render: (code: number) => typeName(code) },
        ...(ownerName ? [{ title: t('owner'), dataIndex: 'owner_id', render: (id: string | null) => ownerName(id) }] : []),
        { title: t('balance'), dataIndex: 'balance', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
        { title: t('available'), dataIndex: 'available', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
        { title: t('createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
      ]}
    />
  );
}
