// Lint with type information (typescript-eslint's recommendedTypeChecked).
// Every rule turned off or relaxed here is named, with why, in
// docs/decisions.md ("Formatting and lint (issue 22)").
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'test/fixtures/', 'examples/', 'schema/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { project: './tsconfig.lint.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // an unawaited teardown is a leaked lab: promises are awaited, returned or voided on purpose
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // control characters in regular expressions are what oneLine() and the hostile-input checks look for
      'no-control-regex': 'off',
      // every verb's run() and every Runner share one async signature, whether or not this one awaits
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // tests, benchmarks and scripts read the CLI's JSON output, whose honest type is `any`
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // messages built from that JSON: a wrong type shows in the message, which is what a test wants to see
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
);
