/**
 * `tandem models pull`: download a catalog model's GGUF file into the cache.
 *
 * - A reachability check first (HEAD, its own timeout, redirects followed), so that offline the
 *   pull fails within seconds with one line that says what to do instead.
 * - Streams to `{file}.part`, resumes it with a Range request (206), restarts when a server
 *   ignores Range (200), errors on an idle connection instead of hanging, keeps the `.part` on
 *   abort or interruption, checks the size, then renames atomically.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { AbortedError, DownloadError, TimeoutError } from '../errors.js';
import { hostOf, networkReason } from '../http/network-errors.js';
import { formatBytes } from '../units.js';
import { cachedModelPath, fileSize, PARTIAL_DOWNLOAD_SUFFIX } from './cache.js';
import { type CatalogModel, huggingFaceUrl, isCatalogSizeVerified } from './catalog.js';

export interface PullProgress {
  receivedBytes: number;
  totalBytes: number | undefined;
  bytesPerSecond: number;
  etaSeconds: number | undefined;
}

export interface PullOptions {
  home: string;
  fetch?: typeof fetch;
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
  /** Timeout of the HEAD reachability check (default 5000). */
  reachabilityTimeoutMs?: number;
  /** Longest wait for response headers or for the next body chunk (default 30000). */
  idleTimeoutMs?: number;
  /** Download from this URL instead of Hugging Face (tests, mirrors). */
  url?: string;
  /** Environment for HF_TOKEN (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Monotonic clock in milliseconds (default performance.now). */
  now?: () => number;
  /** Smallest interval between two progress reports (default 100, ~10 per second). */
  progressIntervalMs?: number;
}

export interface PullResult {
  path: string;
  sizeBytes: number;
  /** The download continued an earlier `.part` file. */
  resumed: boolean;
  /** The file was already in the cache; nothing was downloaded. */
  alreadyComplete: boolean;
}

const DEFAULT_REACHABILITY_TIMEOUT_MS = 5000;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_PROGRESS_INTERVAL_MS = 100;
const SPEED_WINDOW_MS = 5000;

function seconds(milliseconds: number): string {
  return `${Number((milliseconds / 1000).toFixed(1))} s`;
}

function unreachableError(url: string, reason: string, cause?: unknown): DownloadError {
  return new DownloadError(
    `Cannot reach ${hostOf(url)} (${reason}): tandem models pull needs internet access. ` +
      `Download ${url} elsewhere and run 'tandem run llama:/path/to/file.gguf', ` +
      'or use the built-in demo models (demo-slm, demo-llm).',
    { cause },
  );
}

function httpError(url: string, status: number, statusText: string): DownloadError {
  const answer = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  if (status === 401 || status === 403) {
    return new DownloadError(
      `${hostOf(url)} refused ${url} (${answer}): the repository may be gated or private; ` +
        'accept its licence on huggingface.co and set HF_TOKEN to an access token.',
    );
  }
  if (status === 404) {
    return new DownloadError(
      `${hostOf(url)} has no file at ${url} (${answer}): the repository or file was renamed or removed; check the catalog entry.`,
    );
  }
  return new DownloadError(`${hostOf(url)} answered ${answer} for ${url}; try again later.`);
}

function requestHeaders(env: NodeJS.ProcessEnv): Record<string, string> {
  const headers: Record<string, string> = {};
  const token = env.HF_TOKEN?.trim();
  if (token) headers.authorization = `Bearer ${token}`;
  return headers;
}

/** Total size from `Content-Range: bytes a-b/total`, and the range start. */
function parseContentRange(header: string | null): { start: number; total: number | undefined } {
  const match = /^bytes\s+(\d+)-\d+\/(\d+|\*)$/i.exec(header?.trim() ?? '');
  if (!match) return { start: Number.NaN, total: undefined };
  const total = match[2] === '*' ? undefined : Number(match[2]);
  return { start: Number(match[1]), total };
}

function contentLength(response: Response): number | undefined {
  const header = response.headers.get('content-length');
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}

/** Calls onProgress at most every `intervalMs`, with speed over the last few seconds. */
class ProgressReporter {
  private readonly samples: { timeMs: number; bytes: number }[] = [];
  private lastReportMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number,
    private readonly intervalMs: number,
    private readonly onProgress: ((progress: PullProgress) => void) | undefined,
  ) {}

  update(receivedBytes: number, totalBytes: number | undefined, force = false): void {
    const timeMs = this.now();
    this.samples.push({ timeMs, bytes: receivedBytes });
    while (
      this.samples.length > 2 &&
      (this.samples[0]?.timeMs ?? timeMs) < timeMs - SPEED_WINDOW_MS
    ) {
      this.samples.shift();
    }
    if (this.onProgress === undefined) return;
    if (!force && timeMs - this.lastReportMs < this.intervalMs) return;
    this.lastReportMs = timeMs;
    const first = this.samples[0];
    const elapsedSeconds = first === undefined ? 0 : (timeMs - first.timeMs) / 1000;
    const bytesPerSecond =
      first !== undefined && elapsedSeconds > 0
        ? (receivedBytes - first.bytes) / elapsedSeconds
        : 0;
    const etaSeconds =
      totalBytes === undefined
        ? undefined
        : totalBytes <= receivedBytes
          ? 0
          : bytesPerSecond > 0
            ? (totalBytes - receivedBytes) / bytesPerSecond
            : undefined;
    this.onProgress({ receivedBytes, totalBytes, bytesPerSecond, etaSeconds });
  }
}

