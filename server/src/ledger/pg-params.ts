/**
 * Bulk parameters for the PostgreSQL store. node-pg turns a JS array into an array literal one
 * element at a time (quoting and escaping each), and the server parses it back the same way; for
 * a group of 8,000 transfers that is a measurable share of the commit. Integers and client ids
 * never contain a comma, so a column travels as one joined string that the server splits:
 * `string_to_array($n, ',')` (cast to `::int8[]` for numbers). Nullable and free-text columns
 * keep ordinary arrays.
 */
export function joined(values: readonly (string | number)[]): string {
  const text = values.join(',');
  // Cannot happen for validated ids; a comma would silently shift every later row.
  if (typeof values[0] === 'string' && commas(text) !== values.length - 1) throw new Error('ledger: a bulk id contains a comma');
  return text;
}

function commas(text: string): number {
  let n = 0;
  for (let i = text.indexOf(','); i !== -1; i = text.indexOf(',', i + 1)) n++;
  return n;
}
