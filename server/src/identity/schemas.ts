import { Type } from '@sinclair/typebox';
import { ORG_KINDS } from './organisations.js';
import { PARTY_KINDS, PARTY_ROLES } from './parties.js';
import { ROLES } from './roles.js';

import { StringEnum as literals } from '../platform/http/schema-helpers.js';

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
export const Name = Type.String({ minLength: 1, maxLength: 100 });
export const RegionCode = Type.String({ pattern: '^[0-9]{2,12}$' });

export const UserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  display_name: Type.String(),
  role: literals(ROLES),
  org_id: Type.String(),
  merchant_id: Type.Union([Type.String(), Type.Null()]),
  totp_enabled: Type.Boolean(),
  locked: Type.Boolean(),
  disabled: Type.Boolean(),
  created_at: Type.Integer(),
  last_login_at: Type.Union([Type.Integer(), Type.Null()]),
});

export const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Type.String({ minLength: 1, maxLength: 128 }),
  totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
}, { additionalProperties: false });

export const LoginReply = Type.Union([
  Type.Object({ status: Type.Literal('ok'), token: Type.String(), expires_at: Type.Integer(), user: UserSchema, permissions: Type.Array(Type.String()) }),
  Type.Object({ status: Type.Literal('enrol_totp'), enrolment_token: Type.String(), secret: Type.String(), otpauth_url: Type.String(), user: UserSchema }),
]);

export const ConfirmTotpBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  enrolment_token: Type.String({ minLength: 10, maxLength: 100 }),
  code: Type.String({ pattern: '^[0-9]{6}$' }),
}, { additionalProperties: false });

export const OrganisationSchema = Type.Object({
  id: Type.String(),
  parent_id: Type.Union([Type.String(), Type.Null()]),
  kind: literals(ORG_KINDS),
  code: Type.String(),
  name: Type.String(),
  name_en: Type.Union([Type.String(), Type.Null()]),
  region_code: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.Integer(),
});

export const NewOrganisationBody = Type.Object({
  parent_id: Type.Union([Id, Type.Null()]),
  kind: literals(ORG_KINDS),
  code: Type.String({ pattern: '^[A-Za-z0-9-]{1,32}$' }),
  name: Name,
  name_en: Type.Optional(Type.Union([Name, Type.Null()])),
  region_code: Type.Optional(Type.Union([RegionCode, Type.Null()])),
}, { additionalProperties: false });

export const PartySchema = Type.Object({
  id: Type.String(),
  kind: literals(PARTY_KINDS),
  name: Type.String(),
  roles: Type.Array(literals(PARTY_ROLES)),
  org_id: Type.String(),
  national_id_masked: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String(), Type.Null()]),
  region_code: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.Integer(),
});

export const NewPartyBody = Type.Object({
  kind: literals(PARTY_KINDS),
  name: Name,
  roles: Type.Array(literals(PARTY_ROLES), { minItems: 1, maxItems: 5 }),
  org_id: Id,
  national_id: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9]{17}[0-9Xx]$' }), Type.Null()])),
  phone: Type.Optional(Type.Union([Type.String({ pattern: '^1[0-9]{10}$' }), Type.Null()])),
  region_code: Type.Optional(Type.Union([RegionCode, Type.Null()])),
}, { additionalProperties: false });

export const PartyQuery = Type.Object({
  role: Type.Optional(literals(PARTY_ROLES)),
  search: Type.Optional(Type.String({ maxLength: 50 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
}, { additionalProperties: false });

export const NewUserBody = Type.Object({
  username: Type.String({ pattern: '^[a-z0-9_.-]{3,32}$' }),
  display_name: Name,
  role: literals(ROLES),
  org_id: Id,
  merchant_id: Type.Optional(Type.Union([Id, Type.Null()])),
  password: Type.String({ minLength: 10, maxLength: 128 }),
}, { additionalProperties: false });

export const AuditQuery = Type.Object({
  before: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
}, { additionalProperties: false });

export const IdParams = Type.Object({ id: Id });
