/**
 * WAL checkpoints in a worker thread (checkpointer.ts, ADR 0011): pages committed on the main
 * connection reach the database file without the main connection checkpointing, the WAL then starts
 * again from the top instead of growing, and `XIAOWEI_CHECKPOINT_THREAD=0` leaves checkpoints to
 * COMMIT as before. SQLite only (PostgreSQL has no WAL file of ours to copy).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/dialects.js';
import { CHECKPOINT_INLINE_PAGES, CHECKPOINT_SAFETY_PAGES } from './checkpointer.js';

const PAGE = 4096;
/** Rows of ~2 KiB: ROWS of them are well past a few hundred pages, far below both autocheckpoint levels. */
const ROWS = 1_500;

function fileOf(tdb: TestDatabase): string {
  return tdb.url.slice('sqlite:'.length);
}

async function writeRows(tdb: TestDatabase, from: number): Promise<void> {
  const raw = tdb.database.sqlite!;
  const insert = raw.prepare('insert into cp_probe (id, body) values (?, ?)');
  const body = 'x'.repeat(2_000);
  // Several transactions, as a running server commits.
  for (let t = 0; t < 10; t++)
    raw.transaction(() => {
      for (let i = 0; i < ROWS / 10; i++) insert.run(from + t * (ROWS / 10) + i, body);
    })();
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe('WAL checkpoints in a worker thread (SQLite)', () => {
  let tdb: TestDatabase | undefined;
  const saved = process.env.XIAOWEI_CHECKPOINT_THREAD;
  afterEach(async () => {
    await tdb?.drop();
    tdb = undefined;
    if (saved === undefined) delete process.env.XIAOWEI_CHECKPOINT_THREAD;
    else process.env.XIAOWEI_CHECKPOINT_THREAD = saved;
  });

  async function open(): Promise<TestDatabase> {
    tdb = await createTestDatabase('sqlite', { migrate: false });
    await sql`create table cp_probe (id integer primary key, body text not null)`.execute(tdb.database.kysely);
    return tdb;
  }

  it('copies committed pages into the database file while the main connection only commits', async () => {
    delete process.env.XIAOWEI_CHECKPOINT_THREAD;
    const db = await open();
    const raw = db.database.sqlite!;
    // The main connection checkpoints only as a safety net, far above what this test writes.
    expect(raw.pragma('wal_autocheckpoint', { simple: true })).toBe(CHECKPOINT_SAFETY_PAGES);
    const before = fs.statSync(fileOf(db)).size;
    await writeRows(db, 0);
    const written = (ROWS * 2_000) / PAGE;
    expect(await waitFor(() => fs.statSync(fileOf(db)).size >= before + written * PAGE, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));

    // Everything copied: the next writes start the WAL again from the top, so it does not grow.
    const wal = `${fileOf(db)}-wal`;
    const walAfterFirst = fs.statSync(wal).size;
    await writeRows(db, ROWS);
    expect(await waitFor(() => fs.statSync(fileOf(db)).size >= before + 2 * written * PAGE, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    await writeRows(db, 2 * ROWS);
    expect(fs.statSync(wal).size).toBeLessThanOrEqual(walAfterFirst * 1.5);

    expect((raw.prepare('select count(*) as n from cp_probe').get() as { n: number }).n).toBe(3 * ROWS);
  });

  it('keeps every committed row across a close and a reopen', async () => {
    delete process.env.XIAOWEI_CHECKPOINT_THREAD;
    const db = await open();
    await writeRows(db, 0);
    await db.database.close();
    const Database = (await import('better-sqlite3')).default;
    const again = new Database(fileOf(db), { readonly: true });
    try {
      expect((again.prepare('select count(*) as n from cp_probe').get() as { n: number }).n).toBe(ROWS);
    } finally {
      again.close();
    }
  });

  it("close() finishes in a process with nothing else to do (the worker is unref'd, close holds it)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-cp-'));
    try {
      const database = fileURLToPath(new URL('./database.js', import.meta.url)).replace(/\.js$/, '.ts');
      const probe = `
        import { openDatabase } from ${JSON.stringify(database)};
        const d = openDatabase({ url: ${JSON.stringify(`sqlite:${path.join(dir, 'p.db')}`)} });
        d.sqlite.exec('create table t (a)');
        await d.close();
        console.log('closed');
      `;
      // Before the fix, close() awaited a worker the event loop no longer waited for: exit code 13.
      // A module file, not `-e`: an evaluated script keeps tsx's loader alive and would hide the bug.
      const file = path.join(dir, 'probe.mts');
      fs.writeFileSync(file, probe);
      const out = execFileSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8' });
      expect(out.trim()).toBe('closed');
      expect(fs.existsSync(path.join(dir, 'p.db-wal'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('XIAOWEI_CHECKPOINT_THREAD=0: no worker; the pages stay in the WAL until COMMIT checkpoints', async () => {
    process.env.XIAOWEI_CHECKPOINT_THREAD = '0';
    const db = await open();
    const raw = db.database.sqlite!;
    expect(raw.pragma('wal_autocheckpoint', { simple: true })).toBe(CHECKPOINT_INLINE_PAGES);
    const before = fs.statSync(fileOf(db)).size;
    await writeRows(db, 0);
    // Longer than the worker takes to copy them in the test above.
    await new Promise((r) => setTimeout(r, 500));
    expect(fs.statSync(fileOf(db)).size).toBe(before);
  });
});
