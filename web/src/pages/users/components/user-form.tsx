import { Form, Input, Modal, Select } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import { ROLES } from '../../../api/enums';
import type { ApiError } from '../../../api/errors';
import type { NewUser, Organisation, Role, User } from '../../../api/types';
import { ErrorAlert } from '../../../components/error-alert';
import { useLanguage } from '../../../hooks/use-language';
import { asApiError } from '../../../hooks/use-request';

interface Values {
  username: string;
  display_name: string;
  role: Role;
  org_id: string;
  merchant_id?: string;
  password: string;
}

interface UserFormProps {
  open: boolean;
  organisations: Organisation[];
  defaultOrgId: string;
  onClose: () => void;
  onCreated: (user: User) => void;
}

/** Merchant-side roles act for one party, whose id goes in merchant_id. */
const PARTY_BOUND: Role[] = ['merchant_owner', 'cashier', 'buyer', 'agent'];

export function UserForm({ open, organisations, defaultOrgId, onClose, onCreated }: UserFormProps) {
  const { t } = useTranslation(['users', 'common']);
  const { pick } = useLanguage();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const role = Form.useWatch('role', form);

  const submit = async (values: Values) => {
    setBusy(true);
    setError(undefined);
    try {
      const merchant = values.merchant_id?.trim();
      const body: NewUser = {
        username: values.username.trim(),
        display_name: values.display_name.trim(),
        role: values.role,
        org_id: values.org_id,
        merchant_id: merchant || null,
        password: values.password,
      };
      const created = await unwrap(api.POST('/api/v1/users', { body }));
      form.resetFields();
      onCreated(created);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('addTitle')}
      okText={t('common:save')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      okButtonProps={{ 'data-testid': 'user-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Form<Values>
        form={form}
        layout="vertical"
        onFinish={(v) => void submit(v)}
        initialValues={{ role: 'branch_staff', org_id: defaultOrgId }}
      >
        <Form.Item
          name="username"
          label={t('username')}
          extra={t('usernameHint')}
          rules={[{ required: true, pattern: /^[a-z0-9_.-]{3,32}$/, message: t('usernameInvalid') }]}
        >
          <Input autoComplete="off" data-testid="user-username" />
        </Form.Item>
        <Form.Item name="display_name" label={t('displayName')} rules={[{ required: true, max: 100, message: t('displayNameRequired') }]}>
          <Input data-testid="user-display-name" />
        </Form.Item>
        <Form.Item name="role" label={t('role')} rules={[{ required: true }]}>
          <Select<Role> data-testid="user-role" options={ROLES.map((r) => ({ value: r, label: t(`common:role.${r}`) }))} />
        </Form.Item>
        <Form.Item name="org_id" label={t('org')} rules={[{ required: true }]}>
          <Select
            showSearch={{ optionFilterProp: 'label' }}
            options={organisations.map((o) => ({ value: o.id, label: `${pick(o.name, o.name_en)} (${o.code})` }))}
          />
        </Form.Item>
        {role && PARTY_BOUND.includes(role) ? (
          <Form.Item
            name="merchant_id"
            label={t('merchantId')}
            extra={t('merchantIdHint')}
            rules={[{ required: true, message: t('merchantIdRequired') }]}
          >
            <Input data-testid="user-merchant-id" />
          </Form.Item>
        ) : null}
        <Form.Item
          name="password"
          label={t('password')}
          extra={t('passwordHint')}
          rules={[{ required: true, min: 10, max: 128, pattern: /^(?=.*[A-Za-z])(?=.*[0-9])/, message: t('passwordInvalid') }]}
        >
          <Input.Password autoComplete="new-password" data-testid="user-password" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
