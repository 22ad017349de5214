import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, promisify } from 'node:util';
import openapiTS, { COMMENT_HEADER, astToString } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

/**
 * The console's generated API files (src/api/openapi.json and src/api/schema.d.ts) must be what
 * `npm run gen:api` would write now: the server's current OpenAPI document, and the types
 * openapi-typescript derives from it. The document comes from the server's own `xiaowei openapi`
 * command, run from source with tsx, so no build is needed first.
 */

const SERVER = fileURLToPath(new URL('../../server/', import.meta.url));
const OPENAPI_JSON = new URL('../src/api/openapi.json', import.meta.url);
const SCHEMA_DTS = new URL('../src/api/schema.d.ts', import.meta.url);

const REGENERATE =
  'Regenerate them with `npm run build --workspace server && npm run gen:api --workspace web` (from the repository root) and commit both files. ' +
  '请在仓库根目录运行 `npm run build --workspace server && npm run gen:api --workspace web` 重新生成并提交这两个文件。';

/** What `xiaowei openapi` prints now. */
async function serverDocument(): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'openapi'], {
    cwd: SERVER,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** The operations and component schemas that differ between two documents (for the failure message). */
function differences(committed: Record<string, unknown>, current: Record<string, unknown>): string[] {
  const out: string[] = [];
  const compare = (prefix: string, a: unknown, b: unknown, depth: number): void => {
    if (isDeepStrictEqual(a, b)) return;
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (depth === 0 || !isObject(a) || !isObject(b)) {
      out.push(a === undefined ? `+ ${prefix}` : b === undefined ? `- ${prefix}` : `~ ${prefix}`);
      return;
    }
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) compare(`${prefix} ${key}`.trim(), a[key], b[key], depth - 1);
  };
  const { paths: pa, components: ca, ...ra } = committed;
  const { paths: pb, components: cb, ...rb } = current;
  compare('', ra, rb, 1);
  compare('paths', pa, pb, 2); // paths <path> <method>
  compare('components', ca, cb, 2); // components schemas <name>
  return out;
}

describe('generated API files (web/src/api)', () => {
  it("openapi.json is the server's current OpenAPI document, and schema.d.ts its types", async () => {
    const committed = fs.readFileSync(OPENAPI_JSON, 'utf8');
    const current = await serverDocument();
    if (current !== committed) {
      const changed = differences(JSON.parse(committed), JSON.parse(current));
      const shown = changed.slice(0, 30).join('\n  ') + (changed.length > 30 ? `\n  … and ${changed.length - 30} more` : '');
      expect.fail(
        `web/src/api/openapi.json differs from the document the server serves now ` +
          `(+ only in the server, - only in the file, ~ changed):\n  ${shown || '(formatting only)'}\n${REGENERATE}`,
      );
    }

    // openapi-typescript run as `gen:api` runs it (no options, no redocly.yaml), on the committed document.
    const types = COMMENT_HEADER + astToString(await openapiTS(OPENAPI_JSON, { silent: true }));
    if (types !== fs.readFileSync(SCHEMA_DTS, 'utf8')) {
      expect.fail(`web/src/api/schema.d.ts is not what openapi-typescript makes of web/src/api/openapi.json. ${REGENERATE}`);
    }
  });
});
