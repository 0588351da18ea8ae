import { type CreateEngineOptions, createEngine, engineKind } from '../engines/registry.js';
import type { ChatMessage, Engine, GenerateRequest, StreamPart } from '../engines/spec.js';
import { AbortedError, InvalidArgumentError, TandemError } from '../errors.js';
import { type GenerationMeasurement, measureGeneration } from '../measure/generation-timing.js';
import { PeakRssSampler } from '../measure/memory.js';
import type { UsageDevice } from '../measure/usage-record.js';

/**
 * One generation with everything measured about it. The shape `tandem run --json` prints; a
 * UsageRecord (tokens, timings, what ran it), so cost can be computed from it.
 */
export interface RunResult extends GenerationMeasurement, UsageDevice {
  reference: string;
  resolvedModelId: string | undefined;
  /** Random-weight demo model: its text is noise. */
  isDemo: boolean;
  /** True for the first run of a model: it was loaded (and the load timed) just before. */
  cold: boolean;
  /** Embedded engines, cold runs: model file → ready context. */
  loadMs: number | undefined;
  /**
   * Server engines, cold runs: finding the endpoint and resolving the model id through
   * GET /v1/models. The server's own model load, if any, shows in the first TTFT.
   */
  setupMs: number | undefined;
  /** Peak RSS of this process during the run (embedded engines only). */
  peakRssBytes: number | undefined;
  /** Peak RSS minus the RSS before the model was loaded (cold) or before the run (warm). */
  peakRssDeltaBytes: number | undefined;
  modelFileSizeBytes: number | undefined;
}

export interface RunRequest extends Omit<GenerateRequest, 'messages'> {
  prompt?: string;
  system?: string;
  /** A whole conversation; the prompt, when also given, is appended as the last user turn. */
  messages?: readonly ChatMessage[];
  /** Called for every part as it arrives, with its time stamp (live rendering). */
  onPart?: (part: StreamPart, atMs: number) => void;
}

/** A run that did not complete; `result` holds what was measured up to the failure. */
export class GenerationError extends TandemError {
  override readonly exitCode: number;
  constructor(
    message: string,
    readonly result: RunResult,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    const cause = options?.cause;
    if (result.finishReason === 'abort') this.exitCode = 130;
    else if (cause instanceof TandemError) this.exitCode = cause.exitCode;
    else this.exitCode = 1;
  }
}

export function buildMessages(request: RunRequest): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (request.system !== undefined) messages.push({ role: 'system', content: request.system });
  if (request.messages !== undefined) messages.push(...request.messages);
  if (request.prompt !== undefined) messages.push({ role: 'user', content: request.prompt });
  if (messages.length === 0 || messages.every((message) => message.role === 'system')) {
    throw new InvalidArgumentError('Nothing to answer: give a prompt (--prompt TEXT or stdin).');
  }
  return messages;
}

function isEmbedded(engine: Engine): boolean {
  return engineKind(engine.info.engine) !== 'server';
}

/**
 * Measures one generation on an engine. The model is loaded first, outside the measured
 * generation; on a cold run that load is timed (`loadMs` for embedded engines, `setupMs` for
 * servers). Throws GenerationError (with the partial result) when the stream fails or is
 * stopped; returns the result otherwise.
 */
export async function measureRun(
  engine: Engine,
  request: RunRequest,
  { cold }: { cold: boolean },
): Promise<RunResult> {
  const { prompt, system, messages: history, onPart, ...options } = request;
  const messages = buildMessages(request);
  if (cold) await engine.prepare?.();
  const embedded = isEmbedded(engine);
  const sampler = embedded ? new PeakRssSampler() : undefined;
  let loadOrSetupMs: number | undefined;
  try {
    const started = performance.now();
    await engine.load(request.signal === undefined ? {} : { signal: request.signal });
    if (cold) loadOrSetupMs = performance.now() - started;
    const generateRequest: GenerateRequest = { ...options, messages };
    const { error, ...measurement } = await measureGeneration(engine.stream(generateRequest), {
      onPart: (part, atMs) => {
        sampler?.sample();
        onPart?.(part, atMs);
      },
    });
    const memory = sampler?.stop();
    const { info } = engine;
    const result: RunResult = {
      model: info.model,
      engine: info.engine,
      reference: info.reference,
      resolvedModelId: info.resolvedModelId,
      isDemo: info.isDemo === true,
      cold,
      loadMs: embedded ? loadOrSetupMs : undefined,
      setupMs: embedded ? undefined : loadOrSetupMs,
      ...measurement,
      peakRssBytes: memory?.peakBytes,
      peakRssDeltaBytes: memory?.peakDeltaBytes,
      modelFileSizeBytes: info.modelFileSizeBytes,
      threads: info.threads,
      gpu: info.gpu,
      device: info.device,
      dtype: info.dtype,
      baseUrl: info.baseUrl,
    };
    if (result.incomplete) {
      let message: string;
      if (result.finishReason === 'abort')
        message = `Stopped: ${info.model} produced ${result.outputTokens} tokens before it was stopped.`;
      else if (result.tokenEventCount === 0)
        message = result.errorMessage ?? `${info.model} answered nothing.`;
      else
        message = `${info.model}: ${result.errorMessage ?? 'the answer is incomplete.'} (${result.outputTokens} tokens received; the partial answer is kept.)`;
      throw new GenerationError(message, result, { cause: error });
    }
    return result;
  } finally {
    sampler?.stop();
  }
}

export interface RunOptions extends RunRequest {
  /** A model reference (`demo-slm`, `ollama:phi4-mini`, …) or an engine you created. */
  model: string | Engine;
  engineOptions?: CreateEngineOptions;
}

/**
 * One prompt, one model: creates the engine when given a reference (cold run, load timed),
 * streams and measures the answer, and disposes what it created.
 */
export async function run(options: RunOptions): Promise<RunResult> {
  const { model, engineOptions, ...request } = options;
  if (typeof model !== 'string') return measureRun(model, request, { cold: false });
  const engine = await createEngine(model, engineOptions);
  try {
    return await measureRun(engine, request, { cold: true });
  } catch (error) {
    if (error instanceof AbortedError || request.signal?.aborted) {
      if (error instanceof GenerationError) throw error;
      throw new AbortedError('Stopped before generation started.');
    }
    throw error;
  } finally {
    await engine.dispose();
  }
}
