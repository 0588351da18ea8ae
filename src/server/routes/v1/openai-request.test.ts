import { describe, expect, it } from 'vitest';
import {
  type ChatCompletionRequest,
  type OpenAIErrorBody,
  openAIError,
  type ParseRequestResult,
  parseChatCompletionRequest,
  parseEmbeddingsRequest,
  toGenerateRequest,
} from './openai-request.js';

const minimalChat = { model: 'demo-slm', messages: [{ role: 'user', content: 'Hello' }] };

function chat(overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...minimalChat, ...overrides };
}

function expectRequest<Request>(result: ParseRequestResult<Request>): Request {
  if (!result.ok) throw new Error(`expected ok, got: ${result.error.error.message}`);
  return result.request;
}

function expectError<Request>(result: ParseRequestResult<Request>): OpenAIErrorBody['error'] {
  if (result.ok) throw new Error(`expected an error, got: ${JSON.stringify(result.request)}`);
  expectErrorShape(result.error);
  return result.error.error;
}

/** The OpenAI error body, exactly; a one-line message of at most 300 characters. */
function expectErrorShape(body: unknown): void {
  expect(typeof body === 'object' && body !== null).toBe(true);
  const record = body as Record<string, unknown>;
  expect(Object.keys(record)).toEqual(['error']);
  const error = record.error as Record<string, unknown>;
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(error.type).toBe('invalid_request_error');
  expect(typeof error.message).toBe('string');
  const message = error.message as string;
  expect(message.length).toBeGreaterThan(0);
  expect(message.length).toBeLessThanOrEqual(300);
  expect(message).not.toMatch(/[\r\n\u2028\u2029]/);
  expect(message).not.toMatch(/Invalid input|expected .* received|\bat .*\(.*:\d+:\d+\)/);
  expect(error.param === null || typeof error.param === 'string').toBe(true);
  expect(error.code === null || typeof error.code === 'string').toBe(true);
}

describe('openAIError', () => {
  it('builds the OpenAI error body with null param and code by default', () => {
    expect(openAIError('Model not found.', 'not_found_error')).toEqual({
      error: { message: 'Model not found.', type: 'not_found_error', param: null, code: null },
    });
    expect(openAIError('Bad.', 'invalid_request_error', 'model', 'invalid_value')).toEqual({
      error: {
        message: 'Bad.',
        type: 'invalid_request_error',
        param: 'model',
        code: 'invalid_value',
      },
    });
  });

  it('keeps the message on one line and short', () => {
    const error = openAIError(`first\nsecond\t${'x'.repeat(500)}`, 'server_error');
    expect(error.error.message.startsWith('first second x')).toBe(true);
    expect(error.error.message.length).toBeLessThanOrEqual(200);
  });
});

