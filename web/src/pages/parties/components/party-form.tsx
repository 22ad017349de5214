import { Checkbox, Form, Input, Modal, Radio, Select } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import { PARTY_KINDS, PARTY_ROLES } from '../../../api/enums';
import type { ApiError } from '../../../api/errors';
import type { NewParty, Organisation, Party, PartyKind, PartyRole } from '../../../api/types';
import { ErrorAlert } from '../../../components/error-alert';
import { useLanguage } from '../../../hooks/use-language';
import { asApiError } from '../../../hooks/use-request';

interface Values {
  kind: PartyKind;
  name: string;
  roles: PartyRole[];
  org_id: string;
  national_id?: string;
  phone?: string;
  region_code?: string;
}

interface PartyFormProps {
  open: boolean;
  organisations: Organisation[];
  defaultOrgId: string;
  onClose: () => void;
  onCreated: (party: Party) => void;
}

/** Registers a customer, farmer, merchant, buyer or agent. */
export function PartyForm({ open, organisations, defaultOrgId, onClose, onCreated }: PartyFormProps) {
  const { t } = useTranslation(['parties', 'common']);
  const { pick } = useLanguage();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: Values) => {
    setBusy(true);
    setError(undefined);
    try {
      const body: NewParty = {
        kind: values.kind,
        name: values.name.trim(),
        roles: values.roles,
        org_id: values.org_id,
        national_id: values.national_id?.trim() || null,
        phone: values.phone?.trim() || null,
        region_code: values.region_code?.trim() || null,
      };
      const created = await unwrap(api.POST('/api/v1/parties', { body }));
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
      okButtonProps={{ 'data-testid': 'party-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} testId="party-error" />
      <Form<Values>
        form={form}
        layout="vertical"
        onFinish={(v) => void submit(v)}
        initialValues={{ kind: 'person', roles: ['customer'], org_id: defaultOrgId }}
      >
        <Form.Item name="kind" label={t('kindLabel')} rules={[{ required: true }]}>
          <Radio.Group data-testid="party-kind" options={PARTY_KINDS.map((k) => ({ value: k, label: t(`kind.${k}`) }))} />
        </Form.Item>
        <Form.Item name="name" label={t('name')} rules={[{ required: true, max: 100, message: t('nameRequired') }]}>
          <Input data-testid="party-name" />
        </Form.Item>
        <Form.Item name="roles" label={t('roles')} rules={[{ required: true, type: 'array', min: 1, message: t('rolesRequired') }]}>
          <Checkbox.Group data-testid="party-roles" options={PARTY_ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))} />
        </Form.Item>
        <Form.Item name="org_id" label={t('org')} rules={[{ required: true }]}>
          <Select
            data-testid="party-org"
            showSearch={{ optionFilterProp: 'label' }}
            options={organisations.map((o) => ({ value: o.id, label: `${pick(o.name, o.name_en)} (${o.code})` }))}
          />
        </Form.Item>
        <Form.Item name="national_id" label={t('nationalId')} rules={[{ pattern: /^[0-9]{17}[0-9Xx]$/, message: t('nationalIdInvalid') }]}>
          <Input maxLength={18} autoComplete="off" data-testid="party-national-id" />
        </Form.Item>
        <Form.Item name="phone" label={t('phone')} rules={[{ pattern: /^1[0-9]{10}$/, message: t('phoneInvalid') }]}>
          <Input inputMode="tel" maxLength={11} data-testid="party-phone" />
        </Form.Item>
        <Form.Item name="region_code" label={t('region')} rules={[{ pattern: /^[0-9]{2,12}$/, message: t('regionInvalid') }]}>
          <Input inputMode="numeric" data-testid="party-region" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
