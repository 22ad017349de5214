import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeQr, qrPath, type QrMatrix } from '../shared/qr-code';

/**
 * The cashier's QR encoder. Structure is checked everywhere; where `zbarimg` (Debian zbar-tools)
 * is installed, a real decoder reads the codes back.
 */
// CI installs zbar-tools; elsewhere the decoding checks run when it is there.
const HAVE_ZBAR = process.env.CI === 'true' || spawnSync('zbarimg', ['--version']).status === 0;

function pbm(m: QrMatrix, scale = 4, border = 4): string {
  const n = (m.size + border * 2) * scale;
  const rows: string[] = [];
  for (let y = 0; y < n; y++) {
    const row: number[] = [];
    for (let x = 0; x < n; x++) {
      const mx = Math.floor(x / scale) - border;
      const my = Math.floor(y / scale) - border;
      row.push(mx >= 0 && my >= 0 && mx < m.size && my < m.size && m.modules[my]![mx] ? 1 : 0);
    }
    rows.push(row.join(' '));
  }
  return `P1\n${n} ${n}\n${rows.join('\n')}\n`;
}

const EMV =
  '00020101021226390012com.xiaowei0121M2026000000001520454115303156540512.505802CN5909城阳便利店6006QINGDAO62140510ORDER1234563048A1C';
const LONG = Array.from({ length: 60 }, (_, i) => `field${i}=${(i * 7919) % 1000}`).join('&');

describe('QR encoder', () => {
  it('picks the smallest version (level M, byte mode) and draws the fixed patterns', () => {
    expect(encodeQr('hello').version).toBe(1);
    expect(encodeQr('x'.repeat(14)).version).toBe(1);
    expect(encodeQr('x'.repeat(15)).version).toBe(2);
    const m = encodeQr(EMV);
    expect(m.size).toBe(m.version * 4 + 17);
    // Finder pattern corners: dark outer ring, light ring, dark centre.
    for (const [x, y] of [
      [0, 0],
      [m.size - 7, 0],
      [0, m.size - 7],
    ] as const) {
      expect(m.modules[y]![x]).toBe(true);
      expect(m.modules[y + 1]![x + 1]).toBe(false);
      expect(m.modules[y + 3]![x + 3]).toBe(true);
    }
    // Timing pattern and the always-dark module.
    for (let i = 8; i < m.size - 8; i++) expect(m.modules[6]![i]).toBe(i % 2 === 0);
    expect(m.modules[m.size - 8]![8]).toBe(true);
    expect(qrPath(m).viewSize).toBe(m.size + 8);
    expect(() => encodeQr('x'.repeat(3000))).toThrow(RangeError);
  });

  it.skipIf(!HAVE_ZBAR)('decodes back to the same text (zbarimg)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xw-qr-'));
    try {
      for (const text of ['hello', EMV, LONG]) {
        const file = path.join(dir, 'qr.pbm');
        fs.writeFileSync(file, pbm(encodeQr(text)));
        const out = execFileSync('zbarimg', ['-q', '--raw', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        expect(out.replace(/\n$/, '')).toBe(text);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
