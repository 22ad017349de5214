import { Button, Card, Input, Typography } from 'antd';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorText } from '../components/error-text';
import { Field } from '../components/field';
import { useRuntime, useSnapshot } from '../runtime/context';

/** First start: serial + one-time code → a device key made here (non-extractable) and bound to the terminal. */
export function ActivationScreen() {
  const { t } = useTranslation('activation');
  const runtime = useRuntime();
  const snapshot = useSnapshot();
  const capable = runtime.capabilities;
  const [serial, setSerial] = useState('');
  const [code, setCode] = useState('');
  const [touched, setTouched] = useState(false);
  const disabled = snapshot.busy || !capable.ed25519;

  function submit(event: FormEvent): void {
    event.preventDefault();
    setTouched(true);
    if (serial.trim() === '' || code.trim() === '') return;
    void runtime.activate(serial.trim(), code.trim());
  }

  return (
    <div className="centered">
      <Card className="narrow-card" title={t('title')}>
        <Typography.Paragraph type="secondary">{t('intro')}</Typography.Paragraph>
        {!capable.secureContext && <ErrorText error={{ code: 'insecure', zh: t('insecure'), en: t('insecure') }} />}
        {capable.secureContext && !capable.ed25519 && <ErrorText error={{ code: 'unsupported', zh: t('unsupported'), en: t('unsupported') }} />}
        <ErrorText error={snapshot.error} testId="activation-error" />
        <form onSubmit={submit} noValidate>
          <Field label={t('serial')} error={touched && serial.trim() === '' ? t('serialRequired') : null}>
            <Input size="large" value={serial} onChange={(e) => setSerial(e.target.value)} disabled={disabled} autoComplete="off" autoCapitalize="characters" data-testid="activation-serial" />
          </Field>
          <Field label={t('code')} error={touched && code.trim() === '' ? t('codeRequired') : null}>
            <Input size="large" value={code} onChange={(e) => setCode(e.target.value)} disabled={disabled} autoComplete="one-time-code" autoCapitalize="characters" data-testid="activation-code" />
          </Field>
          <Button type="primary" size="large" block htmlType="submit" loading={snapshot.busy} disabled={!capable.ed25519} data-testid="activation-submit">
            {t('submit')}
          </Button>
        </form>
      </Card>
    </div>
  );
}
