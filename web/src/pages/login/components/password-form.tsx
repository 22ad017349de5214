import { LockOutlined, SafetyOutlined, UserOutlined } from '@ant-design/icons';
import { Button, Form, Input } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import type { Enrolment } from './enrol-totp-form';

interface Values {
  username: string;
  password: string;
  totp?: string;
}

interface PasswordFormProps {
  onSignedIn: () => Promise<void>;
  onEnrol: (enrolment: Enrolment) => void;
}

export function PasswordForm({ onSignedIn, onEnrol }: PasswordFormProps) {
  const { t } = useTranslation('login');
  const [form] = Form.useForm<Values>();
  const [needTotp, setNeedTotp] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: Values) => {
    setBusy(true);
    setError(undefined);
    try {
      const body = {
        username: values.username.trim(),
        password: values.password,
        ...(needTotp && values.totp ? { totp: values.totp } : {}),
      };
      const reply = await unwrap(api.POST('/api/v1/auth/login', { body }));
      if (reply.status === 'enrol_totp') {
        onEnrol({ username: body.username, token: reply.enrolment_token, secret: reply.secret, otpauthUrl: reply.otpauth_url });
      } else {
        await onSignedIn();
      }
    } catch (caught) {
      const apiError = asApiError(caught);
      if (apiError.code === 'totp_required') {
        // Password accepted; the role needs a one-time code too. Not an error to the user.
        setNeedTotp(true);
      } else {
        if (apiError.code === 'totp_invalid') form.setFieldValue('totp', '');
        setError(apiError);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)} requiredMark={false} disabled={busy}>
      <ErrorAlert error={error} testId="login-error" />
      <Form.Item name="username" label={t('username')} rules={[{ required: true, message: t('usernameRequired') }]}>
        <Input prefix={<UserOutlined />} autoComplete="username" autoFocus data-testid="login-username" />
      </Form.Item>
      <Form.Item name="password" label={t('password')} rules={[{ required: true, message: t('passwordRequired') }]}>
        <Input.Password prefix={<LockOutlined />} autoComplete="current-password" data-testid="login-password" />
      </Form.Item>
      {needTotp ? (
        <Form.Item
          name="totp"
          label={t('totp')}
          extra={t('totpHint')}
          rules={[{ required: true, pattern: /^[0-9]{6}$/, message: t('totpInvalid') }]}
        >
          <Input
            prefix={<SafetyOutlined />}
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            autoFocus
            data-testid="login-totp"
          />
        </Form.Item>
      ) : null}
      <Button type="primary" htmlType="submit" block size="large" loading={busy} data-testid="login-submit">
        {t('submit')}
      </Button>
    </Form>
  );
}
