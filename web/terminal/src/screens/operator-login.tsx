import { Button, Card, Input, Typography } from 'antd';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorText } from '../components/error-text';
import { Field } from '../components/field';
import { StatusBar } from '../components/status-bar';
import { useRuntime, useSnapshot } from '../runtime/context';

const OPERATOR_NO = /^\d{2}$/;

/** Operator log-in (操作员签到): operator number and password, checked by the server. */
export function OperatorLoginScreen() {
  const { t } = useTranslation('operator');
  const runtime = useRuntime();
  const snapshot = useSnapshot();
  const [operatorNo, setOperatorNo] = useState('');
  const [password, setPassword] = useState('');
  const [touched, setTouched] = useState(false);

  function submit(event: FormEvent): void {
    event.preventDefault();
    setTouched(true);
    if (!OPERATOR_NO.test(operatorNo) || password === '') return;
    // The password leaves this screen's state as soon as it is sent.
    void runtime.operatorSignOn(operatorNo, password).finally(() => setPassword(''));
  }

  return (
    <div className="centered">
      <StatusBar />
      <Card className="narrow-card" title={t('title')}>
        {snapshot.device?.merchantName && (
          <Typography.Paragraph strong data-testid="operator-merchant">
            {snapshot.device.merchantName}
          </Typography.Paragraph>
        )}
        <ErrorText error={snapshot.error} testId="operator-error" />
        <form onSubmit={submit} noValidate>
          <Field label={t('number')} error={touched && !OPERATOR_NO.test(operatorNo) ? t('numberRequired') : null}>
            <Input
              size="large"
              inputMode="numeric"
              maxLength={2}
              value={operatorNo}
              onChange={(e) => setOperatorNo(e.target.value.replace(/\D/g, ''))}
              disabled={snapshot.busy}
              autoComplete="username"
              data-testid="operator-no"
            />
          </Field>
          <Field label={t('password')} error={touched && password === '' ? t('passwordRequired') : null}>
            <Input.Password size="large" value={password} onChange={(e) => setPassword(e.target.value)} disabled={snapshot.busy} autoComplete="current-password" data-testid="operator-password" />
          </Field>
          <Button type="primary" size="large" block htmlType="submit" loading={snapshot.busy} data-testid="operator-submit">
            {t('submit')}
          </Button>
        </form>
      </Card>
    </div>
  );
}
