import accounts from './accounts';
import audit from './audit';
import common from './common';
import login from './login';
import menu from './menu';
import organisations from './organisations';
import overview from './overview';
import parties from './parties';
import transfers from './transfers';
import users from './users';
import terminals from './terminals';
import groups from './groups';
import operators from './operators';
import apps from './apps';
import appSets from './app-sets';
import rollouts from './rollouts';
import payments from './payments';
import risk from './risk';
import mobile from './mobile';
import gatewaySwitch from './gateway-switch';
import gatewayPos from './gateway-pos';
import gatewayRecon from './gateway-recon';

export default {
  common,
  menu,
  login,
  overview,
  organisations,
  parties,
  accounts,
  transfers,
  users,
  audit,
  terminals,
  groups,
  operators,
  apps,
  appSets,
  rollouts,
  payments,
  risk,
  mobile,
  gatewaySwitch,
  gatewayPos,
  gatewayRecon,
};
