export default {
  title: '卡组织转接',
};
