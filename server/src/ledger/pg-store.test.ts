import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import { LEDGER_CNY, createLedger, type Ledger } from './index.js';
import { byIdProbe } from './pg-store.js';

const options = { XIAOWEI_COMMIT_MAX_BATCH: 8190, XIAOWEI_COMMIT_MAX_WAIT_MS: 0, XIAOWEI_COMMIT_MAX_QUEUE: 100_000, XIAOWEI_PENDING_SWEEP_MS: 3_600_000 };

/**
 * Every group commit looks its transfer ids up in the journal and in the rejections. That must
 * cost one index probe per id, never a read of the whole journal (which grows without end): the
 * planner, left to itself, chose a sequential scan for a batch of ids once they were a few per
 * cent of the table. Checked on the plan, as a duration may not be asserted.
 */
describe.skipIf(!DIALECTS.includes('postgres'))('PostgreSQL ledger store', () => {
  let tdb: TestDatabase;
  let ledger: Ledger;
  beforeAll(async () => {
    tdb = await createTestDatabase('postgres');
    ledger = createLedger(tdb.database, options);
    expect(await ledger.createAccounts([{ id: 'a', ledger: LEDGER_CNY, code: 1 }, { id: 'b', ledger: LEDGER_CNY, code: 1 }])).toEqual([]);
    for (let batch = 0; batch < 3; batch++) {
      const transfers = Array.from({ length: 2_000 }, (_, i) => ({
        id: `t-${batch}-${i}`, debit_account_id: 'a', credit_account_id: 'b', amount: 1, ledger: LEDGER_CNY, code: 1,
      }));
      expect(await ledger.createTransfers(transfers)).toEqual([]);
      expect(await ledger.createTransfers(transfers.slice(0, 100).map((t) => ({ ...t, id: `r-${batch}-${t.id}`, amount: 0 })))).toHaveLength(100);
    }
  });
  afterAll(async () => {
    await ledger.drain();
    await tdb.drop();
  });

  it('looks ids up in the journal by index, whatever the size of the batch', async () => {
    await tdb.database.pool!.query('analyze ledger_transfers');
    const ids = Array.from({ length: 1_000 }, (_, i) => (i % 2 === 0 ? `t-1-${i}` : `new-${i}`)).join(',');
    const plan = await tdb.database.pool!.query(`explain ${byIdProbe('*', 'ledger_transfers')}`, [ids]);
    const text = (plan.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan using ledger_transfers_pkey/);
    expect(text).not.toMatch(/Seq Scan/);
  });

  it.each([
    ['ledger_transfers', '*', 't-1-4'],
    ['ledger_rejections', 'id, result, fingerprint', 'r-2-t-2-7'],
  ] as const)('finds in %s exactly the ids that are there', async (table, columns, there) => {
    const found = await tdb.database.pool!.query(byIdProbe(columns, table), [`none,${there}`]);
    expect((found.rows as { id: string }[]).map((r) => r.id)).toEqual([there]);
  });
});
