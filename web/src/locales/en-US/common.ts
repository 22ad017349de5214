import type { Messages } from '../messages';
import type zh from '../zh-CN/common';

export default {
  save: 'Save',
  cancel: 'Cancel',
  back: 'Back',
  reload: 'Reload',
  total: '{{total}} in total',
  forbidden: 'Your role may not open this page',
  notFound: 'This page does not exist',
  backHome: 'Back to the start',
  logout: 'Sign out',
  error: {
    network: 'Cannot reach the server; check the network and retry',
    http: 'The server answered with an error (HTTP {{status}})',
  },
  role: {
    admin: 'Administrator',
    branch_staff: 'Branch staff',
    auditor: 'Auditor',
    merchant_owner: 'Merchant owner',
    cashier: 'Cashier',
    buyer: 'Produce buyer',
    agent: 'Service-point agent',
    customer: 'Customer',
  },
} satisfies Messages<typeof zh>;
