/**
 * An HttpClient on a fetch implementation, for callers who inject their own fetch (a proxy
 * agent, a test double). Body chunks are stamped when fetch's reader hands them over, which
 * is later than the socket read by the stream machinery's delay; tandem's own client
 * (http-client.ts) stamps in the socket's read callback.
 */
import type { Clock } from '../engines/spec.js';
import type {
  HttpBodyChunk,
  HttpClient,
  HttpExchange,
  HttpRequest,
  HttpResponse,
} from './http-client.js';
import { raceAbort } from './race-abort.js';

export function createFetchHttpClient(fetchImplementation: typeof fetch, clock: Clock): HttpClient {
  return {
    request(request: HttpRequest): HttpExchange {
      const writtenAt = clock();
      const init: RequestInit = { method: request.method, headers: { ...request.headers } };
      if (request.body !== undefined) init.body = request.body;
      if (request.signal !== undefined) init.signal = request.signal;
      const response = fetchImplementation(request.url, init).then((answer): HttpResponse => {
        const reader = answer.body?.getReader();
        const decoder = new TextDecoder();
        let ended = false;
        return {
          status: answer.status,
          statusText: answer.statusText,
          headers: answer.headers,
          async read(): Promise<HttpBodyChunk | undefined> {
            if (reader === undefined || ended) return undefined;
            // An injected fetch may not end its body at abort; the engine relies on it.
            const result =
              request.signal === undefined
                ? await reader.read()
                : await raceAbort(reader.read(), request.signal);
            if (result.done) {
              ended = true;
              const rest = decoder.decode();
              return rest === '' ? undefined : { text: rest, arrivedAtMs: clock() };
            }
            return { text: decoder.decode(result.value, { stream: true }), arrivedAtMs: clock() };
          },
          cancel(): void {
            reader?.cancel().catch(() => {});
          },
          release(): void {
            reader?.cancel().catch(() => {});
          },
        };
      });
      response.catch(() => {});
      return { written: Promise.resolve(writtenAt), response };
    },
    close(): void {},
  };
}
