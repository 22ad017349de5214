import { SafetyOutlined } from '@ant-design/icons';
import { Alert, Button, Form, Input, Space, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';

export interface Enrolment {
  username: string;
  token: string;
  secret: string;
  otpauthUrl: string;
}

interface EnrolTotpFormProps {
  enrolment: Enrolment;
  onSignedIn: () => Promise<void>;
  onCancel: () => void;
}

/** First sign-in of a role that needs TOTP: show the secret, take the first code. */
export function EnrolTotpForm({ enrolment, onSignedIn, onCancel }: EnrolTotpFormProps) {
  const { t } = useTranslation('login');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async ({ code }: { code: string }) => {
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(
        api.POST('/api/v1/auth/totp/confirm', { body: { username: enrolment.username, enrolment_token: enrolment.token, code } }),
      );
      await onSignedIn();
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Form<{ code: string }> layout="vertical" onFinish={(v) => void submit(v)} requiredMark={false} disabled={busy}>
      <Alert type="info" showIcon title={t('enrolTitle')} description={t('enrolIntro')} style={{ marginBottom: 16 }} />
      <Form.Item label={t('enrolSecret')}>
        <Typography.Paragraph copyable={{ text: enrolment.secret }} className="secret-box" data-testid="enrol-secret" style={{ margin: 0 }}>
          {enrolment.secret}
        </Typography.Paragraph>
      </Form.Item>
      <Form.Item label={t('enrolUrl')}>
        <Typography.Paragraph copyable className="secret-box" type="secondary" data-testid="enrol-url" style={{ margin: 0 }}>
          {enrolment.otpauthUrl}
        </Typography.Paragraph>
      </Form.Item>
      <ErrorAlert error={error} testId="enrol-error" />
      <Form.Item name="code" label={t('enrolCode')} rules={[{ required: true, pattern: /^[0-9]{6}$/, message: t('totpInvalid') }]}>
        <Input
          prefix={<SafetyOutlined />}
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={6}
          autoFocus
          data-testid="enrol-code"
        />
      </Form.Item>
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Button type="primary" htmlType="submit" block size="large" loading={busy} data-testid="enrol-submit">
          {t('enrolSubmit')}
        </Button>
        <Button type="link" block onClick={onCancel}>
          {t('back')}
        </Button>
      </Space>
    </Form>
  );
}
