import { useCallback } from 'react';
import { useTranslation } from 'react-i18next';
import type { ServerLocale } from '../api/errors';

export type Language = 'zh-CN' | 'en-US';

export function normaliseLanguage(value: string | null | undefined): Language {
  return value?.toLowerCase().startsWith('en') ? 'en-US' : 'zh-CN';
}

/** The console's language and helpers to pick the matching text from zh/en pairs. */
export function useLanguage(): {
  language: Language;
  serverLocale: ServerLocale;
  pick: (zh: string, en: string | null | undefined) => string;
} {
  const { i18n } = useTranslation();
  const language = normaliseLanguage(i18n.language);
  const english = language === 'en-US';
  const pick = useCallback((zh: string, en: string | null | undefined) => (english && en ? en : zh), [english]);
  return { language, serverLocale: english ? 'en' : 'zh-CN', pick };
}
