/**
 * Packs built files into one `xiaowei-bundle/1` JSON file. The bytes are deterministic (keys in a
 * fixed order, files sorted by path) so the same build gives the same digest, and re-running the
 * build does not look like a new version to the catalogue.
 */
import { APP_CODE, BUNDLE_FORMAT, MAX_BUNDLE_BYTES, SEMVER, isSafeBundlePath } from '../src/core/bundle';
import { toBase64 } from '../src/core/encoding';

export interface PackInput {
  app: string;
  version: string;
  entry: string;
  files: Record<string, Uint8Array>;
}

export function packBundle(input: PackInput): Uint8Array {
  if (!APP_CODE.test(input.app)) throw new Error(`bundle: bad app code ${input.app}`);
  if (!SEMVER.test(input.version)) throw new Error(`bundle: ${input.app} has no SemVer version (${input.version})`);
  const paths = Object.keys(input.files).sort();
  for (const path of paths) if (!isSafeBundlePath(path)) throw new Error(`bundle: unsafe path ${path}`);
  if (!paths.includes(input.entry)) throw new Error(`bundle: entry ${input.entry} is not among the files`);
  const files: Record<string, string> = {};
  for (const path of paths) files[path] = toBase64(input.files[path]!);
  const bytes = new TextEncoder().encode(JSON.stringify({ format: BUNDLE_FORMAT, app: input.app, version: input.version, entry: input.entry, files }));
  if (bytes.byteLength > MAX_BUNDLE_BYTES) throw new Error(`bundle: ${input.app} is ${bytes.byteLength} bytes, over ${MAX_BUNDLE_BYTES}`);
  return bytes;
}
