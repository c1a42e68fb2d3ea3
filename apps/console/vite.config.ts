import { defineConfig } from 'vite';

// Served by the gateway at /console/ (apps/gateway/src/routes/console.ts); Preact's automatic JSX runtime. The dev
// server sends /admin to a running gateway (GW_URL, default http://127.0.0.1:8787).
export default defineConfig({
  base: '/console/',
  server: { proxy: { '/admin': process.env['GW_URL'] ?? 'http://127.0.0.1:8787' } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 200 },
});
