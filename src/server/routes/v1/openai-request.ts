/**
 * Validation of OpenAI-style request bodies for `tandem serve` (chat completions and
 * embeddings). Bodies are checked with zod; every failure becomes one OpenAI error body with
 * a one-line message that says what is wrong and what is allowed, and the offending field in
 * OpenAI's path style (`messages[0].role`, `top_p`). The parse functions never throw.
 */

import { z } from 'zod';
import type { ChatMessage, GenerateRequest } from '../../../engines/spec.js';

export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

export type ChatCompletionResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict: boolean };

/** A JSON schema nested deeper is refused (a grammar built from it would overflow the stack). */
const maximumSchemaDepth = 64;

export interface ChatCompletionRequest {
  model: string;
  /** Roles are mapped to the engine's (`developer` becomes `system`); content is text. */
  messages: ChatMessage[];
  stream: boolean;
  /** `stream_options.include_usage`: send a final chunk with usage when streaming. */
  includeUsage: boolean;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  responseFormat?: ChatCompletionResponseFormat;
  /** `ignore_eos` (vLLM, llama-server): generate past the end-of-sequence token. */
  ignoreEos?: boolean;
}

export type EmbeddingsEncodingFormat = 'float' | 'base64';

export interface EmbeddingsRequest {
  model: string;
  inputs: string[];
  encodingFormat: EmbeddingsEncodingFormat;
}

export type ParseRequestResult<Request> =
  | { ok: true; request: Request }
  | { ok: false; error: OpenAIErrorBody };

const invalidRequestError = 'invalid_request_error';
const maximumMessageLength = 200;
const maximumEchoedStringLength = 40;
const maximumTokensLimit = 1_000_000;
const maximumStopSequences = 4;
const maximumEmbeddingInputs = 2048;

export function openAIError(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): OpenAIErrorBody {
  return { error: { message: oneLine(message), type, param, code } };
}

// ---------------------------------------------------------------------------------------------
// Schemas. Each error text is what the field must be; the final message reads
// "<param> must be <text>; got <value>." (see issueToError).

const modelSchema = z
  .string('a non-empty string (the model id)')
  .min(1, 'a non-empty string (the model id)');

const textPartExpectation = "a content part object like {type: 'text', text: '...'}";
const textPartSchema = z.object(
  {
    type: z.literal('text', "'text' (only text content parts are supported)"),
    text: z.string('a string'),
  },
  textPartExpectation,
);

const contentExpectation = "a string or an array of {type: 'text', text} parts";
const contentSchema = z
  .union([z.string(contentExpectation), z.array(textPartSchema, contentExpectation)], {
    error: contentExpectation,
  })
  .nullish();

const roles = ['system', 'developer', 'user', 'assistant', 'tool'] as const;
const messageSchema = z.object(
  {
    role: z.enum(roles, "one of 'system', 'developer', 'user', 'assistant' or 'tool'"),
    content: contentSchema,
  },
  'a message object with a role and content',
);

const messagesExpectation = 'a non-empty array of message objects';
const messagesSchema = z.array(messageSchema, messagesExpectation).min(1, messagesExpectation);

function numberBetween(minimum: number, maximum: number) {
  const expectation = `a number between ${minimum} and ${maximum}`;
  return z.number(expectation).min(minimum, expectation).max(maximum, expectation).nullish();
}

const maximumTokensExpectation = `a positive integer no larger than ${maximumTokensLimit}`;
const maximumTokensSchema = z
  .int(maximumTokensExpectation)
  .min(1, maximumTokensExpectation)
  .max(maximumTokensLimit, maximumTokensExpectation)
  .nullish();

const seedSchema = z
  .int(`an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`)
  .nullish();

const stopExpectation = `a non-empty string or an array of at most ${maximumStopSequences} non-empty strings`;
const stopSchema = z
  .union(
    [
      z.string(stopExpectation).min(1, stopExpectation),
      z
        .array(z.string('a non-empty string').min(1, 'a non-empty string'), stopExpectation)
        .max(maximumStopSequences, stopExpectation),
    ],
    { error: stopExpectation },
  )
  .nullish();

const jsonSchemaNameExpectation = 'a string of 1 to 64 letters, digits, underscores or dashes';
const responseFormatSchema = z
  .discriminatedUnion(
    'type',
    [
      z.object({ type: z.literal('text') }),
      z.object({ type: z.literal('json_object') }),
      z.object({
        type: z.literal('json_schema'),
        json_schema: z.object(
          {
            name: z
              .string(jsonSchemaNameExpectation)
              .regex(/^[A-Za-z0-9_-]{1,64}$/, jsonSchemaNameExpectation),
            schema: z.custom<Record<string, unknown>>(
              (value) => isRecord(value) && nestingDepthAtMost(value, maximumSchemaDepth),
              `a JSON object (the JSON Schema the answer must match) nested at most ${maximumSchemaDepth} levels deep`,
            ),
            strict: z.boolean('a boolean').nullish(),
            description: z.string('a string').nullish(),
          },
          'an object with a name and a schema',
        ),
      }),
    ],
    "an object with type 'text', 'json_object' or 'json_schema'",
  )
  .nullish();

