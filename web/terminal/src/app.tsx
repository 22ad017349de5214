import { App as AntdApp, ConfigProvider, Result, Spin } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { normaliseLanguage } from './locales';
import { useSnapshot } from './runtime/context';
import { ActivationScreen } from './screens/activation';
import { AppView } from './screens/app-view';
import { Launcher, type View } from './screens/launcher';
import { LockedScreen, RetiredScreen } from './screens/locked';
import { MessagesView } from './screens/messages';
import { OperatorLoginScreen } from './screens/operator-login';
import { SettingsView } from './screens/settings';
import { SigningOnScreen } from './screens/signing-on';

const THEME = { token: { colorPrimary: '#1677ff', borderRadius: 8, fontSize: 16 } };

/** Screens follow the runtime's phase; inside `ready`, a small view state (no URL routes: a kiosk). */
function Screens() {
  const { t } = useTranslation();
  const snapshot = useSnapshot();
  const [view, setView] = useState<View>({ kind: 'launcher' });
  const home = useCallback(() => setView({ kind: 'launcher' }), []);
  switch (snapshot.phase) {
    case 'starting':
      return (
        <div className="centered">
          <Spin size="large" />
        </div>
      );
    case 'elsewhere':
      return (
        <div className="centered" data-testid="elsewhere">
          <Result status="info" title={t('elsewhereTitle')} subTitle={t('elsewhereBody')} />
        </div>
      );
    case 'activation':
      return <ActivationScreen />;
    case 'signing-on':
      return <SigningOnScreen />;
    case 'operator':
      return <OperatorLoginScreen />;
    case 'locked':
      return <LockedScreen />;
    case 'retired':
      return <RetiredScreen />;
    case 'ready':
      if (view.kind === 'app') return <AppView code={view.code} onBack={home} />;
      if (view.kind === 'messages') return <MessagesView onBack={home} />;
      if (view.kind === 'settings') return <SettingsView onBack={home} />;
      return <Launcher onNavigate={setView} />;
  }
}

export function App() {
  const { i18n } = useTranslation();
  const english = normaliseLanguage(i18n.language) === 'en-US';
  return (
    <ConfigProvider locale={english ? enUS : zhCN} theme={THEME}>
      <AntdApp>
        <Screens />
      </AntdApp>
    </ConfigProvider>
  );
}
