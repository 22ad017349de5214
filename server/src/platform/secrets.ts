import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The master key and the keys derived from it. The master key comes from XIAOWEI_MASTER_KEY
 * (64 hex digits) or, for the embedded setup, from `<data dir>/master.key` (created once, mode
 * 0600). It never enters the database. Several processes must share the same key.
 */
export class Secrets {
  /** Derived keys by purpose: a few dozen purposes at most, and HKDF costs ~40 µs a call. */
  private readonly derived = new Map<string, Buffer>();

  private constructor(private readonly master: Buffer) {}

  static load(options: { hexKey?: string | undefined; dataDir: string }): Secrets {
    if (options.hexKey) return new Secrets(Buffer.from(options.hexKey, 'hex'));
    const file = path.join(options.dataDir, 'master.key');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(options.dataDir, { recursive: true });
      try {
        fs.writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    const hex = fs.readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`${file} does not hold a 64-hex-digit key`);
    return new Secrets(Buffer.from(hex, 'hex'));
  }

  /** For tests: a throwaway random key. */
  static ephemeral(): Secrets {
    return new Secrets(randomBytes(32));
  }

  private derive(purpose: string): Buffer {
    let key = this.derived.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.master, Buffer.alloc(0), `xiaowei:${purpose}`, 32));
      this.derived.set(purpose, key);
    }
    return key;
  }

  /**
   * A 32-byte key for one purpose (e.g. the crypto service's LMK per version), HKDF-SHA256 from the
   * master key. Its own `key:` label space, so it never equals a key `encrypt`/`blindIndex` use.
   */
  deriveKey(purpose: string): Buffer {
    // A copy: the holder may wipe it; the cache must stay intact.
    return Buffer.from(this.derive(`key:${purpose}`));
  }

  /** AES-256-GCM; the output is `v1.<iv>.<tag>.<ciphertext>` in base64url. */
  encrypt(purpose: string, plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.derive(purpose), iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
  }

  decrypt(purpose: string, sealed: string): string {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('unknown sealed format');
    const decipher = createDecipheriv('aes-256-gcm', this.derive(purpose), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** A keyed hash for equality look-ups of encrypted values (e.g. national ID uniqueness). */
  blindIndex(purpose: string, value: string): string {
    return createHmac('sha256', this.derive(`index:${purpose}`)).update(value).digest('base64url');
  }
}