describe('parseChatCompletionRequest: valid bodies', () => {
  it('accepts a minimal body and applies the defaults', () => {
    const request = expectRequest(parseChatCompletionRequest(minimalChat));
    expect(request).toEqual({
      model: 'demo-slm',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: false,
      includeUsage: false,
    });
    expect(Object.keys(request).sort()).toEqual(['includeUsage', 'messages', 'model', 'stream']);
  });

  it('maps every supported field', () => {
    const request = expectRequest(
      parseChatCompletionRequest({
        model: 'm',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi', name: 'ada' },
          { role: 'assistant', content: 'Hello.' },
          { role: 'tool', content: '42', tool_call_id: 'call_1' },
        ],
        stream: true,
        stream_options: { include_usage: true },
        max_completion_tokens: 64,
        temperature: 0.7,
        top_p: 0.9,
        seed: -12,
        stop: ['END', '###'],
        response_format: { type: 'json_object' },
        n: 1,
        frequency_penalty: -2,
        presence_penalty: 2,
        logprobs: false,
        user: 'user-1',
      }),
    );
    expect(request).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'tool', content: '42' },
      ],
      stream: true,
      includeUsage: true,
      maxTokens: 64,
      temperature: 0.7,
      topP: 0.9,
      seed: -12,
      stop: ['END', '###'],
      responseFormat: { type: 'json_object' },
    } satisfies ChatCompletionRequest);
  });

  it('maps the developer role to system', () => {
    const request = expectRequest(
      parseChatCompletionRequest(
        chat({
          messages: [
            { role: 'developer', content: 'Rules.' },
            { role: 'user', content: 'Hi' },
          ],
        }),
      ),
    );
    expect(request.messages).toEqual([
      { role: 'system', content: 'Rules.' },
      { role: 'user', content: 'Hi' },
    ]);
  });

  it('joins text content parts with nothing between them', () => {
    const request = expectRequest(
      parseChatCompletionRequest(
        chat({
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'Hello, ' },
                { type: 'text', text: 'world' },
                { type: 'text', text: '' },
              ],
            },
            { role: 'system', content: [] },
          ],
        }),
      ),
    );
    expect(request.messages).toEqual([
      { role: 'user', content: 'Hello, world' },
      { role: 'system', content: '' },
    ]);
  });

  it('lets only assistant messages omit their content or send null', () => {
    const request = expectRequest(
      parseChatCompletionRequest(
        chat({
          messages: [
            { role: 'user', content: 'Hi' },
            { role: 'assistant', content: null },
            { role: 'assistant' },
            { role: 'user', content: 'Again' },
          ],
        }),
      ),
    );
    expect(request.messages.map((message) => message.content)).toEqual(['Hi', '', '', 'Again']);
  });

  it('treats null optional fields as absent', () => {
    const request = expectRequest(
      parseChatCompletionRequest(
        chat({
          stream: null,
          stream_options: null,
          max_tokens: null,
          max_completion_tokens: null,
          temperature: null,
          top_p: null,
          seed: null,
          stop: null,
          response_format: null,
          n: null,
          frequency_penalty: null,
          presence_penalty: null,
          logprobs: null,
          top_logprobs: null,
          user: null,
          tools: null,
          tool_choice: null,
          functions: null,
        }),
      ),
    );
    expect(request).toEqual({
      model: 'demo-slm',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: false,
      includeUsage: false,
    });
  });

  it('ignores unknown top-level fields and unknown message fields', () => {
    const request = expectRequest(
      parseChatCompletionRequest(
        chat({
          metadata: { a: 1 },
          store: false,
          logit_bias: { '50256': -100 },
          parallel_tool_calls: false,
          service_tier: 'auto',
          messages: [{ role: 'user', content: 'Hi', name: 'x', extra: [1, 2] }],
        }),
      ),
    );
    expect(request.messages).toEqual([{ role: 'user', content: 'Hi' }]);
    expect(request).not.toHaveProperty('metadata');
  });

  it('reads max_tokens, max_completion_tokens, or both when they agree', () => {
    expect(expectRequest(parseChatCompletionRequest(chat({ max_tokens: 10 }))).maxTokens).toBe(10);
    expect(
      expectRequest(parseChatCompletionRequest(chat({ max_completion_tokens: 1_000_000 })))
        .maxTokens,
    ).toBe(1_000_000);
    expect(
      expectRequest(parseChatCompletionRequest(chat({ max_tokens: 7, max_completion_tokens: 7 })))
        .maxTokens,
    ).toBe(7);
  });

  it('reads stop as a string or an array; an empty array means no stop', () => {
    expect(expectRequest(parseChatCompletionRequest(chat({ stop: 'END' }))).stop).toEqual(['END']);
    expect(
      expectRequest(parseChatCompletionRequest(chat({ stop: ['a', 'b', 'c', 'd'] }))).stop,
    ).toEqual(['a', 'b', 'c', 'd']);
    expect(expectRequest(parseChatCompletionRequest(chat({ stop: [] })))).not.toHaveProperty(
      'stop',
    );
  });

  it('reads every response_format type', () => {
    expect(
      expectRequest(parseChatCompletionRequest(chat({ response_format: { type: 'text' } })))
        .responseFormat,
    ).toEqual({ type: 'text' });
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    expect(
      expectRequest(
        parseChatCompletionRequest(
          chat({
            response_format: {
              type: 'json_schema',
              json_schema: { name: 'answer_v-1', schema, strict: true, description: 'An answer' },
            },
          }),
        ),
      ).responseFormat,
    ).toEqual({ type: 'json_schema', name: 'answer_v-1', schema, strict: true });
    expect(
      expectRequest(
        parseChatCompletionRequest(
          chat({ response_format: { type: 'json_schema', json_schema: { name: 'a', schema } } }),
        ),
      ).responseFormat,
    ).toEqual({ type: 'json_schema', name: 'a', schema, strict: false });
  });

  it('accepts boundary values', () => {
    const request = expectRequest(
      parseChatCompletionRequest(
        chat({ temperature: 0, top_p: 1, seed: Number.MAX_SAFE_INTEGER, max_tokens: 1 }),
      ),
    );
    expect(request).toMatchObject({
      temperature: 0,
      topP: 1,
      seed: Number.MAX_SAFE_INTEGER,
      maxTokens: 1,
    });
    expect(
      expectRequest(parseChatCompletionRequest(chat({ temperature: 2, top_p: 0 }))),
    ).toMatchObject({ temperature: 2, topP: 0 });
  });

  it('accepts tool_choice "none" (no tools wanted)', () => {
    expect(parseChatCompletionRequest(chat({ tool_choice: 'none' })).ok).toBe(true);
  });
});

interface InvalidCase {
  name: string;
  body: unknown;
  param: string | null;
  code: string;
  message: string | RegExp;
}

