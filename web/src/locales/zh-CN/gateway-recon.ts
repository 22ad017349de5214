export default {
  title: '转接对账',
};
