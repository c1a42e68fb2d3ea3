import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'formats/index': 'src/formats/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm'],
  dts: { compilerOptions: { customConditions: [] } },
  clean: true,
  sourcemap: true,
  target: 'node22',
  removeNodeProtocol: false,
});
