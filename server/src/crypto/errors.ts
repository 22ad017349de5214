/**
 * The one error the crypto service throws for a known failure. `code` is stable (callers map it to
 * their own API errors); the message is a fixed sentence per case and never carries a key, a PIN,
 * a PIN block, a card number or any digit taken from one — only lengths and names of things.
 */
export type CryptoErrorCode =
  /** A PIN block that does not parse: length, control nibble, PIN length, non-digit, fill. */
  | 'pin_block_invalid'
  /** A key check value that does not match the key it should describe. */
  | 'kcv_mismatch'
  /** A key used for something its type or algorithm does not allow (a TAK verifying a PIN). */
  | 'key_type_mismatch'
  /** A handle that does not open: tampered, relabelled, unknown LMK version, not a handle. */
  | 'key_unusable'
  /** Key material that cannot be a key of its algorithm (length, hex, degenerate TDES). */
  | 'key_invalid'
  /** Any other input out of its domain: a PAN, an offset, a decimalisation table, a KSN… */
  | 'input_invalid';

export class CryptoError extends Error {
  override name = 'CryptoError';

  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isCryptoError(error: unknown): error is CryptoError {
  return error instanceof CryptoError;
}
