import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { UNSTORABLE_TEXT, findUnstorableText } from '../text.js';

// ajv-formats ships CommonJS with a default export property.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

/**
 * Whether a parsed value holds text no database can store (UNSTORABLE_TEXT in a key or a string);
 * allocates nothing, so a clean request — the usual one — costs one regular expression test per
 * string. `findUnstorableText` then names the path.
 */
function hasUnstorableText(value: unknown): boolean {
  if (typeof value === 'string') return UNSTORABLE_TEXT.test(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (hasUnstorableText(item)) return true;
    return false;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (UNSTORABLE_TEXT.test(key) || hasUnstorableText((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/**
 * Bodies are validated strictly — no type coercion, unknown fields refused — so `"100"` is not an
 * amount and `1.5` is not fen. Query strings, params and headers are text on the wire and coerced.
 * No part may carry text a database cannot store (NUL, unpaired surrogates).
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing;
    const validate: ValidateFunction = ajv.compile(schema as object);
    return (data: unknown) => {
      if (!validate(data)) return { error: Object.assign(new Error('validation'), { validation: validate.errors }) };
      const bad = hasUnstorableText(data) ? findUnstorableText(data) : undefined;
      if (bad) {
        const issue = { instancePath: bad === '/' ? '' : bad, message: 'must not contain NUL or unpaired surrogate characters', params: {} };
        return { error: Object.assign(new Error('validation'), { validation: [issue] }) };
      }
      return { value: data };
    };
  };
}
