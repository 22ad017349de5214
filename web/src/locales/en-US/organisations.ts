import type { Messages } from '../messages';
import type zh from '../zh-CN/organisations';

export default {
  title: 'Organisations',
  add: 'Add organisation',
  addTitle: 'Add an organisation',
  parent: 'Parent',
  parentNone: 'None (a new bank)',
  kindWillBe: 'The new organisation will be a {{kind}}',
  code: 'Code',
  codeInvalid: 'A code is 1–32 letters, digits or hyphens',
  name: 'Name',
  nameRequired: 'Enter a name (up to 100 characters)',
  nameEn: 'English name',
  region: 'Region code',
  regionInvalid: 'A region code is 2–12 digits',
  kindLabel: 'Kind',
  kind: { bank: 'Bank', branch: 'Branch', service_point: 'Service point' },
  createdAt: 'Created',
  created: 'Added “{{name}}”',
} satisfies Messages<typeof zh>;
