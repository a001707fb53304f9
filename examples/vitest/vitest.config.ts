import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // bringing a lab up takes a second or two; probes wait for replies
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
