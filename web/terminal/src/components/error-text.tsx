import { Alert } from 'antd';
import { useTranslation } from 'react-i18next';
import type { ShellError } from '../runtime/types';
import { usePick } from './use-pick';

/** A typed error in the current language (the server's text when it sent one). */
export function ErrorText({ error, testId }: { error: ShellError | null; testId?: string }) {
  const { t } = useTranslation('errors');
  const pick = usePick();
  if (!error) return null;
  const text = error.code === 'network' ? t('network') : pick(error.zh, error.en) || t('unknown', { detail: error.code });
  return <Alert type="error" showIcon title={text} data-testid={testId ?? 'shell-error'} data-code={error.code} style={{ marginBottom: 16 }} />;
}
