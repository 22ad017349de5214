import type { CliContext } from '../cli/context.js';

/** Placeholder until the demo seeder lands; returns the demo logins it created. */
export async function seedDemo(_ctx: CliContext, _bankId: string): Promise<{ username: string; password: string }[]> {
  return [];
}
