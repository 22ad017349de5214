import type { Messages } from '../messages';
import type zh from '../zh-CN/accounts';

export default {
  title: 'Accounts',
  typeFilter: 'Filter by account type',
  detailTitle: 'Account {{id}}',
  id: 'Account',
  name: 'Name',
  type: 'Account type',
  owner: 'Owner',
  balance: 'Balance',
  available: 'Available',
  createdAt: 'Opened',
  newTransfer: 'Pay into this account',
  statementTitle: 'Statement',
  time: 'Time',
  code: 'Transfer type',
  side: 'Side',
  sideName: { debit: 'Debit (out)', credit: 'Credit (in)' },
  amount: 'Amount',
  balanceAfter: 'Balance after',
  reference: 'Reference',
  loadMore: 'Load more',
  endOfStatement: 'No older entries',
} satisfies Messages<typeof zh>;
