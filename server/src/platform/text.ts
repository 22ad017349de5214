/**
 * Text every database can store: PostgreSQL refuses NUL in `text`, and a lone UTF-16 surrogate
 * does not survive UTF-8 encoding (it would come back as U+FFFD and no longer match itself).
 */
export const UNSTORABLE_TEXT = /\0|\p{Cs}/u;

export function isStorableText(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length <= maxLength && !UNSTORABLE_TEXT.test(value);
}

/** The path of the first unstorable string inside a parsed JSON value or query object, if any. */
export function findUnstorableText(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return UNSTORABLE_TEXT.test(value) ? path || '/' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (UNSTORABLE_TEXT.test(key)) return `${path}/${key.replace(UNSTORABLE_TEXT, '?')}`;
    const found = findUnstorableText(child, `${path}/${key}`);
    if (found) return found;
  }
  return undefined;
}
