import { defineConfig } from 'vitest/config';

/**
 * Three projects, all run by `npm test`:
 * - unit: no native model and no build (test/support/unit-guard.ts makes sure); fast.
 * - models: tests that load the demo models in llama.cpp or ONNX Runtime (*.models.test.ts).
 * - e2e: the built package (CLI process, compiled store) and the web app in Chromium; builds
 *   dist/ first when it is missing or stale (test/support/build-if-stale.ts).
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'test/**/*.test.ts',
            'benchmarks/**/*.test.ts',
            'scripts/**/*.test.ts',
          ],
          exclude: ['**/*.models.test.ts'],
          setupFiles: ['./test/support/unit-guard.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'models',
          include: ['src/**/*.models.test.ts', 'test/**/*.models.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          globalSetup: ['./test/support/build-if-stale.ts'],
        },
      },
    ],
  },
});
