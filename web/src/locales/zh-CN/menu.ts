export default {
  brand: '小微云',
  overview: '概览',
  organisations: '机构',
  parties: '客户',
  accounts: '账户',
  transfers: '转账',
  users: '用户',
  audit: '审计日志',
};
