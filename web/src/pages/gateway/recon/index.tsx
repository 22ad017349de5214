import { UploadOutlined } from '@ant-design/icons';
import { App, Button, Card, Form, Input, Modal, Segmented, Select, Space, Table, Tag, Typography, Upload } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { PageContainer } from '../../../components/page-container';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import {
  EXCEPTION_FILTERS,
  actionsFor,
  importFile,
  listExceptions,
  listFiles,
  resolveException,
  splitPlatformState,
  type ExceptionFilter,
  type ReconException,
  type ReconFile,
  type StaffAction,
} from './model';

const MAX_NOTE = 500;
const PAGE = 20;
/** The server takes files up to 32 MiB. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

/**
 * Reconciliation with the card switch's daily settlement file: import a file, see each date's
 * outcome, and resolve the differences (write off to suspense, reverse our sale, or accept with a note).
 */
export default function GatewayReconPage() {
  const { t } = useTranslation('gatewayRecon');
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const writer = can('gateway:write');
  const [page, setPage] = useState(1);
  const [status, setStatus] = useState<ExceptionFilter>('open');
  const [fileFilter, setFileFilter] = useState<Pick<ReconFile, 'id' | 'settlement_date'>>();
  const [importing, setImporting] = useState(false);
  const [resolving, setResolving] = useState<ReconException>();
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<{ action: StaffAction; note: string }>();

  const files = useRequest(() => listFiles(PAGE, (page - 1) * PAGE), [page]);
  const exceptions = useRequest(() => listExceptions(status, fileFilter?.id), [status, fileFilter?.id]);

  const upload = async (picked: File) => {
    if (picked.size > MAX_FILE_BYTES) {
      void message.error(t('tooLarge'));
      return;
    }
    setImporting(true);
    try {
      const result = await importFile(await picked.text());
      void message.success(t(result.created ? 'imported' : 'alreadyImported', { date: result.file.settlement_date, exceptions: result.file.exception_count }));
      setFileFilter(result.file);
      files.reload();
      exceptions.reload();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)), 8);
    } finally {
      setImporting(false);
    }
  };

  const resolve = async (v: { action: StaffAction; note: string }) => {
    if (!resolving) return;
    setBusy(true);
    try {
      await resolveException(resolving.id, v.action, v.note.trim());
      void message.success(t('resolved'));
      setResolving(undefined);
      exceptions.reload();
      files.reload();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setBusy(false);
    }
  };

  const amount = (fen: number | null) => (fen === null ? '—' : <Money fen={fen} />);
  /** The journal's state word in the page's language; a response code or a date after it as it is. */
  const platformState = (value: string) => {
    const { state, rest, raw } = splitPlatformState(value);
    return state ? [t(`journalState.${state}`), rest].filter(Boolean).join(' ') : raw;
  };

  return (
    <PageContainer
      title={t('title')}
      extra={
        writer ? (
          <Upload
            accept=".csv,text/csv,text/plain"
            showUploadList={false}
            maxCount={1}
            beforeUpload={(picked) => {
              void upload(picked);
              return false;
            }}
          >
            <Button type="primary" icon={<UploadOutlined />} loading={importing} data-testid="recon-import">
              {t('import')}
            </Button>
          </Upload>
        ) : null
      }
    >
      <Typography.Paragraph type="secondary">{t('explain')}</Typography.Paragraph>
      <ErrorAlert error={files.error} />
      <Card title={t('files')} style={{ marginBottom: 16 }}>
        <Table<ReconFile>
          rowKey="id"
          size="middle"
          loading={files.loading}
          dataSource={files.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="recon-files"
          pagination={{ current: page, pageSize: PAGE, total: files.data?.total ?? 0, onChange: setPage, showSizeChanger: false }}
          onRow={(f) => ({ onClick: () => setFileFilter(f), style: { cursor: 'pointer' } })}
          columns={[
            { title: t('file.date'), dataIndex: 'settlement_date' },
            { title: t('file.lines'), dataIndex: 'line_count', align: 'right' },
            { title: t('file.sales'), key: 'sales', align: 'right', render: (_: unknown, f) => <span>{f.sale_count} · <Money fen={f.sale_amount} /></span> },
            { title: t('file.refunds'), key: 'refunds', align: 'right', render: (_: unknown, f) => <span>{f.refund_count} · <Money fen={f.refund_amount} /></span> },
            { title: t('file.reversals'), key: 'reversals', align: 'right', render: (_: unknown, f) => <span>{f.reversal_count} · <Money fen={f.reversal_amount} /></span> },
            { title: t('file.net'), dataIndex: 'net', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
            { title: t('file.matched'), dataIndex: 'matched_count', align: 'right' },
            { title: t('file.paired'), dataIndex: 'paired_count', align: 'right' },
            {
              title: t('file.exceptions'),
              key: 'exceptions',
              align: 'right',
              render: (_: unknown, f) => (f.open_exceptions > 0 ? <Tag color="red">{`${f.open_exceptions} / ${f.exception_count}`}</Tag> : f.exception_count),
            },
            { title: t('file.importedAt'), dataIndex: 'imported_at', render: (us: number) => formatMicros(us) },
          ]}
        />
      </Card>
      <Card title={t('exceptions')}>
        <Space style={{ marginBottom: 16 }} wrap>
          <Segmented<ExceptionFilter>
            value={status}
            onChange={setStatus}
            options={EXCEPTION_FILTERS.map((s) => ({ value: s, label: t(`filter.${s}`) }))}
            data-testid="recon-status"
          />
          {fileFilter ? (
            <Tag closable onClose={() => setFileFilter(undefined)} data-testid="recon-file-filter">
              {t('onlyFile', { date: fileFilter.settlement_date })}
            </Tag>
          ) : null}
        </Space>
        <ErrorAlert error={exceptions.error} />
        <Table<ReconException>
          rowKey="id"
          size="middle"
          loading={exceptions.loading}
          dataSource={exceptions.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="recon-exceptions"
          columns={[
            { title: t('file.date'), dataIndex: 'settlement_date' },
            { title: t('exc.kind'), dataIndex: 'kind', render: (k: ReconException['kind']) => <Tag>{t(`kind.${k}`)}</Tag> },
            { title: t('exc.type'), dataIndex: 'type', render: (v: ReconException['type']) => t(`type.${v}`) },
            { title: t('exc.rrn'), dataIndex: 'rrn', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
            { title: t('exc.platformState'), dataIndex: 'platform_state', render: (v: string | null) => (v === null ? '—' : platformState(v)) },
            { title: t('exc.switchAmount'), dataIndex: 'switch_amount', align: 'right', render: amount },
            { title: t('exc.platformAmount'), dataIndex: 'platform_amount', align: 'right', render: amount },
            { title: t('exc.difference'), dataIndex: 'difference', align: 'right', render: (fen: number) => <Money fen={fen} signed /> },
            {
              title: t('exc.outcome'),
              key: 'outcome',
              render: (_: unknown, x) =>
                x.action ? (
                  <span>
                    {t(`action.${x.action}`)}
                    {x.settled_date ? ` · ${t('settledOn', { date: x.settled_date })}` : ''}
                    {x.note ? ` · ${x.note}` : ''}
                  </span>
                ) : (
                  '—'
                ),
            },
            { title: t('exc.carried'), dataIndex: 'carried', render: (v: boolean) => (v ? <Tag color="orange">{t('carriedYes')}</Tag> : '—') },
            ...(writer
              ? [
                  {
                    title: '',
                    key: 'resolve',
                    render: (_: unknown, x: ReconException) =>
                      x.status === 'resolved' ? null : (
                        <Button
                          size="small"
                          onClick={() => {
                            form.resetFields();
                            setResolving(x);
                          }}
                          data-testid={`recon-resolve-${x.id}`}
                        >
                          {t('resolve')}
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
          title={t('resolve')}
          onCancel={() => setResolving(undefined)}
          onOk={() => form.submit()}
          confirmLoading={busy}
          okButtonProps={{ 'data-testid': 'recon-resolve-submit' }}
          forceRender
        >
          {resolving ? (
            <Typography.Paragraph>
              {t(`kind.${resolving.kind}`)} · {resolving.rrn} · {t('exc.difference')} <Money fen={resolving.difference} signed />
            </Typography.Paragraph>
          ) : null}
          <Form form={form} layout="vertical" onFinish={(v) => void resolve(v)}>
            <Form.Item name="action" label={t('actionLabel')} rules={[{ required: true, message: t('actionRequired') }]} extra={t('actionHelp')}>
              <Select<StaffAction>
                data-testid="recon-action"
                options={(resolving ? actionsFor(resolving) : []).map((a) => ({ value: a, label: t(`action.${a}`) }))}
              />
            </Form.Item>
            <Form.Item name="note" label={t('note')} rules={[{ required: true, whitespace: true, message: t('noteRequired') }, { max: MAX_NOTE }]}>
              <Input.TextArea rows={3} maxLength={MAX_NOTE} data-testid="recon-note" />
            </Form.Item>
          </Form>
        </Modal>
      ) : null}
    </PageContainer>
  );
}
