import type { Messages } from '../messages';
import type zh from '../zh-CN/audit';

export default {
  title: 'Audit log',
  at: 'Time',
  actor: 'Who',
  action: 'Action',
  target: 'Target',
  outcome: 'Outcome',
  ip: 'IP address',
  requestId: 'Request id',
  loadMore: 'Load more',
} satisfies Messages<typeof zh>;
