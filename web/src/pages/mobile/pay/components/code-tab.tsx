import { Alert, Button, Card, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ApiError } from '../../../../api/errors';
import { ErrorAlert } from '../../../../components/error-alert';
import { mobileApi } from '../mobile-api';
import { CodeQr } from './code-qr';

/** Groups the 18 digits 4-4-4-6 so a cashier can type them. */
const grouped = (code: string): string => code.replace(/^(\d{4})(\d{4})(\d{4})(\d{6})$/, '$1 $2 $3 $4');

/** The one-time customer-presented code (60 s, single use), as digits. */
export function CodeTab({ accountId }: { accountId: string | undefined }) {
  const { t } = useTranslation('mobile');
  const [code, setCode] = useState<{ code: string; expiresAt: number }>();
  const [now, setNow] = useState(Date.now());
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!code) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [code]);

  const issue = async () => {
    if (!accountId) return;
    setBusy(true);
    setError(undefined);
    try {
      setCode(await mobileApi<{ code: string; expiresAt: number }>('POST', '/pay/codes', { accountId }));
      setNow(Date.now());
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  const seconds = code ? Math.max(0, Math.ceil((code.expiresAt - now) / 1000)) : 0;
  return (
    <Card size="small">
      <ErrorAlert error={error} testId="mobile-error" />
      <Typography.Paragraph type="secondary">{t('codeIntro')}</Typography.Paragraph>
      {code ? (
        seconds > 0 ? (
          <div style={{ textAlign: 'center', margin: '16px 0' }}>
            <CodeQr text={code.code} />
            <br />
            <Typography.Text strong style={{ fontSize: 24, letterSpacing: 1, fontFamily: 'monospace' }} data-testid="mobile-code">
              {grouped(code.code)}
            </Typography.Text>
            <div>
              <Typography.Text type="secondary" data-testid="mobile-code-expires">
                {t('codeExpires', { seconds })}
              </Typography.Text>
            </div>
          </div>
        ) : (
          <Alert type="warning" showIcon title={t('codeExpired')} style={{ margin: '16px 0' }} />
        )
      ) : null}
      <Button type="primary" block size="large" loading={busy} disabled={!accountId} onClick={() => void issue()} data-testid="mobile-code-issue">
        {code ? t('codeRefresh') : t('codeShow')}
      </Button>
    </Card>
  );
}
