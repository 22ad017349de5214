import { App, Button, Card, Descriptions, Form, Input, Modal, Radio, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { AccountTable } from '../../../components/account-table';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { PageContainer } from '../../../components/page-container';
import { useChart } from '../../../hooks/use-chart';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import { FeePlanSelect } from '../components/fee-plan-select';
import { MccInput, useMccText } from '../components/mcc-input';
import { MCC_PATTERN, MERCHANT_STATUS_COLOUR, SETTLEMENT_CYCLES, type Merchant, type MerchantStatus, type SettlementCycle } from '../model';
import { CORE_ACCOUNT_PATTERN } from '../merchants/enrol-modal';

interface EditValues {
  mcc: string;
  fee_plan_id: string;
  settlement_cycle: SettlementCycle;
  /** Empty in the form = remove it (null to the server). */
  core_account?: string | null;
}

/** One merchant: terms, its receivable and settlement accounts with balances, suspend/resume. */
export default function MerchantDetailPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation('payments');
  const { can } = useSignedIn();
  const { modal, message } = App.useApp();
  const errorText = useErrorText();
  const merchant = useRequest(() => unwrap(api.GET('/api/v1/merchants/{party_id}', { params: { path: { party_id: id } } })), [id]);
  // core_account is in the server's MerchantView; spelt out here until the generated API types catch up.
  const m: (Merchant & { core_account?: string | null }) | undefined = merchant.data;
  const accounts = useRequest(
    async () =>
      m
        ? Promise.all(
            [m.receivable_account_id, m.settlement_account_id].map((a) =>
              unwrap(api.GET('/api/v1/accounts/{id}', { params: { path: { id: a } } })),
            ),
          )
        : [],
    [m?.receivable_account_id, m?.settlement_account_id],
  );
  const chart = useChart();
  const mccText = useMccText();
  const [editing, setEditing] = useState(false);
  const [form] = Form.useForm<EditValues>();

  const change = async ({ core_account, ...rest }: Partial<EditValues> & { status?: MerchantStatus }) => {
    const body = core_account === undefined ? rest : { ...rest, core_account: core_account || null };
    try {
      await unwrap(api.PATCH('/api/v1/merchants/{party_id}', { params: { path: { party_id: id } }, body }));
      void message.success(t('saved'));
      merchant.reload();
      return true;
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
      return false;
    }
  };
  const setStatus = (status: MerchantStatus) =>
    void modal.confirm({
      title: t(status === 'suspended' ? 'merchant.suspendConfirm' : 'merchant.resumeConfirm'),
      content: status === 'suspended' ? t('merchant.suspendExplain') : undefined,
      okButtonProps: { danger: status === 'suspended', 'data-testid': 'merchant-status-confirm' },
      onOk: () => change({ status }),
    });
  const writer = can('payment:write');

  return (
    <PageContainer
      title={<span data-testid="merchant-title">{m?.name || id}</span>}
      extra={
        m && writer ? (
          <>
            <Button
              onClick={() => {
                form.setFieldsValue({
                  mcc: m.mcc,
                  fee_plan_id: m.fee_plan.id,
                  settlement_cycle: m.settlement_cycle,
                  core_account: m.core_account ?? '',
                });
                setEditing(true);
              }}
              data-testid="merchant-edit"
            >
              {t('edit')}
            </Button>
            {m.status === 'active' ? (
              <Button danger onClick={() => setStatus('suspended')} data-testid="merchant-suspend">
                {t('merchant.suspend')}
              </Button>
            ) : m.status === 'suspended' ? (
              <Button onClick={() => setStatus('active')} data-testid="merchant-resume">
                {t('merchant.resume')}
              </Button>
            ) : null}
          </>
        ) : null
      }
    >
      <ErrorAlert error={merchant.error} />
      {m ? (
        <>
          <Card style={{ marginBottom: 16 }}>
            <Descriptions column={{ xs: 1, sm: 2, lg: 3 }} size="small" data-testid="merchant-fields">
              <Descriptions.Item label={t('merchant.status')}>
                <Tag color={MERCHANT_STATUS_COLOUR[m.status]} data-testid="merchant-status">
                  {t(`merchantStatus.${m.status}`)}
                </Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t('merchant.mcc')}>{mccText(m.mcc, m.mcc_name)}</Descriptions.Item>
              <Descriptions.Item label={t('merchant.feePlan')}>{m.fee_plan.name}</Descriptions.Item>
              <Descriptions.Item label={t('merchant.cycle')}>{m.settlement_cycle}</Descriptions.Item>
              <Descriptions.Item label={t('merchant.coreAccount')}>
                <span data-testid="merchant-core-account">{m.core_account ?? t('merchant.noCoreAccount')}</span>
              </Descriptions.Item>
              <Descriptions.Item label={t('merchant.party')}>
                <Link to={`/parties/${encodeURIComponent(m.party_id)}`}>{m.party_id}</Link>
              </Descriptions.Item>
              <Descriptions.Item label={t('merchant.enrolledAt')}>{formatMicros(m.created_at)}</Descriptions.Item>
            </Descriptions>
            <Link to={`/payments/transactions?merchant=${encodeURIComponent(m.party_id)}`} data-testid="merchant-transactions">
              {t('merchant.transactions')}
            </Link>
          </Card>
          <Card title={t('merchant.accounts')}>
            <ErrorAlert error={accounts.error} />
            <AccountTable accounts={accounts.data} loading={accounts.loading} typeName={chart.accountType} />
          </Card>
        </>
      ) : null}
      <Modal open={editing} title={t('edit')} onCancel={() => setEditing(false)} onOk={() => form.submit()} destroyOnHidden forceRender>
        <Form<EditValues> form={form} layout="vertical" onFinish={(v) => void change(v).then((ok) => ok && setEditing(false))}>
          <Form.Item
            name="mcc"
            label={t('merchant.mcc')}
            rules={[{ required: true, pattern: MCC_PATTERN, message: t('merchant.mccInvalid') }]}
          >
            <MccInput testId="merchant-edit-mcc" />
          </Form.Item>
          <Form.Item name="fee_plan_id" label={t('merchant.feePlan')} rules={[{ required: true }]}>
            <FeePlanSelect testId="merchant-edit-plan" />
          </Form.Item>
          <Form.Item name="settlement_cycle" label={t('merchant.cycle')}>
            <Radio.Group optionType="button" options={SETTLEMENT_CYCLES.map((c) => ({ value: c, label: c }))} />
          </Form.Item>
          <Form.Item
            name="core_account"
            label={t('merchant.coreAccount')}
            extra={t('merchant.coreAccountHelp')}
            rules={[{ pattern: CORE_ACCOUNT_PATTERN, message: t('merchant.coreAccountInvalid') }]}
          >
            <Input inputMode="numeric" maxLength={32} allowClear data-testid="merchant-edit-core-account" />
          </Form.Item>
        </Form>
      </Modal>
    </PageContainer>
  );
}
