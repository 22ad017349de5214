/** `xiaowei switch-sim` (owner: switch-sim part). STUB. */
export async function runSwitchSim(_opts: Record<string, string>): Promise<void> {
  await Promise.reject(new Error('not built yet'));
}
