import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      // some unit tests start the CLI; on a loaded CI machine 5 s is not enough, and speed is benched, not timed
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/root-ns-guard.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
