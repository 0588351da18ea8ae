/**
 * Figures of a stored run per model and load level, for `tandem runs show` and
 * `tandem runs diff`. They come from the run's own summaries where it has them, and from
 * its requests where it does not (a run that crashed before its summaries were written).
 */

import { percentile, type SampleSummary } from '../../measure/statistics/summary.js';
import { summarizeLevel } from '../summarize-level.js';
import type { BenchLevelSummary, BenchRequestRecord, BenchRun, LoadLevel } from '../types.js';

/** The per-request figures a diff compares. */
export type DiffMetric = 'ttftMs' | 'tpotMs' | 'e2eMs' | 'decodeTokensPerSecond';

/** 'c=4' for a closed loop, '2 req/s for 30 s' for Poisson arrivals. */
export function formatLoadLevel(level: LoadLevel): string {
  return level.mode === 'closed'
    ? `c=${level.concurrency}`
    : `${level.ratePerSecond} req/s for ${level.durationSeconds} s`;
}

export function sameLoadLevel(a: LoadLevel, b: LoadLevel): boolean {
  if (a.mode === 'closed' && b.mode === 'closed') return a.concurrency === b.concurrency;
  if (a.mode === 'open' && b.mode === 'open')
    return a.ratePerSecond === b.ratePerSecond && a.durationSeconds === b.durationSeconds;
  return false;
}

/** Measured requests (not warm-up) of one model at one level, failed ones included. */
export function measuredRequests(
  run: BenchRun,
  modelIndex: number,
  levelIndex: number,
): BenchRequestRecord[] {
  return run.requests.filter(
    (request) =>
      !request.warmup && request.modelIndex === modelIndex && request.levelIndex === levelIndex,
  );
}

/** One metric of the measured, successful requests: the finite, positive values. */
export function measuredValues(
  run: BenchRun,
  modelIndex: number,
  levelIndex: number,
  metric: DiffMetric,
): number[] {
  const values: number[] = [];
  for (const request of measuredRequests(run, modelIndex, levelIndex)) {
    if (request.errorCause !== undefined) continue;
    const value = request[metric];
    if (value !== undefined && Number.isFinite(value) && value > 0) values.push(value);
  }
  return values;
}

export interface LevelFigures {
  model: string;
  modelIndex: number;
  levelIndex: number;
  level: LoadLevel;
  /** Measured requests, failed ones included. */
  requests: number;
  errors: number;
  ttftMs: SampleSummary | undefined;
  tpotMs: SampleSummary | undefined;
  e2eMs: SampleSummary | undefined;
  decodeTokensPerSecondP50: number | undefined;
  outputTokensPerSecond: number | undefined;
  goodputRequestsPerSecond: number | undefined;
  goodputShare: number | undefined;
  /** 'summary': the run's own figures; 'requests': computed here from its requests. */
  source: 'summary' | 'requests';
}

/** The levels a run has figures for: its summaries, then any pair only its requests have. */
export function levelFigures(run: BenchRun): LevelFigures[] {
  const figures: LevelFigures[] = [];
  const seen = new Set<string>();
  const modelName = (index: number) => run.models[index]?.reference ?? `model ${index}`;
  const decodeP50 = (modelIndex: number, levelIndex: number) => {
    const values = measuredValues(run, modelIndex, levelIndex, 'decodeTokensPerSecond');
    return values.length === 0 ? undefined : percentile(values, 50);
  };
  const fromSummary = (
    summary: BenchLevelSummary,
    source: LevelFigures['source'],
  ): LevelFigures => ({
    model: modelName(summary.modelIndex),
    modelIndex: summary.modelIndex,
    levelIndex: summary.levelIndex,
    level: summary.level,
    requests: summary.requests,
    errors: summary.errors,
    ttftMs: summary.ttftMs,
    tpotMs: summary.tpotMs,
    e2eMs: summary.e2eMs,
    decodeTokensPerSecondP50: decodeP50(summary.modelIndex, summary.levelIndex),
    outputTokensPerSecond: summary.outputTokensPerSecond,
    goodputRequestsPerSecond: summary.goodputRequestsPerSecond,
    goodputShare: summary.goodputShare,
    source,
  });
  for (const summary of run.levels) {
    seen.add(`${summary.modelIndex}/${summary.levelIndex}`);
    figures.push(fromSummary(summary, 'summary'));
  }
  const pairs = new Map<string, { modelIndex: number; levelIndex: number }>();
  for (const request of run.requests) {
    const key = `${request.modelIndex}/${request.levelIndex}`;
    if (!request.warmup && !seen.has(key) && !pairs.has(key))
      pairs.set(key, { modelIndex: request.modelIndex, levelIndex: request.levelIndex });
  }
  // A run that stopped before writing its summaries: the runner's own summary of its requests.
  for (const { modelIndex, levelIndex } of pairs.values()) {
    const level = run.settings.levels[levelIndex];
    if (level === undefined) continue;
    const summary = summarizeLevel({
      modelIndex,
      levelIndex,
      level,
      requests: run.requests,
      slo: run.settings.slo,
      bytesPerToken: undefined,
      bandwidthBytesPerSecond: undefined,
    });
    figures.push(fromSummary(summary, 'requests'));
  }
  return figures.sort((a, b) => a.modelIndex - b.modelIndex || a.levelIndex - b.levelIndex);
}
