/**
 * Embeddings through POST {baseUrl}/embeddings: the request is one JSON document, and so is
 * the answer (`{data: [{index, embedding}], usage: {prompt_tokens}}`), read whole under the
 * attempt's timers, capped, and checked leniently with messages that say what is wrong.
 */
import { TandemError } from '../../errors.js';
import { AttemptWatch } from '../../http/attempt-watch.js';
import { findErrorMessage, summarizeErrorBody } from '../../http/http-errors.js';
import type { EmbedResult } from '../spec.js';
import { capitalize, type ErrorMapping } from './error-mapping.js';
import type { RequestAttempts } from './request-attempts.js';

/** An embeddings answer longer than this is refused (a server that never stops sending). */
const maxEmbeddingsBodyCharacters = 256 * 1024 * 1024;

/** One attempt of a POST whose answer is one JSON document: its whole body as text. */
export async function postForJson(
  attempts: RequestAttempts,
  url: string,
  body: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const watch = new AttemptWatch([signal, attempts.disposalSignal]);
  try {
    const exchange = attempts.send(url, body, watch, attempts.headers(true, false));
    const response = await attempts.successfulResponse(exchange, watch, url);
    try {
      let text = '';
      let chunk = await attempts.read(response, watch, url, true);
      while (chunk !== undefined) {
        text += chunk.text;
        if (text.length > maxEmbeddingsBodyCharacters) {
          throw new TandemError(
            `${capitalize(attempts.errors.describeServer())} sent more than ${maxEmbeddingsBodyCharacters / (1024 * 1024)} MiB in answer to POST ${url}; embed fewer inputs at once.`,
          );
        }
        chunk = await attempts.read(response, watch, url, false);
      }
      return text;
    } finally {
      watch.disarm();
      response.cancel();
    }
  } catch (error) {
    throw attempts.errors.mapFailure(error, watch, url);
  } finally {
    watch.dispose();
  }
}

/** `{data: [{index, embedding}], usage: {prompt_tokens}}`, read leniently. */
export function parseEmbeddings(
  errors: ErrorMapping,
  text: string,
  inputCount: number,
): EmbedResult {
  const server = capitalize(errors.describeServer());
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new TandemError(
      `${server} sent an embeddings answer that is not JSON: ${summarizeErrorBody(text)}`,
    );
  }
  const record = typeof payload === 'object' && payload !== null ? payload : {};
  const data = (record as { data?: unknown }).data;
  if (!Array.isArray(data)) {
    const message = findErrorMessage(payload);
    throw new TandemError(
      message === undefined
        ? `${server} sent an embeddings answer without a 'data' list: ${summarizeErrorBody(text)}`
        : `${server} reported an error instead of embeddings: ${summarizeErrorBody(message)}`,
    );
  }
  if (data.length !== inputCount) {
    throw new TandemError(
      `${server} sent ${data.length} embedding${data.length === 1 ? '' : 's'} for ${inputCount} input${inputCount === 1 ? '' : 's'}.`,
    );
  }
  const embeddings: (number[] | undefined)[] = new Array(inputCount).fill(undefined);
  for (const [position, entry] of data.entries()) {
    const { index, embedding } = (entry ?? {}) as { index?: unknown; embedding?: unknown };
    // Servers that leave out `index` send the vectors in input order.
    const slot = index === undefined ? position : index;
    if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= inputCount) {
      throw new TandemError(
        `${server} sent an embedding with index ${JSON.stringify(slot)} for ${inputCount} input${inputCount === 1 ? '' : 's'}.`,
      );
    }
    if (embeddings[slot] !== undefined) {
      throw new TandemError(`${server} sent two embeddings with index ${slot}.`);
    }
    if (
      !Array.isArray(embedding) ||
      embedding.length === 0 ||
      !embedding.every((value) => typeof value === 'number' && Number.isFinite(value))
    ) {
      throw new TandemError(
        `${server} sent embedding ${slot} that is not a list of numbers: ${summarizeErrorBody(JSON.stringify(embedding) ?? 'undefined')}`,
      );
    }
    embeddings[slot] = embedding as number[];
  }
  const promptTokens = (record as { usage?: { prompt_tokens?: unknown } | null }).usage
    ?.prompt_tokens;
  return {
    embeddings: embeddings as number[][],
    promptTokens:
      typeof promptTokens === 'number' && Number.isFinite(promptTokens) && promptTokens >= 0
        ? promptTokens
        : undefined,
  };
}
