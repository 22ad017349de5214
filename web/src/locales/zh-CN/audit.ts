export default {
  title: '审计日志',
  at: '时间',
  actor: '操作人',
  action: '操作',
  target: '对象',
  outcome: '结果',
  ip: 'IP 地址',
  requestId: '请求编号',
  loadMore: '加载更多',
};
