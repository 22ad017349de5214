import type { Messages } from '../messages';
import type zh from '../zh-CN/menu';

export default {
  brand: 'Xiaowei',
  overview: 'Overview',
  organisations: 'Organisations',
  parties: 'Parties',
  accounts: 'Accounts',
  transfers: 'Transfers',
  users: 'Users',
  audit: 'Audit log',
  fleet: 'Terminals',
  terminals: 'Terminal list',
  terminalMap: 'Terminal map',
  terminalGroups: 'Terminal groups',
  terminalOperators: 'Terminal operators',
  appStore: 'Apps',
  apps: 'App catalogue',
  appSets: 'App sets',
  rollouts: 'Rollouts',
} satisfies Messages<typeof zh>;
