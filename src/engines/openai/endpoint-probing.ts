/**
 * What load() asks the server before any request: whether it accepts a TCP connection (the
 * connect probe, bounded by the connect timeout) and which model ids GET {baseUrl}/models
 * lists, for the model alias to be resolved.
 */
import { TimeoutError } from '../../errors.js';
import { AttemptWatch } from '../../http/attempt-watch.js';
import { type ConnectProbe, ConnectProbeTimeout } from '../../http/connect-probe.js';
import { raceAbort } from '../../http/race-abort.js';
import { readTextCapped } from '../../http/read-text-capped.js';
import { capitalize, seconds } from './error-mapping.js';
import type { RequestAttempts } from './request-attempts.js';

/**
 * Resolves once the server accepts a TCP connection; else throws TimeoutError('connect') or
 * the failure as the ErrorMapping words it.
 */
export async function probeServer(
  attempts: RequestAttempts,
  probe: ConnectProbe,
  baseUrl: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const watch = new AttemptWatch([signal, attempts.disposalSignal]);
  try {
    await probe(new URL(baseUrl), attempts.connectTimeoutMs, watch.signal);
  } catch (error) {
    if (error instanceof ConnectProbeTimeout) {
      throw new TimeoutError(
        'connect',
        attempts.connectTimeoutMs,
        `${capitalize(attempts.errors.describeServer())} did not accept a TCP connection within ${seconds(attempts.connectTimeoutMs)} (connect timeout). ${attempts.errors.startHint()}`,
      );
    }
    throw attempts.errors.mapFailure(error, watch, baseUrl);
  } finally {
    watch.dispose();
  }
}

/** The server's model ids; undefined when it has no usable list (404, not JSON...). */
export async function listModelIds(
  attempts: RequestAttempts,
  baseUrl: string,
  signal: AbortSignal | undefined,
): Promise<string[] | undefined> {
  const url = `${baseUrl}/models`;
  const watch = new AttemptWatch([signal, attempts.disposalSignal]);
  watch.arm('first-byte', attempts.firstByteTimeoutMs);
  try {
    const response = await raceAbort(
      attempts.http.request({
        method: 'GET',
        url: new URL(url),
        headers: attempts.headers(false),
        signal: watch.signal,
      }).response,
      watch.signal,
    );
    const text = await readTextCapped(response, watch.signal);
    if (response.status === 401 || response.status === 403) {
      throw attempts.errors.apiCallError('GET', url, response, text);
    }
    if (response.status < 200 || response.status > 299) return undefined;
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return undefined;
    }
    const data = (payload as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) return undefined;
    return data
      .map((entry: unknown) => (entry as { id?: unknown } | null)?.id)
      .filter((id): id is string => typeof id === 'string' && id !== '');
  } catch (error) {
    throw attempts.errors.mapFailure(error, watch, url);
  } finally {
    watch.dispose();
  }
}
