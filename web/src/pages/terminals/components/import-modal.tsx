import { UploadOutlined } from '@ant-design/icons';
import { Alert, Button, Checkbox, Flex, Input, Modal, Table, Typography, Upload } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { useLanguage } from '../../../hooks/use-language';
import { asApiError } from '../../../hooks/use-request';
import type { ImportProblem, ImportReport } from '../model';

interface ImportModalProps {
  open: boolean;
  onClose: () => void;
  /** After rows were written (not after a dry run). */
  onImported: (report: ImportReport) => void;
}

/** The server takes up to 10,000 rows in one JSON string of at most 4,000,000 characters. */
const MAX_CSV_CHARS = 4_000_000;
const TEMPLATE = 'serial,model,kind,owner_party_id,region_code,lat,lng,tags\n';

/**
 * CSV import: pick a file (or paste), optionally check only, then see per row what was refused.
 * Valid rows are written even when others are refused, as the server does; the report says which.
 */
export function ImportModal({ open, onClose, onImported }: ImportModalProps) {
  const { t } = useTranslation(['terminals', 'common']);
  const { serverLocale } = useLanguage();
  const [csv, setCsv] = useState('');
  const [fileName, setFileName] = useState<string>();
  const [dryRun, setDryRun] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [report, setReport] = useState<ImportReport>();

  useEffect(() => {
    if (open) return;
    setCsv('');
    setFileName(undefined);
    setReport(undefined);
    setError(undefined);
    setDryRun(false);
  }, [open]);

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    setReport(undefined);
    try {
      const result = await unwrap(api.POST('/api/v1/terminals/import', { body: { csv, dry_run: dryRun } }));
      setReport(result);
      if (!result.dry_run && result.created > 0) onImported(result);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  const tooLong = csv.length > MAX_CSV_CHARS;
  // After an import the same text would only repeat it (its rows now refused as duplicates).
  const imported = report !== undefined && !report.dry_run;
  return (
    <Modal
      open={open}
      width={820}
      title={t('import.title')}
      onCancel={onClose}
      destroyOnHidden
      footer={
        <>
          <Button onClick={onClose}>{t('import.close')}</Button>
          <Button
            type="primary"
            loading={busy}
            disabled={!csv.trim() || tooLong || imported}
            onClick={() => void submit()}
            data-testid="import-submit"
          >
            {dryRun ? t('import.check') : t('import.submit')}
          </Button>
        </>
      }
    >
      <Typography.Paragraph type="secondary">{t('import.explain')}</Typography.Paragraph>
      <Typography.Paragraph>
        <Typography.Text code copyable={{ text: TEMPLATE }}>
          {TEMPLATE.trim()}
        </Typography.Text>
      </Typography.Paragraph>
      <Flex gap={12} align="center" wrap style={{ marginBottom: 12 }}>
        <Upload
          accept=".csv,text/csv,text/plain"
          showUploadList={false}
          maxCount={1}
          beforeUpload={(file) => {
            // Read in the browser; nothing is uploaded until the user submits.
            void file.text().then((text) => {
              setCsv(text.replace(/^\uFEFF/, ''));
              setFileName(file.name);
              setReport(undefined);
            });
            return false;
          }}
        >
          <Button icon={<UploadOutlined />} data-testid="import-file">
            {t('import.pickFile')}
          </Button>
        </Upload>
        {fileName ? <Typography.Text data-testid="import-file-name">{fileName}</Typography.Text> : null}
        <Checkbox checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} data-testid="import-dry-run">
          {t('import.dryRun')}
        </Checkbox>
      </Flex>
      <Input.TextArea
        value={csv}
        onChange={(e) => {
          setCsv(e.target.value);
          setReport(undefined);
        }}
        rows={6}
        spellCheck={false}
        placeholder={t('import.paste')}
        style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' }}
        data-testid="import-csv"
      />
      {tooLong ? <Alert type="error" showIcon title={t('import.tooLong')} style={{ marginTop: 12 }} /> : null}
      <div style={{ marginTop: 12 }}>
        <ErrorAlert error={error} testId="import-error" />
      </div>
      {report ? (
        <div data-testid="import-report">
          <Alert
            type={report.errors.length || report.errors_omitted ? 'warning' : 'success'}
            showIcon
            style={{ marginBottom: 12 }}
            data-testid="import-summary"
            title={
              report.dry_run
                ? t('import.summaryDry', { rows: report.rows, valid: report.valid, invalid: report.rows - report.valid })
                : t('import.summary', { rows: report.rows, created: report.created, invalid: report.rows - report.valid })
            }
            description={report.errors_omitted ? t('import.omitted', { count: report.errors_omitted }) : undefined}
          />
          {report.errors.length ? (
            <Table<ImportProblem>
              size="small"
              rowKey={(p) => `${p.row}:${p.field}:${p.code}`}
              dataSource={report.errors}
              pagination={report.errors.length > 20 ? { pageSize: 20 } : false}
              scroll={{ y: 320 }}
              data-testid="import-errors"
              columns={[
                { title: t('import.row'), dataIndex: 'row', width: 72 },
                { title: t('import.field'), dataIndex: 'field', width: 130 },
                { title: t('import.code'), dataIndex: 'code', width: 190, ellipsis: true },
                { title: t('import.message'), key: 'message', render: (_: unknown, p) => p.messages[serverLocale] },
              ]}
            />
          ) : null}
        </div>
      ) : null}
    </Modal>
  );
}
