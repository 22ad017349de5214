import type { Messages } from '../messages';
import type zh from '../zh-CN/gateway-recon';

export default {
  title: 'Switch reconciliation',
} satisfies Messages<typeof zh>;
