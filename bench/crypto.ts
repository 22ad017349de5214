/**
 * bench:crypto — the software HSM's hot operations in process, one at a time on one core, the way
 * the request path calls them (each awaited, key handles opened from the service's cache):
 *
 * - mac_verify: HMAC-SHA256 verification of a 512-byte terminal request under a session TAK —
 *   runs on every terminal request;
 * - pin_verify: an ISO 9564 format 4 PIN block (AES-128 TPK) checked against an IBM 3624 offset
 *   (double-length TDES PVK) — an issuer authorising a PIN transaction;
 * - pin_translate: format 4 under the terminal's AES TPK to format 0 under a TDES ZPK — an
 *   acquirer forwarding a PIN to the card switch.
 *
 * Each runs for --seconds (default 2) after a short warm-up; the last line is one JSON object.
 *
 *   npm run bench:crypto
 *   npm run bench:crypto -- --seconds=5
 */
import { randomBytes } from 'node:crypto';
import { SoftwareHsm } from '../server/src/crypto/index.js';
import { encipherFormat4 } from '../server/src/crypto/pin-block.js';
import { Secrets } from '../server/src/platform/secrets.js';

function setting(name: string, fallback: number): number {
  const raw =
    process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? process.env[`BENCH_CRYPTO_${name.toUpperCase()}`];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not ${raw}`);
  return n;
}

const SECONDS = setting('seconds', 2);

/** Calls `op` back to back for `seconds` and returns completed operations per second. */
async function rate(name: string, op: () => Promise<unknown>, seconds: number): Promise<number> {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) await op();
  let count = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    // Check the clock every 64 calls: reading it costs about as much as an HMAC.
    for (let i = 0; i < 64; i++) await op();
    count += 64;
    now = performance.now();
  }
  const perSecond = Math.round(count / ((now - start) / 1000));
  console.log(`${name}: ${perSecond.toLocaleString('en')}/s`);
  return perSecond;
}

async function main(): Promise<void> {
  const hsm = new SoftwareHsm(Secrets.ephemeral());
  const pan = '6217000010001234567';

  const tak = await hsm.generateKey('TAK', 'HMAC256');
  const request = randomBytes(512);
  const mac = await hsm.generateMac(tak, 'HMAC-SHA256', request);
  const macVerify = await rate(
    'mac_verify (HMAC-SHA256, 512 B)',
    async () => {
      if (!(await hsm.verifyMac(tak, 'HMAC-SHA256', request, mac))) throw new Error('MAC did not verify');
    },
    SECONDS,
  );

  // A TPK whose clear value the bench knows, standing in for the terminal that made the block.
  const tpkClear = randomBytes(16);
  const tpk = await hsm.importComponents('TPK', 'AES128', [tpkClear.toString('hex')]);
  const pinBlock = encipherFormat4(tpkClear, '246810', pan);
  const pvk = await hsm.generateKey('PVK', 'TDES2');
  const offset = await hsm.generateIbm3624Offset({ pinBlock, key: tpk, format: 4, pan, pvk });
  const pinVerify = await rate(
    'pin_verify (format 4 AES + IBM 3624)',
    async () => {
      const ok = await hsm.verifyPin({ pinBlock, key: tpk, format: 4, pan, verification: { method: 'ibm3624', pvk, offset } });
      if (!ok) throw new Error('PIN did not verify');
    },
    SECONDS,
  );

  const zpk = await hsm.generateKey('ZPK', 'TDES2');
  const pinTranslate = await rate(
    'pin_translate (format 4 AES → format 0 TDES)',
    () => hsm.translatePin({ pinBlock, from: tpk, fromFormat: 4, to: zpk, toFormat: 0, pan }),
    SECONDS,
  );

  console.log(JSON.stringify({ mac_verify_per_s: macVerify, pin_verify_per_s: pinVerify, pin_translate_per_s: pinTranslate }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
