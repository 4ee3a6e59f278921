import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration files each get their own database, and e2e files start worker processes:
    // two cores are saturated well before this.
    maxWorkers: 4,
    fileParallelism: true,
  },
});
