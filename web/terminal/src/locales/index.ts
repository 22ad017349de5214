import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import type { Language } from '../core/bridge-protocol';
import enUS from './en-US';
import zhCN from './zh-CN';

export const LANGUAGE_STORAGE_KEY = 'xiaowei.terminal.language';

export function normaliseLanguage(value: string | null | undefined): Language {
  return value?.toLowerCase().startsWith('en') ? 'en-US' : 'zh-CN';
}

function savedLanguage(): Language {
  try {
    return normaliseLanguage(window.localStorage.getItem(LANGUAGE_STORAGE_KEY) ?? 'zh-CN');
  } catch {
    return 'zh-CN';
  }
}

const initial = savedLanguage();
document.documentElement.lang = initial;

void i18n.use(initReactI18next).init({
  resources: { 'zh-CN': zhCN, 'en-US': enUS },
  lng: initial,
  fallbackLng: 'zh-CN',
  supportedLngs: ['zh-CN', 'en-US'],
  ns: Object.keys(zhCN),
  defaultNS: 'common',
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
});

/** Switches the terminal's language and remembers it on this device. */
export async function changeLanguage(language: Language): Promise<void> {
  document.documentElement.lang = language;
  try {
    window.localStorage.setItem(LANGUAGE_STORAGE_KEY, language);
  } catch {
    // Private mode: the choice lasts for this page load.
  }
  await i18n.changeLanguage(language);
}

export function currentLanguage(): Language {
  return normaliseLanguage(i18n.language);
}

export default i18n;
