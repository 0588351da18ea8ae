/**
 * Chat completion payloads (streamed chunks and whole responses), parsed leniently, and the
 * accumulator that turns them into stream parts.
 */
import { z } from 'zod';
import type { FinishPart, FinishReason, ServerTimings, StreamPart, Usage } from '../spec.js';
import { ContentChunkTemplate } from './content-chunk-template.js';

const count = z.number().nullish().catch(undefined);
const text = z.string().nullish().catch(undefined);

const usageSchema = z.object({
  prompt_tokens: count,
  completion_tokens: count,
  completion_tokens_details: z.object({ reasoning_tokens: count }).nullish().catch(undefined),
});

/** llama-server's `timings` object. */
const timingsSchema = z.object({
  prompt_n: count,
  prompt_ms: count,
  predicted_n: count,
  predicted_ms: count,
});

const toolCallSchema = z.object({
  index: z.number().int().nonnegative().nullish().catch(undefined),
  id: text,
  function: z.object({ name: text, arguments: text }).nullish().catch(undefined),
});

/** A streamed `delta` or a whole response's `message`. */
const messageSchema = z.object({
  content: text,
  reasoning_content: text,
  reasoning: text,
  tool_calls: z.array(toolCallSchema).nullish().catch(undefined),
});

const choiceSchema = z.object({
  index: z.number().nullish().catch(undefined),
  delta: messageSchema.nullish().catch(undefined),
  message: messageSchema.nullish().catch(undefined),
  finish_reason: text,
});

export const chatCompletionPayloadSchema = z.object({
  model: text,
  choices: z.array(choiceSchema).nullish().catch(undefined),
  usage: usageSchema.nullish().catch(undefined),
  timings: timingsSchema.nullish().catch(undefined),
  error: z.unknown().optional(),
});

export type ChatCompletionPayload = z.infer<typeof chatCompletionPayloadSchema>;

export function mapFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'stop':
    case 'eos':
    case 'end_turn':
      return 'stop';
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    default:
      return 'other';
  }
}

export type AcceptResult =
  | { kind: 'parts'; parts: StreamPart[] }
  /** The payload is an in-band error (`{"error": {...}}`). */
  | { kind: 'error'; error: unknown };

interface CommonChunk {
  content: string | undefined;
  finishReason: string | undefined;
  model: string | undefined;
}

/**
 * The shape of nearly every streamed chunk, read without the schema (it costs more than the
 * rest of the per-token path at 100 000 tokens/s): one choice whose delta has at most
 * `role` and a string `content`, no usage, timings or error. Gives exactly what the schema
 * path gives; anything else returns undefined and goes through the schema.
 */
function readCommonChunk(payload: unknown): CommonChunk | undefined {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return;
  const chunk = payload as Record<string, unknown>;
  if (chunk.error !== undefined && chunk.error !== null) return;
  if (chunk.usage !== undefined && chunk.usage !== null) return;
  if (chunk.timings !== undefined && chunk.timings !== null) return;
  const choices = chunk.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return;
  const choice: unknown = choices[0];
  if (typeof choice !== 'object' || choice === null || Array.isArray(choice)) return;
  const { index, delta, message, finish_reason: finishReason } = choice as Record<string, unknown>;
  if (index !== undefined && index !== null && typeof index !== 'number') return;
  if (message !== undefined && message !== null) return;
  if (finishReason !== undefined && finishReason !== null && typeof finishReason !== 'string') {
    return;
  }
  let content: string | undefined;
  if (delta !== undefined && delta !== null) {
    if (typeof delta !== 'object' || Array.isArray(delta)) return;
    for (const key in delta) {
      if (key !== 'content' && key !== 'role') return;
    }
    const value = (delta as Record<string, unknown>).content;
    if (typeof value === 'string') content = value;
    else if (value !== undefined && value !== null) return;
  }
  const model = chunk.model;
  return {
    content,
    finishReason: typeof finishReason === 'string' ? finishReason : undefined,
    model: typeof model === 'string' && model !== '' ? model : undefined,
  };
}

/** The content of a chunk that only carries content (no finish reason), else undefined. */
function plainContentOf(payload: unknown): string | undefined {
  const common = readCommonChunk(payload);
  return common === undefined || common.finishReason !== undefined ? undefined : common.content;
}

function contentParts(content: string | undefined, arrivedAtMs: number): StreamPart[] {
  return content === undefined || content === ''
    ? []
    : [{ type: 'text-delta', text: content, arrivedAtMs }];
}

/**
 * Collects what a chat completion says across its chunks: deltas become parts at once;
 * the finish reason, usage, timings and model id are kept for the final `finish` part.
 */
