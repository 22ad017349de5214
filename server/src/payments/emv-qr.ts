/**
 * EMVCo Merchant-Presented Mode QR payloads (EMV QRCPS-MPM v1.1): a string of data objects, each
 * a two-digit id, a two-digit length and a value of that many characters, starting with the
 * payload format indicator (00 = "01") and ending with the CRC (63, four upper-case hex digits).
 * Lengths count characters (the spec's own example carries "0104最佳运输"); the CRC is
 * CRC-16/CCITT-FALSE over the UTF-8 bytes of everything before the four CRC digits, "6304"
 * included. Isomorphic (no Node APIs), so the mobile page could use it too.
 */

/** Why a payload was refused; `id` names the data object ("62.05" for a nested one). */
export type EmvQrProblem = 'bad_length' | 'bad_crc' | 'missing' | 'duplicate' | 'not_numeric' | 'bad_value';

export class EmvQrError extends Error {
  constructor(
    readonly problem: EmvQrProblem,
    readonly id: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'EmvQrError';
  }
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor), four upper-case hex digits. */
export function crc16(text: string): string {
  let crc = 0xffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

/** One data object as it stands in the payload. */
export interface DataObject {
  id: string;
  value: string;
}

/** Longest payload we read: a QR code (version 40, level L) holds at most 4,296 alphanumerics. */
export const MAX_PAYLOAD_CHARS = 512;

/**
 * Splits a string of data objects. Refuses an id or length that is not two digits, a value that
 * runs past the end, and an id seen twice (`where` prefixes ids in errors, e.g. "62.").
 */
export function splitObjects(text: string, where = ''): DataObject[] {
  const chars = Array.from(text);
  const out: DataObject[] = [];
  const seen = new Set<string>();
  let i = 0;
  while (i < chars.length) {
    const id = chars.slice(i, i + 2).join('');
    const len = chars.slice(i + 2, i + 4).join('');
    if (!/^\d\d$/.test(id)) throw new EmvQrError('bad_length', where + id, `data object id at character ${i} is not two digits`);
    if (!/^\d\d$/.test(len)) throw new EmvQrError('bad_length', where + id, `length of ${where + id} is not two digits`);
    const n = Number(len);
    if (n === 0) throw new EmvQrError('bad_length', where + id, `${where + id} is empty`);
    if (i + 4 + n > chars.length) throw new EmvQrError('bad_length', where + id, `${where + id} runs past the end`);
    if (seen.has(id)) throw new EmvQrError('duplicate', where + id, `${where + id} appears twice`);
    seen.add(id);
    out.push({ id, value: chars.slice(i + 4, i + 4 + n).join('') });
    i += 4 + n;
  }
  return out;
}

/** Joins data objects, checking each value's length fits two digits. */
export function joinObjects(objects: readonly DataObject[]): string {
  return objects
    .map(({ id, value }) => {
      const n = Array.from(value).length;
      if (!/^\d\d$/.test(id)) throw new EmvQrError('bad_value', id, `id ${id} is not two digits`);
      if (n < 1 || n > 99) throw new EmvQrError('bad_length', id, `${id} must hold 1–99 characters, has ${n}`);
      return `${id}${String(n).padStart(2, '0')}${value}`;
    })
    .join('');
}

/** Templates whose value is itself a list of data objects. */
const isTemplate = (id: string): boolean => {
  const n = Number(id);
  return (n >= 26 && n <= 51) || n === 62 || n === 64 || (n >= 80 && n <= 99);
};

export interface MerchantAccount {
  /** 26–51 (templates with a GUI); 02–25 are network-specific primitive ids. */
  id: string;
  /** Sub-id 00 of a template; null for 02–25. */
  gui: string | null;
  /** Sub-objects of a template (00 included), or the primitive value under key "". */
  fields: Record<string, string>;
}

/** A parsed, validated MPM payload. */
export interface MpmQr {
  /** 01: '11' static (the payer enters the amount), '12' dynamic (one transaction); null when absent. */
  initiation: 'static' | 'dynamic' | null;
  accounts: MerchantAccount[];
  /** ISO 18245, four digits. */
  mcc: string;
  /** ISO 4217 numeric, three digits. */
  currency: string;
  /** 54 as written ("23.72"), or null. */
  amount: string | null;
  tipIndicator: string | null;
  country: string;
  merchantName: string;
  merchantCity: string;
  postalCode: string | null;
  /** 62, sub-id → value (01 bill number … 09 consumer data request). */
  additional: Record<string, string> | null;
  /** 64: preference (00), name (01), city (02). */
  language: { preference: string; name: string; city: string | null } | null;
  /** Every top-level object in order (63 included). */
  objects: DataObject[];
}

const DIGITS = /^\d+$/;
const AMOUNT = /^(?=.*\d)\d{0,10}(\.\d{0,2})?$/;

function need(map: Map<string, string>, id: string): string {
  const v = map.get(id);
  if (v === undefined) throw new EmvQrError('missing', id, `mandatory ${id} is missing`);
  return v;
}

function numeric(id: string, value: string, length?: number): string {
  if (!DIGITS.test(value)) throw new EmvQrError('not_numeric', id, `${id} must be digits`);
  if (length !== undefined && value.length !== length) throw new EmvQrError('bad_length', id, `${id} must have ${length} digits`);
  return value;
}

function maxLength(id: string, value: string, max: number): string {
  if (Array.from(value).length > max) throw new EmvQrError('bad_length', id, `${id} must have at most ${max} characters`);
  return value;
}

const fieldsOf = (objects: DataObject[]): Record<string, string> => Object.fromEntries(objects.map((o) => [o.id, o.value]));

/**
 * Parses and validates a payload: structure, CRC, mandatory objects (00, a merchant account,
 * 52, 53, 58, 59, 60, 63), formats of the numeric ones, templates' inner structure. Throws
 * `EmvQrError` for anything else; never any other error.
 */
export function parseMpm(payload: string): MpmQr {
  if (typeof payload !== 'string' || payload.length === 0) throw new EmvQrError('missing', '00', 'the payload is empty');
  if (Array.from(payload).length > MAX_PAYLOAD_CHARS) throw new EmvQrError('bad_length', null, `the payload exceeds ${MAX_PAYLOAD_CHARS} characters`);
  const objects = splitObjects(payload);
  if (objects[0]?.id !== '00') throw new EmvQrError('missing', '00', 'the payload must begin with the payload format indicator 00');
  if (objects[0].value !== '01') throw new EmvQrError('bad_value', '00', 'the payload format indicator must be "01"');
  const last = objects[objects.length - 1]!;
  if (last.id !== '63') throw new EmvQrError('missing', '63', 'the payload must end with the CRC 63');
  if (!/^[0-9A-F]{4}$/.test(last.value)) throw new EmvQrError('bad_length', '63', 'the CRC must be four upper-case hex digits');
  if (crc16(payload.slice(0, payload.length - 4)) !== last.value) throw new EmvQrError('bad_crc', '63', 'the CRC does not match the payload');

  const map = new Map(objects.map((o) => [o.id, o.value]));
  const nested = new Map<string, DataObject[]>();
  for (const o of objects) if (isTemplate(o.id)) nested.set(o.id, splitObjects(o.value, `${o.id}.`));

  const init = map.get('01');
  if (init !== undefined && init !== '11' && init !== '12') throw new EmvQrError('bad_value', '01', 'the point of initiation must be "11" or "12"');

  const accounts: MerchantAccount[] = [];
  for (const o of objects) {
    const n = Number(o.id);
    if (n >= 2 && n <= 25) accounts.push({ id: o.id, gui: null, fields: { '': o.value } });
    if (n >= 26 && n <= 51) {
      const inner = nested.get(o.id)!;
      const gui = inner.find((x) => x.id === '00');
      if (!gui) throw new EmvQrError('missing', `${o.id}.00`, `template ${o.id} must carry a globally unique identifier (00)`);
      maxLength(`${o.id}.00`, gui.value, 32);
      accounts.push({ id: o.id, gui: gui.value, fields: fieldsOf(inner) });
    }
  }
  if (accounts.length === 0) throw new EmvQrError('missing', '26', 'at least one merchant account information (02–51) is mandatory');

  const mcc = numeric('52', need(map, '52'), 4);
  const currency = numeric('53', need(map, '53'), 3);
  const amount = map.get('54') ?? null;
  if (amount !== null && (amount.length > 13 || !AMOUNT.test(amount))) throw new EmvQrError('not_numeric', '54', '54 must be an amount like 23.72');
  const tip = map.get('55') ?? null;
  if (tip !== null && !['01', '02', '03'].includes(tip)) throw new EmvQrError('bad_value', '55', 'the tip indicator must be 01, 02 or 03');
  if (map.has('56')) {
    if (tip !== '02') throw new EmvQrError('bad_value', '56', 'a fixed convenience fee (56) needs tip indicator 02');
    if (!AMOUNT.test(map.get('56')!)) throw new EmvQrError('not_numeric', '56', '56 must be an amount');
  }
  if (map.has('57')) {
    if (tip !== '03') throw new EmvQrError('bad_value', '57', 'a percentage fee (57) needs tip indicator 03');
    if (!AMOUNT.test(map.get('57')!)) throw new EmvQrError('not_numeric', '57', '57 must be a percentage');
  }
  const country = need(map, '58');
  if (!/^[A-Z]{2}$/.test(country)) throw new EmvQrError('bad_value', '58', '58 must be an ISO 3166 alpha-2 country code');
  const merchantName = maxLength('59', need(map, '59'), 25);
  const merchantCity = maxLength('60', need(map, '60'), 15);
  const postalCode = map.has('61') ? maxLength('61', map.get('61')!, 10) : null;

  let additional: Record<string, string> | null = null;
  if (nested.has('62')) {
    const inner = nested.get('62')!;
    for (const x of inner) if (Number(x.id) >= 1 && Number(x.id) <= 8) maxLength(`62.${x.id}`, x.value, 25);
    additional = fieldsOf(inner);
  }
  let language: MpmQr['language'] = null;
  if (nested.has('64')) {
    const f = fieldsOf(nested.get('64')!);
    if (f['00'] === undefined) throw new EmvQrError('missing', '64.00', 'the language template needs a language preference (00)');
    if (f['01'] === undefined) throw new EmvQrError('missing', '64.01', 'the language template needs a merchant name (01)');
    if (!/^[A-Za-z]{2}$/.test(f['00'])) throw new EmvQrError('bad_value', '64.00', 'the language preference must be two letters (ISO 639)');
    language = { preference: f['00'], name: maxLength('64.01', f['01'], 25), city: f['02'] === undefined ? null : maxLength('64.02', f['02'], 15) };
  }

  return {
    initiation: init === '11' ? 'static' : init === '12' ? 'dynamic' : null,
    accounts,
    mcc,
    currency,
    amount,
    tipIndicator: tip,
    country,
    merchantName,
    merchantCity,
    postalCode,
    additional,
    language,
    objects,
  };
}

/** What `buildMpm` writes, in the order of the spec's tables. */
export interface MpmInput {
  initiation: 'static' | 'dynamic';
  /** Templates 26–51: id and sub-objects, 00 (the GUI) first. */
  accounts: { id: string; fields: readonly DataObject[] }[];
  mcc: string;
  currency: string;
  amount?: string | null;
  country: string;
  merchantName: string;
  merchantCity: string;
  additional?: readonly DataObject[];
  language?: { preference: string; name: string; city?: string | null } | null;
}

/** Builds a payload and appends its CRC; the result always parses back (checked). */
export function buildMpm(input: MpmInput): string {
  const objects: DataObject[] = [
    { id: '00', value: '01' },
    { id: '01', value: input.initiation === 'static' ? '11' : '12' },
    ...input.accounts.map((a) => ({ id: a.id, value: joinObjects(a.fields) })),
    { id: '52', value: input.mcc },
    { id: '53', value: input.currency },
    ...(input.amount ? [{ id: '54', value: input.amount }] : []),
    { id: '58', value: input.country },
    { id: '59', value: input.merchantName },
    { id: '60', value: input.merchantCity },
    ...(input.additional && input.additional.length > 0 ? [{ id: '62', value: joinObjects(input.additional) }] : []),
    ...(input.language
      ? [{ id: '64', value: joinObjects([{ id: '00', value: input.language.preference }, { id: '01', value: input.language.name }, ...(input.language.city ? [{ id: '02', value: input.language.city }] : [])]) }]
      : []),
  ];
  const body = `${joinObjects(objects)}6304`;
  const payload = body + crc16(body);
  parseMpm(payload);
  return payload;
}

/** Fen → the amount text of 54 ("23.72"); CNY has two decimals. */
export function fenToAmount(fen: number): string {
  if (!Number.isSafeInteger(fen) || fen <= 0) throw new EmvQrError('bad_value', '54', 'the amount must be a positive integer count of fen');
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

/** The amount text of 54 → fen, exactly (no floating point). */
export function amountToFen(text: string): number {
  const m = /^(\d{0,10})(?:\.(\d{0,2}))?$/.exec(text);
  if (!m || text === '' || text === '.') throw new EmvQrError('not_numeric', '54', '54 must be an amount like 23.72');
  return Number(m[1] || '0') * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}
