import { Form, Input, Modal, Select } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import { SCENARIOS, type AppInfo, type NewApp, type Scenario } from '../model';

interface Values {
  code: string;
  name_zh: string;
  name_en: string;
  scenario: Scenario;
  description_zh?: string;
  description_en?: string;
}

/** Adds an app to the bank-wide catalogue; its versions come as uploaded bundles. */
export function AppForm({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (app: AppInfo) => void }) {
  const { t } = useTranslation(['apps', 'common']);
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: Values) => {
    setBusy(true);
    setError(undefined);
    try {
      const zh = values.description_zh?.trim();
      const en = values.description_en?.trim();
      const body: NewApp = {
        code: values.code.trim(),
        name_zh: values.name_zh.trim(),
        name_en: values.name_en.trim(),
        scenario: values.scenario,
        ...(zh ? { description_zh: zh } : {}),
        ...(en ? { description_en: en } : {}),
      };
      const created = await unwrap(api.POST('/api/v1/apps', { body }));
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
      okButtonProps={{ 'data-testid': 'app-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ scenario: 'common' }}>
        <Form.Item
          name="code"
          label={t('code')}
          extra={t('codeHint')}
          rules={[{ required: true, pattern: /^[a-z][a-z0-9-]{1,31}$/, message: t('codeInvalid') }]}
        >
          <Input autoComplete="off" spellCheck={false} data-testid="app-code" />
        </Form.Item>
        <Form.Item name="name_zh" label={t('nameZh')} rules={[{ required: true, whitespace: true, max: 100, message: t('nameRequired') }]}>
          <Input data-testid="app-name-zh" />
        </Form.Item>
        <Form.Item name="name_en" label={t('nameEn')} rules={[{ required: true, whitespace: true, max: 100, message: t('nameRequired') }]}>
          <Input data-testid="app-name-en" />
        </Form.Item>
        <Form.Item name="scenario" label={t('scenarioLabel')} rules={[{ required: true }]}>
          <Select<Scenario> data-testid="app-scenario" options={SCENARIOS.map((s) => ({ value: s, label: t(`scenario.${s}`) }))} />
        </Form.Item>
        <Form.Item name="description_zh" label={t('descriptionZh')} rules={[{ max: 1000 }]}>
          <Input.TextArea rows={2} />
        </Form.Item>
        <Form.Item name="description_en" label={t('descriptionEn')} rules={[{ max: 1000 }]}>
          <Input.TextArea rows={2} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
