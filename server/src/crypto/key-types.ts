/**
 * The crypto service's key types, without anything of Node's (the console type-checks the payments
 * contracts, which name PIN keys): what a key is for, its algorithm, the sealed handle callers hold.
 */
/** What a key is for (the usual HSM key types). */
export type KeyType =
  | 'TMK' // terminal master key (key-encrypting key for a conventional POS terminal)
  | 'TPK' // terminal PIN key
  | 'TAK' // terminal MAC (authentication) key
  | 'TDK' // terminal data key
  | 'ZMK' // zone master key shared with the card switch
  | 'ZPK' // zone PIN key
  | 'ZAK' // zone MAC key
  | 'PVK' // PIN verification key (IBM 3624 / Visa PVV)
  | 'BDK'; // DUKPT base derivation key

export type KeyAlgorithm = 'TDES2' | 'TDES3' | 'AES128' | 'AES256' | 'HMAC256';

export interface KeyHandle {
  /** The key sealed under the LMK: opaque, storable. */
  readonly blob: string;
  readonly type: KeyType;
  readonly algorithm: KeyAlgorithm;
  /**
   * Key check value, 6 hex digits, upper case (TDES: first 3 bytes of E(0); AES: of CMAC(0)).
   * HMAC256 keys have no standard one: ours is the first 3 bytes of HMAC-SHA256(K, 16 zero bytes).
   */
  readonly kcv: string;
  readonly lmkVersion: number;
}

export type PinBlockFormat = 0 | 4;

/** Where a PIN block's key comes from: a stored key, or DUKPT derivation from a BDK and a KSN. */
export type PinKeyRef = KeyHandle | { readonly dukpt: { readonly bdk: KeyHandle; readonly ksn: string; readonly scheme: 'tdes' | 'aes' } };
