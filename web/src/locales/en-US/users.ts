import type { Messages } from '../messages';
import type zh from '../zh-CN/users';

export default {
  title: 'Users',
  add: 'Add user',
  addTitle: 'Add a user',
  username: 'Username',
  usernameHint: '3–32 lower-case letters, digits, dots, underscores or hyphens',
  usernameInvalid: 'That username is not valid',
  displayName: 'Name',
  displayNameRequired: 'Enter a name',
  role: 'Role',
  org: 'Organisation',
  merchantId: 'Party id',
  merchantIdHint: 'Merchant, cashier, buyer and agent users see only this party’s data',
  merchantIdRequired: 'This role needs a party id',
  password: 'Initial password',
  passwordHint: 'At least 10 characters, letters and digits; hand it over in person',
  passwordInvalid: 'A password is 10–128 characters with letters and digits',
  status: 'Status',
  active: 'Active',
  locked: 'Locked',
  disabled: 'Disabled',
  totp: 'One-time codes on',
  lastLogin: 'Last sign-in',
  createdAt: 'Created',
  created: 'Added user {{name}}',
} satisfies Messages<typeof zh>;
