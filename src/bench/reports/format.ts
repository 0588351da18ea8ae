/** Number and label formatting shared by the Markdown and HTML reports. */

import { demoNote } from '../../models/demo/demo-note.js';
import type { BenchComparison, BenchRun, LoadLevel } from '../types.js';

/** What a report shows where there is no value. */
export const NO_VALUE = '—';

/** A duration in milliseconds with about three significant digits: 0.672, 9.81, 152, 1530. */
export function formatMs(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return NO_VALUE;
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** Milliseconds shown as seconds with three decimals (the workshop exporter's unit). */
export function formatSeconds(valueMs: number | undefined): string {
  if (valueMs === undefined || !Number.isFinite(valueMs)) return NO_VALUE;
  return (valueMs / 1000).toFixed(3);
}

/** A rate (tokens/s, requests/s) with one decimal, or three significant digits below 10. */
export function formatRate(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return NO_VALUE;
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toPrecision(3);
}

export function formatPercent(share: number | undefined): string {
  if (share === undefined || !Number.isFinite(share)) return NO_VALUE;
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

/** How a level is named in a table: `concurrency 4` or `Poisson 2 req/s, 60 s`. */
export function describeLevel(level: LoadLevel): string {
  if (level.mode === 'closed') return `concurrency ${level.concurrency}`;
  return `Poisson ${level.ratePerSecond} req/s, ${level.durationSeconds} s`;
}

/** The short form for chart labels: `c=4` or `2 req/s`. */
export function shortLevel(level: LoadLevel): string {
  if (level.mode === 'closed') return `c=${level.concurrency}`;
  return `${level.ratePerSecond} req/s`;
}

/** The level of a request's levelIndex, as the run's summaries or settings know it. */
export function levelOf(run: BenchRun, levelIndex: number): LoadLevel | undefined {
  return (
    run.levels.find((summary) => summary.levelIndex === levelIndex)?.level ??
    run.settings.levels[levelIndex]
  );
}

export function modelName(run: BenchRun, modelIndex: number): string {
  return run.models[modelIndex]?.reference ?? `model ${modelIndex}`;
}

/** The note every report carries about demo models. */
export function demoModelNote(references: readonly string[]): string {
  return `${references.join(' and ')} ${demoNote(references.length)}`;
}

/** Several closed-loop levels: a concurrency sweep worth charting against concurrency. */
export function isConcurrencySweep(run: BenchRun): boolean {
  const concurrencies = new Set<number>();
  for (const summary of run.levels) {
    if (summary.level.mode === 'closed') concurrencies.add(summary.level.concurrency);
  }
  return concurrencies.size >= 2;
}

/** A comparison's text, prefixed with its level when the run has several. */
export function comparisonLine(run: BenchRun, comparison: BenchComparison): string {
  const levels = new Set(run.levels.map((summary) => summary.levelIndex));
  const level = levelOf(run, comparison.levelIndex);
  if (levels.size <= 1 || level === undefined) return comparison.text;
  return `${describeLevel(level)}: ${comparison.text}`;
}
