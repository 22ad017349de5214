import {
  AccountBookOutlined,
  ApartmentOutlined,
  AppstoreOutlined,
  AuditOutlined,
  BlockOutlined,
  BuildOutlined,
  ApiOutlined,
  BranchesOutlined,
  CalculatorOutlined,
  GatewayOutlined,
  CheckSquareOutlined,
  CloudUploadOutlined,
  ClusterOutlined,
  CreditCardOutlined,
  DashboardOutlined,
  DiffOutlined,
  EnvironmentOutlined,
  FileDoneOutlined,
  IdcardOutlined,
  MobileOutlined,
  PercentageOutlined,
  SafetyOutlined,
  ShopOutlined,
  SwapOutlined,
  TeamOutlined,
  TransactionOutlined,
  UnorderedListOutlined,
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
const Terminals = lazy(() => import('./pages/terminals'));
const TerminalMap = lazy(() => import('./pages/terminal-map'));
const TerminalDetail = lazy(() => import('./pages/terminal-detail'));
const TerminalGroups = lazy(() => import('./pages/terminal-groups'));
const TerminalGroupDetail = lazy(() => import('./pages/terminal-group-detail'));
const TerminalOperators = lazy(() => import('./pages/terminal-operators'));
const Apps = lazy(() => import('./pages/apps'));
const AppDetail = lazy(() => import('./pages/app-detail'));
const AppSets = lazy(() => import('./pages/app-sets'));
const AppSetDetail = lazy(() => import('./pages/app-set-detail'));
const Rollouts = lazy(() => import('./pages/rollouts'));
const RolloutDetail = lazy(() => import('./pages/rollout-detail'));
const PayTransactions = lazy(() => import('./pages/payments/transactions'));
const Merchants = lazy(() => import('./pages/payments/merchants'));
const MerchantDetail = lazy(() => import('./pages/payments/merchant-detail'));
const FeePlans = lazy(() => import('./pages/payments/fee-plans'));
const Cards = lazy(() => import('./pages/payments/cards'));
const Settlements = lazy(() => import('./pages/payments/settlements'));
const Statement = lazy(() => import('./pages/payments/statement'));
const Reconciliation = lazy(() => import('./pages/payments/reconciliation'));
const RiskRules = lazy(() => import('./pages/risk/rules'));
const RiskRuleDetail = lazy(() => import('./pages/risk/rule-detail'));
const RiskReviews = lazy(() => import('./pages/risk/reviews'));
const GatewaySwitch = lazy(() => import('./pages/gateway/switch'));
const GatewayPos = lazy(() => import('./pages/gateway/pos'));
const GatewayRecon = lazy(() => import('./pages/gateway/recon'));

export interface ConsoleRoute {
  path: string;
  /** Key of the menu label in the `menu` namespace; routes without one stay out of the menu. */
  menu?:
    | 'overview'
    | 'organisations'
    | 'parties'
    | 'accounts'
    | 'transfers'
    | 'users'
    | 'audit'
    | 'terminals'
    | 'terminalMap'
    | 'terminalGroups'
    | 'terminalOperators'
    | 'apps'
    | 'appSets'
    | 'rollouts'
    | 'payTransactions'
    | 'merchants'
    | 'feePlans'
    | 'cards'
    | 'settlements'
    | 'reconciliation'
    | 'riskRules'
    | 'riskReviews'
    | 'switchLink'
    | 'posTerminals'
    | 'switchRecon';
  /** Key (in `menu`) of the sub-menu the entry sits in; none for a top-level entry. */
  group?: 'fleet' | 'appStore' | 'payments' | 'risk' | 'gateway';
  icon?: ReactNode;
  /** Any one of these permissions opens the page. */
  permissions: string[];
  /** And all of these (bank-staff pages that a merchant user with payment:read must not see). */
  requires?: string[];
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
  {
    path: '/terminals',
    menu: 'terminals',
    group: 'fleet',
    icon: <UnorderedListOutlined />,
    permissions: ['terminal:read'],
    component: Terminals,
  },
  {
    path: '/terminals/map',
    menu: 'terminalMap',
    group: 'fleet',
    icon: <EnvironmentOutlined />,
    permissions: ['terminal:read'],
    component: TerminalMap,
  },
  { path: '/terminals/:id', permissions: ['terminal:read'], component: TerminalDetail },
  {
    path: '/terminal-groups',
    menu: 'terminalGroups',
    group: 'fleet',
    icon: <ClusterOutlined />,
    permissions: ['terminal:read'],
    component: TerminalGroups,
  },
  { path: '/terminal-groups/:id', permissions: ['terminal:read'], component: TerminalGroupDetail },
  {
    path: '/terminal-operators',
    menu: 'terminalOperators',
    group: 'fleet',
    icon: <IdcardOutlined />,
    permissions: ['terminal:read'],
    component: TerminalOperators,
  },
  { path: '/apps', menu: 'apps', group: 'appStore', icon: <BuildOutlined />, permissions: ['app:read'], component: Apps },
  { path: '/apps/:id', permissions: ['app:read'], component: AppDetail },
  { path: '/app-sets', menu: 'appSets', group: 'appStore', icon: <BlockOutlined />, permissions: ['app:read'], component: AppSets },
  { path: '/app-sets/:id', permissions: ['app:read'], component: AppSetDetail },
  { path: '/rollouts', menu: 'rollouts', group: 'appStore', icon: <CloudUploadOutlined />, permissions: ['app:read'], component: Rollouts },
  { path: '/rollouts/:id', permissions: ['app:read'], component: RolloutDetail },
  {
    path: '/payments/transactions',
    menu: 'payTransactions',
    group: 'payments',
    icon: <TransactionOutlined />,
    permissions: ['payment:read'],
    component: PayTransactions,
  },
  {
    path: '/payments/merchants',
    menu: 'merchants',
    group: 'payments',
    icon: <ShopOutlined />,
    permissions: ['payment:read'],
    component: Merchants,
  },
  { path: '/payments/merchants/:id', permissions: ['payment:read'], component: MerchantDetail },
  {
    path: '/payments/fee-plans',
    menu: 'feePlans',
    group: 'payments',
    icon: <PercentageOutlined />,
    permissions: ['payment:read'],
    requires: ['party:read'],
    component: FeePlans,
  },
  {
    path: '/payments/cards',
    menu: 'cards',
    group: 'payments',
    icon: <CreditCardOutlined />,
    permissions: ['payment:read'],
    requires: ['party:read'],
    component: Cards,
  },
  {
    path: '/payments/settlements',
    menu: 'settlements',
    group: 'payments',
    icon: <AccountBookOutlined />,
    permissions: ['payment:read'],
    component: Settlements,
  },
  { path: '/payments/settlements/:id', permissions: ['payment:read'], component: Statement },
  {
    path: '/payments/reconciliation',
    menu: 'reconciliation',
    group: 'payments',
    icon: <DiffOutlined />,
    permissions: ['payment:read'],
    requires: ['party:read'],
    component: Reconciliation,
  },
  { path: '/risk/rules', menu: 'riskRules', group: 'risk', icon: <FileDoneOutlined />, permissions: ['risk:read'], component: RiskRules },
  { path: '/risk/rules/:id', permissions: ['risk:read'], component: RiskRuleDetail },
  {
    path: '/risk/reviews',
    menu: 'riskReviews',
    group: 'risk',
    icon: <CheckSquareOutlined />,
    permissions: ['risk:read'],
    component: RiskReviews,
  },
  { path: '/gateway/switch', menu: 'switchLink', group: 'gateway', icon: <BranchesOutlined />, permissions: ['gateway:read'], component: GatewaySwitch },
  { path: '/gateway/pos', menu: 'posTerminals', group: 'gateway', icon: <ApiOutlined />, permissions: ['gateway:read'], component: GatewayPos },
  {
    path: '/gateway/reconciliation',
    menu: 'switchRecon',
    group: 'gateway',
    icon: <CalculatorOutlined />,
    permissions: ['gateway:read'],
    component: GatewayRecon,
  },
];

/** Sub-menus of the side menu, in order, with their icons. */
export const MENU_GROUPS = [
  { key: 'fleet', icon: <MobileOutlined /> },
  { key: 'appStore', icon: <AppstoreOutlined /> },
  { key: 'payments', icon: <TransactionOutlined /> },
  { key: 'risk', icon: <SafetyOutlined /> },
  { key: 'gateway', icon: <GatewayOutlined /> },
] as const;

/**
 * Pages outside the staff layout, each with its own sign-in: the customer's mobile payment page.
 * Rendered by app.tsx before the signed-in console routes.
 */
export const STANDALONE_ROUTES: { path: string; component: LazyExoticComponent<ComponentType> }[] = [
  { path: '/m/pay', component: lazy(() => import('./pages/mobile/pay')) },
];

export function allowed(route: ConsoleRoute, can: (permission: string) => boolean): boolean {
  return route.permissions.some(can) && (route.requires ?? []).every(can);
}

/** Where a user lands after sign-in: the first menu page their role may open. */
export function homePath(can: (permission: string) => boolean): string | undefined {
  return ROUTES.find((r) => r.menu && allowed(r, can))?.path;
}