const invalidChatCases: InvalidCase[] = [
  {
    name: 'a body that is not an object',
    body: [minimalChat],
    param: null,
    code: 'invalid_type',
    message: 'The request body must be a JSON object; got an array of 1 item.',
  },
  {
    name: 'a string body',
    body: 'hello',
    param: null,
    code: 'invalid_type',
    message: 'The request body must be a JSON object; got "hello".',
  },
  {
    name: 'a missing model',
    body: { messages: minimalChat.messages },
    param: 'model',
    code: 'missing_required_parameter',
    message: "Missing required parameter: 'model'; it must be a non-empty string (the model id).",
  },
  {
    name: 'an empty model',
    body: chat({ model: '' }),
    param: 'model',
    code: 'invalid_value',
    message: 'model must be a non-empty string (the model id); got an empty string.',
  },
  {
    name: 'a numeric model',
    body: chat({ model: 7 }),
    param: 'model',
    code: 'invalid_type',
    message: 'model must be a non-empty string (the model id); got 7.',
  },
  {
    name: 'missing messages',
    body: { model: 'm' },
    param: 'messages',
    code: 'missing_required_parameter',
    message:
      "Missing required parameter: 'messages'; it must be a non-empty array of message objects.",
  },
  {
    name: 'empty messages',
    body: chat({ messages: [] }),
    param: 'messages',
    code: 'invalid_value',
    message: 'messages must be a non-empty array of message objects; got an empty array.',
  },
  {
    name: 'messages as a string',
    body: chat({ messages: 'Hello' }),
    param: 'messages',
    code: 'invalid_type',
    message: 'messages must be a non-empty array of message objects; got "Hello".',
  },
  {
    name: 'a null message',
    body: chat({ messages: [{ role: 'user', content: 'a' }, null] }),
    param: 'messages[1]',
    code: 'invalid_type',
    message: 'messages[1] must be a message object with a role and content; got null.',
  },
  {
    name: 'an unknown role',
    body: chat({ messages: [{ role: 'function', content: 'x' }] }),
    param: 'messages[0].role',
    code: 'invalid_value',
    message:
      "messages[0].role must be one of 'system', 'developer', 'user', 'assistant' or 'tool'; got \"function\".",
  },
  {
    name: 'a missing role',
    body: chat({ messages: [{ content: 'x' }] }),
    param: 'messages[0].role',
    code: 'missing_required_parameter',
    message: /^Missing required parameter: 'messages\[0\]\.role'/,
  },
  {
    name: 'numeric content',
    body: chat({ messages: [{ role: 'user', content: 5 }] }),
    param: 'messages[0].content',
    code: 'invalid_value',
    message:
      "messages[0].content must be a string or an array of {type: 'text', text} parts; got 5.",
  },
  {
    name: 'object content',
    body: chat({ messages: [{ role: 'user', content: { text: 'hi' } }] }),
    param: 'messages[0].content',
    code: 'invalid_value',
    message: /^messages\[0\]\.content must be a string or an array .*; got an object\.$/,
  },
  {
    name: 'an image content part',
    body: chat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
          ],
        },
      ],
    }),
    param: 'messages[0].content[1].type',
    code: 'invalid_value',
    message:
      'messages[0].content[1].type must be \'text\' (only text content parts are supported); got "image_url".',
  },
  {
    name: 'a text part without text',
    body: chat({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }),
    param: 'messages[0].content[0].text',
    code: 'missing_required_parameter',
    message: "Missing required parameter: 'messages[0].content[0].text'; it must be a string.",
  },
  {
    name: 'a string inside the parts array',
    body: chat({ messages: [{ role: 'user', content: ['hi'] }] }),
    param: 'messages[0].content[0]',
    code: 'invalid_type',
    message: /^messages\[0\]\.content\[0\] must be a content part object like .*; got "hi"\.$/,
  },
  {
    name: 'a user message without content',
    body: chat({ messages: [{ role: 'user' }] }),
    param: 'messages[0].content',
    code: 'missing_required_parameter',
    message:
      /^messages\[0\]\.content is required for user messages .*only assistant messages may omit it\.$/,
  },
  {
    name: 'a system message with null content',
    body: chat({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'system', content: null },
      ],
    }),
    param: 'messages[1].content',
    code: 'missing_required_parameter',
    message: /^messages\[1\]\.content is required for system messages/,
  },
  {
    name: 'a string stream flag',
    body: chat({ stream: 'true' }),
    param: 'stream',
    code: 'invalid_type',
    message: 'stream must be a boolean; got "true".',
  },
  {
    name: 'stream_options as a boolean',
    body: chat({ stream: true, stream_options: true }),
    param: 'stream_options',
    code: 'invalid_type',
    message: 'stream_options must be an object; got true.',
  },
  {
    name: 'a string include_usage',
    body: chat({ stream: true, stream_options: { include_usage: 'yes' } }),
    param: 'stream_options.include_usage',
    code: 'invalid_type',
    message: 'stream_options.include_usage must be a boolean; got "yes".',
  },
  {
    name: 'max_tokens zero',
    body: chat({ max_tokens: 0 }),
    param: 'max_tokens',
    code: 'invalid_value',
    message: 'max_tokens must be a positive integer no larger than 1000000; got 0.',
  },
  {
    name: 'max_completion_tokens negative',
    body: chat({ max_completion_tokens: -5 }),
    param: 'max_completion_tokens',
    code: 'invalid_value',
    message: 'max_completion_tokens must be a positive integer no larger than 1000000; got -5.',
  },
  {
    name: 'max_tokens fractional',
    body: chat({ max_tokens: 1.5 }),
    param: 'max_tokens',
    code: 'invalid_type',
    message: 'max_tokens must be a positive integer no larger than 1000000; got 1.5.',
  },
  {
    name: 'max_tokens too large',
    body: chat({ max_tokens: 1_000_001 }),
    param: 'max_tokens',
    code: 'invalid_value',
    message: 'max_tokens must be a positive integer no larger than 1000000; got 1000001.',
  },
  {
    name: 'max_tokens huge',
    body: chat({ max_tokens: 1e300 }),
    param: 'max_tokens',
    code: 'invalid_value',
    message: /^max_tokens must be a positive integer .*; got 1e\+300\.$/,
  },
  {
    name: 'max_tokens as a numeric string',
    body: chat({ max_tokens: '100' }),
    param: 'max_tokens',
    code: 'invalid_type',
    message: 'max_tokens must be a positive integer no larger than 1000000; got "100".',
  },
  {
    name: 'max_tokens and max_completion_tokens that differ',
    body: chat({ max_tokens: 100, max_completion_tokens: 200 }),
    param: 'max_tokens',
    code: 'invalid_value',
    message:
      'max_tokens (100) and max_completion_tokens (200) differ; send only max_completion_tokens.',
  },
  {
    name: 'temperature above 2',
    body: chat({ temperature: 2.5 }),
    param: 'temperature',
    code: 'invalid_value',
    message: 'temperature must be a number between 0 and 2; got 2.5.',
  },
  {
    name: 'negative temperature',
    body: chat({ temperature: -0.1 }),
    param: 'temperature',
    code: 'invalid_value',
    message: 'temperature must be a number between 0 and 2; got -0.1.',
  },
  {
    name: 'NaN temperature',
    body: chat({ temperature: Number.NaN }),
    param: 'temperature',
    code: 'invalid_type',
    message: 'temperature must be a number between 0 and 2; got NaN.',
  },
  {
    name: 'a "NaN" temperature string',
    body: chat({ temperature: 'NaN' }),
    param: 'temperature',
    code: 'invalid_type',
    message: 'temperature must be a number between 0 and 2; got "NaN".',
  },
  {
    name: 'top_p above 1',
    body: chat({ top_p: 1.5 }),
    param: 'top_p',
    code: 'invalid_value',
    message: 'top_p must be a number between 0 and 1; got 1.5.',
  },
  {
    name: 'infinite top_p',
    body: chat({ top_p: Number.POSITIVE_INFINITY }),
    param: 'top_p',
    code: 'invalid_type',
    message: 'top_p must be a number between 0 and 1; got Infinity.',
  },
  {
    name: 'a fractional seed',
    body: chat({ seed: 1.5 }),
    param: 'seed',
    code: 'invalid_type',
    message: /^seed must be an integer between -9007199254740991 and 9007199254740991; got 1\.5\.$/,
  },
  {
    name: 'an unsafe seed',
    body: chat({ seed: 2 ** 60 }),
    param: 'seed',
    code: 'invalid_value',
    message: /^seed must be an integer between .*; got 1152921504606847000\.$/,
  },
  {
    name: 'an empty stop string',
    body: chat({ stop: '' }),
    param: 'stop',
    code: 'invalid_value',
    message:
      'stop must be a non-empty string or an array of at most 4 non-empty strings; got an empty string.',
  },
  {
    name: 'five stop sequences',
    body: chat({ stop: ['a', 'b', 'c', 'd', 'e'] }),
    param: 'stop',
    code: 'invalid_value',
    message:
      'stop must be a non-empty string or an array of at most 4 non-empty strings; got an array of 5 items.',
  },
  {
    name: 'an empty stop sequence in an array',
    body: chat({ stop: ['a', ''] }),
    param: 'stop[1]',
    code: 'invalid_value',
    message: 'stop[1] must be a non-empty string; got an empty string.',
  },
  {
    name: 'a numeric stop',
    body: chat({ stop: 42 }),
    param: 'stop',
    code: 'invalid_value',
    message: 'stop must be a non-empty string or an array of at most 4 non-empty strings; got 42.',
  },
  {
    name: 'n of 2',
    body: chat({ n: 2 }),
    param: 'n',
    code: 'invalid_value',
    message: 'n must be 1 (only n=1 is supported by this server); got 2.',
  },
  {
    name: 'a string n',
    body: chat({ n: '1' }),
    param: 'n',
    code: 'invalid_value',
    message: /only n=1 is supported/,
  },
  {
    name: 'frequency_penalty out of range',
    body: chat({ frequency_penalty: 3 }),
    param: 'frequency_penalty',
    code: 'invalid_value',
    message: 'frequency_penalty must be a number between -2 and 2; got 3.',
  },
  {
    name: 'presence_penalty as a string',
    body: chat({ presence_penalty: 'high' }),
    param: 'presence_penalty',
    code: 'invalid_type',
    message: 'presence_penalty must be a number between -2 and 2; got "high".',
  },
  {
    name: 'a numeric user',
    body: chat({ user: 12 }),
    param: 'user',
    code: 'invalid_type',
    message: 'user must be a string; got 12.',
  },
  {
    name: 'tools',
    body: chat({ tools: [{ type: 'function', function: { name: 'f' } }] }),
    param: 'tools',
    code: 'unsupported_parameter',
    message:
      'tools is not supported: this server does not support tool calls; remove tools, tool_choice and functions.',
  },
  {
    name: 'tools even when the rest is invalid',
    body: { tools: [], messages: 'junk' },
    param: 'tools',
    code: 'unsupported_parameter',
    message: /does not support tool calls/,
  },
  {
    name: 'tool_choice auto',
    body: chat({ tool_choice: 'auto' }),
    param: 'tool_choice',
    code: 'unsupported_parameter',
    message: /^tool_choice is not supported: this server does not support tool calls/,
  },
  {
    name: 'functions',
    body: chat({ functions: [{ name: 'f', parameters: {} }] }),
    param: 'functions',
    code: 'unsupported_parameter',
    message: /^functions is not supported: this server does not support tool calls/,
  },
  {
    name: 'function_call',
    body: chat({ function_call: { name: 'f' } }),
    param: 'function_call',
    code: 'unsupported_parameter',
    message: /does not support tool calls/,
  },
  {
    name: 'logprobs true',
    body: chat({ logprobs: true }),
    param: 'logprobs',
    code: 'unsupported_value',
    message: 'logprobs is not supported by this server; omit it or set it to false.',
  },
  {
    name: 'top_logprobs',
    body: chat({ top_logprobs: 3 }),
    param: 'top_logprobs',
    code: 'unsupported_parameter',
    message: 'top_logprobs is not supported by this server; omit it.',
  },
  {
    name: 'logprobs as a string',
    body: chat({ logprobs: 'no' }),
    param: 'logprobs',
    code: 'invalid_type',
    message: 'logprobs must be a boolean; got "no".',
  },
  {
    name: 'an unknown response_format type',
    body: chat({ response_format: { type: 'xml' } }),
    param: 'response_format.type',
    code: 'invalid_value',
    message:
      "response_format.type must be an object with type 'text', 'json_object' or 'json_schema'; got \"xml\".",
  },
  {
    name: 'response_format as a string',
    body: chat({ response_format: 'json' }),
    param: 'response_format',
    code: 'invalid_type',
    message: /^response_format must be an object with type .*; got "json"\.$/,
  },
  {
    name: 'json_schema without its object',
    body: chat({ response_format: { type: 'json_schema' } }),
    param: 'response_format.json_schema',
    code: 'missing_required_parameter',
    message:
      "Missing required parameter: 'response_format.json_schema'; it must be an object with a name and a schema.",
  },
  {
    name: 'json_schema without a schema',
    body: chat({ response_format: { type: 'json_schema', json_schema: { name: 'a' } } }),
    param: 'response_format.json_schema.schema',
    code: 'missing_required_parameter',
    message: /^Missing required parameter: 'response_format\.json_schema\.schema'/,
  },
  {
    name: 'json_schema with an array schema',
    body: chat({
      response_format: { type: 'json_schema', json_schema: { name: 'a', schema: [] } },
    }),
    param: 'response_format.json_schema.schema',
    code: 'invalid_value',
    message:
      'response_format.json_schema.schema must be a JSON object (the JSON Schema the answer must match) nested at most 64 levels deep; got an empty array.',
  },
  {
    name: 'json_schema nested deeper than 64 levels',
    body: chat({
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'deep',
          schema: JSON.parse(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`) as object,
        },
      },
    }),
    param: 'response_format.json_schema.schema',
    code: 'invalid_value',
    message: /nested at most 64 levels deep/,
  },
  {
    name: 'json_schema with a bad name',
    body: chat({
      response_format: { type: 'json_schema', json_schema: { name: 'has space', schema: {} } },
    }),
    param: 'response_format.json_schema.name',
    code: 'invalid_value',
    message:
      'response_format.json_schema.name must be a string of 1 to 64 letters, digits, underscores or dashes; got "has space".',
  },
  {
    name: 'json_schema with a string strict',
    body: chat({
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'a', schema: {}, strict: 'yes' },
      },
    }),
    param: 'response_format.json_schema.strict',
    code: 'invalid_type',
    message: 'response_format.json_schema.strict must be a boolean; got "yes".',
  },
];

describe('parseChatCompletionRequest: invalid bodies', () => {
  it.each(invalidChatCases)('rejects $name', ({ body, param, code, message }) => {
    const error = expectError(parseChatCompletionRequest(body));
    expect(error.param).toBe(param);
    expect(error.code).toBe(code);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
  });

  it('truncates long echoed values so the message stays short', () => {
    const error = expectError(
      parseChatCompletionRequest(chat({ messages: [{ role: 'x'.repeat(100_000), content: 'a' }] })),
    );
    expect(error.param).toBe('messages[0].role');
    expect(error.message.length).toBeLessThanOrEqual(200);
    expect(error.message).toContain('…');
  });

  it('escapes or flattens line breaks in echoed values', () => {
    const error = expectError(parseChatCompletionRequest(chat({ stream: 'a\nb\u2028c\u0000' })));
    expect(error.message).toBe('stream must be a boolean; got "a\\nb c\\u0000".');
  });

  it('reports the first field in schema order when several are wrong', () => {
    const error = expectError(parseChatCompletionRequest(chat({ model: 5, stream: 'yes' })));
    expect(error.param).toBe('model');
  });

  it('reports the first invalid message', () => {
    const error = expectError(
      parseChatCompletionRequest(
        chat({
          messages: [
            { role: 'user', content: 'ok' },
            { role: 'assistant', content: 'ok' },
            { role: 'user', content: [{ type: 'text', text: 3 }] },
          ],
        }),
      ),
    );
    expect(error.param).toBe('messages[2].content[0].text');
    expect(error.message).toBe('messages[2].content[0].text must be a string; got 3.');
  });

  it('never throws on hostile objects (throwing getters, proxies)', () => {
    const throwingGetter = {
      model: 'm',
      get messages(): never {
        throw new Error('boom\n    at somewhere (file.js:1:1)');
      },
    };
    const error = expectError(parseChatCompletionRequest(throwingGetter));
    expect(error.message).toBe('The request body could not be read; send a JSON object.');
    const proxy = new Proxy(
      {},
      {
        get: () => {
          throw new Error('trap');
        },
        has: () => {
          throw new Error('trap');
        },
        getOwnPropertyDescriptor: () => {
          throw new Error('trap');
        },
      },
    );
    expectError(parseChatCompletionRequest(proxy));
    expectError(parseEmbeddingsRequest(proxy));
  });
});

describe('prototype-pollution keys', () => {
  it('ignores __proto__ keys at the top level and in messages', () => {
    const body: unknown = JSON.parse(
      '{"__proto__": {"polluted": true, "stream": true}, "model": "m", "constructor": {"prototype": {"polluted": true}},' +
        '"messages": [{"role": "user", "content": "hi", "__proto__": {"role": "system"}}]}',
    );
    const request = expectRequest(parseChatCompletionRequest(body));
    expect(request.stream).toBe(false);
    expect(request.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(Object.getPrototypeOf(request)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(request.messages[0])).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a __proto__ that tries to supply the required fields', () => {
    const body: unknown = JSON.parse(
      '{"__proto__": {"model": "m", "messages": [{"role": "user", "content": "x"}]}}',
    );
    const error = expectError(parseChatCompletionRequest(body));
    expect(error.param).toBe('model');
    expect(error.code).toBe('missing_required_parameter');
  });

  it('passes a JSON schema with a __proto__ key through without changing prototypes', () => {
    const body: unknown = JSON.parse(
      '{"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema",' +
        ' "json_schema": {"name": "a", "schema": {"type": "object", "__proto__": {"polluted": true}}}}}',
    );
    const request = expectRequest(parseChatCompletionRequest(body));
    const format = request.responseFormat;
    if (format?.type !== 'json_schema') throw new Error('expected a json_schema format');
    expect(Object.getPrototypeOf(format.schema)).toBe(Object.prototype);
    expect(Object.hasOwn(format.schema, '__proto__')).toBe(true);
    expect(format.schema.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseEmbeddingsRequest', () => {
  it('accepts a string input and applies the float default', () => {
    expect(expectRequest(parseEmbeddingsRequest({ model: 'e', input: 'hello' }))).toEqual({
      model: 'e',
      inputs: ['hello'],
      encodingFormat: 'float',
    });
  });

  it('accepts an array of strings, base64, a user and unknown fields', () => {
    expect(
      expectRequest(
        parseEmbeddingsRequest({
          model: 'e',
          input: ['a', 'b'],
          encoding_format: 'base64',
          user: 'u',
          extra: true,
          dimensions: null,
        }),
      ),
    ).toEqual({ model: 'e', inputs: ['a', 'b'], encodingFormat: 'base64' });
  });

  it('accepts 2048 inputs', () => {
    const inputs = Array.from({ length: 2048 }, (_, index) => `text ${index}`);
    expect(
      expectRequest(parseEmbeddingsRequest({ model: 'e', input: inputs })).inputs,
    ).toHaveLength(2048);
  });

  const invalidEmbeddingsCases: InvalidCase[] = [
    {
      name: 'a non-object body',
      body: null,
      param: null,
      code: 'invalid_type',
      message: 'The request body must be a JSON object; got null.',
    },
    {
      name: 'a missing model',
      body: { input: 'a' },
      param: 'model',
      code: 'missing_required_parameter',
      message: /^Missing required parameter: 'model'/,
    },
    {
      name: 'a missing input',
      body: { model: 'e' },
      param: 'input',
      code: 'missing_required_parameter',
      message:
        "Missing required parameter: 'input'; it must be a non-empty string or an array of 1 to 2048 non-empty strings.",
    },
    {
      name: 'an empty input array',
      body: { model: 'e', input: [] },
      param: 'input',
      code: 'invalid_value',
      message:
        'input must be a non-empty string or an array of 1 to 2048 non-empty strings; got an empty array.',
    },
    {
      name: 'an empty input string',
      body: { model: 'e', input: '' },
      param: 'input',
      code: 'invalid_value',
      message: /^input must be a non-empty string .*; got an empty string\.$/,
    },
    {
      name: '2049 inputs',
      body: { model: 'e', input: Array.from({ length: 2049 }, () => 'a') },
      param: 'input',
      code: 'invalid_value',
      message: /^input must be .*; got an array of 2049 items\.$/,
    },
    {
      name: 'a non-string item',
      body: { model: 'e', input: ['a', 2] },
      param: 'input[1]',
      code: 'invalid_type',
      message: 'input[1] must be a non-empty string; got 2.',
    },
    {
      name: 'token ids',
      body: { model: 'e', input: [1, 2, 3] },
      param: 'input',
      code: 'unsupported_value',
      message:
        'input as token ids is not supported by this server; send a string or an array of strings.',
    },
    {
      name: 'arrays of token ids',
      body: { model: 'e', input: [[1, 2], [3]] },
      param: 'input',
      code: 'unsupported_value',
      message: /^input as token ids is not supported/,
    },
    {
      name: 'dimensions',
      body: { model: 'e', input: 'a', dimensions: 256 },
      param: 'dimensions',
      code: 'unsupported_parameter',
      message:
        "dimensions is not supported by this server; omit it to get the model's full vectors.",
    },
    {
      name: 'an unknown encoding_format',
      body: { model: 'e', input: 'a', encoding_format: 'int8' },
      param: 'encoding_format',
      code: 'invalid_value',
      message: "encoding_format must be 'float' or 'base64'; got \"int8\".",
    },
    {
      name: 'a numeric input',
      body: { model: 'e', input: 5 },
      param: 'input',
      code: 'invalid_value',
      message: /^input must be a non-empty string or an array .*; got 5\.$/,
    },
  ];

  it.each(invalidEmbeddingsCases)('rejects $name', ({ body, param, code, message }) => {
    const error = expectError(parseEmbeddingsRequest(body));
    expect(error.param).toBe(param);
    expect(error.code).toBe(code);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
  });
});

describe('toGenerateRequest', () => {
  it('sets only the messages for a minimal request', () => {
    const request = expectRequest(parseChatCompletionRequest(minimalChat));
    const generateRequest = toGenerateRequest(request);
    expect(generateRequest).toEqual({ messages: [{ role: 'user', content: 'Hello' }] });
    expect(Object.keys(generateRequest)).toEqual(['messages']);
  });

  it('maps every optional field and the signal', () => {
    const schema = { type: 'object' };
    const request = expectRequest(
      parseChatCompletionRequest(
        chat({
          messages: [
            { role: 'developer', content: 'Rules' },
            { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
          ],
          max_tokens: 5,
          temperature: 0.2,
          top_p: 0.5,
          seed: 3,
          stop: 'END',
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'n', schema, strict: true },
          },
        }),
      ),
    );
    const controller = new AbortController();
    const generateRequest = toGenerateRequest(request, controller.signal);
    expect(generateRequest).toEqual({
      messages: [
        { role: 'system', content: 'Rules' },
        { role: 'user', content: 'Hi' },
      ],
      maxTokens: 5,
      temperature: 0.2,
      topP: 0.5,
      seed: 3,
      stop: ['END'],
      responseFormat: { type: 'json_schema', name: 'n', schema, strict: true },
      signal: controller.signal,
    });
    expect(generateRequest.signal).toBe(controller.signal);
  });

  it('passes json_object and drops text (the engine default)', () => {
    const jsonObject = expectRequest(
      parseChatCompletionRequest(chat({ response_format: { type: 'json_object' } })),
    );
    expect(toGenerateRequest(jsonObject).responseFormat).toEqual({ type: 'json_object' });
    const text = expectRequest(
      parseChatCompletionRequest(chat({ response_format: { type: 'text' } })),
    );
    expect(toGenerateRequest(text)).not.toHaveProperty('responseFormat');
  });

  it('keeps temperature 0 and seed 0 (falsy but defined)', () => {
    const request = expectRequest(parseChatCompletionRequest(chat({ temperature: 0, seed: 0 })));
    expect(toGenerateRequest(request)).toMatchObject({ temperature: 0, seed: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzz: thousands of random and malformed bodies, from a seeded generator so failures replay.

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

class BodyGenerator {
  constructor(private readonly random: () => number) {}

  integer(maximum: number): number {
    return Math.floor(this.random() * maximum);
  }

  pick<Value>(values: readonly Value[]): Value {
    const value = values[this.integer(values.length)];
    if (value === undefined) throw new Error('pick from an empty list');
    return value;
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }

  number(): number {
    return this.pick([
      0,
      -0,
      1,
      -1,
      2,
      4,
      0.5,
      1.5,
      2.0000001,
      -2.5,
      1_000_000,
      1_000_001,
      2 ** 53,
      2 ** 60,
      -(2 ** 63),
      1e308,
      -1e308,
      5e-324,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MAX_VALUE,
      this.random() * 10 - 5,
      this.integer(100_000) - 50_000,
    ]);
  }

  string(): string {
    const kind = this.integer(8);
    if (kind === 0) return 'x'.repeat(this.pick([65, 201, 10_000]));
    if (kind === 1) return this.pick(['\n'.repeat(500), '😀'.repeat(50), '\ud800', '\udfff\ud800']);
    if (kind === 2) {
      return String.fromCharCode(...Array.from({ length: 20 }, () => this.integer(0x10000)));
    }
    return this.pick([
      '',
      ' ',
      'a',
      'user',
      'assistant',
      'system',
      'developer',
      'tool',
      'function',
      'text',
      'json_object',
      'json_schema',
      'float',
      'base64',
      'NaN',
      'Infinity',
      '-1',
      '1e999',
      '0x10',
      'true',
      'null',
      '__proto__',
      '{"a":1}',
      'line\nbreak\r\n\u2028\u2029',
      '\u0000\u0001\u001f',
    ]);
  }

  key(): string {
    return this.pick([
      ...chatFields,
      ...embeddingsFields,
      'role',
      'content',
      'type',
      'text',
      'json_schema',
      'name',
      'schema',
      'strict',
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '',
      this.string(),
    ]);
  }

  value(depth = 0): unknown {
    const kind = this.integer(depth > 4 ? 5 : 8);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.number();
      case 3:
      case 4:
        return this.string();
      case 5: {
        // Long arrays only at the top, so a body holds thousands of values, not millions.
        const length = this.pick(depth === 0 ? [0, 1, 2, 5, 2049] : [0, 1, 2, 3]);
        return Array.from({ length }, () => this.value(length > 5 ? 5 : depth + 1));
      }
      case 6: {
        const record: Record<string, unknown> = {};
        const size = this.integer(5);
        for (let index = 0; index < size; index += 1) {
          Object.defineProperty(record, this.key(), {
            value: this.value(depth + 1),
            enumerable: true,
            configurable: true,
            writable: true,
          });
        }
        return record;
      }
      default:
        return depth <= 1 ? this.deeplyNested() : [];
    }
  }

  deeplyNested(): unknown {
    const depth = this.pick([10, 100, 2_000]);
    const wrapper = this.chance(0.5) ? '[' : '{"a":';
    const closer = wrapper === '[' ? ']' : '}';
    return JSON.parse(`${wrapper.repeat(depth)}1${closer.repeat(depth)}`);
  }

  message(): Record<string, unknown> {
    const role = this.pick(['system', 'developer', 'user', 'assistant', 'tool']);
    const content = this.chance(0.7)
      ? this.string()
      : Array.from({ length: this.integer(3) }, () => ({ type: 'text', text: this.string() }));
    return { role, content };
  }

  validChatBody(): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: 'demo-slm',
      messages: Array.from({ length: 1 + this.integer(3) }, () => this.message()),
    };
    if (this.chance(0.3)) body.stream = this.chance(0.5);
    if (this.chance(0.3)) body.max_tokens = 1 + this.integer(1000);
    if (this.chance(0.3)) body.temperature = this.random() * 2;
    if (this.chance(0.3)) body.top_p = this.random();
    if (this.chance(0.2)) body.stop = ['END'];
    return body;
  }

  validEmbeddingsBody(): Record<string, unknown> {
    return {
      model: 'embed',
      input: this.chance(0.5) ? 'hello' : ['a', 'b'],
    };
  }

  mutated(body: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
    const copy: Record<string, unknown> = { ...body };
    const mutations = 1 + this.integer(3);
    for (let index = 0; index < mutations; index += 1) {
      const field = this.chance(0.9) ? this.pick(fields) : this.key();
      const action = this.integer(4);
      if (action === 0) delete copy[field];
      else if (action === 1) copy[field] = this.value();
      else if (action === 2) copy[field] = this.pick([this.number(), this.string(), [], {}, null]);
      else copy[field] = this.nestedMutation(copy[field]);
    }
    return copy;
  }

  /** Changes something inside a value (a message's role, a part's text) rather than replacing it. */
  nestedMutation(value: unknown): unknown {
    if (Array.isArray(value)) {
      const copy = [...value];
      const index = this.integer(copy.length + 1);
      copy[index] = this.chance(0.5) ? this.value() : this.nestedMutation(copy[index]);
      return copy;
    }
    if (typeof value === 'object' && value !== null) {
      const copy: Record<string, unknown> = { ...value };
      copy[
        this.chance(0.8) ? this.pick(Object.keys(copy).concat(['content', 'role'])) : this.key()
      ] = this.value();
      return copy;
    }
    return this.value();
  }

  protoBody(): unknown {
    const payload = this.pick([
      '{"polluted": true}',
      '{"model": "m", "messages": [{"role": "user", "content": "x"}]}',
      'null',
      '[1, 2]',
      '"x"',
      '{"__proto__": {"polluted": true}}',
    ]);
    const template = this.pick([
      `{"__proto__": ${payload}}`,
      `{"model": "m", "messages": [{"role": "user", "content": "x"}], "__proto__": ${payload}}`,
      `{"model": "m", "messages": [{"role": "user", "content": "x", "__proto__": ${payload}}]}`,
      `{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "a", "__proto__": ${payload}}]}]}`,
      `{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"__proto__": ${payload}}}`,
      `{"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"__proto__": ${payload}}}}}`,
      `{"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"__proto__": ${payload}}}`,
      `{"model": "e", "input": ["a"], "__proto__": ${payload}}`,
      `{"constructor": {"prototype": ${payload}}, "model": "m", "messages": [{"role": "user", "content": "x"}]}`,
    ]);
    return JSON.parse(template);
  }

  body(): unknown {
    switch (this.integer(6)) {
      case 0:
        return this.value();
      case 1:
        return this.mutated(this.validChatBody(), chatFields);
      case 2:
        return this.mutated(this.validEmbeddingsBody(), embeddingsFields);
      case 3:
        return this.protoBody();
      case 4: {
        const body = this.validChatBody();
        body.messages = this.nestedMutation(body.messages);
        return body;
      }
      default:
        return this.chance(0.5) ? this.validChatBody() : this.validEmbeddingsBody();
    }
  }
}