const chatCompletionBodySchema = z.object({
  model: modelSchema,
  messages: messagesSchema,
  stream: z.boolean('a boolean').nullish(),
  stream_options: z
    .object({ include_usage: z.boolean('a boolean').nullish() }, 'an object')
    .nullish(),
  max_completion_tokens: maximumTokensSchema,
  max_tokens: maximumTokensSchema,
  temperature: numberBetween(0, 2),
  top_p: numberBetween(0, 1),
  seed: seedSchema,
  stop: stopSchema,
  response_format: responseFormatSchema,
  n: z.literal(1, '1 (only n=1 is supported by this server)').nullish(),
  frequency_penalty: numberBetween(-2, 2),
  presence_penalty: numberBetween(-2, 2),
  logprobs: z.boolean('a boolean').nullish(),
  user: z.string('a string').nullish(),
  // vLLM's and llama-server's extension: keep generating past EOS (benchmarks).
  ignore_eos: z.boolean('a boolean').nullish(),
});

type ChatCompletionBody = z.infer<typeof chatCompletionBodySchema>;

const embeddingInputExpectation = `a non-empty string or an array of 1 to ${maximumEmbeddingInputs} non-empty strings`;
const embeddingsBodySchema = z.object({
  model: modelSchema,
  input: z.union(
    [
      z.string(embeddingInputExpectation).min(1, embeddingInputExpectation),
      z
        .array(
          z.string('a non-empty string').min(1, 'a non-empty string'),
          embeddingInputExpectation,
        )
        .min(1, embeddingInputExpectation)
        .max(maximumEmbeddingInputs, embeddingInputExpectation),
    ],
    { error: embeddingInputExpectation },
  ),
  encoding_format: z.enum(['float', 'base64'], "'float' or 'base64'").nullish(),
  user: z.string('a string').nullish(),
});

// ---------------------------------------------------------------------------------------------
// Parameters this server refuses outright, checked before the schema so that the answer names
// the real reason (a client that sends `tools` wants tool calls, whatever else is wrong).

interface UnsupportedParameter {
  name: string;
  isUnsupported: (value: unknown) => boolean;
  message: string;
  code: 'unsupported_parameter' | 'unsupported_value';
}

const isGiven = (value: unknown): boolean => value !== undefined && value !== null;
const toolCallsMessage = (name: string): string =>
  `${name} is not supported: this server does not support tool calls; remove tools, tool_choice and functions.`;

const chatUnsupportedParameters: readonly UnsupportedParameter[] = [
  {
    name: 'tools',
    isUnsupported: isGiven,
    message: toolCallsMessage('tools'),
    code: 'unsupported_parameter',
  },
  {
    name: 'tool_choice',
    isUnsupported: (value) => isGiven(value) && value !== 'none',
    message: toolCallsMessage('tool_choice'),
    code: 'unsupported_parameter',
  },
  {
    name: 'functions',
    isUnsupported: isGiven,
    message: toolCallsMessage('functions'),
    code: 'unsupported_parameter',
  },
  {
    name: 'function_call',
    isUnsupported: (value) => isGiven(value) && value !== 'none',
    message: toolCallsMessage('function_call'),
    code: 'unsupported_parameter',
  },
  {
    name: 'logprobs',
    isUnsupported: (value) => value === true,
    message: 'logprobs is not supported by this server; omit it or set it to false.',
    code: 'unsupported_value',
  },
  {
    name: 'top_logprobs',
    isUnsupported: (value) => isGiven(value) && value !== 0,
    message: 'top_logprobs is not supported by this server; omit it.',
    code: 'unsupported_parameter',
  },
];

const embeddingsUnsupportedParameters: readonly UnsupportedParameter[] = [
  {
    name: 'dimensions',
    isUnsupported: isGiven,
    message: "dimensions is not supported by this server; omit it to get the model's full vectors.",
    code: 'unsupported_parameter',
  },
  {
    name: 'input',
    isUnsupported: isTokenIdInput,
    message:
      'input as token ids is not supported by this server; send a string or an array of strings.',
    code: 'unsupported_value',
  },
];

