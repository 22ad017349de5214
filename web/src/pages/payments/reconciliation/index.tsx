import { App, Button, Card, Form, Input, Modal, Segmented, Select, Table, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { PageContainer } from '../../../components/page-container';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import {
  RECON_ACTIONS,
  RECON_STATUSES,
  type ReconAction,
  type ReconException,
  type ReconKind,
  type ReconStatus,
  type TxnStatus,
} from '../model';

const MAX_NOTE = 500;

/** Batch reconciliation exceptions by status; settlement staff resolve one with an action and a note. */
export default function ReconciliationPage() {
  const { t } = useTranslation('payments');
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const [status, setStatus] = useState<ReconStatus>('open');
  const [resolving, setResolving] = useState<ReconException>();
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<{ action: ReconAction; note?: string }>();
  const list = useRequest(
    () => unwrap(api.GET('/api/v1/reconciliation/exceptions', { params: { query: { status, limit: 1000 } } })),
    [status],
  );
  const action = Form.useWatch('action', form);
  const writer = can('settlement:run');

  const resolve = async (v: { action: ReconAction; note?: string }) => {
    if (!resolving) return;
    setBusy(true);
    try {
      const note = v.note?.trim();
      await unwrap(
        api.POST('/api/v1/reconciliation/exceptions/{id}/resolve', {
          params: { path: { id: resolving.id } },
          body: { action: v.action, ...(note ? { note } : {}) },
        }),
      );
      void message.success(t('recon.resolved'));
      setResolving(undefined);
      list.reload();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setBusy(false);
    }
  };
  const amount = (fen: number | null) => (fen === null ? '—' : <Money fen={fen} />);

  return (
    <PageContainer title={t('recon.title')}>
      <ErrorAlert error={list.error} />
      <Card>
        <Segmented<ReconStatus>
          value={status}
          onChange={setStatus}
          options={RECON_STATUSES.map((s) => ({ value: s, label: t(`reconStatus.${s}`) }))}
          style={{ marginBottom: 16 }}
          data-testid="recon-status"
        />
        <Table<ReconException>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={list.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="recon-table"
          columns={[
            { title: t('recon.at'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
            { title: t('recon.kind'), dataIndex: 'kind', render: (k: ReconKind) => <Tag>{t(`reconKind.${k}`)}</Tag> },
            { title: t('txn.terminal'), dataIndex: 'terminal_serial', render: (v: string | null, x) => v ?? x.terminal_id },
            { title: t('recon.batch'), dataIndex: 'batch_no' },
            { title: t('txn.clientId'), dataIndex: 'client_id' },
            {
              title: t('recon.hostStatus'),
              dataIndex: 'host_status',
              render: (v: string | null) => (v ? t(`txnStatus.${v as TxnStatus}`, { defaultValue: v }) : '—'),
            },
            { title: t('recon.terminalAmount'), dataIndex: 'terminal_amount', align: 'right', render: amount },
            { title: t('recon.hostAmount'), dataIndex: 'host_amount', align: 'right', render: amount },
            {
              title: t('recon.resolution'),
              dataIndex: 'resolution',
              render: (r: ReconAction | null, x) => (r ? `${t(`reconAction.${r}`)}${x.note ? ` · ${x.note}` : ''}` : '—'),
            },
            ...(writer && status === 'open'
              ? [
                  {
                    title: '',
                    key: 'resolve',
                    render: (_: unknown, x: ReconException) => (
                      <Button
                        size="small"
                        onClick={() => {
                          form.resetFields();
                          setResolving(x);
                        }}
                        data-testid={`recon-resolve-${x.id}`}
                      >
                        {t('recon.resolve')}
                      </Button>
                    ),
                  },
                ]
              : []),
          ]}
        />
      </Card>
      {writer ? (
        <Modal
          open={!!resolving}
          title={t('recon.resolve')}
          onCancel={() => setResolving(undefined)}
          onOk={() => form.submit()}
          confirmLoading={busy}
          okButtonProps={{ 'data-testid': 'recon-resolve-submit' }}
          forceRender
        >
          <Form form={form} layout="vertical" onFinish={(v) => void resolve(v)}>
            <Form.Item name="action" label={t('recon.action')} rules={[{ required: true }]}>
              <Select<ReconAction>
                data-testid="recon-action"
                options={RECON_ACTIONS.map((a) => ({ value: a, label: t(`reconAction.${a}`) }))}
              />
            </Form.Item>
            <Form.Item
              name="note"
              label={t('recon.note')}
              extra={t('recon.noteHelp')}
              rules={[{ required: action === 'write_off' || action === 'note', whitespace: true, max: MAX_NOTE }]}
            >
              <Input.TextArea rows={3} maxLength={MAX_NOTE} data-testid="recon-note" />
            </Form.Item>
          </Form>
        </Modal>
      ) : null}
    </PageContainer>
  );
}
