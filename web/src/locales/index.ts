import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { setApiLanguage } from '../api/client';
import { normaliseLanguage, type Language } from '../hooks/use-language';
import enUS from './en-US';
import zhCN from './zh-CN';

export const LANGUAGE_STORAGE_KEY = 'xiaowei.language';
export const resources = { 'zh-CN': zhCN, 'en-US': enUS } as const;

function savedLanguage(): Language {
  try {
    return normaliseLanguage(window.localStorage.getItem(LANGUAGE_STORAGE_KEY) ?? 'zh-CN');
  } catch {
    return 'zh-CN';
  }
}

/** Everything that follows the language: dayjs, the <html lang>, the API's Accept-Language. */
function applyLanguage(language: Language): void {
  dayjs.locale(language === 'en-US' ? 'en' : 'zh-cn');
  document.documentElement.lang = language;
  setApiLanguage(language);
}

const initial = savedLanguage();
applyLanguage(initial);

void i18n.use(initReactI18next).init({
  resources,
  lng: initial,
  fallbackLng: 'zh-CN',
  supportedLngs: ['zh-CN', 'en-US'],
  ns: Object.keys(zhCN),
  defaultNS: 'common',
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
});

/** Switches the console's language and remembers the choice on this device. */
export async function changeLanguage(language: Language): Promise<void> {
  applyLanguage(language);
  try {
    window.localStorage.setItem(LANGUAGE_STORAGE_KEY, language);
  } catch {
    // Private mode: the choice lasts for this page load only.
  }
  await i18n.changeLanguage(language);
}

export default i18n;
