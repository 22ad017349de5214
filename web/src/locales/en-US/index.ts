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

export default { common, menu, login, overview, organisations, parties, accounts, transfers, users, audit };
