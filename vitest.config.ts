import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` holds pure tests (no database, no processes, no ports) and starts nothing;
 * `integration` (test/integration and test/e2e) shares one PostgreSQL started by its global setup.
 * `npm test` runs both; `npx vitest run --project unit` runs the pure ones in seconds.
 */
export default defineConfig({
  test: {
    // Integration files each get their own database, and e2e files start worker processes:
    // two cores are saturated well before this.
    maxWorkers: 4,
    fileParallelism: true,
    pool: 'forks',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          // Only a guard against a hang: these tests poll for conditions with deadlines of their
          // own, and must pass on a loaded machine, where an end-to-end test can take minutes.
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
