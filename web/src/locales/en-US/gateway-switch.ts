import type { Messages } from '../messages';
import type zh from '../zh-CN/gateway-switch';

export default {
  title: 'Card switch',
} satisfies Messages<typeof zh>;
