export default {
  save: '保存',
  cancel: '取消',
  back: '返回',
  reload: '刷新',
  total: '共 {{total}} 条',
  forbidden: '您的角色无权访问此页面',
  notFound: '页面不存在',
  backHome: '返回首页',
  logout: '退出登录',
  error: {
    network: '无法连接服务器，请检查网络后重试',
    http: '服务器返回错误（HTTP {{status}}）',
  },
  role: {
    admin: '系统管理员',
    branch_staff: '网点柜员',
    auditor: '审计员',
    merchant_owner: '商户负责人',
    cashier: '收银员',
    buyer: '收购员',
    agent: '助农服务点',
  },
};
