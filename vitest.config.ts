import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Target servers bind loopback ports per test file; files run in parallel workers.
    pool: 'forks',
  },
});
