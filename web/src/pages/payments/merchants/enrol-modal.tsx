import { App, Form, Input, Modal, Radio } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import { useErrorText } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import { PartyPicker } from '../../terminals/components/party-picker';
import { FeePlanSelect } from '../components/fee-plan-select';
import { MccInput } from '../components/mcc-input';
import { MCC_PATTERN, SETTLEMENT_CYCLES, type Merchant, type SettlementCycle } from '../model';

/** A merchant's account number in the bank's core-banking system (the server checks the same). */
export const CORE_ACCOUNT_PATTERN = /^[0-9]{8,32}$/;

interface Values {
  party_id: string;
  mcc: string;
  fee_plan_id: string;
  settlement_cycle: SettlementCycle;
  core_account?: string;
}

/** Enrols a merchant or agent party as an acquiring merchant (the server opens its two accounts). */
export function EnrolModal({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: (m: Merchant) => void }) {
  const { t } = useTranslation('payments');
  const { message } = App.useApp();
  const errorText = useErrorText();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const submit = async ({ core_account, ...v }: Values) => {
    setBusy(true);
    try {
      // Left empty: no core account (the server refuses an empty string).
      const body = core_account ? { ...v, core_account } : v;
      const m = await unwrap(api.POST('/api/v1/merchants', { body }));
      void message.success(t('merchant.enrolled'));
      form.resetFields();
      onDone(m);
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      open={open}
      title={t('merchant.enrol')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={busy}
      okButtonProps={{ 'data-testid': 'merchant-enrol-submit' }}
      destroyOnHidden
    >
      <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ settlement_cycle: 'T1' }}>
        <Form.Item name="party_id" label={t('merchant.party')} rules={[{ required: true }]}>
          <PartyPicker testId="merchant-enrol-party" />
        </Form.Item>
        <Form.Item
          name="mcc"
          label={t('merchant.mcc')}
          rules={[{ required: true, pattern: MCC_PATTERN, message: t('merchant.mccInvalid') }]}
        >
          <MccInput testId="merchant-enrol-mcc" />
        </Form.Item>
        <Form.Item name="fee_plan_id" label={t('merchant.feePlan')} rules={[{ required: true }]}>
          <FeePlanSelect testId="merchant-enrol-plan" />
        </Form.Item>
        <Form.Item name="settlement_cycle" label={t('merchant.cycle')} extra={t('merchant.cycleHelp')}>
          <Radio.Group optionType="button" options={SETTLEMENT_CYCLES.map((c) => ({ value: c, label: c }))} />
        </Form.Item>
        <Form.Item
          name="core_account"
          label={t('merchant.coreAccount')}
          extra={t('merchant.coreAccountHelp')}
          rules={[{ pattern: CORE_ACCOUNT_PATTERN, message: t('merchant.coreAccountInvalid') }]}
        >
          <Input inputMode="numeric" maxLength={32} allowClear data-testid="merchant-enrol-core-account" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
