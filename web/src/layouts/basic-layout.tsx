import { Grid, Layout, Menu } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Outlet, useLocation, useNavigate } from 'react-router-dom';
import { ROUTES, allowed } from '../routes';
import { useSignedIn } from '../session/session-context';
import { LanguageSwitch } from './components/language-switch';
import { UserMenu } from './components/user-menu';

/** Side menu built from the user's permissions, header with language switch and sign-out. */
export function BasicLayout() {
  const { t } = useTranslation('menu');
  const { can } = useSignedIn();
  const navigate = useNavigate();
  const location = useLocation();
  const screens = Grid.useBreakpoint();
  const narrow = !screens.lg;
  const [collapsed, setCollapsed] = useState<boolean>();

  const items = ROUTES.filter((r) => r.menu && allowed(r, can)).map((r) => ({
    key: r.path,
    icon: r.icon,
    label: t(r.menu!),
    'data-testid': `menu-${r.menu!}`,
  }));
  const selected = items.filter((i) => location.pathname === i.key || location.pathname.startsWith(`${i.key}/`)).map((i) => i.key);

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider collapsible collapsed={collapsed ?? narrow} onCollapse={setCollapsed} breakpoint="lg" width={208} collapsedWidth={64}>
        <div className="console-logo" title={t('brand')}>
          <img src="/favicon.svg" width={24} height={24} alt="" />
          {(collapsed ?? narrow) ? null : <span>{t('brand')}</span>}
        </div>
        <Menu theme="dark" mode="inline" items={items} selectedKeys={selected} onClick={({ key }) => void navigate(key)} />
      </Layout.Sider>
      <Layout>
        <Layout.Header className="console-header">
          <LanguageSwitch />
          <UserMenu compact={!screens.md} />
        </Layout.Header>
        <Layout.Content>
          <Outlet />
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
