import { UploadOutlined } from '@ant-design/icons';
import { Alert, Button, Checkbox, Descriptions, Form, Input, Modal, Typography, Upload } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import { formatBytes, previewBundle, type Published, type UploadQuery } from '../../apps/model';

/** The server takes bundles up to 20 MiB. */
const MAX_BUNDLE_BYTES = 20 * 1024 * 1024;

interface Values {
  min_shell_version?: string;
  release_notes_zh?: string;
  release_notes_en?: string;
  approve?: boolean;
}

interface UploadModalProps {
  open: boolean;
  appId: string;
  appCode: string;
  canApprove: boolean;
  onClose: () => void;
  onPublished: (published: Published) => void;
}

/**
 * Publishes a version: the bundle file goes up as its exact bytes (the digest is over them); the
 * server checks it, computes the SHA-256 and signs it with the platform key. The console reads
 * the file first only to show what it is and to stop an obvious mistake (another app's bundle).
 */
export function UploadModal({ open, appId, appCode, canApprove, onClose, onPublished }: UploadModalProps) {
  const { t } = useTranslation(['apps', 'common']);
  const [form] = Form.useForm<Values>();
  const [file, setFile] = useState<{ name: string; bytes: Uint8Array; preview: ReturnType<typeof previewBundle> }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  useEffect(() => {
    if (open) return;
    setFile(undefined);
    setError(undefined);
  }, [open]);

  const preview = file && !('problem' in file.preview) ? file.preview : undefined;
  const problem = !file
    ? undefined
    : file.bytes.length > MAX_BUNDLE_BYTES
      ? t('upload.tooLarge')
      : 'problem' in file.preview
        ? t(`upload.${file.preview.problem}`)
        : file.preview.app !== appCode
          ? t('upload.otherApp', { app: file.preview.app, expected: appCode })
          : undefined;

  const submit = async (values: Values) => {
    if (!file || !preview || problem) return;
    setBusy(true);
    setError(undefined);
    try {
      const query: UploadQuery = {
        version: preview.version,
        ...(values.min_shell_version?.trim() ? { min_shell_version: values.min_shell_version.trim() } : {}),
        ...(values.release_notes_zh?.trim() ? { release_notes_zh: values.release_notes_zh.trim() } : {}),
        ...(values.release_notes_en?.trim() ? { release_notes_en: values.release_notes_en.trim() } : {}),
        ...(values.approve ? { approve: true } : {}),
      };
      const bytes = file.bytes;
      const published = await unwrap(
        api.POST('/api/v1/apps/{id}/versions', {
          params: { path: { id: appId }, query },
          // The body is the file itself, byte for byte (the digest is over these bytes). The schema
          // types a binary body as a string; the serializer sends the bytes instead of JSON text.
          body: bytes as unknown as string,
          bodySerializer: () => new Blob([bytes as BlobPart], { type: 'application/json' }),
          headers: { 'content-type': 'application/json' },
        }),
      );
      form.resetFields();
      onPublished(published);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      width={640}
      title={t('upload.title', { app: appCode })}
      okText={t('upload.submit')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      okButtonProps={{ disabled: !preview || !!problem, 'data-testid': 'upload-submit' }}
      onOk={() => form.submit()}
      onCancel={onClose}
      destroyOnHidden
    >
      <ErrorAlert error={error} testId="upload-error" />
      <Typography.Paragraph type="secondary">{t('upload.explain')}</Typography.Paragraph>
      <Upload
        accept=".json,application/json"
        showUploadList={false}
        maxCount={1}
        beforeUpload={(picked) => {
          void picked.arrayBuffer().then((buffer) => {
            const bytes = new Uint8Array(buffer);
            setFile({
              name: picked.name,
              bytes,
              preview: bytes.length > MAX_BUNDLE_BYTES ? { problem: 'not_bundle' } : previewBundle(bytes),
            });
            setError(undefined);
          });
          return false;
        }}
      >
        <Button icon={<UploadOutlined />} data-testid="upload-file">
          {t('upload.pick')}
        </Button>
      </Upload>
      {file ? (
        <Descriptions
          size="small"
          column={1}
          style={{ marginTop: 12 }}
          data-testid="upload-preview"
          items={[
            { key: 'file', label: t('upload.file'), children: file.name },
            { key: 'size', label: t('size'), children: formatBytes(file.bytes.length) },
            ...(preview
              ? [
                  { key: 'app', label: t('code'), children: preview.app },
                  { key: 'version', label: t('version'), children: <span data-testid="upload-version">{preview.version}</span> },
                  { key: 'files', label: t('fileCount'), children: preview.files },
                ]
              : []),
          ]}
        />
      ) : null}
      {problem ? <Alert type="error" showIcon title={problem} style={{ marginTop: 12 }} data-testid="upload-problem" /> : null}
      <Form<Values> form={form} layout="vertical" style={{ marginTop: 16 }} onFinish={(v) => void submit(v)}>
        <Form.Item
          name="min_shell_version"
          label={t('minShell')}
          rules={[{ pattern: /^[0-9A-Za-z.+-]{5,64}$/, message: t('versionInvalid') }]}
        >
          <Input placeholder="1.0.0" style={{ width: 200 }} />
        </Form.Item>
        <Form.Item name="release_notes_zh" label={t('notesZh')} rules={[{ max: 2000 }]}>
          <Input.TextArea rows={2} />
        </Form.Item>
        <Form.Item name="release_notes_en" label={t('notesEn')} rules={[{ max: 2000 }]}>
          <Input.TextArea rows={2} />
        </Form.Item>
        {canApprove ? (
          <Form.Item name="approve" valuePropName="checked">
            <Checkbox data-testid="upload-approve">{t('upload.approve')}</Checkbox>
          </Form.Item>
        ) : null}
      </Form>
    </Modal>
  );
}
