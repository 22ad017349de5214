import { Grid, Layout, Menu, type MenuProps } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Outlet, useLocation, useNavigate } from 'react-router-dom';
import { MENU_GROUPS, ROUTES, allowed, type ConsoleRoute } from '../routes';
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

  const visible = ROUTES.filter((r) => r.menu && allowed(r, can));
  const entry = (r: ConsoleRoute) => ({ key: r.path, icon: r.icon, label: t(r.menu!), 'data-testid': `menu-${r.menu!}` });
  // Grouped entries sit in their sub-menu, placed where the group's first entry would be.
  const items = visible.flatMap<NonNullable<MenuProps['items']>[number]>((r) => {
    if (!r.group) return [entry(r)];
    if (visible.find((x) => x.group === r.group) !== r) return [];
    const group = MENU_GROUPS.find((g) => g.key === r.group);
    return [
      {
        key: `group:${r.group}`,
        icon: group?.icon,
        label: t(r.group),
        children: visible.filter((x) => x.group === r.group).map(entry),
        'data-testid': `menu-group-${r.group}`,
      },
    ];
  });
  // The most specific entry: /terminals/map is the map's, /terminals/123 the list's.
  const selected = visible
    .filter((r) => location.pathname === r.path || location.pathname.startsWith(`${r.path}/`))
    .sort((a, b) => b.path.length - a.path.length)
    .slice(0, 1)
    .map((r) => r.path);
  // Sub-menus start closed; the one holding the current page opens, whichever way it was reached
  // (not in the collapsed menu, where an open sub-menu is a pop-up over the page).
  const folded = collapsed ?? narrow;
  const currentGroup = visible.find((r) => r.path === selected[0])?.group;
  const [openKeys, setOpenKeys] = useState<string[]>(currentGroup && !folded ? [`group:${currentGroup}`] : []);
  useEffect(() => {
    if (!currentGroup || folded) return;
    setOpenKeys((keys) => (keys.includes(`group:${currentGroup}`) ? keys : [...keys, `group:${currentGroup}`]));
  }, [currentGroup, folded]);

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider collapsible collapsed={folded} onCollapse={setCollapsed} breakpoint="lg" width={208} collapsedWidth={64}>
        <div className="console-logo" title={t('brand')}>
          <img src="/favicon.svg" width={24} height={24} alt="" />
          {folded ? null : <span>{t('brand')}</span>}
        </div>
        <Menu
          theme="dark"
          mode="inline"
          items={items}
          selectedKeys={selected}
          openKeys={openKeys}
          onOpenChange={setOpenKeys}
          onClick={({ key }) => void navigate(key)}
        />
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