/** HEAD the URL (redirects followed) within its own timeout; throws one-line DownloadErrors. */
async function checkReachable(
  url: string,
  fetchImplementation: typeof fetch,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  let response: Response;
  try {
    response = await fetchImplementation(url, {
      method: 'HEAD',
      headers,
      redirect: 'follow',
      signal: combined,
    });
  } catch (error) {
    if (signal?.aborted) throw new AbortedError('Download stopped before it started.');
    if (timeout.aborted) {
      throw unreachableError(url, `no answer within ${seconds(timeoutMs)}`, error);
    }
    throw unreachableError(url, networkReason(error), error);
  }
  await response.body?.cancel().catch(() => undefined);
  // Some servers do not implement HEAD; the GET that follows tells the truth then.
  if (response.ok || response.status === 405 || response.status === 501) return;
  throw httpError(url, response.status, response.statusText);
}

/**
 * Downloads a catalog model's GGUF file to {home}/models/{alias}/{file}.
 *
 * Size policy: the expected size is the catalog's (when verified) and the server's
 * (Content-Length / Content-Range). A server that announces another size than a verified
 * catalog size is refused before any byte is written, and the `.part` is removed (it may belong
 * to the other version). A body that ends short keeps the `.part` for resume; a file that ends
 * up larger than expected is removed.
 */
