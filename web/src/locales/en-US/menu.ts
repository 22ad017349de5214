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
} satisfies Messages<typeof zh>;
