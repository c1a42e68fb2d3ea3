/**
 * Import rules of DESIGN.md, enforced by `pnpm lint`:
 * - no import cycles, inside a package or across packages;
 * - a package is used only through its public entry points (src/index.ts, src/testing/index.ts);
 * - leaves import no other @gw package; providers imports only stream and retry; nothing imports apps/.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make load order fragile and packages impossible to split.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-deep-cross-package-import',
      severity: 'error',
      comment: 'Use another package only through its name (its src/index.ts), never a path inside it.',
      from: { path: '^(packages|apps)/([^/]+)/' },
      to: {
        path: '^(packages|apps)/',
        pathNot: ['^$1/$2/', '^packages/[^/]+/src/index\\.ts$', '^packages/[^/]+/src/(testing|formats)/index\\.ts$'],
      },
    },
    {
      name: 'leaves-stay-leaves',
      severity: 'error',
      comment: 'stream, retry, cost and ratelimit are leaves: they import no other @gw package.',
      from: { path: '^packages/(stream|retry|cost|ratelimit)/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/$1/' },
    },
    {
      name: 'providers-imports-stream-and-retry-only',
      severity: 'error',
      from: { path: '^packages/providers/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/(providers|stream|retry)/' },
    },
    {
      name: 'nothing-imports-the-gateway',
      severity: 'error',
      from: { pathNot: '^apps/gateway/' },
      to: { path: '^apps/gateway/' },
    },
    {
      name: 'test-kit-in-tests-only',
      severity: 'error',
      comment: '@gw/test-kit is for tests: source that ships must not import it.',
      from: { pathNot: ['\\.test\\.ts$', '/__fixtures__/', '/test-helpers\\.ts$', '^tools/test-kit/'] },
      to: { path: '^tools/test-kit/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
    preserveSymlinks: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@gw/source', 'import', 'node', 'default'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
