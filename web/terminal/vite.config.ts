import react from '@vitejs/plugin-react';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { terminalBuild } from './build/plugin';

const root = fileURLToPath(new URL('.', import.meta.url));
const shellVersion = (JSON.parse(fs.readFileSync(new URL('./shell.json', import.meta.url), 'utf8')) as { version: string }).version;

const alias = {
  // The protocol client is the server's own (isomorphic: WebCrypto + fetch), not a second copy.
  '@xiaowei/terminal-client': fileURLToPath(new URL('../../server/src/terminals/client.ts', import.meta.url)),
  '@xiaowei/money': fileURLToPath(new URL('../../server/src/platform/money.ts', import.meta.url)),
};

/** The terminal app: the shell at /terminal/ (dist/shell), its service worker and the app bundles (dist/bundles). */
export default defineConfig({
  root,
  base: '/terminal/',
  plugins: [react(), terminalBuild({ root, shellVersion, bundlesDir: fileURLToPath(new URL('./dist/bundles', import.meta.url)), alias })],
  resolve: { alias },
  server: {
    proxy: { '/api': 'http://localhost:8080' },
  },
  build: {
    outDir: fileURLToPath(new URL('./dist/shell', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [{ name: 'react', test: /[\\/]node_modules[\\/](react|react-dom|scheduler)[\\/]/ }],
        },
      },
    },
  },
});