const chatFields = [
  'model',
  'messages',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'seed',
  'stop',
  'response_format',
  'n',
  'frequency_penalty',
  'presence_penalty',
  'logprobs',
  'top_logprobs',
  'user',
  'tools',
  'tool_choice',
  'functions',
  'function_call',
] as const;

const embeddingsFields = ['model', 'input', 'encoding_format', 'dimensions', 'user'] as const;

function checkResult<Request>(
  result: ParseRequestResult<Request>,
  checkRequest: (request: Request) => void,
): boolean {
  expect(typeof result.ok).toBe('boolean');
  if (result.ok) {
    checkRequest(result.request);
    return true;
  }
  expectErrorShape(result.error);
  return false;
}

function checkChatRequest(request: ChatCompletionRequest): void {
  expect(typeof request.model).toBe('string');
  expect(request.model.length).toBeGreaterThan(0);
  expect(request.messages.length).toBeGreaterThan(0);
  for (const message of request.messages) {
    expect(['system', 'user', 'assistant', 'tool']).toContain(message.role);
    expect(typeof message.content).toBe('string');
  }
  expect(typeof request.stream).toBe('boolean');
  expect(typeof request.includeUsage).toBe('boolean');
  if (request.maxTokens !== undefined) {
    expect(Number.isInteger(request.maxTokens)).toBe(true);
    expect(request.maxTokens).toBeGreaterThanOrEqual(1);
    expect(request.maxTokens).toBeLessThanOrEqual(1_000_000);
  }
  if (request.temperature !== undefined) {
    expect(request.temperature).toBeGreaterThanOrEqual(0);
    expect(request.temperature).toBeLessThanOrEqual(2);
  }
  if (request.topP !== undefined) {
    expect(request.topP).toBeGreaterThanOrEqual(0);
    expect(request.topP).toBeLessThanOrEqual(1);
  }
  if (request.stop !== undefined) {
    expect(request.stop.length).toBeLessThanOrEqual(4);
    for (const stop of request.stop) expect(stop.length).toBeGreaterThan(0);
  }
  const generateRequest = toGenerateRequest(request);
  expect(generateRequest.messages).toHaveLength(request.messages.length);
  for (const [key, value] of Object.entries(generateRequest)) {
    expect(value, `toGenerateRequest set ${key} to undefined`).not.toBeUndefined();
  }
}

