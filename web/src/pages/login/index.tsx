import { Card, Flex, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { LanguageSwitch } from '../../layouts/components/language-switch';
import { useSession } from '../../session/session-context';
import { EnrolTotpForm, type Enrolment } from './components/enrol-totp-form';
import { PasswordForm } from './components/password-form';

/** Sign-in: password (and a one-time code where the role needs one), or first TOTP enrolment. */
export default function LoginPage() {
  const { t } = useTranslation('login');
  const { refresh } = useSession();
  const [enrolment, setEnrolment] = useState<Enrolment>();

  return (
    <div className="login-page">
      <Card className="login-card">
        <Flex justify="space-between" align="center" style={{ marginBottom: 16 }}>
          <Flex align="center" gap={8}>
            <img src="/favicon.svg" width={32} height={32} alt="" />
            <div>
              <Typography.Title level={4} style={{ margin: 0 }}>
                {t('title')}
              </Typography.Title>
              <Typography.Text type="secondary">{t('subtitle')}</Typography.Text>
            </div>
          </Flex>
          <LanguageSwitch />
        </Flex>
        {enrolment ? (
          <EnrolTotpForm enrolment={enrolment} onSignedIn={refresh} onCancel={() => setEnrolment(undefined)} />
        ) : (
          <PasswordForm onSignedIn={refresh} onEnrol={setEnrolment} />
        )}
      </Card>
    </div>
  );
}
