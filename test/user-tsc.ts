// How tsc checks a user's TypeScript project of the kind docs/api.md sets up (strict, Node's ES modules): one list for
// the type tests of the repository (test/unit/api-types.test.ts) and of the example project
// (test/integration/api-example.test.ts), so that both check what a user's project would.
export const USER_TSC_FLAGS = [
  '--noEmit',
  '--strict',
  '--module',
  'nodenext',
  '--moduleResolution',
  'nodenext',
  '--target',
  'es2022',
  '--lib',
  'es2022,esnext.disposable',
  '--types',
  'node',
  '--skipLibCheck',
];