/** A number array, or an array of arrays: OpenAI's pre-tokenized input forms. */
function isTokenIdInput(value: unknown): boolean {
  if (!Array.isArray(value) || value.length === 0) return false;
  return (
    value.every((item) => typeof item === 'number') || value.every((item) => Array.isArray(item))
  );
}

// ---------------------------------------------------------------------------------------------
// Parsing.

export function parseChatCompletionRequest(
  body: unknown,
): ParseRequestResult<ChatCompletionRequest> {
  return guarded(() => {
    const precheck = checkBody(body, chatUnsupportedParameters);
    if (precheck !== undefined) return { ok: false, error: precheck };
    const parsed = chatCompletionBodySchema.safeParse(body, parseOptions);
    if (!parsed.success) return { ok: false, error: firstIssueError(parsed.error.issues) };
    return toChatCompletionRequest(parsed.data);
  });
}

export function parseEmbeddingsRequest(body: unknown): ParseRequestResult<EmbeddingsRequest> {
  return guarded(() => {
    const precheck = checkBody(body, embeddingsUnsupportedParameters);
    if (precheck !== undefined) return { ok: false, error: precheck };
    const parsed = embeddingsBodySchema.safeParse(body, parseOptions);
    if (!parsed.success) return { ok: false, error: firstIssueError(parsed.error.issues) };
    const { model, input, encoding_format: encodingFormat } = parsed.data;
    return {
      ok: true,
      request: {
        model,
        inputs: typeof input === 'string' ? [input] : input,
        encodingFormat: encodingFormat ?? 'float',
      },
    };
  });
}

/** Maps a validated chat request to the engine's request. */
export function toGenerateRequest(
  request: ChatCompletionRequest,
  signal?: AbortSignal,
): GenerateRequest {
  const generateRequest: GenerateRequest = {
    messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
  };
  if (request.maxTokens !== undefined) generateRequest.maxTokens = request.maxTokens;
  if (request.temperature !== undefined) generateRequest.temperature = request.temperature;
  if (request.topP !== undefined) generateRequest.topP = request.topP;
  if (request.seed !== undefined) generateRequest.seed = request.seed;
  if (request.stop !== undefined) generateRequest.stop = [...request.stop];
  if (request.ignoreEos === true) generateRequest.ignoreEos = true;
  const responseFormat = request.responseFormat;
  if (responseFormat?.type === 'json_object') {
    generateRequest.responseFormat = { type: 'json_object' };
  } else if (responseFormat?.type === 'json_schema') {
    generateRequest.responseFormat = {
      type: 'json_schema',
      name: responseFormat.name,
      schema: responseFormat.schema,
      strict: responseFormat.strict,
    };
  }
  if (signal !== undefined) generateRequest.signal = signal;
  return generateRequest;
}

function toChatCompletionRequest(
  body: ChatCompletionBody,
): ParseRequestResult<ChatCompletionRequest> {
  const messages: ChatMessage[] = [];
  for (const [index, message] of body.messages.entries()) {
    const { role, content } = message;
    if (content === undefined || content === null) {
      if (role !== 'assistant') {
        return invalid(
          `messages[${index}].content is required for ${role} messages (${contentExpectation}); only assistant messages may omit it.`,
          `messages[${index}].content`,
          'missing_required_parameter',
        );
      }
    }
    messages.push({
      role: role === 'developer' ? 'system' : role,
      content: contentText(content),
    });
  }

  const maxCompletionTokens = body.max_completion_tokens ?? undefined;
  const maxTokens = body.max_tokens ?? undefined;
  if (
    maxCompletionTokens !== undefined &&
    maxTokens !== undefined &&
    maxCompletionTokens !== maxTokens
  ) {
    return invalid(
      `max_tokens (${maxTokens}) and max_completion_tokens (${maxCompletionTokens}) differ; send only max_completion_tokens.`,
      'max_tokens',
      'invalid_value',
    );
  }

  const request: ChatCompletionRequest = {
    model: body.model,
    messages,
    stream: body.stream ?? false,
    includeUsage: body.stream_options?.include_usage ?? false,
  };
  const maximumTokens = maxCompletionTokens ?? maxTokens;
  if (maximumTokens !== undefined) request.maxTokens = maximumTokens;
  const temperature = body.temperature ?? undefined;
  if (temperature !== undefined) request.temperature = temperature;
  const topP = body.top_p ?? undefined;
  if (topP !== undefined) request.topP = topP;
  const seed = body.seed ?? undefined;
  if (seed !== undefined) request.seed = seed;
  const stop = body.stop ?? undefined;
  const stopSequences = typeof stop === 'string' ? [stop] : [...(stop ?? [])];
  if (stopSequences.length > 0) request.stop = stopSequences;
  if (body.ignore_eos === true) request.ignoreEos = true;
  const responseFormat = body.response_format;
  if (responseFormat !== undefined && responseFormat !== null) {
    request.responseFormat =
      responseFormat.type === 'json_schema'
        ? {
            type: 'json_schema',
            name: responseFormat.json_schema.name,
            schema: responseFormat.json_schema.schema,
            strict: responseFormat.json_schema.strict ?? false,
          }
        : { type: responseFormat.type };
  }
  return { ok: true, request };
}

