import { Alert } from 'antd';
import { useTranslation } from 'react-i18next';
import type { ApiError } from '../api/errors';
import { useLanguage } from '../hooks/use-language';

/** The server's error text in the console's language (it sends both), or a generic one. */
export function useErrorText(): (error: ApiError) => string {
  const { t } = useTranslation();
  const { serverLocale } = useLanguage();
  return (error) => {
    const text = error.messageFor(serverLocale);
    if (text) return text;
    return error.code === 'network' ? t('error.network') : t('error.http', { status: error.status });
  };
}

export function ErrorAlert({ error, testId = 'error-alert' }: { error: ApiError | undefined; testId?: string }) {
  const text = useErrorText();
  if (!error) return null;
  return <Alert type="error" showIcon title={text(error)} data-testid={testId} style={{ marginBottom: 16 }} />;
}
