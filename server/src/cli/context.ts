import { loadConfig, type Config } from '../platform/config.js';
import { openDatabase, type Database } from '../platform/db/database.js';
import { migrate } from '../platform/db/migrations.js';
import { Secrets } from '../platform/secrets.js';
import path from 'node:path';

export interface CliContext {
  config: Config;
  database: Database;
  secrets: Secrets;
}

/** Loads configuration, opens and migrates the database: the common start of every command. */
export async function openContext(): Promise<CliContext> {
  const config = loadConfig();
  const database = openDatabase({
    url: config.DATABASE_URL,
    sqliteFile: path.join(config.dataDir, 'xiaowei.db'),
    poolSize: config.XIAOWEI_PG_POOL_SIZE,
  });
  await migrate(database);
  const secrets = Secrets.load({ hexKey: config.XIAOWEI_MASTER_KEY, dataDir: config.dataDir });
  return { config, database, secrets };
}
