/**
 * A small RFC 4180 reader. No CSV package is installed (`npm ls csv-parse papaparse` is empty) and
 * terminal import needs only the core of the format, so this stays here rather than adding a
 * dependency: fields separated by commas; records by CRLF, LF or a lone CR; a field in double
 * quotes may hold commas, line breaks and doubled quotes (`""` = `"`). A leading UTF-8 byte-order
 * mark (spreadsheets write one) is skipped, and a final line break does not start a record.
 *
 * It is strict where guessing would hide a broken file: a quote inside an unquoted field, text
 * after a closing quote and an unterminated quoted field are errors naming the line, because one
 * stray quote can shift every later field and a silently misread file is worse than a refused one.
 */
export interface CsvRecord {
  /** 1-based position of the record in the file (the header is record 1), as a spreadsheet numbers rows. */
  row: number;
  /** 1-based line on which the record starts (differs from `row` after a quoted line break). */
  line: number;
  fields: string[];
}

export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly reason: 'syntax' | 'too_many_records' | 'field_too_long' = 'syntax',
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvError';
  }
}

export interface CsvOptions {
  /** Refuse the file once it holds more records than this (header included). */
  maxRecords?: number;
  /** Refuse any field longer than this many UTF-16 units. */
  maxFieldLength?: number;
}

const QUOTE = 34; // "
const COMMA = 44; // ,
const CR = 13;
const LF = 10;

export function parseCsv(input: string, options: CsvOptions = {}): CsvRecord[] {
  const maxRecords = options.maxRecords ?? Number.POSITIVE_INFINITY;
  const maxField = options.maxFieldLength ?? Number.POSITIVE_INFINITY;
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const n = text.length;

  const pushField = (value: string): void => {
    if (value.length > maxField) throw new CsvError(`a field is longer than ${maxField} characters`, line, 'field_too_long');
    fields.push(value);
  };
  const endRecord = (): void => {
    records.push({ row: records.length + 1, line: recordLine, fields });
    if (records.length > maxRecords) throw new CsvError(`more than ${maxRecords} records`, recordLine, 'too_many_records');
    fields = [];
  };
  /** Consumes a record separator at i (CRLF, LF or CR); true when one was there. */
  const atBreak = (): boolean => {
    const c = text.charCodeAt(i);
    if (c === CR) {
      i += text.charCodeAt(i + 1) === LF ? 2 : 1;
    } else if (c === LF) {
      i += 1;
    } else {
      return false;
    }
    line++;
    return true;
  };

  if (n === 0) return records;
  for (;;) {
    // At the start of a field.
    if (text.charCodeAt(i) === QUOTE) {
      const startLine = line;
      i++;
      let value = '';
      let chunkStart = i;
      for (;;) {
        if (i >= n) throw new CsvError('a quoted field is not closed', startLine);
        const c = text.charCodeAt(i);
        if (c === QUOTE) {
          if (text.charCodeAt(i + 1) === QUOTE) {
            value += text.slice(chunkStart, i + 1);
            i += 2;
            chunkStart = i;
            continue;
          }
          value += text.slice(chunkStart, i);
          i++;
          break;
        }
        if (c === CR || c === LF) {
          // A line break inside quotes belongs to the field; count it for error messages.
          if (c === CR && text.charCodeAt(i + 1) === LF) i++;
          line++;
        }
        i++;
        if (value.length + (i - chunkStart) > maxField)
          throw new CsvError(`a field is longer than ${maxField} characters`, line, 'field_too_long');
      }
      pushField(value);
      if (i >= n) {
        endRecord();
        break;
      }
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      if (atBreak()) {
        endRecord();
        recordLine = line;
        if (i >= n) break;
        continue;
      }
      throw new CsvError('text after a closing quote (a quote inside a field must be doubled and the field quoted)', line);
    }
    // An unquoted field runs to the next comma or line break.
    const start = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === COMMA || c === CR || c === LF) break;
      if (c === QUOTE) throw new CsvError('a quote inside an unquoted field (quote the field and double the quote)', line);
      i++;
    }
    pushField(text.slice(start, i));
    if (i >= n) {
      endRecord();
      break;
    }
    if (text.charCodeAt(i) === COMMA) {
      i++;
      continue;
    }
    atBreak();
    endRecord();
    recordLine = line;
    if (i >= n) break;
  }
  return records;
}

/** True for a record with no content at all (a blank line, or only empty fields). */
export function isBlankRecord(record: CsvRecord): boolean {
  return record.fields.every((f) => f.trim() === '');
}
