import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node22',
  // Keep `node:` on builtins: `node:sqlite` exists only under that name.
  removeNodeProtocol: false,
});
