import type { Kysely } from 'kysely';
import { XiaoweiError, renderMessage, type ErrorCode, type Locale } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import type { TerminalKind } from './contracts.js';
import { CsvError, isBlankRecord, parseCsv } from './csv.js';
import type { FleetTables } from './fleet-tables.js';
import {
  checkTerminalFields,
  checkTerminalReferences,
  insertTerminals,
  normaliseSerial,
  normaliseTags,
  type FieldProblem,
  type TerminalInput,
} from './fleet.js';

/**
 * Bulk registration from CSV (a spreadsheet export). The first record is the header; columns may
 * come in any order, names are case-insensitive:
 *
 * | column | required | content |
 * | --- | --- | --- |
 * | serial | yes | 4–40 of A–Z a–z 0–9 . _ - (stored upper-case) |
 * | model | yes | up to 64 characters |
 * | kind | yes | smart_pos, tablet or phone |
 * | owner_party_id | yes | a merchant, agent or buyer party you serve |
 * | region_code | no | an administrative division code (4–12 digits) |
 * | lat, lng | no, together | decimal degrees, up to 6 decimals (36.067108) |
 * | tags | no | separated by `;` or `|` |
 *
 * Every row is checked; the valid ones are inserted together (one transaction), the others come
 * back in the report as row (spreadsheet numbering, header = 1), field, code and message in zh-CN
 * and en. With `dryRun` nothing is written and the report says what would happen.
 */
export const IMPORT_MAX_ROWS = 10_000;
export const IMPORT_COLUMNS = ['serial', 'model', 'kind', 'owner_party_id', 'region_code', 'lat', 'lng', 'tags'] as const;
type Column = (typeof IMPORT_COLUMNS)[number];
const REQUIRED: readonly Column[] = ['serial', 'model', 'kind', 'owner_party_id'];
/** Report at most this many problems; a wholly wrong file needs fixing, not a 50 MB answer. */
export const MAX_REPORTED_PROBLEMS = 5_000;
const FIELD_MAX = 1_000;

export interface ImportProblem {
  row: number;
  field: string;
  code: ErrorCode;
  message: string;
  messages: { 'zh-CN': string; en: string };
}

export interface ImportReport {
  dry_run: boolean;
  /** Data rows in the file (blank lines not counted). */
  rows: number;
  /** Rows that passed every check (with dryRun: would be inserted). */
  valid: number;
  /** Rows inserted (0 with dryRun). */
  created: number;
  items: { row: number; id: string; serial: string }[];
  errors: ImportProblem[];
  /** Problems beyond MAX_REPORTED_PROBLEMS, counted but not listed. */
  errors_omitted: number;
}

/** '36.067108' → 36067108, exactly (no floating point); null if it is not such a number. */
export function parseDegreesE6(text: string): number | null {
  const m = /^(-?)([0-9]{1,3})(?:\.([0-9]{1,6}))?$/.exec(text);
  if (!m) return null;
  const value = Number(m[2]) * 1_000_000 + Number((m[3] ?? '').padEnd(6, '0'));
  return m[1] === '-' ? -value : value;
}

function header(fields: readonly string[]): Map<Column, number> {
  const columns = new Map<Column, number>();
  fields.forEach((raw, index) => {
    const name = raw.trim().toLowerCase();
    if (!(IMPORT_COLUMNS as readonly string[]).includes(name)) {
      throw new XiaoweiError('terminal_import_invalid', `unknown column '${raw.slice(0, 40)}' (expected ${IMPORT_COLUMNS.join(', ')})`);
    }
    if (columns.has(name as Column)) throw new XiaoweiError('terminal_import_invalid', `column '${name}' appears twice`);
    columns.set(name as Column, index);
  });
  const missing = REQUIRED.filter((c) => !columns.has(c));
  if (missing.length > 0) throw new XiaoweiError('terminal_import_invalid', `missing column(s) ${missing.join(', ')}`);
  return columns;
}

/** One data record to a terminal input, with the problems only the text shows. */
function readRow(row: number, fields: readonly string[], columns: Map<Column, number>): { input: TerminalInput; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const cell = (c: Column): string => {
    const i = columns.get(c);
    return i === undefined ? '' : (fields[i] ?? '').trim();
  };
  for (const c of REQUIRED) if (cell(c) === '') problems.push({ row, field: c, code: 'validation_failed', detail: `${c} is required` });
  const degrees = (c: 'lat' | 'lng'): number | null => {
    const text = cell(c);
    if (text === '') return null;
    const value = parseDegreesE6(text);
    if (value === null)
      problems.push({ row, field: c, code: 'validation_failed', detail: `${c} must be decimal degrees with at most 6 decimals` });
    return value;
  };
  const lat = degrees('lat');
  const lng = degrees('lng');
  const tags = cell('tags');
  const input: TerminalInput = {
    serial: normaliseSerial(cell('serial')),
    model: cell('model'),
    kind: cell('kind').toLowerCase() as TerminalKind,
    owner_party_id: cell('owner_party_id'),
    region_code: cell('region_code') || null,
    lat_e6: lat,
    lng_e6: lng,
    tags: tags === '' ? [] : normaliseTags(tags.split(/[;|]/)),
  };
  // Required fields already reported are not reported again as malformed; a lat/lng that did not
  // parse is not reported again as missing its partner.
  const reported = new Set(problems.map((p) => p.field));
  const unparsed = (c: 'lat' | 'lng') => cell(c) !== '' && reported.has(c);
  for (const p of checkTerminalFields(row, input)) {
    if (reported.has(p.field)) continue;
    if ((p.field === 'lat' || p.field === 'lng') && (unparsed('lat') || unparsed('lng'))) continue;
    problems.push(p);
  }
  return { input, problems };
}

