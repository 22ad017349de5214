import {
  ApartmentOutlined,
  AuditOutlined,
  DashboardOutlined,
  SwapOutlined,
  TeamOutlined,
  UserOutlined,
  WalletOutlined,
} from '@ant-design/icons';
import { lazy, type ComponentType, type LazyExoticComponent, type ReactNode } from 'react';

/** Page modules load on first visit, so a tablet downloads only what its user opens. */
const Overview = lazy(() => import('./pages/overview'));
const Organisations = lazy(() => import('./pages/organisations'));
const Parties = lazy(() => import('./pages/parties'));
const PartyDetail = lazy(() => import('./pages/party-detail'));
const Accounts = lazy(() => import('./pages/accounts'));
const AccountDetail = lazy(() => import('./pages/account-detail'));
const Transfers = lazy(() => import('./pages/transfers'));
const NewTransfer = lazy(() => import('./pages/new-transfer'));
const Users = lazy(() => import('./pages/users'));
const Audit = lazy(() => import('./pages/audit'));

export interface ConsoleRoute {
  path: string;
  /** Key of the menu label in the `menu` namespace; routes without one stay out of the menu. */
  menu?: 'overview' | 'organisations' | 'parties' | 'accounts' | 'transfers' | 'users' | 'audit';
  icon?: ReactNode;
  /** Any one of these permissions opens the page. */
  permissions: string[];
  component: LazyExoticComponent<ComponentType>;
}

export const ROUTES: ConsoleRoute[] = [
  { path: '/overview', menu: 'overview', icon: <DashboardOutlined />, permissions: ['dashboard:read'], component: Overview },
  { path: '/organisations', menu: 'organisations', icon: <ApartmentOutlined />, permissions: ['org:read'], component: Organisations },
  { path: '/parties', menu: 'parties', icon: <TeamOutlined />, permissions: ['party:read'], component: Parties },
  { path: '/parties/:id', permissions: ['party:read'], component: PartyDetail },
  { path: '/accounts', menu: 'accounts', icon: <WalletOutlined />, permissions: ['account:read'], component: Accounts },
  { path: '/accounts/:id', permissions: ['account:read'], component: AccountDetail },
  {
    path: '/transfers',
    menu: 'transfers',
    icon: <SwapOutlined />,
    permissions: ['transfer:read', 'transfer:create'],
    component: Transfers,
  },
  { path: '/transfers/new', permissions: ['transfer:create'], component: NewTransfer },
  { path: '/users', menu: 'users', icon: <UserOutlined />, permissions: ['user:read'], component: Users },
  { path: '/audit', menu: 'audit', icon: <AuditOutlined />, permissions: ['audit:read'], component: Audit },
];

export function allowed(route: ConsoleRoute, can: (permission: string) => boolean): boolean {
  return route.permissions.some(can);
}

/** Where a user lands after sign-in: the first menu page their role may open. */
export function homePath(can: (permission: string) => boolean): string | undefined {
  return ROUTES.find((r) => r.menu && allowed(r, can))?.path;
}
