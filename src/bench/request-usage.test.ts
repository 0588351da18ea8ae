import { describe, expect, it } from 'vitest';
import { syntheticRun } from '../../test/support/bench-run.js';
import { usageOfRequest } from './request-usage.js';

describe('usageOfRequest', () => {
  it("is a bench request's tokens and timings with its model's device", () => {
    const run = syntheticRun({ models: ['demo-slm', 'demo-llm'] });
    const request = run.requests.find((candidate) => candidate.modelIndex === 1);
    const model = run.models[1];
    if (request === undefined || model === undefined) throw new Error('the run has no request');
    expect(usageOfRequest(request, { ...model, device: 'cpu', dtype: 'q8' })).toEqual({
      promptTokens: request.promptTokens,
      outputTokens: request.outputTokens,
      outputTokensSource: request.outputTokensSource,
      reasoningTokens: request.reasoningTokens,
      queueMs: request.queueMs,
      ttftMs: request.ttftMs,
      e2eMs: request.e2eMs,
      engine: model.engine,
      model: 'demo-llm',
      threads: model.threads,
      gpu: model.gpu,
      device: 'cpu',
      dtype: 'q8',
      baseUrl: model.baseUrl,
    });
  });
});
