import { PlusOutlined } from '@ant-design/icons';
import { Button, Card, Flex, Input, Select, Table, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/error-alert';
import { PageContainer } from '../../../components/page-container';
import { useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import { useMccText } from '../components/mcc-input';
import { MERCHANT_STATUSES, MERCHANT_STATUS_COLOUR, type Merchant, type MerchantQuery, type MerchantStatus } from '../model';
import { EnrolModal } from './enrol-modal';

/** Acquiring merchants: search, status filter, server paging, enrolment. */
export default function MerchantsPage() {
  const { t } = useTranslation(['payments', 'common']);
  const { can } = useSignedIn();
  const navigate = useNavigate();
  const [q, setQ] = useState<string>();
  const [status, setStatus] = useState<MerchantStatus>();
  const [page, setPage] = useState({ current: 1, size: 20 });
  const [enrolling, setEnrolling] = useState(false);
  const query: MerchantQuery = {
    limit: page.size,
    offset: (page.current - 1) * page.size,
    ...(q ? { q } : {}),
    ...(status ? { status } : {}),
  };
  const merchants = useRequest(() => unwrap(api.GET('/api/v1/merchants', { params: { query } })), [q, status, page]);
  const mccText = useMccText();

  return (
    <PageContainer
      title={t('merchant.title')}
      extra={
        can('payment:write') ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEnrolling(true)} data-testid="merchant-enrol">
            {t('merchant.enrol')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={merchants.error} />
      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Input.Search
            allowClear
            placeholder={t('merchant.search')}
            style={{ maxWidth: 260 }}
            maxLength={50}
            onSearch={(v) => {
              setQ(v.trim() || undefined);
              setPage((p) => ({ ...p, current: 1 }));
            }}
            data-testid="merchant-search"
          />
          <Select<MerchantStatus>
            allowClear
            placeholder={t('merchant.status')}
            style={{ minWidth: 130 }}
            value={status}
            onChange={(s) => {
              setStatus(s);
              setPage((p) => ({ ...p, current: 1 }));
            }}
            options={MERCHANT_STATUSES.map((s) => ({ value: s, label: t(`merchantStatus.${s}`) }))}
          />
        </Flex>
        <Table<Merchant>
          rowKey="party_id"
          size="middle"
          loading={merchants.loading}
          dataSource={merchants.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="merchant-table"
          pagination={{
            current: page.current,
            pageSize: page.size,
            total: merchants.data?.total ?? 0,
            showTotal: (total) => t('common:total', { total }),
            onChange: (current, size) => setPage({ current, size }),
          }}
          columns={[
            {
              title: t('merchant.name'),
              dataIndex: 'party_id',
              render: (id: string, m) => (
                <Link to={`/payments/merchants/${encodeURIComponent(id)}`} data-testid={`merchant-link-${id}`}>
                  {m.name || id}
                </Link>
              ),
            },
            { title: t('merchant.mcc'), dataIndex: 'mcc', render: (c: string, m) => mccText(c, m.mcc_name) },
            { title: t('merchant.feePlan'), key: 'fee_plan', render: (_: unknown, m) => m.fee_plan.name },
            { title: t('merchant.cycle'), dataIndex: 'settlement_cycle' },
            {
              title: t('merchant.status'),
              dataIndex: 'status',
              render: (s: MerchantStatus) => <Tag color={MERCHANT_STATUS_COLOUR[s]}>{t(`merchantStatus.${s}`)}</Tag>,
            },
            { title: t('merchant.enrolledAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
          ]}
        />
      </Card>
      <EnrolModal
        open={enrolling}
        onClose={() => setEnrolling(false)}
        onDone={(m) => {
          setEnrolling(false);
          void navigate(`/payments/merchants/${encodeURIComponent(m.party_id)}`);
        }}
      />
    </PageContainer>
  );
}