describe('fuzz', () => {
  it('never throws and always answers ok or a well-formed error (2,500 bodies, both parsers)', () => {
    const generator = new BodyGenerator(mulberry32(0x5eed_2024));
    const bodyCount = 2_500;
    const outcomes = { chatOk: 0, chatError: 0, embeddingsOk: 0, embeddingsError: 0 };
    const params = new Set<string | null>();
    for (let index = 0; index < bodyCount; index += 1) {
      const body = generator.body();
      let chatResult: ParseRequestResult<ChatCompletionRequest>;
      let embeddingsResult: ReturnType<typeof parseEmbeddingsRequest>;
      try {
        chatResult = parseChatCompletionRequest(body);
        embeddingsResult = parseEmbeddingsRequest(body);
      } catch (error) {
        throw new Error(`body #${index} made a parser throw: ${String(error)}`);
      }
      if (checkResult(chatResult, checkChatRequest)) outcomes.chatOk += 1;
      else {
        outcomes.chatError += 1;
        params.add(chatResult.ok ? null : chatResult.error.error.param);
      }
      const embeddingsOk = checkResult(embeddingsResult, (request) => {
        expect(request.inputs.length).toBeGreaterThanOrEqual(1);
        expect(request.inputs.length).toBeLessThanOrEqual(2048);
        for (const input of request.inputs) expect(typeof input).toBe('string');
        expect(['float', 'base64']).toContain(request.encodingFormat);
      });
      if (embeddingsOk) outcomes.embeddingsOk += 1;
      else outcomes.embeddingsError += 1;
    }
    // The generator must exercise both outcomes and many different fields.
    expect(outcomes.chatOk).toBeGreaterThan(100);
    expect(outcomes.chatError).toBeGreaterThan(500);
    expect(outcomes.embeddingsOk).toBeGreaterThan(50);
    expect(outcomes.embeddingsError).toBeGreaterThan(500);
    expect(params.size).toBeGreaterThan(20);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
