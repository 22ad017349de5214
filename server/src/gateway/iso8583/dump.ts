/**
 * A message as log lines, one per field, safe to write anywhere: the spec's dump policy decides
 * what each field may show (spec.ts DumpPolicy). The card number keeps its first 6 and last 4
 * digits; PIN block, tracks, security control information, ICC data values and key data show as
 * "[removed]"; the MAC shows as present or absent. Binary fields without a policy show only their
 * length, since bytes we know nothing about may be key material; fields the spec does not know
 * are removed; any run of 13+ digits in text shown in clear is masked like a card number.
 */
import type { FieldValue, Message } from './message.js';
import type { FieldSpec, MessageSpec } from './spec.js';

const REMOVED = '[removed]';

/** First 6 and last 4 characters, the rest as '*'; short values (< 12) are masked entirely. */
export function maskPan(pan: string): string {
  if (pan.length < 12) return '*'.repeat(pan.length);
  return pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);
}

/** Quotes text so that a value can never break the one-line-per-field shape (or a log parser). */
const quote = (s: string): string => JSON.stringify(s);

/**
 * The second net: a run of 13 or more digits in a value shown in clear could be a card number
 * (CUP batch upload carries PANs inside field 48), so it is masked like one, whatever the field.
 */
const LONG_DIGITS = /\d{13,}/g;
const clear = (s: string): string => quote(s.replace(LONG_DIGITS, maskPan));

const bytesNote = (b: Uint8Array): string => `[${b.length} bytes]`;

/** A TLV tag or sub-field key as printed: decoded messages have hex tags and numbers; anything else is quoted. */
const key = (k: unknown): string =>
  typeof k === 'number' || (typeof k === 'string' && /^[0-9A-F]{2,4}$/.test(k)) ? String(k) : quote(String(k));

function render(value: FieldValue, spec: FieldSpec | undefined): string {
  // A field the spec does not know could be anything, a card number included.
  if (spec === undefined) return REMOVED;
  const policy = spec.dump;
  if (policy === 'removed') {
    // For TLV data the tags are structure, not cardholder data: keep them, drop every value.
    if (Array.isArray(value)) return value.map((item) => `${key(item.tag)}=${REMOVED}`).join(' ') || REMOVED;
    return REMOVED;
  }
  if (policy === 'pan') return typeof value === 'string' ? maskPan(value) : REMOVED;
  if (policy === 'clear' && typeof value === 'string') return quote(value);
  if (typeof value === 'string') return clear(value);
  if (value instanceof Map) {
    const parts: string[] = [];
    for (const [k, v] of value as Map<unknown, unknown>) {
      parts.push(`${key(k)}=${typeof v === 'string' ? clear(v) : v instanceof Uint8Array ? bytesNote(v) : REMOVED}`);
    }
    return parts.join(' ');
  }
  if (Array.isArray(value)) return value.map((item) => `${key(item.tag)}=${bytesNote(item.value)}`).join(' ');
  return value instanceof Uint8Array ? bytesNote(value) : REMOVED;
}

/** One line per part of the message, fields in ascending order. */
export function dumpLines(spec: MessageSpec, message: Message): string[] {
  const lines: string[] = [`MTI ${quote(String(message.mti))}`];
  if (message.tpdu) lines.push(`TPDU destination=${quote(message.tpdu.destination)} source=${quote(message.tpdu.source)}`);
  if (message.header !== undefined) lines.push(`header ${quote(message.header)}`);
  let mac: number | undefined;
  const numbers = [...message.fields.keys()].sort((a, b) => a - b);
  for (const n of numbers) {
    const f = spec.fields[n];
    if (f?.dump === 'mac') {
      mac = n;
      continue;
    }
    const label = `${String(n).padStart(3, '0')} ${f?.name ?? '(not in spec)'}`;
    lines.push(`${label}: ${render(message.fields.get(n)!, f)}`);
  }
  lines.push(mac === undefined ? 'MAC absent' : `MAC present (field ${mac})`);
  return lines;
}

/** The dump as one string, lines separated by newlines. */
export function dump(spec: MessageSpec, message: Message): string {
  return dumpLines(spec, message).join('\n');
}
