import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { findUnstorableText } from '../text.js';

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
      const bad = findUnstorableText(data);
      if (bad) {
        const issue = { instancePath: bad === '/' ? '' : bad, message: 'must not contain NUL or unpaired surrogate characters', params: {} };
        return { error: Object.assign(new Error('validation'), { validation: [issue] }) };
      }
      return { value: data };
    };
  };
}
