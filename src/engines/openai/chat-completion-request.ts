/**
 * The body of POST {baseUrl}/chat/completions: tandem's GenerateRequest as the OpenAI API
 * spells it (messages, stream and stream_options, sampling, stop, response_format).
 */
import type { GenerateRequest, ResponseFormat } from '../spec.js';

/** A response format as the OpenAI API spells it (`response_format`). */
function responseFormatBody(format: ResponseFormat): Record<string, unknown> {
  if (format.type === 'json_object') return { type: 'json_object' };
  const jsonSchema: Record<string, unknown> = { name: format.name, schema: format.schema };
  if (format.strict !== undefined) jsonSchema.strict = format.strict;
  return { type: 'json_schema', json_schema: jsonSchema };
}

/** The request body for a model id as the server knows it; `stream` as the engine reads. */
export function requestBody(
  request: GenerateRequest,
  model: string,
  streaming: boolean,
  includeUsage: boolean | undefined,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    messages: request.messages.map((message) => ({
      role: message.role,
      content: message.content,
    })),
    stream: streaming,
  };
  if (streaming && includeUsage !== false) {
    body.stream_options = { include_usage: true };
  }
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.seed !== undefined) body.seed = request.seed;
  if (request.stop !== undefined && request.stop.length > 0) body.stop = [...request.stop];
  // vLLM, llama-server and SGLang honour it; others ignore unknown fields.
  if (request.ignoreEos === true) body.ignore_eos = true;
  if (request.responseFormat !== undefined) {
    body.response_format = responseFormatBody(request.responseFormat);
  }
  return body;
}
