import { NO_RISK, type RiskEngine } from './contracts.js';
import type { PaymentsDeps } from './deps.js';

/** The risk engine the payments domain runs (filled in by the risk part). */
export function createRiskEngine(_deps: Omit<PaymentsDeps, 'risk'>): RiskEngine & { close(): Promise<void> } {
  return { ...NO_RISK, close: async () => undefined };
}
