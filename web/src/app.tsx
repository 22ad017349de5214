import { App as AntdApp, ConfigProvider, Spin } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { Suspense } from 'react';
import { useTranslation } from 'react-i18next';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router-dom';
import { Forbidden } from './components/forbidden';
import { normaliseLanguage } from './hooks/use-language';
import { BasicLayout } from './layouts/basic-layout';
import LoginPage from './pages/login';
import NotFound from './pages/not-found';
import { ROUTES, STANDALONE_ROUTES, allowed, homePath } from './routes';
import { SessionProvider, useSession } from './session/session-context';

const THEME = { token: { colorPrimary: '#1677ff', borderRadius: 6 } };

function FullPageSpin() {
  return (
    <div className="full-page-spin">
      <Spin size="large" />
    </div>
  );
}

function SignedInRoutes() {
  const { session } = useSession();
  if (session === undefined) return <FullPageSpin />;
  if (session === null) return <Navigate to="/login" replace />;
  const home = homePath(session.can);
  return (
    <Routes>
      <Route element={<BasicLayout />}>
        <Route index element={home ? <Navigate to={home} replace /> : <Forbidden />} />
        {ROUTES.map((route) => {
          const Page = route.component;
          const element = allowed(route, session.can) ? (
            <Suspense fallback={<FullPageSpin />}>
              <Page />
            </Suspense>
          ) : (
            <Forbidden />
          );
          return <Route key={route.path} path={route.path} element={element} />;
        })}
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function LoginRoute() {
  const { session } = useSession();
  if (session === undefined) return <FullPageSpin />;
  if (session) return <Navigate to="/" replace />;
  return <LoginPage />;
}

/** Providers (language-aware Ant Design, session) and the route table. */
export function App() {
  const { i18n } = useTranslation();
  const english = normaliseLanguage(i18n.language) === 'en-US';
  return (
    <ConfigProvider locale={english ? enUS : zhCN} theme={THEME}>
      <AntdApp>
        <SessionProvider>
          <BrowserRouter>
            <Routes>
              <Route path="/login" element={<LoginRoute />} />
              {STANDALONE_ROUTES.map(({ path, component: Page }) => (
                <Route key={path} path={path} element={<Suspense fallback={<FullPageSpin />}><Page /></Suspense>} />
              ))}
              <Route path="/*" element={<SignedInRoutes />} />
            </Routes>
          </BrowserRouter>
        </SessionProvider>
      </AntdApp>
    </ConfigProvider>
  );
}
