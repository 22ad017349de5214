/**
 * The one error the ISO 8583 codec throws. `code` is stable: the acquirer host answers a request
 * that fails to unpack with response code 30 (format error) and logs the code, the field and the
 * offset — which is why a message names only a field, a length or an offset, never a byte of the
 * value: the value may be a card number, a track or a PIN block.
 */
export const ISO8583_ERRORS = {
  short_buffer: { zh: '报文在字段中途结束', en: 'The message ends inside a field' },
  bitmap_past_end: { zh: '位图标明的字段超出报文末尾', en: 'The bitmap marks a field beyond the end of the message' },
  bad_length_prefix: { zh: '变长字段的长度前缀无效或超过上限', en: 'The length prefix is invalid or above the maximum' },
  not_numeric: { zh: '数字字段含有非数字', en: 'A numeric field holds a non-digit' },
  bad_hex: { zh: '十六进制字段含有非十六进制字符', en: 'A hexadecimal field holds a non-hex character' },
  bad_charset: { zh: '字段含有其类型不允许的字符', en: 'A field holds a character its class does not allow' },
  value_too_long: { zh: '字段值超过规定长度', en: 'The value is longer than the field allows' },
  value_too_short: { zh: '定长字段的值长度不足', en: 'The value is shorter than the fixed length' },
  unknown_field: { zh: '报文规范中没有该字段', en: 'The message spec has no such field' },
  bad_value_type: { zh: '字段值的类型不对', en: 'The value has the wrong type for the field' },
  trailing_bytes: { zh: '最后一个字段之后还有多余字节', en: 'Bytes remain after the last field' },
  bad_header: { zh: '报文头（TPDU、应用头或消息类型）无效', en: 'The TPDU, application header or MTI is invalid' },
  bad_subfields: { zh: '子域结构无效', en: 'The sub-fields are malformed' },
  bad_tlv: { zh: 'TLV 数据无效', en: 'The TLV data is malformed' },
  bad_spec: { zh: '报文规范本身无效', en: 'The message spec itself is invalid' },
} as const satisfies Record<string, { zh: string; en: string }>;

export type Iso8583ErrorCode = keyof typeof ISO8583_ERRORS;

/** Where in the message a failure happened. `field` 0 is the MTI, 1 the bitmap(s). */
export interface Iso8583ErrorSite {
  /** Data element number; undefined for the TPDU and the application header. */
  readonly field?: number | undefined;
  /** The data element's name from the spec, or `TPDU`, `header`, `MTI`, `bitmap`. */
  readonly fieldName?: string | undefined;
  /** Positional sub-field number or TLV tag (hex), when the failure is inside one. */
  readonly subfield?: number | string | undefined;
  /** Byte offset in the buffer being unpacked. */
  readonly offset?: number | undefined;
  /** A length, a limit, a reason — never a byte of the value. */
  readonly detail?: string | undefined;
}

/**
 * Depth of decodes in progress. An error raised while decoding untrusted bytes carries no stack
 * trace: capturing one costs about 3 µs, four times the rest of a failed unpack, which would make
 * a flood of garbage frames needlessly expensive — and code, field and offset say all a stack
 * trace could. Errors from pack (a caller's mistake) keep theirs.
 */
let decoding = 0;

/** Marks the start and end of a decode (codec.ts only). */
export const decodeStarted = (): void => {
  decoding++;
};
export const decodeEnded = (): void => {
  decoding--;
};

export class Iso8583Error extends Error {
  readonly code: Iso8583ErrorCode;
  readonly field: number | undefined;
  readonly fieldName: string | undefined;
  readonly subfield: number | string | undefined;
  readonly offset: number | undefined;
  readonly detail: string | undefined;

  constructor(code: Iso8583ErrorCode, site: Iso8583ErrorSite = {}) {
    const limit = Error.stackTraceLimit;
    if (decoding > 0) Error.stackTraceLimit = 0;
    super(`${ISO8583_ERRORS[code].en}${where(site, 'en')}`);
    Error.stackTraceLimit = limit;
    this.name = 'Iso8583Error';
    this.code = code;
    this.field = site.field;
    this.fieldName = site.fieldName;
    this.subfield = site.subfield;
    this.offset = site.offset;
    this.detail = site.detail;
  }

  /** The message for an operator screen. */
  localized(locale: 'zh-CN' | 'en'): string {
    return locale === 'en' ? this.message : `${ISO8583_ERRORS[this.code].zh}${where(this, 'zh-CN')}`;
  }
}

export function isIso8583Error(error: unknown, code?: Iso8583ErrorCode): error is Iso8583Error {
  return error instanceof Iso8583Error && (code === undefined || error.code === code);
}

function where(site: Iso8583ErrorSite, locale: 'zh-CN' | 'en'): string {
  const parts: string[] = [];
  const zh = locale === 'zh-CN';
  if (site.field !== undefined) parts.push(zh ? `第 ${site.field} 域` : `field ${site.field}`);
  if (site.fieldName !== undefined) parts.push(site.fieldName);
  if (site.subfield !== undefined) parts.push(zh ? `子域 ${site.subfield}` : `sub-field ${site.subfield}`);
  if (site.offset !== undefined) parts.push(zh ? `偏移 ${site.offset}` : `offset ${site.offset}`);
  if (site.detail !== undefined) parts.push(site.detail);
  if (parts.length === 0) return '';
  return zh ? `（${parts.join('，')}）` : ` (${parts.join(', ')})`;
}
