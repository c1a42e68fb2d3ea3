// Lint rules of the whole workspace (`pnpm lint`). Type-checked rules from typescript-eslint, the regular
// expression checks that keep client input from backtracking super-linearly, and the accessor rule
// (see docs/operations.md, "Getters in per-request objects").
import js from '@eslint/js';
import regexp from 'eslint-plugin-regexp';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '**/__fixtures__/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  regexp.configs['flat/recommended'],
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Rejecting with an abort signal's reason (unknown) is how fetch and our iterators behave.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // An async function that throws before its first await is how a call reports a failure as a rejection.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': 'error',
      // An accessor in an object literal gives every object built by it a V8 map of its own, which keeps a
      // per-request object alive until a full collection. Long-lived objects may disable this with a reason.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ObjectExpression > Property[kind="get"]',
          message:
            'No getters in object literals (they keep per-request objects alive): use a plain field or a method.',
        },
        {
          selector: 'ObjectExpression > Property[kind="set"]',
          message: 'No setters in object literals (they keep per-request objects alive): use a method.',
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/test-*.ts', '**/testing/**', 'bench/**', 'scripts/**'],
    rules: {
      // Tests read JSON answers (any) and use matchers such as expect.any().
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      'require-yield': 'off',
      'regexp/no-super-linear-move': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
);
