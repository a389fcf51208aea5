import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // expect.poll waits for what a browser or a child process does; a loaded machine (CI on
    // two cores) takes longer than the default second.
    expect: { poll: { timeout: 10_000 } },
    // Target servers bind loopback ports per test file; files run in parallel workers.
    pool: 'forks',
  },
});
