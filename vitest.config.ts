import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@gw/source'] },
  ssr: { resolve: { conditions: ['@gw/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'tools/*/src/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
