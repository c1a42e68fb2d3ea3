import { defineConfig } from 'vite';

// Served by the gateway at /console/ (apps/gateway/src/routes/console.ts); Preact's automatic JSX runtime.
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 200 },
});
