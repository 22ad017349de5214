import { KeyOutlined } from '@ant-design/icons';
import { Alert, Button, Descriptions, Modal, Segmented, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import { formatMicros } from '../../../utils/time';
import { CODE_TTL_CHOICES_S, type IssuedCode } from '../model';

interface ActivationCodeModalProps {
  open: boolean;
  terminalId: string;
  serial: string;
  onClose: () => void;
  /** After a code was issued (the list of issued codes changed). */
  onIssued?: () => void;
}

/**
 * Issues a one-time activation code and shows it once. The code lives only in this component's
 * state: closing the dialog forgets it, and the server keeps only a blind index of it.
 */
export function ActivationCodeModal({ open, terminalId, serial, onClose, onIssued }: ActivationCodeModalProps) {
  const { t } = useTranslation(['terminals', 'common']);
  const [ttl, setTtl] = useState<number>(24 * 3_600);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [issued, setIssued] = useState<IssuedCode>();

  useEffect(() => {
    if (open) return;
    setIssued(undefined);
    setError(undefined);
  }, [open]);

  const issue = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const code = await unwrap(
        api.POST('/api/v1/terminals/{id}/activation-codes', { params: { path: { id: terminalId } }, body: { expires_in_s: ttl } }),
      );
      setIssued(code);
      onIssued?.();
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('code.title', { serial })}
      onCancel={onClose}
      destroyOnHidden
      footer={
        issued ? (
          <Button type="primary" onClick={onClose} data-testid="activation-code-done">
            {t('code.done')}
          </Button>
        ) : (
          <>
            <Button onClick={onClose}>{t('common:cancel')}</Button>
            <Button type="primary" icon={<KeyOutlined />} loading={busy} onClick={() => void issue()} data-testid="activation-code-issue">
              {t('code.issue')}
            </Button>
          </>
        )
      }
    >
      <ErrorAlert error={error} testId="activation-code-error" />
      {issued ? (
        <>
          <Alert type="warning" showIcon title={t('code.shownOnce')} style={{ marginBottom: 16 }} />
          <Typography.Paragraph
            className="secret-box"
            copyable={{ text: issued.code, tooltips: [t('code.copy'), t('code.copied')] }}
            style={{ fontSize: 28, textAlign: 'center', letterSpacing: 2 }}
            data-testid="activation-code-value"
          >
            {issued.code_display}
          </Typography.Paragraph>
          <Descriptions
            column={1}
            size="small"
            items={[
              { key: 'serial', label: t('serial'), children: serial },
              {
                key: 'expires',
                label: t('code.expiresAt'),
                children: <span data-testid="activation-code-expiry">{formatMicros(issued.expires_at)}</span>,
              },
            ]}
          />
        </>
      ) : (
        <>
          <Typography.Paragraph>{t('code.explain')}</Typography.Paragraph>
          <Typography.Paragraph type="secondary">{t('code.revokes')}</Typography.Paragraph>
          <Typography.Text strong>{t('code.validFor')}</Typography.Text>
          <div style={{ marginTop: 8 }}>
            <Segmented<number>
              value={ttl}
              onChange={setTtl}
              data-testid="activation-code-ttl"
              options={CODE_TTL_CHOICES_S.map((s) => ({
                value: s,
                label: s <= 86_400 ? t('code.hours', { count: s / 3_600 }) : t('code.days', { count: s / 86_400 }),
              }))}
            />
          </div>
        </>
      )}
    </Modal>
  );
}
