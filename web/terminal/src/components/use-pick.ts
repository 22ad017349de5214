import { useTranslation } from 'react-i18next';
import { normaliseLanguage } from '../locales';

/** zh-CN first: the text of the current language from a zh/en pair (server messages, app names). */
export function usePick(): (zh: string, en: string | null | undefined) => string {
  const { i18n } = useTranslation();
  const english = normaliseLanguage(i18n.language) === 'en-US';
  return (zh, en) => (english && en ? en : zh);
}
