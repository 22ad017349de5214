import type { Kysely } from 'kysely';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import { createCryptoService, verifyEd25519 } from '../crypto/index.js';
import type { CryptoService } from '../crypto/service.js';
import { Secrets } from '../platform/secrets.js';
import { getAppSetByCode } from '../terminals/app-sets.js';
import { listVersions } from '../terminals/app-versions.js';
import { getAppByCode } from '../terminals/apps.js';
import type { AppsDb } from '../terminals/apps-tables.js';
import { SCENARIO_SETS } from '../terminals/apps-tables.js';
import { bundleDigest, bundleSigningString, buildBundle } from '../terminals/bundles.js';
import { publishAppBundles } from './app-bundles.js';

/** Writes a bundle folder the way web/terminal's build does: bundle files plus index.json. */
function writeBuild(dir: string, bundles: { code: string; version: string; scenario: string; html: string }[]): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const index = bundles.map((b) => {
    const file = `${b.code}-${b.version}.json`;
    fs.writeFileSync(path.join(dir, file), buildBundle(b.code, b.version, { 'index.html': b.html }));
    return { code: b.code, version: b.version, file, name_zh: `应用${b.code}`, name_en: `App ${b.code}`, scenario: b.scenario, description_zh: '说明', description_en: 'About', release_notes_zh: '首版', release_notes_en: 'First' };
  });
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ format: 'xiaowei-bundle-index/1', bundles: index }));
}

describe.each(DIALECTS)('seed: terminal app bundles on %s', (dialect) => {
  let tdb: TestDatabase;
  let db: Kysely<AppsDb>;
  let crypto: CryptoService;
  let dir: string;

  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    db = tdb.database.kysely as Kysely<AppsDb>;
    crypto = createCryptoService(Secrets.ephemeral());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-bundles-'));
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await tdb.drop();
  });

  it('does nothing when the web build is missing', async () => {
    expect(await publishAppBundles(db, crypto, { dir: path.join(dir, 'absent') })).toEqual({ dir: null, published: [] });
  });

  it('publishes signed, approved versions and adds common apps to every scenario set, scenario apps to theirs', async () => {
    writeBuild(dir, [
      { code: 'shell', version: '1.0.0', scenario: 'common', html: '<p>shell</p>' },
      { code: 'buying', version: '0.1.0', scenario: 'produce_buying', html: '<p>buying</p>' },
    ]);
    const outcome = await publishAppBundles(db, crypto, { dir });
    expect(outcome.published).toEqual([
      { app: 'shell', version: '1.0.0', created: true, approved: true, addedToSets: SCENARIO_SETS.map((s) => s.code) },
      { app: 'buying', version: '0.1.0', created: true, approved: true, addedToSets: ['produce_buying'] },
    ]);

    // The signature a terminal checks: Ed25519 by the platform key over XW1-BUNDLE, app, version, digest.
    const shell = (await getAppByCode(db, 'shell'))!;
    const [version] = await listVersions(db, shell.id);
    const bytes = fs.readFileSync(path.join(dir, 'shell-1.0.0.json'));
    expect(version!.digest).toBe(bundleDigest(bytes));
    const signed = Buffer.from(bundleSigningString('shell', '1.0.0', version!.digest), 'utf8');
    expect(verifyEd25519(await crypto.signingPublicKey(), signed, Buffer.from(version!.signature, 'base64url'))).toBe(true);

    const store = (await getAppSetByCode(db, 'convenience_store'))!;
    expect(store.items.map((i) => [i.app_code, i.version])).toEqual([['shell', null]]);
    const buying = (await getAppSetByCode(db, 'produce_buying'))!;
    expect(buying.items.map((i) => i.app_code).sort()).toEqual(['buying', 'shell']);
  });

  it('is idempotent: the same build again changes nothing', async () => {
    const outcome = await publishAppBundles(db, crypto, { dir });
    expect(outcome.published.map((p) => [p.app, p.created, p.addedToSets])).toEqual([
      ['shell', false, []],
      ['buying', false, []],
    ]);
  });

  it('publishes a later version of a known app unapproved, for staff to approve or roll out, and leaves the sets alone', async () => {
    writeBuild(dir, [{ code: 'shell', version: '1.1.0', scenario: 'common', html: '<p>shell 1.1</p>' }]);
    const outcome = await publishAppBundles(db, crypto, { dir });
    expect(outcome.published).toEqual([{ app: 'shell', version: '1.1.0', created: true, approved: false, addedToSets: [] }]);
    const shell = (await getAppByCode(db, 'shell'))!;
    expect((await listVersions(db, shell.id)).map((v) => [v.version, v.approved])).toEqual([
      ['1.1.0', false],
      ['1.0.0', true],
    ]);
  });

  it('refuses a changed bundle under a published version (versions are immutable)', async () => {
    writeBuild(dir, [{ code: 'shell', version: '1.1.0', scenario: 'common', html: '<p>different bytes</p>' }]);
    await expect(publishAppBundles(db, crypto, { dir })).rejects.toMatchObject({ code: 'app_version_exists' });
  });
});
