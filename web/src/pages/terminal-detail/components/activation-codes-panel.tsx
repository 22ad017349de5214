import { Table, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/error-alert';
import { useRequest } from '../../../hooks/use-request';
import { formatMicros } from '../../../utils/time';
import type { CodeRecord } from '../../terminals/model';

const STATE_COLOUR: Record<CodeRecord['state'], string> = { unused: 'blue', used: 'green', expired: 'default', revoked: 'orange' };

/** Codes issued for the terminal and what became of them; never the codes themselves. */
export function ActivationCodesPanel({ terminalId, version }: { terminalId: string; version: number }) {
  const { t } = useTranslation('terminals');
  const codes = useRequest(
    () => unwrap(api.GET('/api/v1/terminals/{id}/activation-codes', { params: { path: { id: terminalId } } })),
    [terminalId, version],
  );
  return (
    <>
      <ErrorAlert error={codes.error} />
      <Table<CodeRecord>
        rowKey="id"
        size="small"
        loading={codes.loading}
        dataSource={codes.data?.items}
        pagination={false}
        scroll={{ x: 'max-content' }}
        data-testid="activation-code-table"
        columns={[
          { title: t('code.createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
          { title: t('code.expiresAt'), dataIndex: 'expires_at', render: (us: number) => formatMicros(us) },
          { title: t('code.usedAt'), dataIndex: 'used_at', render: (us: number | null) => (us ? formatMicros(us) : '—') },
          {
            title: t('code.stateLabel'),
            dataIndex: 'state',
            render: (s: CodeRecord['state']) => <Tag color={STATE_COLOUR[s]}>{t(`code.state.${s}`)}</Tag>,
          },
        ]}
      />
    </>
  );
}