export class ChatCompletionAccumulator {
  readonly #template = new ContentChunkTemplate();
  #finishReason: FinishReason | undefined;
  #usage: Usage | undefined;
  #timings: ServerTimings | undefined;
  #responseModelId: string | undefined;

  get hasFinishReason(): boolean {
    return this.#finishReason !== undefined;
  }

  /**
   * Takes one event's data: the text of a chunk. Undefined when it is not JSON. A chunk that
   * is the previous one with another content string skips JSON.parse (content-chunk-template.ts).
   */
  acceptData(data: string, arrivedAtMs: number): AcceptResult | undefined {
    const content = this.#template.match(data);
    if (content !== undefined) return { kind: 'parts', parts: contentParts(content, arrivedAtMs) };
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return undefined;
    }
    const plain = plainContentOf(payload);
    if (plain !== undefined && plain !== '') this.#template.learn(data, plain, plainContentOf);
    return this.accept(payload, arrivedAtMs);
  }

  /** Takes one parsed JSON payload; `arrivedAtMs` is stamped on each part it produces. */
  accept(payload: unknown, arrivedAtMs: number): AcceptResult {
    const common = readCommonChunk(payload);
    if (common !== undefined) {
      if (common.model !== undefined) this.#responseModelId ??= common.model;
      if (common.finishReason !== undefined) {
        this.#finishReason = mapFinishReason(common.finishReason);
      }
      return { kind: 'parts', parts: contentParts(common.content, arrivedAtMs) };
    }
    const parsed = chatCompletionPayloadSchema.safeParse(payload);
    if (!parsed.success) {
      return { kind: 'error', error: new Error('the event is not a chat completion chunk') };
    }
    const chunk = parsed.data;
    if (chunk.error !== undefined && chunk.error !== null) {
      return { kind: 'error', error: chunk.error };
    }
    if (chunk.model !== undefined && chunk.model !== null && chunk.model !== '') {
      this.#responseModelId ??= chunk.model;
    }
    if (chunk.usage !== undefined && chunk.usage !== null) {
      this.#usage = {
        inputTokens: chunk.usage.prompt_tokens ?? undefined,
        outputTokens: chunk.usage.completion_tokens ?? undefined,
        reasoningTokens: chunk.usage.completion_tokens_details?.reasoning_tokens ?? undefined,
      };
    }
    if (chunk.timings !== undefined && chunk.timings !== null) {
      this.#timings = {
        promptMs: chunk.timings.prompt_ms ?? undefined,
        promptTokens: chunk.timings.prompt_n ?? undefined,
        predictedMs: chunk.timings.predicted_ms ?? undefined,
        predictedTokens: chunk.timings.predicted_n ?? undefined,
      };
    }
    const parts: StreamPart[] = [];
    const choices = chunk.choices ?? [];
    const choice = choices.find((candidate) => (candidate.index ?? 0) === 0) ?? choices[0];
    if (choice === undefined) return { kind: 'parts', parts };
    const message = choice.delta ?? choice.message;
    if (message !== undefined && message !== null) {
      const reasoning = message.reasoning_content ?? message.reasoning;
      if (reasoning !== undefined && reasoning !== null && reasoning !== '') {
        parts.push({ type: 'reasoning-delta', text: reasoning, arrivedAtMs });
      }
      if (message.content !== undefined && message.content !== null && message.content !== '') {
        parts.push({ type: 'text-delta', text: message.content, arrivedAtMs });
      }
      (message.tool_calls ?? []).forEach((toolCall, position) => {
        const part: StreamPart = {
          type: 'tool-call-delta',
          index: toolCall.index ?? position,
          argumentsDelta: toolCall.function?.arguments ?? '',
          arrivedAtMs,
        };
        if (toolCall.id !== undefined && toolCall.id !== null) part.id = toolCall.id;
        const name = toolCall.function?.name;
        if (name !== undefined && name !== null) part.name = name;
        parts.push(part);
      });
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
      this.#finishReason = mapFinishReason(choice.finish_reason);
    }
    return { kind: 'parts', parts };
  }

  /** The final part; `fallbackReason` when the server never sent a finish reason. */
  finishPart(arrivedAtMs: number, fallbackReason: FinishReason = 'other'): FinishPart {
    const part: FinishPart = {
      type: 'finish',
      finishReason: this.#finishReason ?? fallbackReason,
      usage: this.#usage ?? {
        inputTokens: undefined,
        outputTokens: undefined,
        reasoningTokens: undefined,
      },
      usageSource: 'usage',
      arrivedAtMs,
    };
    if (this.#timings !== undefined) part.timings = this.#timings;
    if (this.#responseModelId !== undefined) part.responseModelId = this.#responseModelId;
    return part;
  }
}
