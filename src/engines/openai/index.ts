export {
  type ConnectProbe,
  ConnectProbeTimeout,
  tcpConnectProbe,
} from '../../http/connect-probe.js';
export {
  isRetryableStatus,
  parseRetryAfterMs,
  summarizeErrorBody,
} from '../../http/http-errors.js';
export { classifyNetworkError } from '../../http/network-errors.js';
export {
  defaultRetryPolicy,
  type RetryPolicy,
  type RetryPolicyOptions,
  resolveRetryPolicy,
  retryDelayMs,
} from '../../http/retry-policy.js';
export type { Sleep } from '../../http/sleep.js';
export {
  type ServerSentEvent,
  SseParser,
  type SseParserStatistics,
} from '../../http/sse-parser.js';
export {
  type AcceptResult,
  ChatCompletionAccumulator,
  mapFinishReason,
} from './chat-completion-chunk.js';
export {
  type ModelIdMatch,
  type ModelIdResolution,
  normalizeModelId,
  resolveModelId,
} from './model-id-resolution.js';
export {
  createOpenAIEngine,
  type OpenAIEngine,
  type OpenAIEngineOptions,
} from './openai-engine.js';
export {
  type BaseUrlSource,
  type CommandResult,
  type CommandRunner,
  createProcessCommandRunner,
  findServiceOrigin,
  foundryStatusTimeoutMs,
  getPreset,
  isPresetName,
  type Preset,
  type PresetName,
  presets,
  type ResolvedBaseUrl,
  type ResolvePresetBaseUrlOptions,
  resolvePresetBaseUrl,
} from './presets.js';
