import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Flex, Form, Input, InputNumber, Modal, Popconfirm, Segmented, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import type { paths } from '../../../api/schema';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { useLanguage } from '../../../hooks/use-language';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { formatMicros } from '../../../utils/time';

type CommandList = paths['/api/v1/terminals/{id}/commands']['get']['responses'][200]['content']['application/json'];
type Command = CommandList['items'][number];
type CommandStatus = Command['status'];

const STATUS_COLOUR: Record<CommandStatus, string> = { pending: 'blue', acked: 'green', expired: 'default', cancelled: 'orange' };
const FILTERS = ['all', 'pending', 'acked', 'expired', 'cancelled'] as const;
type Filter = (typeof FILTERS)[number];

interface CommandsPanelProps {
  terminalId: string;
  canWrite: boolean;
}

/** A message command's text in the console's language; other kinds show their payload briefly. */
function usePayloadText(): (c: Command) => string {
  const { pick } = useLanguage();
  return (c) => {
    const message = c.payload.message as { zh?: unknown; en?: unknown } | undefined;
    if (c.kind === 'message' && message && typeof message.zh === 'string')
      return pick(message.zh, typeof message.en === 'string' ? message.en : null);
    const text = JSON.stringify(c.payload);
    return text.length > 120 ? `${text.slice(0, 117)}…` : text;
  };
}

/** The terminal's command queue: what was sent, whether it was acknowledged; send a message, cancel. */
export function CommandsPanel({ terminalId, canWrite }: CommandsPanelProps) {
  const { t } = useTranslation(['terminals', 'common']);
  const { message } = App.useApp();
  const errorText = useErrorText();
  const payloadText = usePayloadText();
  const [filter, setFilter] = useState<Filter>('all');
  const [sending, setSending] = useState(false);
  const commands = useRequest(
    () =>
      unwrap(
        api.GET('/api/v1/terminals/{id}/commands', {
          params: { path: { id: terminalId }, query: { limit: 200, ...(filter === 'all' ? {} : { status: filter }) } },
        }),
      ),
    [terminalId, filter],
  );

  const cancel = async (command: Command) => {
    try {
      await unwrap(
        api.DELETE('/api/v1/terminals/{id}/commands/{commandId}', { params: { path: { id: terminalId, commandId: command.id } } }),
      );
      void message.success(t('command.cancelled'));
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    }
    commands.reload();
  };

  return (
    <>
      <Flex justify="space-between" wrap gap={12} style={{ marginBottom: 12 }}>
        <Segmented<Filter>
          value={filter}
          onChange={setFilter}
          options={FILTERS.map((f) => ({ value: f, label: t(`command.filter.${f}`) }))}
        />
        <Flex gap={8}>
          <Button onClick={commands.reload}>{t('common:reload')}</Button>
          {canWrite ? (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setSending(true)} data-testid="command-send">
              {t('command.send')}
            </Button>
          ) : null}
        </Flex>
      </Flex>
      <ErrorAlert error={commands.error} />
      <Table<Command>
        rowKey="id"
        size="small"
        loading={commands.loading}
        dataSource={commands.data?.items}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 'max-content' }}
        data-testid="command-table"
        columns={[
          { title: t('command.createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
          { title: t('command.kindLabel'), dataIndex: 'kind', render: (k: Command['kind']) => t(`command.kind.${k}`) },
          {
            title: t('command.statusLabel'),
            dataIndex: 'status',
            render: (s: CommandStatus) => <Tag color={STATUS_COLOUR[s]}>{t(`command.status.${s}`)}</Tag>,
          },
          {
            title: t('command.content'),
            key: 'payload',
            render: (_: unknown, c) => (
              <Typography.Text ellipsis style={{ maxWidth: 320 }}>
                {payloadText(c)}
              </Typography.Text>
            ),
          },
          { title: t('command.notBefore'), dataIndex: 'not_before', render: (us: number | null) => (us ? formatMicros(us) : '—') },
          { title: t('command.expiresAt'), dataIndex: 'expires_at', render: (us: number) => formatMicros(us) },
          { title: t('command.ackedAt'), dataIndex: 'acked_at', render: (us: number | null) => (us ? formatMicros(us) : '—') },
          ...(canWrite
            ? [
                {
                  title: '',
                  key: 'actions',
                  render: (_: unknown, c: Command) =>
                    c.status === 'pending' ? (
                      <Popconfirm
                        title={t('command.cancelConfirm')}
                        onConfirm={() => void cancel(c)}
                        okText={t('command.cancel')}
                        cancelText={t('common:cancel')}
                      >
                        <Button size="small" danger data-testid={`command-cancel-${c.id}`}>
                          {t('command.cancel')}
                        </Button>
                      </Popconfirm>
                    ) : null,
                },
              ]
            : []),
        ]}
      />
      <SendMessageModal
        open={sending}
        terminalId={terminalId}
        onClose={() => setSending(false)}
        onSent={() => {
          setSending(false);
          void message.success(t('command.sent'));
          commands.reload();
        }}
      />
    </>
  );
}

interface MessageValues {
  zh: string;
  en: string;
  expires_in_h: number;
}

function SendMessageModal({
  open,
  terminalId,
  onClose,
  onSent,
}: {
  open: boolean;
  terminalId: string;
  onClose: () => void;
  onSent: () => void;
}) {
  const { t } = useTranslation(['terminals', 'common']);
  const [form] = Form.useForm<MessageValues>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: MessageValues) => {
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(
        api.POST('/api/v1/terminals/{id}/commands', {
          params: { path: { id: terminalId } },
          body: {
            kind: 'message',
            message: { zh: values.zh.trim(), en: values.en.trim() },
            expires_in_s: Math.round(values.expires_in_h * 3_600),
          },
        }),
      );
      form.resetFields();
      onSent();
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('command.sendTitle')}
      okText={t('command.sendSubmit')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      okButtonProps={{ 'data-testid': 'command-send-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Form<MessageValues> form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ expires_in_h: 24 }}>
        <Form.Item
          name="zh"
          label={t('command.messageZh')}
          rules={[{ required: true, whitespace: true, max: 500, message: t('command.messageRequired') }]}
        >
          <Input.TextArea rows={3} maxLength={500} data-testid="command-message-zh" />
        </Form.Item>
        <Form.Item
          name="en"
          label={t('command.messageEn')}
          rules={[{ required: true, whitespace: true, max: 500, message: t('command.messageRequired') }]}
        >
          <Input.TextArea rows={3} maxLength={500} data-testid="command-message-en" />
        </Form.Item>
        <Form.Item name="expires_in_h" label={t('command.validHours')} rules={[{ required: true, type: 'number', min: 1, max: 720 }]}>
          <InputNumber<number> min={1} max={720} precision={0} suffix={t('command.hours')} style={{ width: 160 }} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
