import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DemoModelName, ensureDemoModel } from '../../src/models/demo/demo-models.js';

/** One TANDEM_HOME for every test file, so the 154 MB demo-llm is written once per machine. */
export const TEST_HOME = join(tmpdir(), 'tandem-test-home');
export const TEST_MODELS_DIRECTORY = join(TEST_HOME, 'models');

export async function demoModelPathForTests(name: DemoModelName): Promise<string> {
  return (await ensureDemoModel(name, { modelsDirectory: TEST_MODELS_DIRECTORY })).path;
}
