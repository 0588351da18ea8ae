/**
 * A bench request as a UsageRecord: its tokens and timings with its model's device, the
 * shape cost and energy are computed from for every feature (measure/usage-record.ts).
 */
import type { UsageRecord } from '../measure/usage-record.js';
import type { BenchModelInfo, BenchRequestRecord } from './types.js';

export function usageOfRequest(record: BenchRequestRecord, model: BenchModelInfo): UsageRecord {
  return {
    promptTokens: record.promptTokens,
    outputTokens: record.outputTokens,
    outputTokensSource: record.outputTokensSource,
    reasoningTokens: record.reasoningTokens,
    queueMs: record.queueMs,
    ttftMs: record.ttftMs,
    e2eMs: record.e2eMs,
    engine: model.engine,
    model: model.model,
    threads: model.threads,
    gpu: model.gpu,
    device: model.device,
    dtype: model.dtype,
    baseUrl: model.baseUrl,
  };
}
