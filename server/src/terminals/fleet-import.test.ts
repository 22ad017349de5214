/**
 * CSV import over HTTP on every dialect: mixed good and bad rows with the per-row report, serials
 * taken already or repeated in the file, dry runs, whole-file refusals and the row limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { IMPORT_MAX_ROWS, parseDegreesE6 } from './fleet-import.js';
import { buildWorld, expectError, fleetDb, newTerminal, serial, type FleetWorld } from './test-support/fleet-testkit.js';

describe('parseDegreesE6', () => {
  it('reads decimal degrees exactly, without floating point', () => {
    expect(parseDegreesE6('36.067108')).toBe(36_067_108);
    expect(parseDegreesE6('120.3')).toBe(120_300_000);
    expect(parseDegreesE6('-0.000001')).toBe(-1);
    expect(parseDegreesE6('0')).toBe(0);
    // 0.1 + 0.2 style traps do not exist here: 36.000007 stays 36000007.
    expect(parseDegreesE6('36.000007')).toBe(36_000_007);
    for (const bad of ['', '36.0671081', '1e2', '36,06', ' 36.0', '+36', '1234', '36.']) expect(parseDegreesE6(bad)).toBeNull();
  });
});

describe.each(DIALECTS)('terminal import on %s', (dialect) => {
  let h: Harness;
  let w: FleetWorld;
  beforeAll(async () => {
    h = await createHarness(dialect);
    w = await buildWorld(h);
  });
  afterAll(async () => h?.close());

  const importCsv = (csv: string, options: { dry_run?: boolean; token?: string; lang?: string } = {}) =>
    h.app.inject({
      method: 'POST',
      url: '/api/v1/terminals/import',
      headers: auth(options.token ?? w.tokens.staffA, options.lang ? { 'accept-language': options.lang } : {}),
      payload: { csv, ...(options.dry_run === undefined ? {} : { dry_run: options.dry_run }) },
    });
  const terminalCount = async () =>
    Number(
      (
        await fleetDb(h)
          .selectFrom('terminals')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('inserts the valid rows and reports every invalid one by row, field and code', async () => {
    const existing = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const s = Array.from({ length: 6 }, () => serial('imp'));
    const csv = [
      '\ufeffSerial,Model,Kind,Owner_Party_Id,Region_Code,Lat,Lng,Tags', // row 1: header, BOM, any case
      `${s[0]},Sunmi P2,smart_pos,${w.merchantA},370202001,36.067108,120.382639,vip;便利店`, // 2 ok
      `${s[1]},"PAX A920, 4G",SMART_POS,${w.agentA},,,,`, // 3 ok (quoted comma, kind in capitals)
      `${s[2]},Lenovo M10,fridge,${w.merchantA},,,,`, // 4 bad kind
      `${existing.serial},Sunmi V2,phone,${w.merchantA},,,,`, // 5 serial taken
      `${s[3]},Sunmi V2,phone,${w.customerA},,,,`, // 6 customer cannot own
      `${s[4]},Sunmi V2,phone,${w.merchantB},,,,`, // 7 another branch's merchant
      `${s[5]},Sunmi V2,tablet,${w.merchantA},999999,91.5,120,`, // 8 unknown region, latitude out of range
      `${s[0]!.toLowerCase()},Sunmi V2,tablet,${w.merchantA},,,,`, // 9 repeats row 2
      `,,phone,${w.merchantA},,,,`, // 10 serial and model missing
      `bad serial!,M,tablet,${w.merchantA},,36.1,,`, // 11 malformed serial, lat without lng
      `${serial('imp')},M,tablet,${w.merchantA},,,,x y`, // 12 bad tag
      '', // 13 blank line: skipped
      `${serial('imp')},M,tablet`, // 14 too few fields
    ].join('\r\n');
    const before = await terminalCount();
    const res = await importCsv(csv, { lang: 'en' });
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({ dry_run: false, rows: 12, valid: 2, created: 2, errors_omitted: 0 });
    expect(report.items.map((i: { row: number; serial: string }) => [i.row, i.serial])).toEqual([
      [2, s[0]!.toUpperCase()],
      [3, s[1]!.toUpperCase()],
    ]);
    expect(await terminalCount()).toBe(before + 2);
    const errors = report.errors.map((e: { row: number; field: string; code: string }) => [e.row, e.field, e.code]);
    expect(errors).toEqual([
      [4, 'kind', 'validation_failed'],
      [5, 'serial', 'terminal_serial_exists'],
      [6, 'owner_party_id', 'terminal_owner_invalid'],
      [7, 'owner_party_id', 'terminal_owner_invalid'],
      [8, 'region_code', 'terminal_region_unknown'],
      [8, 'lat', 'validation_failed'],
      [9, 'serial', 'terminal_serial_repeated'],
      [10, 'serial', 'validation_failed'],
      [10, 'model', 'validation_failed'],
      [11, 'serial', 'validation_failed'],
      [11, 'lng', 'validation_failed'],
      [12, 'tags', 'validation_failed'],
      [14, 'row', 'validation_failed'],
    ]);
    // Each problem carries its message in both languages; `message` follows Accept-Language.
    for (const e of report.errors) {
      expect(e.messages['zh-CN']).toMatch(/[\u4e00-\u9fff]/);
      expect(e.messages.en).toMatch(/[A-Za-z]{3}/);
      expect(e.message).toBe(e.messages.en);
    }
    expect(report.errors.find((e: { row: number }) => e.row === 9).messages.en).toContain('row 2');
    // The inserted rows are what the file said.
    const row2 = (
      await h.app.inject({ method: 'GET', url: `/api/v1/terminals/${report.items[0].id}`, headers: auth(w.tokens.staffA) })
    ).json();
    expect(row2).toMatchObject({
      status: 'registered',
      kind: 'smart_pos',
      region_code: '370202001',
      lat_e6: 36_067_108,
      lng_e6: 120_382_639,
      tags: ['vip', '便利店'],
      org_id: w.branchA,
    });
    const row3 = (
      await h.app.inject({ method: 'GET', url: `/api/v1/terminals/${report.items[1].id}`, headers: auth(w.tokens.staffA) })
    ).json();
    expect(row3).toMatchObject({ model: 'PAX A920, 4G', kind: 'smart_pos', org_id: w.pointA });
    // The import is audited, with what it did.
    const audit = (await h.app.inject({ method: 'GET', url: '/api/v1/audit?limit=50', headers: auth(h.adminToken) })).json();
    expect(audit.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: 'terminal.import', target: 'created:2/12', outcome: 'ok' })]),
    );
  });

  it('a dry run reports the same and writes nothing', async () => {
    const good = serial('dry');
    const csv = `serial,model,kind,owner_party_id\n${good},Sunmi P2,smart_pos,${w.merchantA}\nX,Sunmi P2,smart_pos,${w.merchantA}\n`;
    const before = await terminalCount();
    const dry = (await importCsv(csv, { dry_run: true })).json();
    expect(dry).toMatchObject({ dry_run: true, rows: 2, valid: 1, created: 0, items: [] });
    expect(dry.errors.map((e: { row: number; field: string }) => [e.row, e.field])).toEqual([[3, 'serial']]);
    expect(dry.errors[0].message).toBe(dry.errors[0].messages['zh-CN']);
    expect(await terminalCount()).toBe(before);
    const real = (await importCsv(csv)).json();
    expect(real).toMatchObject({ dry_run: false, valid: 1, created: 1 });
    // The second time every row is a known serial or still malformed.
    const again = (await importCsv(csv)).json();
    expect(again).toMatchObject({ created: 0 });
    expect(again.errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([
      [2, 'terminal_serial_exists'],
      [3, 'validation_failed'],
    ]);
  });

  it(`imports ${IMPORT_MAX_ROWS} rows at once, a body larger than the server's default limit`, async () => {
    const model = 'Sunmi P2 Pro 4G 智能收银终端 (batch 2026-03)';
    const rows = Array.from(
      { length: IMPORT_MAX_ROWS },
      (_, i) =>
        `${serial('bulk')},${model},${i % 2 ? 'tablet' : 'phone'},${i % 3 ? w.merchantA : w.agentA},370202,36.${String(i).padStart(6, '0')},120.5,bulk`,
    );
    const csv = `serial,model,kind,owner_party_id,region_code,lat,lng,tags\n${rows.join('\n')}`;
    expect(Buffer.byteLength(JSON.stringify({ csv }))).toBeGreaterThan(1024 * 1024);
    const res = await importCsv(csv);
    expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({ rows: IMPORT_MAX_ROWS, valid: IMPORT_MAX_ROWS, created: IMPORT_MAX_ROWS, errors: [] });
    const listed = await h.app.inject({ method: 'GET', url: '/api/v1/terminals?tag=bulk&limit=1', headers: auth(w.tokens.staffA) });
    expect(listed.json().total).toBe(IMPORT_MAX_ROWS);
    expect(listed.json().items[0]).toMatchObject({ model, lng_e6: 120_500_000 });
  });

  it('refuses a broken or oversized file as a whole, changing nothing', async () => {
    const before = await terminalCount();
    const header = 'serial,model,kind,owner_party_id';
    expectError(await importCsv('serial,model,colour,kind,owner_party_id\n'), 'terminal_import_invalid');
    expectError(await importCsv('serial,model,kind\n'), 'terminal_import_invalid');
    expectError(await importCsv('serial,serial,model,kind,owner_party_id\n'), 'terminal_import_invalid');
    expectError(await importCsv(`${header}\n"unterminated,M,tablet,${w.merchantA}\n`), 'terminal_import_invalid');
    expectError(await importCsv(`${header}\nab"c,M,tablet,${w.merchantA}\n`), 'terminal_import_invalid');
    expectError(await importCsv('\n\n'), 'terminal_import_invalid');
    const tooMany = `${header}\n${Array.from({ length: IMPORT_MAX_ROWS + 1 }, (_, i) => `S${String(i).padStart(8, '0')},M,tablet,${w.merchantA}`).join('\n')}`;
    expectError(await importCsv(tooMany), 'batch_too_large');
    expectError(await importCsv(`${header}\n`, { token: w.tokens.ownerA }), 'forbidden');
    expectError(await importCsv(`${header}\n`, { token: w.tokens.auditor }), 'forbidden');
    expectError(
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/terminals/import',
        headers: auth(w.tokens.staffA),
        payload: { csv: header, dryRun: true },
      }),
      'validation_failed',
    );
    expectError(
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/terminals/import',
        headers: auth(w.tokens.staffA, { 'content-type': 'text/csv' }),
        payload: header,
      }),
      'unsupported_media_type',
    );
    expect(await terminalCount()).toBe(before);
    // A header alone is a valid, empty import.
    expect((await importCsv(header)).json()).toMatchObject({ rows: 0, valid: 0, created: 0, errors: [] });
  });
});
