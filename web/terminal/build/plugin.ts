/**
 * The terminal build, after Vite has built the shell into dist/shell:
 *
 * 1. `precache.json` — the shell's files, for the service worker to cache at install;
 * 2. `sw.js` — the service worker, built on its own as one classic script (IIFE), stamped with
 *    the build id so a new server build installs a new worker;
 * 3. the bundles in dist/bundles: the shell (`shell-<version>.json`) and every app under apps/
 *    (`<code>-<version>.json`), each app built by Vite as one page with one script, plus
 *    `index.json` naming them with their catalogue data — what the seed publishes.
 */
import react from '@vitejs/plugin-react';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'vite';
import { packBundle } from './pack';

/** What apps/<code>/app.json declares. */
export interface AppManifest {
  code: string;
  version: string;
  name_zh: string;
  name_en: string;
  /** A scenario code (see server/src/terminals/apps-tables.ts) or 'common' for every scenario. */
  scenario: string;
  description_zh: string;
  description_en: string;
  release_notes_zh?: string;
  release_notes_en?: string;
}

/** One line of dist/bundles/index.json. */
export interface BuiltBundle extends AppManifest {
  file: string;
  digest: string;
  size: number;
}

export interface TerminalBuildOptions {
  /** web/terminal */
  root: string;
  shellVersion: string;
  /** Where the bundles go (web/terminal/dist/bundles). */
  bundlesDir: string;
  alias: Record<string, string>;
}

const SHELL_MANIFEST: Omit<AppManifest, 'version'> = {
  code: 'shell',
  name_zh: '终端外壳',
  name_en: 'Terminal shell',
  scenario: 'common',
  description_zh: '终端应用的外壳：激活、签到、操作员登录、应用桌面、消息、设置与在线升级',
  description_en: 'The terminal app shell: activation, sign-on, operator log-in, launcher, messages, settings and online upgrade',
};

function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full, base));
    else out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out.sort();
}

function readFiles(dir: string, exclude: ReadonlySet<string> = new Set()): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const rel of walk(dir)) if (!exclude.has(rel)) files[rel] = new Uint8Array(fs.readFileSync(path.join(dir, rel)));
  return files;
}

function writeBundle(dir: string, manifest: AppManifest, bytes: Uint8Array): BuiltBundle {
  const file = `${manifest.code}-${manifest.version}.json`;
  fs.writeFileSync(path.join(dir, file), bytes);
  return { ...manifest, file, digest: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength };
}

function readManifest(file: string): AppManifest {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as AppManifest;
  for (const key of ['code', 'version', 'name_zh', 'name_en', 'scenario', 'description_zh', 'description_en'] as const) {
    if (typeof parsed[key] !== 'string' || parsed[key] === '') throw new Error(`${file}: ${key} is required`);
  }
  return parsed;
}

async function buildServiceWorker(options: TerminalBuildOptions, outDir: string, buildId: string): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    define: { __BUILD_ID__: JSON.stringify(buildId) },
    build: {
      outDir,
      emptyOutDir: false,
      copyPublicDir: false,
      lib: { entry: path.join(options.root, 'src/sw.ts'), formats: ['iife'], name: 'xiaoweiTerminalWorker', fileName: () => 'sw.js' },
    },
  });
}

async function buildApp(options: TerminalBuildOptions, appDir: string, outDir: string): Promise<void> {
  await build({
    configFile: false,
    root: appDir,
    base: './',
    logLevel: 'warn',
    publicDir: false,
    plugins: [react()],
    resolve: { alias: options.alias },
    build: {
      outDir,
      emptyOutDir: true,
      // One page, one script, one stylesheet, images inlined: the shell runs the app from memory
      // in a sandboxed frame (see src/core/app-frame.ts), where nothing else could be fetched.
      assetsInlineLimit: () => true,
      modulePreload: false,
      cssCodeSplit: false,
      chunkSizeWarningLimit: 800,
      rolldownOptions: { output: { codeSplitting: false } },
    },
  });
}

export function terminalBuild(options: TerminalBuildOptions): Plugin {
  let outDir = '';
  let isBuild = false;
  return {
    name: 'xiaowei-terminal',
    configResolved(config) {
      outDir = config.build.outDir;
      isBuild = config.command === 'build' && !config.build.watch;
    },
    transformIndexHtml() {
      // The shell learns its own version from its page, so a bundle can say which version it is.
      return [{ tag: 'meta', attrs: { name: 'xw-shell-version', content: options.shellVersion }, injectTo: 'head-prepend' }];
    },
    async closeBundle() {
      if (!isBuild) return;
      const shellFiles = walk(outDir).filter((file) => file !== 'sw.js' && file !== 'precache.json');
      const hash = createHash('sha256');
      for (const file of shellFiles) hash.update(file).update('\0').update(fs.readFileSync(path.join(outDir, file)));
      const buildId = hash.digest('hex').slice(0, 16);
      fs.writeFileSync(path.join(outDir, 'precache.json'), JSON.stringify({ buildId, version: options.shellVersion, files: shellFiles }));
      await buildServiceWorker(options, outDir, buildId);

      fs.rmSync(options.bundlesDir, { recursive: true, force: true });
      fs.mkdirSync(options.bundlesDir, { recursive: true });
      const built: BuiltBundle[] = [];
      built.push(
        writeBundle(
          options.bundlesDir,
          { ...SHELL_MANIFEST, version: options.shellVersion },
          packBundle({ app: 'shell', version: options.shellVersion, entry: 'index.html', files: readFiles(outDir, new Set(['sw.js', 'precache.json'])) }),
        ),
      );

      const appsRoot = path.join(options.root, 'apps');
      const scratch = path.join(options.bundlesDir, '.build');
      for (const code of fs.readdirSync(appsRoot).sort()) {
        const manifestFile = path.join(appsRoot, code, 'app.json');
        if (!fs.existsSync(manifestFile)) continue;
        const manifest = readManifest(manifestFile);
        if (manifest.code !== code) throw new Error(`${manifestFile}: code ${manifest.code} differs from its folder`);
        const appOut = path.join(scratch, code);
        await buildApp(options, path.join(appsRoot, code), appOut);
        const files = readFiles(appOut);
        const scripts = Object.keys(files).filter((file) => file.endsWith('.js'));
        if (scripts.length !== 1) throw new Error(`app ${code}: expected one script, got ${scripts.join(', ')}`);
        built.push(writeBundle(options.bundlesDir, manifest, packBundle({ app: code, version: manifest.version, entry: 'index.html', files })));
      }
      fs.rmSync(scratch, { recursive: true, force: true });
      fs.writeFileSync(path.join(options.bundlesDir, 'index.json'), `${JSON.stringify({ format: 'xiaowei-bundle-index/1', bundles: built }, null, 2)}\n`);
      this.info?.(`terminal: sw.js (build ${buildId}) and ${built.length} bundles in ${options.bundlesDir}`);
    },
  };
}