function contentText(content: string | readonly { text: string }[] | null | undefined): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text).join('');
}

// ---------------------------------------------------------------------------------------------
// Errors.

/** Runs a parse step; anything thrown (a hostile getter, a proxy) becomes a 400, not a crash. */
function guarded<Request>(parse: () => ParseRequestResult<Request>): ParseRequestResult<Request> {
  try {
    return parse();
  } catch {
    return invalid(
      'The request body could not be read; send a JSON object.',
      null,
      'invalid_value',
    );
  }
}

function invalid(
  message: string,
  param: string | null,
  code: string,
): { ok: false; error: OpenAIErrorBody } {
  return { ok: false, error: openAIError(message, invalidRequestError, param, code) };
}

function checkBody(
  body: unknown,
  unsupportedParameters: readonly UnsupportedParameter[],
): OpenAIErrorBody | undefined {
  if (!isRecord(body)) {
    return openAIError(
      `The request body must be a JSON object; got ${describeValue(body)}.`,
      invalidRequestError,
      null,
      'invalid_type',
    );
  }
  for (const parameter of unsupportedParameters) {
    const value = Object.hasOwn(body, parameter.name) ? body[parameter.name] : undefined;
    if (parameter.isUnsupported(value)) {
      return openAIError(parameter.message, invalidRequestError, parameter.name, parameter.code);
    }
  }
  return undefined;
}

const parseOptions = {
  reportInput: true,
  // Used only where a schema has no text of its own.
  error: (issue: z.core.$ZodRawIssue): string =>
    issue.code === 'invalid_type' ? `of type ${issue.expected}` : 'a valid value',
};

function firstIssueError(issues: readonly z.core.$ZodIssue[]): OpenAIErrorBody {
  const first = issues[0];
  if (first === undefined) {
    return openAIError('The request body is invalid.', invalidRequestError, null, 'invalid_value');
  }
  return issueToError(mostSpecificIssue(first));
}

/**
 * A failed union reports every branch. Where exactly one branch failed for a reason other
 * than the value's type (a parts array with a bad part), that branch's issue says more.
 */
function mostSpecificIssue(issue: z.core.$ZodIssue, depth = 0): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || depth > 8) return issue;
  const candidates = issue.errors.filter(
    (branch) => !branch.some((inner) => inner.path.length === 0 && inner.code === 'invalid_type'),
  );
  const inner = candidates.length === 1 ? candidates[0]?.[0] : undefined;
  if (inner === undefined) return issue;
  return mostSpecificIssue({ ...inner, path: [...issue.path, ...inner.path] }, depth + 1);
}

function issueToError(issue: z.core.$ZodIssue): OpenAIErrorBody {
  const param = formatPath(issue.path);
  const name = param ?? 'The request body';
  // With reportInput, an issue without input is a value that was not sent at all.
  if (issue.input === undefined) {
    return openAIError(
      `Missing required parameter: '${name}'; it must be ${issue.message}.`,
      invalidRequestError,
      param,
      'missing_required_parameter',
    );
  }
  let input: unknown = issue.input;
  if (issue.code === 'invalid_union' && typeof issue.discriminator === 'string') {
    input = isRecord(input) ? input[issue.discriminator] : input;
  }
  return openAIError(
    `${name} must be ${issue.message}; got ${describeValue(input)}.`,
    invalidRequestError,
    param,
    issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value',
  );
}

/** `['messages', 0, 'role']` → `messages[0].role`; the empty path is the body itself. */
function formatPath(path: readonly PropertyKey[]): string | null {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? null : truncate(text, 80);
}

/** A short, single-line description of a value for an error message. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    return value === ''
      ? 'an empty string'
      : JSON.stringify(truncate(value, maximumEchoedStringLength));
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return truncate(String(value), maximumEchoedStringLength);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return 'an empty array';
    return `an array of ${value.length} ${value.length === 1 ? 'item' : 'items'}`;
  }
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function truncate(text: string, maximumLength: number): string {
  return text.length <= maximumLength ? text : `${text.slice(0, maximumLength - 1)}…`;
}

function oneLine(message: string): string {
  return truncate(message.replace(/\s+/g, ' ').trim(), maximumMessageLength);
}

/** Objects and arrays nested at most `limit` deep, checked without recursion. */
function nestingDepthAtMost(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return false;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
