/**
 * The card-switch and core-banking simulator (a test peer speaking ../switch/protocol.ts).
 * See docs/switch-sim.md.
 */
export {
  nextCutoverAt,
  SIM_TEST_ZMK,
  SIM_TEST_ZMK_COMPONENTS,
  SwitchSimulator,
  type SimAccount,
  type SwitchSimulatorOptions,
  type SwitchSimulatorStats,
} from './simulator.js';
export { luhnDigit, luhnValid, seededAccounts, seededCards, SIM_BIN, SIM_EXPIRY, type SimCard } from './seeded.js';
export { formatSettlementFile, LINE_SIGN, settlementFileName, type SettlementLine, type SettlementLineType } from './settlement-file.js';
