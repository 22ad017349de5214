import { App, Form, Modal } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import { GroupPicker } from './group-picker';

interface AddToGroupModalProps {
  open: boolean;
  terminalIds: readonly string[];
  onClose: () => void;
  onAdded: () => void;
}

/** Puts the selected terminals into one group (members who already are stay as they are). */
export function AddToGroupModal({ open, terminalIds, onClose, onAdded }: AddToGroupModalProps) {
  const { t } = useTranslation(['terminals', 'common']);
  const { message } = App.useApp();
  const [form] = Form.useForm<{ group_id: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async ({ group_id }: { group_id: string }) => {
    setBusy(true);
    setError(undefined);
    try {
      const reply = await unwrap(
        api.POST('/api/v1/terminal-groups/{id}/members', { params: { path: { id: group_id } }, body: { terminal_ids: [...terminalIds] } }),
      );
      void message.success(t('bulk.addedToGroup', { count: reply.added ?? 0 }));
      form.resetFields();
      onAdded();
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('bulk.addToGroupTitle', { count: terminalIds.length })}
      okText={t('bulk.addToGroup')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      okButtonProps={{ 'data-testid': 'add-to-group-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Form form={form} layout="vertical" onFinish={(v) => void submit(v)}>
        <Form.Item name="group_id" label={t('group')} rules={[{ required: true, message: t('groupRequired') }]}>
          <GroupPicker testId="add-to-group-group" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
