import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const moneyModule = fileURLToPath(new URL('../server/src/platform/money.ts', import.meta.url));

export default defineConfig({
  plugins: [react()],
  resolve: {
    // One money module for server and console: integer fen in, "¥1,234.56" out, no floats.
    alias: { '@xiaowei/money': moneyModule },
  },
  server: {
    proxy: { '/api': 'http://localhost:8080' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        // Heavy libraries in their own long-cached chunks; pages are split by React.lazy, and
        // ECharts is loaded only by the overview page.
        codeSplitting: {
          groups: [
            { name: 'react', test: /[\\/]node_modules[\\/](react|react-dom|scheduler|react-router|react-router-dom)[\\/]/ },
            { name: 'echarts', test: /[\\/]node_modules[\\/](echarts|zrender|tslib)[\\/]/ },
          ],
        },
      },
    },
  },
});
