export default {
  title: '传统POS终端',
};