function render(p: FieldProblem, locale: Locale): ImportProblem {
  const zh = renderMessage(p.code, 'zh-CN', p.detail);
  const en = renderMessage(p.code, 'en', p.detail);
  return { row: p.row, field: p.field, code: p.code, message: locale === 'en' ? en : zh, messages: { 'zh-CN': zh, en } };
}

const FIELD_ORDER = new Map<string, number>([...IMPORT_COLUMNS, 'row'].map((c, i) => [c, i]));

export async function importTerminals(
  db: Kysely<FleetTables>,
  actor: Actor,
  csv: string,
  options: { dryRun: boolean; now: number; locale: Locale },
): Promise<ImportReport> {
  let records;
  try {
    // Room for blank lines; data rows are counted below.
    records = parseCsv(csv, { maxRecords: 2 * IMPORT_MAX_ROWS + 1, maxFieldLength: FIELD_MAX });
  } catch (error) {
    if (error instanceof CsvError) {
      if (error.reason === 'too_many_records') throw new XiaoweiError('batch_too_large', `${IMPORT_MAX_ROWS} rows`);
      throw new XiaoweiError('terminal_import_invalid', error.message.slice(0, 200));
    }
    throw error;
  }
  const [head, ...rest] = records;
  if (!head || isBlankRecord(head)) throw new XiaoweiError('terminal_import_invalid', 'the first line must be the header');
  const columns = header(head.fields);
  const data = rest.filter((r) => !isBlankRecord(r));
  if (data.length > IMPORT_MAX_ROWS) throw new XiaoweiError('batch_too_large', `${IMPORT_MAX_ROWS} rows`);

  const problems: FieldProblem[] = [];
  const parsed: { row: number; input: TerminalInput }[] = [];
  const firstRowOf = new Map<string, number>();
  for (const record of data) {
    if (record.fields.length !== head.fields.length) {
      problems.push({
        row: record.row,
        field: 'row',
        code: 'validation_failed',
        detail: `the row has ${record.fields.length} fields, the header ${head.fields.length}`,
      });
      continue;
    }
    const { input, problems: rowProblems } = readRow(record.row, record.fields, columns);
    if (input.serial !== '') {
      const first = firstRowOf.get(input.serial);
      if (first !== undefined)
        rowProblems.push({ row: record.row, field: 'serial', code: 'terminal_serial_repeated', detail: String(first) });
      else firstRowOf.set(input.serial, record.row);
    }
    problems.push(...rowProblems);
    parsed.push({ row: record.row, input });
  }

  // The database checks run on every readable row so that one pass reports all of a row's
  // problems; a field already reported is not reported twice, and only a row without any
  // problem is inserted.
  const { ready, problems: refProblems } = await checkTerminalReferences(db, actor, parsed);
  const seen = new Set(problems.map((p) => `${p.row}:${p.field}`));
  const failedRows = new Set(problems.map((p) => p.row));
  for (const p of refProblems) if (!seen.has(`${p.row}:${p.field}`)) problems.push(p);
  const insertable = ready.filter((r) => !failedRows.has(r.row));
  let items: ImportReport['items'] = [];
  if (!options.dryRun && insertable.length > 0) {
    const outcome = await db.transaction().execute((trx) => insertTerminals(trx, insertable, options.now));
    items = outcome.created;
    for (const c of outcome.conflicts)
      problems.push({ row: c.row, field: 'serial', code: 'terminal_serial_exists', detail: c.input.serial });
  }
  problems.sort((a, b) => a.row - b.row || (FIELD_ORDER.get(a.field) ?? 99) - (FIELD_ORDER.get(b.field) ?? 99));
  const valid = options.dryRun ? insertable.length : items.length;
  return {
    dry_run: options.dryRun,
    rows: data.length,
    valid,
    created: options.dryRun ? 0 : items.length,
    items,
    errors: problems.slice(0, MAX_REPORTED_PROBLEMS).map((p) => render(p, options.locale)),
    errors_omitted: Math.max(0, problems.length - MAX_REPORTED_PROBLEMS),
  };
}
