import { Button, Card, Result, Spin } from 'antd';
import { useTranslation } from 'react-i18next';
import { ErrorText } from '../components/error-text';
import { StatusBar } from '../components/status-bar';
import { useRuntime, useSnapshot } from '../runtime/context';

/** Sign-on (签到) in progress, or why it failed; it retries by itself when the network returns. */
export function SigningOnScreen() {
  const { t } = useTranslation('signOn');
  const common = useTranslation().t;
  const runtime = useRuntime();
  const snapshot = useSnapshot();
  return (
    <div className="centered">
      <StatusBar />
      <Card className="narrow-card" data-testid="signing-on">
        {snapshot.error ? (
          <Result
            status="warning"
            title={t('failed')}
            subTitle={snapshot.online ? undefined : t('waitingNetwork')}
            extra={
              <Button type="primary" loading={snapshot.busy} onClick={() => void runtime.signOn()} data-testid="sign-on-retry">
                {common('retry')}
              </Button>
            }
          >
            <ErrorText error={snapshot.error} testId="sign-on-error" />
          </Result>
        ) : (
          <Result icon={<Spin size="large" />} title={t('title')} subTitle={t('hint')} />
        )}
      </Card>
    </div>
  );
}
