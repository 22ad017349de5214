import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvError, isBlankRecord, parseCsv } from './csv.js';

const fieldsOf = (text: string) => parseCsv(text).map((r) => r.fields);

describe('parseCsv', () => {
  // The examples of RFC 4180 section 2 ("Definition of the CSV Format"), rules 1–7.
  it('reads the RFC 4180 section 2 examples', () => {
    // Rule 1: records separated by CRLF.
    expect(fieldsOf('aaa,bbb,ccc\r\nzzz,yyy,xxx\r\n')).toEqual([
      ['aaa', 'bbb', 'ccc'],
      ['zzz', 'yyy', 'xxx'],
    ]);
    // Rule 2: the last record may have no line break.
    expect(fieldsOf('aaa,bbb,ccc\r\nzzz,yyy,xxx')).toEqual([
      ['aaa', 'bbb', 'ccc'],
      ['zzz', 'yyy', 'xxx'],
    ]);
    // Rule 3: an optional header line of the same shape.
    expect(fieldsOf('field_name,field_name,field_name\r\naaa,bbb,ccc\r\nzzz,yyy,xxx\r\n')).toHaveLength(3);
    // Rule 4: spaces are part of a field.
    expect(fieldsOf('aaa, bbb ,ccc')).toEqual([['aaa', ' bbb ', 'ccc']]);
    // Rule 5: fields may be enclosed in double quotes.
    expect(fieldsOf('"aaa","bbb","ccc"\r\nzzz,yyy,xxx')).toEqual([
      ['aaa', 'bbb', 'ccc'],
      ['zzz', 'yyy', 'xxx'],
    ]);
    // Rule 6: line breaks, quotes and commas inside a quoted field.
    expect(fieldsOf('"aaa","b\r\nbb","ccc"\r\nzzz,yyy,xxx')).toEqual([
      ['aaa', 'b\r\nbb', 'ccc'],
      ['zzz', 'yyy', 'xxx'],
    ]);
    // Rule 7: a double quote inside a quoted field is doubled.
    expect(fieldsOf('"aaa","b""bb","ccc"')).toEqual([['aaa', 'b"bb', 'ccc']]);
  });

  it('accepts LF and lone CR line breaks, a BOM, empty fields and a trailing comma', () => {
    expect(fieldsOf('a,b\nc,d\n')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(fieldsOf('a,b\rc,d')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(fieldsOf('\ufeffserial,model\r\n')).toEqual([['serial', 'model']]);
    expect(fieldsOf(',,\n')).toEqual([['', '', '']]);
    expect(fieldsOf('a,')).toEqual([['a', '']]);
    expect(fieldsOf('"",x')).toEqual([['', 'x']]);
    expect(fieldsOf('"中文,逗号","终端"')).toEqual([['中文,逗号', '终端']]);
    expect(fieldsOf('')).toEqual([]);
  });

  it('numbers records as a spreadsheet does and tracks the starting line', () => {
    const records = parseCsv('h1,h2\n"x\ny",1\n\nz,2\n');
    expect(records.map((r) => [r.row, r.line])).toEqual([
      [1, 1],
      [2, 2],
      [3, 4],
      [4, 5],
    ]);
    expect(isBlankRecord(records[2]!)).toBe(true);
    expect(isBlankRecord(records[3]!)).toBe(false);
  });

  it('refuses broken quoting with the line it is on', () => {
    const fail = (text: string, line: number) => {
      try {
        parseCsv(text);
        expect.unreachable(`parsed ${JSON.stringify(text)}`);
      } catch (error) {
        expect(error).toBeInstanceOf(CsvError);
        expect((error as CsvError).line).toBe(line);
      }
    };
    fail('a,b\n"unterminated,c\nd', 2);
    fail('a,b\nab"c,d', 2);
    fail('a\n"ab"c,d', 2);
  });

  it('enforces the record and field bounds', () => {
    expect(() => parseCsv('a\nb\nc\n', { maxRecords: 2 })).toThrow(CsvError);
    expect(parseCsv('a\nb\n', { maxRecords: 2 })).toHaveLength(2);
    expect(() => parseCsv('abcdef', { maxFieldLength: 5 })).toThrow(CsvError);
    expect(() => parseCsv('"abcdef"', { maxFieldLength: 5 })).toThrow(CsvError);
  });

  it('reads back whatever a conforming writer writes (property)', () => {
    const quote = (f: string) => (/[",\r\n]/.test(f) || f === '' ? `"${f.replaceAll('"', '""')}"` : f);
    const field = fc.string({ unit: fc.constantFrom('a', 'b', '中', ',', '"', '\r', '\n', ' '), maxLength: 8 });
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('\r\n', '\n'),
        (rows, eol) => {
          const text = rows.map((r) => r.map(quote).join(',')).join(eol) + eol;
          expect(fieldsOf(text)).toEqual(rows);
        },
      ),
    );
  });
});
