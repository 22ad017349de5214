import { Segmented } from 'antd';
import { useTranslation } from 'react-i18next';
import { normaliseLanguage, type Language } from '../../hooks/use-language';
import { changeLanguage } from '../../locales';

/** 中文 / English, remembered on this device. */
export function LanguageSwitch() {
  const { i18n } = useTranslation();
  const current = normaliseLanguage(i18n.language);
  return (
    <Segmented<Language>
      size="small"
      data-testid="lang-switch"
      value={current}
      onChange={(value) => void changeLanguage(value)}
      options={[
        { label: <span data-testid="lang-zh">中文</span>, value: 'zh-CN' },
        { label: <span data-testid="lang-en">English</span>, value: 'en-US' },
      ]}
    />
  );
}
