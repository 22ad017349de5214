import { Form, Input, Modal, Select } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import type { Account, AccountCode, AccountType } from '../../../api/types';
import { ErrorAlert } from '../../../components/error-alert';
import { useLanguage } from '../../../hooks/use-language';
import { asApiError } from '../../../hooks/use-request';

interface Values {
  code: AccountCode;
  name?: string;
}

interface OpenAccountModalProps {
  open: boolean;
  ownerId: string;
  /** Customer-facing account types (internal ones belong to organisations). */
  types: AccountType[];
  onClose: () => void;
  onOpened: (account: Account) => void;
}

export function OpenAccountModal({ open, ownerId, types, onClose, onOpened }: OpenAccountModalProps) {
  const { t } = useTranslation(['parties', 'common']);
  const { pick } = useLanguage();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: Values) => {
    setBusy(true);
    setError(undefined);
    try {
      const name = values.name?.trim();
      const account = await unwrap(
        api.POST('/api/v1/accounts', { body: { code: values.code, owner_id: ownerId, ...(name ? { name } : {}) } }),
      );
      form.resetFields();
      onOpened(account);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('openAccount')}
      okText={t('openAccountSubmit')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      okButtonProps={{ 'data-testid': 'open-account-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} testId="open-account-error" />
      <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ code: types[0]?.code }}>
        <Form.Item name="code" label={t('accountType')} rules={[{ required: true }]}>
          <Select
            data-testid="open-account-code"
            options={types.map((a) => ({ value: a.code, label: `${a.code} · ${pick(a.zh, a.en)}` }))}
          />
        </Form.Item>
        <Form.Item name="name" label={t('accountName')} extra={t('accountNameHint')} rules={[{ max: 100 }]}>
          <Input data-testid="open-account-name" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
