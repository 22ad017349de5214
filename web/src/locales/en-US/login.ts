import type { Messages } from '../messages';
import type zh from '../zh-CN/login';

export default {
  title: 'Xiaowei',
  subtitle: 'Bank staff console',
  username: 'Username',
  usernameRequired: 'Enter your username',
  password: 'Password',
  passwordRequired: 'Enter your password',
  totp: 'One-time code',
  totpHint: 'The 6 digits your authenticator app shows',
  totpInvalid: 'A one-time code is 6 digits',
  submit: 'Sign in',
  enrolTitle: 'Set up your one-time codes',
  enrolIntro:
    'Your role signs in with a one-time code. Add the secret below (or the link) to an authenticator app, then enter the first 6-digit code it shows.',
  enrolSecret: 'Secret',
  enrolUrl: 'otpauth link',
  enrolCode: 'First one-time code',
  enrolSubmit: 'Confirm and sign in',
  back: 'Back to sign-in',
} satisfies Messages<typeof zh>;
