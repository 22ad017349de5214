/**
 * The crypto domain's public API: the service (a software HSM today, a hardware one behind the
 * same interface later), its errors, and the few public-key helpers that need no HSM.
 */
import type { Secrets } from '../platform/secrets.js';
import type { CryptoService } from './service.js';
import { SoftwareHsm } from './software-hsm.js';

export type {
  CryptoService,
  KeyAlgorithm,
  KeyHandle,
  KeyType,
  MacAlgorithm,
  MacOptions,
  PinBlockFormat,
  PinKeyRef,
  PinVerification,
  TerminalSessionKeys,
} from './service.js';
export { CryptoError, isCryptoError, type CryptoErrorCode } from './errors.js';
export { keyHandleFromBlob } from './handles.js';
export { verifyEd25519 } from './signing.js';
export { SoftwareHsm, type SoftwareHsmOptions } from './software-hsm.js';

/**
 * The platform's crypto service. Pass `{ lmkVersion: config.XIAOWEI_LMK_VERSION }` so new key
 * handles are sealed under the configured LMK version (default 1).
 */
export function createCryptoService(secrets: Secrets, options?: { lmkVersion?: number }): CryptoService {
  return new SoftwareHsm(secrets, { lmkVersion: options?.lmkVersion });
}
