// tandem's public library API, listed by hand. Everything else is internal.

export {
  type CompareOptions,
  type CompareProgress,
  type CompareResult,
  type CompareSummary,
  compare,
  DEFAULT_COMPARE_MODELS,
  DEFAULT_COMPARE_PROMPT,
  type ModelComparison,
  type Verdict,
} from './compare/compare.js';
export { LlamaEngine, type LlamaEngineOptions } from './engines/llama/llama-engine.js';
export { GPU_CHOICES, type GpuChoice } from './engines/llama/llama-runtime.js';
export {
  ONNX_DEVICES,
  ONNX_DTYPES,
  type OnnxDevice,
  type OnnxDtype,
  onnxDeviceSupport,
} from './engines/onnx/onnx-devices.js';
export {
  OnnxEngine,
  type OnnxEngineOptions,
  type OnnxModelSource,
} from './engines/onnx/onnx-engine.js';
export {
  createOpenAIEngine,
  type OpenAIEngine,
  type OpenAIEngineOptions,
} from './engines/openai/openai-engine.js';
export { type PresetName, presets } from './engines/openai/presets.js';
export type { EngineProvider, ProviderContext, ProviderKind } from './engines/provider.js';
export type {
  CompositeModelReference,
  LocalModelReference,
  ModelReference,
  ServerModelReference,
} from './engines/reference.js';
export {
  type CreateEngineOptions,
  createEngine,
  createEngineRegistry,
  ENGINE_PROVIDERS,
  type EngineRegistry,
  parseModelReference,
} from './engines/registry.js';
export type {
  ChatMessage,
  ChatRole,
  Clock,
  Engine,
  EngineId,
  EngineInfo,
  ErrorPart,
  FinishPart,
  FinishReason,
  GenerateRequest,
  LoadOptions,
  ReasoningDeltaPart,
  RequestStartPart,
  ServerTimings,
  StreamPart,
  TextDeltaPart,
  ToolCallDeltaPart,
  Usage,
  UsageSource,
} from './engines/spec.js';
export {
  AbortedError,
  ApiCallError,
  DownloadError,
  EndpointUnreachableError,
  EngineUnavailableError,
  InvalidArgumentError,
  InvalidModelFileError,
  ModelNotFoundError,
  StreamInterruptedError,
  TandemError,
  TimeoutError,
} from './errors.js';
export {
  GenerationError,
  type RunOptions,
  type RunRequest,
  type RunResult,
  run,
} from './generate/generate.js';
export {
  type GenerationMeasurement,
  measureGeneration,
  type TokenCountSource,
} from './measure/generation-timing.js';
export { describeMachine, type MachineInfo } from './measure/machine.js';
export { compareRatio, type RatioComparison } from './measure/statistics/compare-ratio.js';
export { compareSamples, type SampleComparison } from './measure/statistics/compare-samples.js';
export { percentile, type SampleSummary, summarize } from './measure/statistics/summary.js';
export { estimateTokens } from './measure/token-estimate.js';
export { tandemHome } from './models/cache.js';
export { CATALOG, type CatalogModel, findCatalogModel } from './models/catalog.js';
export { DEMO_MODELS, type DemoModelName, ensureDemoModel } from './models/demo/demo-models.js';
export { ensureDemoOnnxModel } from './models/demo/demo-onnx.js';
export { validateGgufForLlama } from './models/gguf/validate.js';
export { pullModel } from './models/pull.js';
export { knownModelNames } from './models/resolve.js';
export {
  askGrounded,
  type GroundedAnswer,
  type GroundedSource,
  NOT_COVERED_ANSWER,
} from './rag/ask.js';
export { type CitationCheck, checkCitations, parseCitations } from './rag/citations.js';
export { type Embedder, engineEmbedder } from './rag/embedder.js';
export { type Chunk, chunkDocument } from './rag/ingest/chunk.js';
export { extractText } from './rag/ingest/extract.js';
export { type IndexReport, indexPaths, indexTexts } from './rag/ingest/ingest.js';
export { type RagCollection, RagStore } from './rag/rag-store.js';
export { type RetrievalMode, retrieve } from './rag/search/retrieve.js';
export type { RetrievedChunk } from './rag/search/retrieved-chunk.js';
