import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoError } from './errors.js';
import { isKeyAlgorithm, isKeyType } from './key-rules.js';
import type { KeyAlgorithm, KeyHandle, KeyType } from './service.js';

/**
 * The sealed form of a key: `XW1.<lmk version>.<type>.<algorithm>.<kcv>.<iv>.<ciphertext‖tag>`,
 * AES-256-GCM under the LMK of that version, with everything before the IV as additional
 * authenticated data. The labels travel inside the blob, so a blob alone is a complete handle
 * (`keyHandleFromBlob`), and changing any label — a TAK relabelled TPK, another KCV, another
 * version — makes the blob fail to open.
 */

const PREFIX = 'XW1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MAX_LMK_VERSION = 9999;

export interface SealedLabels {
  readonly lmkVersion: number;
  readonly type: KeyType;
  readonly algorithm: KeyAlgorithm;
  readonly kcv: string;
}

function header(labels: SealedLabels): string {
  return [PREFIX, labels.lmkVersion, labels.type, labels.algorithm, labels.kcv].join('.');
}

export function isLmkVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_LMK_VERSION;
}

export function sealKey(lmk: Buffer, labels: SealedLabels, key: Uint8Array): string {
  const iv = randomBytes(IV_BYTES);
  const aad = header(labels);
  const cipher = createCipheriv('aes-256-gcm', lmk, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const sealed = Buffer.concat([cipher.update(key), cipher.final(), cipher.getAuthTag()]);
  return `${aad}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

export interface ParsedBlob {
  readonly labels: SealedLabels;
  readonly aad: string;
  readonly iv: Buffer;
  readonly sealed: Buffer;
}

const unusable = (): CryptoError => new CryptoError('key_unusable', 'the key handle is not a sealed key of this service');

export function parseBlob(blob: unknown): ParsedBlob {
  if (typeof blob !== 'string' || blob.length > 512) throw unusable();
  const parts = blob.split('.');
  if (parts.length !== 7 || parts[0] !== PREFIX) throw unusable();
  const [, version, type, algorithm, kcv, iv, sealed] = parts as [string, string, string, string, string, string, string];
  const lmkVersion = /^[1-9]\d{0,3}$/.test(version) ? Number(version) : NaN;
  if (!isLmkVersion(lmkVersion) || !isKeyType(type) || !isKeyAlgorithm(algorithm) || !/^[0-9A-F]{6}$/.test(kcv)) throw unusable();
  const ivBytes = Buffer.from(iv, 'base64url');
  const sealedBytes = Buffer.from(sealed, 'base64url');
  if (ivBytes.length !== IV_BYTES || sealedBytes.length <= TAG_BYTES) throw unusable();
  const labels = { lmkVersion, type, algorithm, kcv };
  return { labels, aad: header(labels), iv: ivBytes, sealed: sealedBytes };
}

/** The clear key inside a parsed blob; a wrong LMK or any changed byte or label throws. */
export function openBlob(lmk: Buffer, parsed: ParsedBlob): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', lmk, parsed.iv);
  decipher.setAAD(Buffer.from(parsed.aad, 'utf8'));
  decipher.setAuthTag(parsed.sealed.subarray(parsed.sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(parsed.sealed.subarray(0, parsed.sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new CryptoError('key_unusable', 'the key handle does not open: it was altered or sealed under another master key');
  }
}

/** Rebuilds a full handle from a stored blob (the labels are public; opening still needs the LMK). */
export function keyHandleFromBlob(blob: string): KeyHandle {
  const { labels } = parseBlob(blob);
  return { blob, ...labels };
}
