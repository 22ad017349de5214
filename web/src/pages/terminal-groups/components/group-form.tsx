import { Form, Input, Modal, Select } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import type { Organisation } from '../../../api/types';
import { ErrorAlert } from '../../../components/error-alert';
import { useLanguage } from '../../../hooks/use-language';
import { asApiError } from '../../../hooks/use-request';
import type { TerminalGroup } from '../../terminals/model';

/** 'HH:MM-HH:MM' in Beijing time; the window may cross midnight (22:00-04:00). */
export const WINDOW_PATTERN = /^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$/;

interface Values {
  org_id: string;
  name: string;
  maintenance_window?: string;
}

interface GroupFormProps {
  open: boolean;
  /** The group to change (name and window); none to create one. */
  group?: TerminalGroup;
  organisations: Organisation[];
  defaultOrgId: string;
  onClose: () => void;
  onSaved: (group: TerminalGroup) => void;
}

/** Creates a group, or renames one and sets its maintenance window. */
export function GroupForm({ open, group, organisations, defaultOrgId, onClose, onSaved }: GroupFormProps) {
  const { t } = useTranslation(['groups', 'common']);
  const { pick } = useLanguage();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  useEffect(() => {
    if (!open) return;
    setError(undefined);
    form.setFieldsValue(
      group ? { org_id: group.org_id, name: group.name, maintenance_window: group.maintenance_window ?? '' } : { org_id: defaultOrgId },
    );
  }, [open, group, defaultOrgId, form]);

  const submit = async (values: Values) => {
    setBusy(true);
    setError(undefined);
    try {
      const window = values.maintenance_window?.trim() || null;
      const saved = group
        ? await unwrap(
            api.PATCH('/api/v1/terminal-groups/{id}', {
              params: { path: { id: group.id } },
              body: { name: values.name.trim(), maintenance_window: window },
            }),
          )
        : await unwrap(
            api.POST('/api/v1/terminal-groups', { body: { org_id: values.org_id, name: values.name.trim(), maintenance_window: window } }),
          );
      form.resetFields();
      onSaved(saved);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={group ? t('editTitle') : t('addTitle')}
      okText={t('common:save')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      okButtonProps={{ 'data-testid': 'group-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)}>
        <Form.Item name="org_id" label={t('org')} rules={[{ required: true }]}>
          <Select
            disabled={!!group}
            showSearch={{ optionFilterProp: 'label' }}
            options={organisations.map((o) => ({ value: o.id, label: `${pick(o.name, o.name_en)} (${o.code})` }))}
          />
        </Form.Item>
        <Form.Item name="name" label={t('name')} rules={[{ required: true, whitespace: true, max: 64, message: t('nameRequired') }]}>
          <Input data-testid="group-name" />
        </Form.Item>
        <Form.Item
          name="maintenance_window"
          label={t('window')}
          extra={t('windowHint')}
          rules={[{ pattern: WINDOW_PATTERN, message: t('windowInvalid') }]}
        >
          <Input placeholder="02:00-05:00" data-testid="group-window" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
