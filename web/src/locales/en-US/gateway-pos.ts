import type { Messages } from '../messages';
import type zh from '../zh-CN/gateway-pos';

export default {
  title: 'POS terminals (ISO 8583)',
} satisfies Messages<typeof zh>;
