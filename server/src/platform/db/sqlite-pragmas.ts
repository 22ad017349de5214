import type BetterSqlite3 from 'better-sqlite3';
import { CHECKPOINT_INLINE_PAGES } from './checkpointer.js';

/** The settings every Xiaowei SQLite connection uses: WAL, durable commits, foreign keys. */
export function configureSqlite(handle: BetterSqlite3.Database): void {
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = FULL');
  handle.pragma('foreign_keys = ON');
  handle.pragma('busy_timeout = 5000');
  handle.pragma('cache_size = -65536');
  handle.pragma(`wal_autocheckpoint = ${CHECKPOINT_INLINE_PAGES}`);
}
