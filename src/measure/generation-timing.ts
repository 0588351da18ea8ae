import type { Clock, FinishReason, ServerTimings, StreamPart, Usage } from '../engines/spec.js';
import { errorLine, isAbortError, StreamInterruptedError } from '../errors.js';
import type { GenerationTimings, TokenCountSource, TokenUsage } from './usage-record.js';

export type { TokenCountSource } from './usage-record.js';

export interface ToolCallRecord {
  index: number;
  id: string | undefined;
  name: string | undefined;
  arguments: string;
}

/**
 * What one generation looked like from the client: every figure defined in DESIGN.md.
 * Times are milliseconds from t0 (just before the request was sent / the first part asked for).
 */
export interface GenerationMeasurement extends TokenUsage, GenerationTimings {
  text: string;
  reasoningText: string;
  toolCalls: ToolCallRecord[];
  finishReason: FinishReason;
  /** True when the stream did not end with a finish event (error, abort, dropped connection). */
  incomplete: boolean;
  /** One line saying why the generation is incomplete. */
  errorMessage: string | undefined;
  /** Request attempts (1 unless the engine retried). */
  attempts: number;
  /** First non-reasoning content token. */
  ttfoMs: number | undefined;
  /** (E2E − TTFT) / (N − 1); undefined when N < 2. */
  tpotMs: number | undefined;
  /** 1 / TPOT. */
  decodeTokensPerSecond: number | undefined;
  /** N / E2E. */
  requestTokensPerSecond: number | undefined;
  /** Gaps between consecutive token-bearing events. */
  interTokenGapsMs: number[];
  /** Gaps longer than the stall threshold. */
  stallCount: number;
  stallThresholdMs: number;
  /** Number of token-bearing events received. */
  tokenEventCount: number;
  serverTimings: ServerTimings | undefined;
  responseModelId: string | undefined;
  /** The clock reading taken as t0, for correlating with other clocks. */
  startedAtMs: number;
}

export interface MeasureOptions {
  clock?: Clock;
  /** Called for every part as it arrives (live rendering). Must be quick. */
  onPart?: (part: StreamPart, atMs: number) => void;
  /** A gap between token events longer than this counts as a stall. Default 1000 ms. */
  stallThresholdMs?: number;
}

function isTokenBearing(part: StreamPart): boolean {
  switch (part.type) {
    case 'text-delta':
    case 'reasoning-delta':
      return part.text.length > 0;
    case 'tool-call-delta':
      return part.argumentsDelta.length > 0 || part.name !== undefined;
    default:
      return false;
  }
}

/**
 * Consumes a stream of parts and measures it. t0 is the last `request-start` part (just
 * before the request attempt that answered was written), or, for an engine that sends none,
 * the moment the first part was asked for. Each part is stamped with its `arrivedAtMs` when
 * the transport set it, else with the clock the moment it is received. Never throws for a
 * failing stream: the partial result is returned with `incomplete` and `errorMessage`.
 */
