import type { Kysely } from 'kysely';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CryptoService } from '../crypto/service.js';
import { getAppSetByCode, setAppSetItem } from '../terminals/app-sets.js';
import { getAppByCode } from '../terminals/apps.js';
import { SCENARIOS, SCENARIO_SETS, type AppsDb, type Scenario } from '../terminals/apps-tables.js';
import { publishBundle } from '../terminals/bundles.js';

/**
 * Publishes the terminal app bundles built from this repository (web/terminal: the shell and the
 * scenario apps, see web/terminal/build/plugin.ts) into the app catalogue, and puts each app in
 * the scenario app sets it serves, so a fresh install has apps to assign and roll out.
 *
 * Policy, so that running it on every start is safe for a bank in production:
 * - publishing is idempotent (the same bytes are the same version);
 * - an app published for the first time is approved and added to its sets (following the latest
 *   approved version) — that is the initial install;
 * - a later version of a known app (a server upgrade) is published *unapproved*: staff approve it
 *   or roll it out, as with any upload. Set items staff changed are never touched.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
/** web/terminal/dist/bundles, from server/src/seed or server/dist/seed alike. */
export const DEFAULT_BUNDLES_DIR = path.resolve(here, '../../../web/terminal/dist/bundles');

interface IndexEntry {
  code: string;
  version: string;
  file: string;
  name_zh: string;
  name_en: string;
  scenario: string;
  description_zh: string;
  description_en: string;
  release_notes_zh?: string;
  release_notes_en?: string;
}

export interface PublishedBundle {
  app: string;
  version: string;
  /** False when this exact bundle was in the catalogue already. */
  created: boolean;
  approved: boolean;
  /** Scenario set codes the app was added to by this run. */
  addedToSets: string[];
}

export interface AppBundlesOptions {
  dir?: string;
  /** µs since the epoch. */
  now?: number;
}

export interface AppBundlesOutcome {
  /** Null when there is no build to publish (the web workspace was not built). */
  dir: string | null;
  published: PublishedBundle[];
}

function readIndex(dir: string): IndexEntry[] | null {
  const file = path.join(dir, 'index.json');
  if (!fs.existsSync(file)) return null;
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { format?: string; bundles?: IndexEntry[] };
  if (parsed.format !== 'xiaowei-bundle-index/1' || !Array.isArray(parsed.bundles)) throw new Error(`${file}: not a bundle index (xiaowei-bundle-index/1)`);
  return parsed.bundles;
}

function isScenario(value: string): value is Scenario {
  return (SCENARIOS as readonly string[]).includes(value);
}

export async function publishAppBundles(db: Kysely<AppsDb>, crypto: Pick<CryptoService, 'sign'>, options: AppBundlesOptions = {}): Promise<AppBundlesOutcome> {
  const dir = options.dir ?? DEFAULT_BUNDLES_DIR;
  const entries = readIndex(dir);
  if (!entries) return { dir: null, published: [] };
  const now = options.now ?? Date.now() * 1000;
  const published: PublishedBundle[] = [];
  for (const entry of entries) {
    if (!isScenario(entry.scenario)) throw new Error(`bundle ${entry.file}: unknown scenario ${entry.scenario}`);
    const bytes = fs.readFileSync(path.join(dir, path.basename(entry.file)));
    const isNew = (await getAppByCode(db, entry.code)) === undefined;
    const result = await publishBundle(db, crypto, bytes, {
      created_by: 'seed',
      version: entry.version,
      app: { name_zh: entry.name_zh, name_en: entry.name_en, scenario: entry.scenario, description_zh: entry.description_zh, description_en: entry.description_en },
      release_notes_zh: entry.release_notes_zh ?? null,
      release_notes_en: entry.release_notes_en ?? null,
      approve: isNew,
      now,
    });

    const addedToSets: string[] = [];
    if (isNew) {
      // Common apps (the shell among them: a terminal downloads only authorised bundles) go to every scenario.
      const sets = SCENARIO_SETS.filter((s) => entry.scenario === 'common' || s.code === entry.scenario);
      for (const { code } of sets) {
        const set = await getAppSetByCode(db, code);
        if (!set || set.items.some((item) => item.app_id === result.app.id)) continue;
        await setAppSetItem(db, set.id, result.app.id, null, now);
        addedToSets.push(code);
      }
    }
    published.push({ app: entry.code, version: entry.version, created: result.created, approved: result.version.approved, addedToSets });
  }
  return { dir, published };
}
