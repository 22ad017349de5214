import type { Messages } from '../messages';
import type zh from '../zh-CN/overview';

export default {
  title: 'Overview',
  lastDays: 'Last {{days}} days',
  reload: 'Reload',
  kpiAccounts: 'Accounts',
  kpiTransfers: 'Transfers, last {{days}} days',
  kpiAmount: 'Amount moved, last {{days}} days',
  dailyTitle: 'Money moved per day ({{from}} to {{to}})',
  axisAmount: 'Amount',
  axisCount: 'Count',
  seriesAmount: 'Amount',
  seriesCount: 'Transfers',
  balancesTitle: 'Balances by account type',
  balance: 'Balance',
  accountType: 'Account type',
  accounts: 'Accounts',
} satisfies Messages<typeof zh>;
