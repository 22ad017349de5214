/**
 * `publishBundle` as the seed command uses it (no HTTP): creating the app on first publication,
 * idempotent re-publication on every start, concurrent publishers, and filling a scenario set.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import { createCryptoService, verifyEd25519 } from '../crypto/index.js';
import { Secrets } from '../platform/secrets.js';
import type { AppsDb } from './apps-tables.js';
import { getAppSetByCode, setAppSetItem } from './app-sets.js';
import { listVersions } from './app-versions.js';
import { buildBundle, bundleSigningString, publishBundle } from './bundles.js';

describe.each(DIALECTS)('publishBundle on %s', (dialect) => {
  let tdb: TestDatabase;
  let db: Kysely<AppsDb>;
  const crypto = createCryptoService(Secrets.ephemeral());
  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    db = tdb.database.kysely as Kysely<AppsDb>;
  });
  afterAll(async () => tdb?.drop());

  it('creates the app, signs, and is idempotent for the same bytes', async () => {
    const bytes = buildBundle('messages', '1.0.0', { 'index.html': '<p>消息</p>' });
    const meta = { created_by: 'seed', app: { name_zh: '消息', name_en: 'Messages', scenario: 'common' as const }, approve: true };
    const first = await publishBundle(db, crypto, bytes, meta);
    expect(first).toMatchObject({ created: true, app: { code: 'messages', name_en: 'Messages' }, version: { version: '1.0.0', approved: true, created_by: 'seed' } });
    const signed = Buffer.from(bundleSigningString('messages', '1.0.0', first.version.digest));
    expect(verifyEd25519(await crypto.signingPublicKey(), signed, Buffer.from(first.version.signature, 'base64url'))).toBe(true);

    const again = await publishBundle(db, crypto, bytes, meta);
    expect(again).toMatchObject({ created: false, version: { id: first.version.id } });
    await expect(publishBundle(db, crypto, buildBundle('messages', '1.0.0', { 'index.html': 'changed' }), meta)).rejects.toMatchObject({ code: 'app_version_exists' });
    // Without app details an unknown app is not created.
    await expect(publishBundle(db, crypto, buildBundle('unknown-app', '1.0.0', { 'index.html': 'x' }), { created_by: 'seed' })).rejects.toMatchObject({ code: 'app_not_found' });
  });

  it('lets concurrent publishers of one bundle agree on one version', async () => {
    const bytes = buildBundle('messages', '1.1.0', { 'index.html': '<p>1.1.0</p>' });
    const results = await Promise.all([1, 2, 3, 4].map(() => publishBundle(db, crypto, bytes, { created_by: 'seed' })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.version.id)).size).toBe(1);
    // Approval can come with a later publication of the same bytes.
    expect((await publishBundle(db, crypto, bytes, { created_by: 'seed', approve: true })).version.approved).toBe(true);
    expect((await listVersions(db, results[0]!.app.id)).map((v) => v.version)).toEqual(['1.1.0', '1.0.0']);
  });

  it('fills a seeded scenario set', async () => {
    const set = await getAppSetByCode(db, 'village_service_point');
    expect(set).toMatchObject({ name_zh: '村级服务点', name_en: 'Village service point', items: [] });
    const app = (await publishBundle(db, crypto, buildBundle('messages', '1.1.0', { 'index.html': '<p>1.1.0</p>' }), { created_by: 'seed' })).app;
    const filled = await setAppSetItem(db, set!.id, app.id, null, Date.now() * 1000);
    expect(filled.items).toEqual([expect.objectContaining({ app_code: 'messages', version: null })]);
  });
});
