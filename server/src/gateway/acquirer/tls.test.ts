/**
 * The POS host over TLS (XIAOWEI_ISO_TLS_CERT / XIAOWEI_ISO_TLS_KEY), real sockets on both
 * databases: a terminal that trusts the host's certificate signs on and sells; one that does not
 * trust it gets no connection; the two variables go together.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { createHarness, type Harness } from '../../../test/harness.js';
import { setupPaymentsWorld, type PaymentsWorld } from '../../payments/test-support.js';
import { ConfigError, loadConfig } from '../../platform/config.js';
import { makeCerts, opensslAvailable, type TestCerts } from '../channel/test-support/helpers.js';
import { isoTlsFromConfig } from './host.js';
import { PosClient } from './pos-client.js';
import { registerPos } from './test-support.js';

describe('POS host TLS configuration', () => {
  it('needs both variables or neither; an unreadable file names the variable, not its content', () => {
    expect(() => loadConfig({ XIAOWEI_ISO_TLS_CERT: '/x/cert.pem' })).toThrow(ConfigError);
    expect(() => loadConfig({ XIAOWEI_ISO_TLS_KEY: '/x/key.pem' })).toThrow(/XIAOWEI_ISO_TLS_CERT and XIAOWEI_ISO_TLS_KEY/);
    expect(loadConfig({}).XIAOWEI_ISO_TLS_CERT).toBeUndefined();
    expect(isoTlsFromConfig({ XIAOWEI_ISO_TLS_CERT: undefined, XIAOWEI_ISO_TLS_KEY: undefined })).toBeUndefined();
    expect(() => isoTlsFromConfig({ XIAOWEI_ISO_TLS_CERT: '/nonexistent/cert.pem', XIAOWEI_ISO_TLS_KEY: '/nonexistent/key.pem' })).toThrow(
      /XIAOWEI_ISO_TLS_CERT: cannot read \/nonexistent\/cert\.pem \(ENOENT\)/,
    );
  });
});

describe.skipIf(!opensslAvailable()).each(DIALECTS)('POS host over TLS (%s)', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  let certs: TestCerts;
  let dir: string;
  let port: number;
  const clients: PosClient[] = [];

  beforeAll(async () => {
    certs = makeCerts();
    dir = mkdtempSync(join(tmpdir(), 'xiaowei-pos-tls-'));
    writeFileSync(join(dir, 'host.pem'), certs.serverCert);
    writeFileSync(join(dir, 'host.key'), certs.serverKey, { mode: 0o600 });
    h = await createHarness(dialect, {
      XIAOWEI_RISK: 'off',
      XIAOWEI_ISO_TLS_CERT: join(dir, 'host.pem'),
      XIAOWEI_ISO_TLS_KEY: join(dir, 'host.key'),
    });
    w = await setupPaymentsWorld(h, { cardLimits: { per_txn_limit: 500_000, daily_limit: 5_000_000 } });
    port = await h.gateway.acquirer.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    const report = await h?.ledger.verify();
    expect(report?.ok).toBe(true);
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a terminal that trusts the host certificate signs on and sells over TLS', async () => {
    const reg = await registerPos(h.app, h.adminToken, w.merchant.partyId);
    const pos = await PosClient.connect('127.0.0.1', port, {
      tid: reg.tid,
      mid: reg.mid,
      timeoutMs: 20_000,
      tls: { ca: certs.serverCert },
    });
    clients.push(pos);
    const signOn = await pos.signOn(reg.tmkHex);
    expect(signOn.code).toBe('00');
    expect(signOn.keysValid).toBe(true);
    const [before] = await h.ledger.lookupAccounts([w.customerAccount]);
    const sale = await pos.sale({ pan: w.card.pan, expiry: w.card.expiry, pin: w.card.pin, amount: 1_234 });
    expect(sale.code).toBe('00');
    expect(sale.macValid).toBe(true);
    expect(sale.authCode).toMatch(/^\d{6}$/);
    const [after] = await h.ledger.lookupAccounts([w.customerAccount]);
    expect(after!.debits_posted - before!.debits_posted).toBe(1_234);
  });

  it('a terminal that does not trust the certificate (or speaks plain TCP) gets no session', async () => {
    const reg = await registerPos(h.app, h.adminToken, w.merchant.partyId);
    // Trusts only another certificate: the handshake fails, no connection.
    await expect(
      PosClient.connect('127.0.0.1', port, { tid: reg.tid, mid: reg.mid, timeoutMs: 1_500, tls: { ca: certs.clientCert } }),
    ).rejects.toMatchObject({
      name: expect.any(String),
    });
    // Plain TCP: the host waits for a TLS ClientHello; the sign-on frame gets no answer.
    const plain = await PosClient.connect('127.0.0.1', port, { tid: reg.tid, mid: reg.mid, timeoutMs: 1_000 });
    clients.push(plain);
    await expect(plain.signOn(reg.tmkHex)).rejects.toBeTruthy();
  });
});