export async function measureGeneration(
  stream: AsyncIterable<StreamPart>,
  options: MeasureOptions = {},
): Promise<GenerationMeasurement & { error: unknown }> {
  const clock = options.clock ?? (() => performance.now());
  const stallThresholdMs = options.stallThresholdMs ?? 1000;
  let text = '';
  let reasoningText = '';
  const toolCalls = new Map<number, ToolCallRecord>();
  const tokenTimes: number[] = [];
  let firstContentAt: number | undefined;
  let engineTokenTotal = 0;
  let everyEventHasTokenCount = true;
  let reasoningEngineTokens = 0;
  let finish: Extract<StreamPart, { type: 'finish' }> | undefined;
  let error: unknown;
  let inBandError: Error | undefined;

  const iterator = stream[Symbol.asyncIterator]();
  const askedAt = clock();
  let t0 = askedAt;
  let attempts = 0;
  try {
    while (true) {
      const next = await iterator.next();
      if (next.done) break;
      const part = next.value;
      const at = part.arrivedAtMs ?? clock();
      if (part.type === 'request-start') {
        // Engines retry only before any token, so a later attempt simply moves t0.
        t0 = at;
        attempts = part.attempt;
      }
      options.onPart?.(part, at);
      if (isTokenBearing(part)) {
        tokenTimes.push(at);
        if (
          (part.type === 'text-delta' || part.type === 'reasoning-delta') &&
          part.tokenCount !== undefined
        ) {
          engineTokenTotal += part.tokenCount;
          if (part.type === 'reasoning-delta') reasoningEngineTokens += part.tokenCount;
        } else {
          everyEventHasTokenCount = false;
        }
      }
      switch (part.type) {
        case 'text-delta':
          text += part.text;
          if (firstContentAt === undefined && part.text.length > 0) firstContentAt = at;
          break;
        case 'reasoning-delta':
          reasoningText += part.text;
          break;
        case 'tool-call-delta': {
          const call = toolCalls.get(part.index) ?? {
            index: part.index,
            id: undefined,
            name: undefined,
            arguments: '',
          };
          call.id ??= part.id;
          call.name ??= part.name;
          call.arguments += part.argumentsDelta;
          toolCalls.set(part.index, call);
          break;
        }
        case 'finish':
          finish = part;
          break;
        case 'error':
          inBandError = part.error;
          break;
      }
    }
  } catch (caught) {
    error = caught;
  }
  if (error === undefined && inBandError !== undefined) error = inBandError;
  if (error === undefined && finish === undefined) {
    error = new StreamInterruptedError(
      `The stream ended after ${tokenTimes.length} token events without a finish event.`,
    );
  }

  const usage: Usage | undefined = finish?.usage;
  let outputTokens: number;
  let outputTokensSource: TokenCountSource;
  if (usage?.outputTokens !== undefined && finish !== undefined && error === undefined) {
    outputTokens = usage.outputTokens;
    outputTokensSource = finish.usageSource;
  } else if (everyEventHasTokenCount && tokenTimes.length > 0) {
    outputTokens = engineTokenTotal;
    outputTokensSource = 'engine';
  } else {
    outputTokens = tokenTimes.length;
    outputTokensSource = 'estimate';
  }
  const reasoningTokens =
    usage?.reasoningTokens ??
    (everyEventHasTokenCount && reasoningText.length > 0 ? reasoningEngineTokens : undefined);

  const firstTokenAt = tokenTimes[0];
  const lastTokenAt = tokenTimes[tokenTimes.length - 1];
  const ttftMs = firstTokenAt === undefined ? undefined : firstTokenAt - t0;
  const e2eMs = lastTokenAt === undefined ? undefined : lastTokenAt - t0;
  const tpotMs =
    ttftMs !== undefined && e2eMs !== undefined && outputTokens >= 2 && e2eMs > ttftMs
      ? (e2eMs - ttftMs) / (outputTokens - 1)
      : undefined;
  const interTokenGapsMs: number[] = [];
  for (let index = 1; index < tokenTimes.length; index++) {
    interTokenGapsMs.push((tokenTimes[index] as number) - (tokenTimes[index - 1] as number));
  }
  const aborted = (error !== undefined && isAbortError(error)) || finish?.finishReason === 'abort';
  const incomplete = error !== undefined || finish === undefined || aborted;
  let finishReason: FinishReason;
  if (aborted) finishReason = 'abort';
  else if (error !== undefined || finish === undefined) finishReason = 'error';
  else finishReason = finish.finishReason;
  let errorMessage: string | undefined;
  if (aborted) errorMessage = 'Stopped before the answer was complete.';
  else if (error !== undefined) errorMessage = errorLine(error);

  return {
    text,
    reasoningText,
    toolCalls: [...toolCalls.values()].sort((a, b) => a.index - b.index),
    finishReason,
    incomplete,
    errorMessage,
    error,
    queueMs: t0 - askedAt,
    attempts: Math.max(1, attempts),
    ttftMs,
    ttfoMs: firstContentAt === undefined ? undefined : firstContentAt - t0,
    e2eMs,
    outputTokens,
    outputTokensSource,
    reasoningTokens,
    promptTokens: usage?.inputTokens,
    tpotMs,
    decodeTokensPerSecond: tpotMs === undefined ? undefined : 1000 / tpotMs,
    requestTokensPerSecond:
      e2eMs === undefined || e2eMs <= 0 || outputTokens === 0
        ? undefined
        : (outputTokens * 1000) / e2eMs,
    interTokenGapsMs,
    stallCount: interTokenGapsMs.filter((gap) => gap > stallThresholdMs).length,
    stallThresholdMs,
    tokenEventCount: tokenTimes.length,
    serverTimings: finish?.timings,
    responseModelId: finish?.responseModelId,
    startedAtMs: t0,
  };
}
