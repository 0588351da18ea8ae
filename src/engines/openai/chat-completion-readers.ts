/**
 * Reading a chat completion's answer into stream parts: an event stream (SSE, one
 * chat.completion.chunk per event, `[DONE]` at the end) or, without streaming, one JSON
 * document. An error the server reports in the answer becomes an error part and a finish
 * part; a stream that ends without finishing is an interrupted stream.
 */
import { StreamInterruptedError, TandemError } from '../../errors.js';
import type { AttemptWatch } from '../../http/attempt-watch.js';
import type { HttpBodyChunk, HttpResponse } from '../../http/http-client.js';
import { summarizeErrorBody } from '../../http/http-errors.js';
import { SseParser } from '../../http/sse-parser.js';
import type { StreamPart } from '../spec.js';
import { ChatCompletionAccumulator } from './chat-completion-chunk.js';
import { capitalize } from './error-mapping.js';
import type { RequestAttempts } from './request-attempts.js';

/** An `event: error` event's data as an in-band error; undefined when it is not JSON. */
function errorEventOf(data: string): { kind: 'error'; error: unknown } | undefined {
  try {
    return { kind: 'error', error: JSON.parse(data) };
  } catch {
    return undefined;
  }
}

/** The parts of a streamed answer (SSE), as their bytes arrive. */
export async function* readEventStream(
  attempts: RequestAttempts,
  response: HttpResponse,
  watch: AttemptWatch,
  url: string,
): AsyncGenerator<StreamPart> {
  const parser = new SseParser();
  const accumulator = new ChatCompletionAccumulator();
  let isFirst = true;
  for (;;) {
    let chunk: HttpBodyChunk | undefined;
    try {
      chunk = await attempts.read(response, watch, url, isFirst);
    } catch (error) {
      if (error instanceof StreamInterruptedError) {
        throw attempts.errors.interrupted(parser.statistics.eventCount, error);
      }
      throw error;
    }
    isFirst = false;
    const arrivedAtMs = chunk === undefined ? attempts.clock() : chunk.arrivedAtMs;
    const events =
      chunk === undefined ? parser.end(arrivedAtMs) : parser.push(chunk.text, arrivedAtMs);
    for (const event of events) {
      if (event.data.trim() === '[DONE]') {
        yield accumulator.finishPart(event.arrivedAtMs);
        return;
      }
      const accepted =
        event.event === 'error'
          ? errorEventOf(event.data)
          : accumulator.acceptData(event.data, event.arrivedAtMs);
      if (accepted === undefined) {
        yield* inBandError(
          accumulator,
          new TandemError(
            `${capitalize(attempts.errors.describeServer())} sent an event that is not JSON: ${summarizeErrorBody(event.data)}`,
          ),
          event.arrivedAtMs,
        );
        return;
      }
      if (accepted.kind === 'error') {
        yield* inBandError(
          accumulator,
          attempts.errors.inBandApiError(url, accepted.error, event.data),
          event.arrivedAtMs,
        );
        return;
      }
      // A plain loop: yield* over an array in an async generator wraps every part in an
      // extra async-from-sync iterator step.
      for (const part of accepted.parts) yield part;
    }
    if (chunk === undefined) {
      if (accumulator.hasFinishReason) {
        yield accumulator.finishPart(arrivedAtMs);
        return;
      }
      throw attempts.errors.interrupted(parser.statistics.eventCount);
    }
  }
}

/** The parts of a non-streamed answer (one JSON document), stamped when its last bytes arrived. */
export async function* readWholeResponse(
  attempts: RequestAttempts,
  response: HttpResponse,
  watch: AttemptWatch,
  url: string,
): AsyncGenerator<StreamPart> {
  let text = '';
  let arrivedAtMs: number | undefined;
  let chunk = await attempts.read(response, watch, url, true);
  while (chunk !== undefined) {
    text += chunk.text;
    // The answer is complete when its last bytes arrived.
    arrivedAtMs = chunk.arrivedAtMs;
    chunk = await attempts.read(response, watch, url, false);
  }
  arrivedAtMs ??= attempts.clock();
  const accumulator = new ChatCompletionAccumulator();
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new StreamInterruptedError(
      `${capitalize(attempts.errors.describeServer())} sent an answer that is not JSON: ${summarizeErrorBody(text)}`,
    );
  }
  const accepted = accumulator.accept(payload, arrivedAtMs);
  if (accepted.kind === 'error') {
    yield* inBandError(
      accumulator,
      attempts.errors.inBandApiError(url, accepted.error, text),
      arrivedAtMs,
    );
    return;
  }
  yield* accepted.parts;
  yield accumulator.finishPart(arrivedAtMs, 'stop');
}

function* inBandError(
  accumulator: ChatCompletionAccumulator,
  error: Error,
  arrivedAtMs: number,
): Generator<StreamPart> {
  yield { type: 'error', error, arrivedAtMs };
  const finish = accumulator.finishPart(arrivedAtMs);
  finish.finishReason = 'error';
  yield finish;
}
