/**
 * A short response body read as text, capped: an error body or a small JSON answer (a
 * model list) is read whole, a body that never ends is cut at the cap. The connection is
 * closed afterwards, never reused.
 */
import type { HttpResponse } from './http-client.js';
import { raceAbort } from './race-abort.js';

const maxErrorBodyCharacters = 64 * 1024;

export async function readTextCapped(response: HttpResponse, signal: AbortSignal): Promise<string> {
  let text = '';
  try {
    while (text.length < maxErrorBodyCharacters) {
      const chunk = await raceAbort(response.read(), signal);
      if (chunk === undefined) break;
      text += chunk.text;
    }
  } finally {
    response.cancel();
  }
  return text.slice(0, maxErrorBodyCharacters);
}