export async function pullModel(model: CatalogModel, options: PullOptions): Promise<PullResult> {
  const fetchImplementation = options.fetch ?? globalThis.fetch;
  const env = options.env ?? process.env;
  const now = options.now ?? (() => performance.now());
  const reachabilityTimeoutMs = options.reachabilityTimeoutMs ?? DEFAULT_REACHABILITY_TIMEOUT_MS;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const url = options.url ?? huggingFaceUrl(model, options.env ?? process.env);
  const signal = options.signal;
  const catalogSizeBytes = isCatalogSizeVerified(model) ? model.gguf.sizeBytes : undefined;
  const finalPath = cachedModelPath(options.home, model);
  const partPath = finalPath + PARTIAL_DOWNLOAD_SUFFIX;
  const rerun = `run 'tandem models pull ${model.alias}' again to resume`;

  if (signal?.aborted) throw new AbortedError('Download stopped before it started.');

  // Already in the cache?
  const existingSize = await fileSize(finalPath);
  if (existingSize !== undefined) {
    if (catalogSizeBytes === undefined || existingSize === catalogSizeBytes) {
      return { path: finalPath, sizeBytes: existingSize, resumed: false, alreadyComplete: true };
    }
    // A wrong-sized file under the final name: resume it if it is a prefix, else start over.
    if (existingSize < catalogSizeBytes && (await fileSize(partPath)) === undefined) {
      await rename(finalPath, partPath);
    } else {
      await rm(finalPath, { force: true });
    }
  }

  await mkdir(path.dirname(finalPath), { recursive: true });
  const headers = requestHeaders(env);
  await checkReachable(url, fetchImplementation, headers, reachabilityTimeoutMs, signal);

  const reporter = new ProgressReporter(
    now,
    options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
    options.onProgress,
  );

  let offset = (await fileSize(partPath)) ?? 0;
  if (catalogSizeBytes !== undefined && offset > catalogSizeBytes) {
    await rm(partPath, { force: true });
    offset = 0;
  }

  for (let attempt = 0; ; attempt++) {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let idleTimedOut = false;
    let phase: 'first-byte' | 'idle' = 'first-byte';
    const armIdleTimer = (): void => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idleTimedOut = true;
        controller.abort(new Error('idle timeout'));
      }, idleTimeoutMs);
    };
    let received = offset;
    let totalBytes: number | undefined;
    const stoppedAt = (): string =>
      `${formatBytes(received)}${totalBytes === undefined ? '' : ` of ${formatBytes(totalBytes)}`}`;
    const failure = (error: unknown): Error => {
      if (signal?.aborted) {
        return new AbortedError(`Download stopped at ${stoppedAt()}; ${rerun}.`);
      }
      if (idleTimedOut) {
        return new TimeoutError(
          phase,
          idleTimeoutMs,
          phase === 'first-byte'
            ? `${hostOf(url)} sent no answer within ${seconds(idleTimeoutMs)} for ${url}; ${rerun}.`
            : `Download stalled: no data from ${hostOf(url)} for ${seconds(idleTimeoutMs)} at ${stoppedAt()}; ${rerun}.`,
        );
      }
      if (error instanceof DownloadError) return error;
      return new DownloadError(
        `Download of ${url} interrupted at ${stoppedAt()} (${networkReason(error)}); ${rerun}.`,
        { cause: error },
      );
    };

    try {
      armIdleTimer();
      const requestHeadersWithRange =
        offset > 0 ? { ...headers, range: `bytes=${offset}-` } : headers;
      let response: Response;
      try {
        response = await fetchImplementation(url, {
          headers: requestHeadersWithRange,
          redirect: 'follow',
          signal: controller.signal,
        });
      } catch (error) {
        throw failure(error);
      }

      if (response.status === 416 && offset > 0) {
        await response.body?.cancel().catch(() => undefined);
        // The .part is at least as long as the file: complete, or from another version.
        const { total } = parseContentRange(response.headers.get('content-range'));
        const expected = catalogSizeBytes ?? total;
        if (expected !== undefined && offset === expected) {
          totalBytes = expected;
          break;
        }
        if (attempt > 0) throw httpError(url, response.status, response.statusText);
        await rm(partPath, { force: true });
        offset = 0;
        continue;
      }
      if (!response.ok || response.body === null) {
        await response.body?.cancel().catch(() => undefined);
        throw httpError(url, response.status, response.statusText);
      }

      let append = false;
      if (response.status === 206 && offset > 0) {
        const range = parseContentRange(response.headers.get('content-range'));
        if (range.start !== offset) {
          // Not the range asked for: start over without Range.
          await response.body.cancel().catch(() => undefined);
          if (attempt > 0) {
            throw new DownloadError(
              `${hostOf(url)} answered a Range request for ${url} with the wrong range; delete ${partPath} and try again.`,
            );
          }
          await rm(partPath, { force: true });
          offset = 0;
          continue;
        }
        append = true;
        totalBytes = range.total ?? catalogSizeBytes;
      } else {
        // 200: a full body (a server that ignores Range restarts the file).
        offset = 0;
        received = 0;
        const length = contentLength(response);
        totalBytes = length ?? catalogSizeBytes;
      }

      if (
        catalogSizeBytes !== undefined &&
        totalBytes !== undefined &&
        totalBytes !== catalogSizeBytes
      ) {
        await response.body.cancel().catch(() => undefined);
        await rm(partPath, { force: true });
        throw new DownloadError(
          `${hostOf(url)} reports ${totalBytes} bytes for ${model.gguf.file} but the catalog expects ${catalogSizeBytes}: ` +
            'the file changed upstream or the catalog is out of date; nothing was kept.',
        );
      }

      const resumed = append;
      const file = await open(partPath, append ? 'a' : 'w');
      phase = 'idle';
      try {
        reporter.update(received, totalBytes, true);
        const reader = response.body.getReader();
        for (;;) {
          armIdleTimer();
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (error) {
            throw failure(error);
          }
          if (chunk.done) break;
          await file.write(chunk.value);
          received += chunk.value.byteLength;
          if (totalBytes !== undefined && received > totalBytes) break;
          reporter.update(received, totalBytes);
        }
      } finally {
        clearTimeout(idleTimer);
        await file.close();
      }
      if (signal?.aborted) throw failure(signal.reason);

      const writtenBytes = (await fileSize(partPath)) ?? 0;
      if (totalBytes !== undefined && writtenBytes < totalBytes) {
        throw new DownloadError(
          `Download of ${url} ended early at ${formatBytes(writtenBytes)} of ${formatBytes(totalBytes)}; the partial file is kept, ${rerun}.`,
        );
      }
      if (totalBytes !== undefined && writtenBytes > totalBytes) {
        await rm(partPath, { force: true });
        throw new DownloadError(
          `${url} sent ${writtenBytes} bytes, more than the ${totalBytes} expected; the partial file was removed, try again.`,
        );
      }
      reporter.update(writtenBytes, writtenBytes, true);
      await rename(partPath, finalPath);
      return { path: finalPath, sizeBytes: writtenBytes, resumed, alreadyComplete: false };
    } finally {
      clearTimeout(idleTimer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  // Reached through the 416 branch: the .part already holds the whole file.
  const sizeBytes = (await fileSize(partPath)) ?? 0;
  reporter.update(sizeBytes, sizeBytes, true);
  await rename(partPath, finalPath);
  return { path: finalPath, sizeBytes, resumed: true, alreadyComplete: false };
}
