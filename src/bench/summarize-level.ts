import {
  ApiCallError,
  EndpointUnreachableError,
  isAbortError,
  StreamInterruptedError,
  TimeoutError,
} from '../errors.js';
import { summarize } from '../measure/statistics/summary.js';
import type {
  BenchLevelSummary,
  BenchRequestRecord,
  ErrorCause,
  LoadLevel,
  ServiceLevelObjectives,
} from './types.js';

/** The cause of a failed request, for "errors by cause". */
export function errorCauseOf(error: unknown): ErrorCause {
  if (isAbortError(error)) return 'aborted';
  if (error instanceof ApiCallError) {
    if (error.status === 429) return 'http-429';
    return error.status >= 500 ? 'http-5xx' : 'http-4xx';
  }
  if (error instanceof EndpointUnreachableError) return 'connection';
  if (error instanceof TimeoutError) {
    if (error.phase === 'connect') return 'timeout-connect';
    return error.phase === 'idle' ? 'timeout-idle' : 'timeout-first-byte';
  }
  if (error instanceof StreamInterruptedError) return 'interrupted';
  return 'other';
}

/** Whether a completed request met every SLO that was set; undefined when none was set. */
export function meetsServiceLevels(
  record: Pick<BenchRequestRecord, 'ttftMs' | 'tpotMs' | 'e2eMs'>,
  slo: ServiceLevelObjectives,
): boolean | undefined {
  const checks: [number | undefined, number | undefined][] = [
    [slo.ttftMs, record.ttftMs],
    [slo.tpotMs, record.tpotMs],
    [slo.e2eMs, record.e2eMs],
  ];
  const set = checks.filter(([limit]) => limit !== undefined);
  if (set.length === 0) return undefined;
  return set.every(([limit, value]) => value !== undefined && value <= (limit as number));
}

const values = (
  records: readonly BenchRequestRecord[],
  pick: (record: BenchRequestRecord) => number | undefined,
) =>
  records
    .map(pick)
    .filter((value): value is number => value !== undefined && Number.isFinite(value));

/**
 * The figures of one model at one level over its measured requests. The window runs from
 * the first measured request's issue to the last measured token; throughput is over it.
 */
export function summarizeLevel(options: {
  modelIndex: number;
  levelIndex: number;
  level: LoadLevel;
  requests: readonly BenchRequestRecord[];
  slo: ServiceLevelObjectives;
  bytesPerToken: number | undefined;
  bandwidthBytesPerSecond: number | undefined;
}): BenchLevelSummary {
  // Requests cut off by Ctrl-C are not failures of what was measured: they are left out.
  const measured = options.requests.filter(
    (record) =>
      !record.warmup &&
      record.errorCause !== 'aborted' &&
      record.modelIndex === options.modelIndex &&
      record.levelIndex === options.levelIndex,
  );
  const completed = measured.filter((record) => record.errorCause === undefined);
  const errorsByCause: Partial<Record<ErrorCause, number>> = {};
  for (const record of measured) {
    if (record.errorCause !== undefined)
      errorsByCause[record.errorCause] = (errorsByCause[record.errorCause] ?? 0) + 1;
  }
  const firstIssue = Math.min(...measured.map((record) => record.issuedAtMs));
  const lastToken = Math.max(
    ...measured.map((record) => record.issuedAtMs + record.queueMs + (record.e2eMs ?? 0)),
  );
  const windowMs = measured.length === 0 ? 0 : Math.max(0, lastToken - firstIssue);
  const perSecond = (count: number) => (windowMs > 0 ? (count * 1000) / windowMs : 0);
  const outputTokens = measured.reduce((sum, record) => sum + record.outputTokens, 0);
  const promptTokens = measured.reduce((sum, record) => sum + (record.promptTokens ?? 0), 0);
  const sloSet = Object.values(options.slo).some((value) => value !== undefined);
  const good = completed.filter((record) => record.meetsSlo === true).length;
  const gaps = measured.flatMap((record) =>
    record.tokenTimesMs
      .slice(1)
      .map((time, index) => time - (record.tokenTimesMs[index] as number)),
  );
  const decode = summarize(values(completed, (record) => record.decodeTokensPerSecond));
  const withServer = completed.filter((record) => record.serverTimings !== undefined);
  return {
    modelIndex: options.modelIndex,
    levelIndex: options.levelIndex,
    level: options.level,
    requests: measured.length,
    completed: completed.length,
    errors: measured.length - completed.length,
    errorsByCause,
    shortOutputs: measured.filter((record) => record.shortOutput).length,
    ttftMs: summarize(values(completed, (record) => record.ttftMs)),
    ttfoMs: summarize(values(completed, (record) => record.ttfoMs)),
    tpotMs: summarize(values(completed, (record) => record.tpotMs)),
    itlMs: summarize(gaps),
    e2eMs: summarize(values(completed, (record) => record.e2eMs)),
    queueMs: summarize(values(measured, (record) => record.queueMs)),
    windowMs,
    outputTokensPerSecond: perSecond(outputTokens),
    totalTokensPerSecond: perSecond(outputTokens + promptTokens),
    requestsPerSecond: perSecond(completed.length),
    goodputRequestsPerSecond: sloSet ? perSecond(good) : undefined,
    goodputShare: sloSet && measured.length > 0 ? good / measured.length : undefined,
    stalls: measured.reduce((sum, record) => sum + record.stallCount, 0),
    bandwidthCeilingShare:
      decode === undefined ||
      options.bytesPerToken === undefined ||
      options.bandwidthBytesPerSecond === undefined
        ? undefined
        : (decode.p50 * options.bytesPerToken) / options.bandwidthBytesPerSecond,
    serverSide:
      withServer.length === 0
        ? undefined
        : {
            promptMs: summarize(values(withServer, (record) => record.serverTimings?.promptMs)),
            predictedMs: summarize(
              values(withServer, (record) => record.serverTimings?.predictedMs),
            ),
            overheadMs: summarize(
              values(withServer, (record) => {
                const server = record.serverTimings;
                if (
                  server?.promptMs === undefined ||
                  server.predictedMs === undefined ||
                  record.e2eMs === undefined
                )
                  return undefined;
                return record.e2eMs - server.promptMs - server.predictedMs;
              }),
            ),
          },
  };
}
