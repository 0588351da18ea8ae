/**
 * `tandem runs diff A B`: for each model reference and load level present in both runs,
 * TTFT, TPOT, E2E and decode tokens/s compared on the measured, successful requests with
 * Welch's t test on logarithms ({@link compareRatio}): the ratio B/A of geometric means
 * with its 95% confidence interval, and whether it is beyond noise.
 */

import { compareRatio } from '../../measure/statistics/compare-ratio.js';
import type { BenchRun, LoadLevel } from '../types.js';
import { type DiffMetric, formatLoadLevel, measuredValues, sameLoadLevel } from './run-figures.js';

export const DIFF_METRICS: readonly DiffMetric[] = [
  'ttftMs',
  'tpotMs',
  'e2eMs',
  'decodeTokensPerSecond',
];

const METRIC_LABELS: Record<DiffMetric, string> = {
  ttftMs: 'TTFT',
  tpotMs: 'TPOT',
  e2eMs: 'E2E',
  decodeTokensPerSecond: 'decode tok/s',
};

/** Higher is better only for rates. */
const HIGHER_IS_BETTER: Record<DiffMetric, boolean> = {
  ttftMs: false,
  tpotMs: false,
  e2eMs: false,
  decodeTokensPerSecond: true,
};

export type DiffVerdict =
  | 'slower'
  | 'faster'
  | 'indistinguishable'
  | 'too few samples'
  | 'not measured';

export interface RunDiffLine {
  model: string;
  level: LoadLevel;
  metric: DiffMetric;
  /** Geometric means (n values) of A and B; undefined when a side has no values. */
  a: { n: number; geometricMean: number | undefined };
  b: { n: number; geometricMean: number | undefined };
  /** B / A of the geometric means. */
  ratio: number | undefined;
  /** 95% confidence interval of B / A; undefined with fewer than 2 values a side. */
  low: number | undefined;
  high: number | undefined;
  /** How B does against A ('slower' for a time that grew or a rate that fell). */
  verdict: DiffVerdict;
  beyondNoise: boolean;
  text: string;
}

export interface RunDiff {
  a: number | undefined;
  b: number | undefined;
  lines: RunDiffLine[];
  /** What could not be compared, and settings or machines that differ between the runs. */
  notes: string[];
}

const factor = (value: number) => `${value.toFixed(2)}x`;

function runLabel(run: BenchRun, fallback: string): string {
  return run.id === undefined ? fallback : `run ${run.id}`;
}

function compareMetric(
  a: BenchRun,
  b: BenchRun,
  model: string,
  indexes: { modelA: number; levelA: number; modelB: number; levelB: number },
  level: LoadLevel,
  metric: DiffMetric,
): RunDiffLine {
  const valuesA = measuredValues(a, indexes.modelA, indexes.levelA, metric);
  const valuesB = measuredValues(b, indexes.modelB, indexes.levelB, metric);
  const labelA = runLabel(a, 'A');
  const labelB = runLabel(b, 'B');
  const head = `${model} ${formatLoadLevel(level)}: ${METRIC_LABELS[metric]}`;
  const base = { model, level, metric };
  if (valuesA.length === 0 || valuesB.length === 0) {
    const missing = [valuesA.length === 0 ? labelA : '', valuesB.length === 0 ? labelB : '']
      .filter((label) => label !== '')
      .join(' or ');
    return {
      ...base,
      a: { n: valuesA.length, geometricMean: undefined },
      b: { n: valuesB.length, geometricMean: undefined },
      ratio: undefined,
      low: undefined,
      high: undefined,
      verdict: 'not measured',
      beyondNoise: false,
      text: `${head} not measured in ${missing}`,
    };
  }
  // compareRatio(b, a): its ratio is B / A, 'a-greater' there means B is greater.
  const comparison = compareRatio(valuesB, valuesA);
  const ratio = comparison.ratio;
  const low = comparison.interval?.low;
  const high = comparison.interval?.high;
  const sides = {
    a: { n: valuesA.length, geometricMean: comparison.b.geometricMean },
    b: { n: valuesB.length, geometricMean: comparison.a.geometricMean },
  };
  if (comparison.reason === 'too few samples') {
    return {
      ...base,
      ...sides,
      ratio,
      low,
      high,
      verdict: 'too few samples',
      beyondNoise: false,
      text: `${head} cannot be told from noise: too few measured requests (n = ${valuesA.length} in ${labelA}, ${valuesB.length} in ${labelB}; ${labelB} / ${labelA} = ${factor(ratio)})`,
    };
  }
  const interval =
    low === undefined || high === undefined ? '' : `, 95% CI ${factor(low)}–${factor(high)}`;
  if (comparison.verdict === 'indistinguishable') {
    return {
      ...base,
      ...sides,
      ratio,
      low,
      high,
      verdict: 'indistinguishable',
      beyondNoise: false,
      text: `${head} indistinguishable from noise (${labelB} / ${labelA} = ${factor(ratio)}${interval})`,
    };
  }
  const greater = comparison.verdict === 'a-greater';
  const better = greater === HIGHER_IS_BETTER[metric];
  // Say it as a factor above 1: "2.00x faster" rather than "0.50x".
  const [shown, shownLow, shownHigh] = greater
    ? [ratio, low, high]
    : [
        1 / ratio,
        high === undefined ? undefined : 1 / high,
        low === undefined ? undefined : 1 / low,
      ];
  const shownInterval =
    shownLow === undefined || shownHigh === undefined
      ? ''
      : ` (95% CI ${factor(shownLow)}–${factor(shownHigh)})`;
  return {
    ...base,
    ...sides,
    ratio,
    low,
    high,
    verdict: better ? 'faster' : 'slower',
    beyondNoise: true,
    text: `${head} ${factor(shown)} ${better ? 'faster' : 'slower'} in ${labelB} than ${labelA}${shownInterval}`,
  };
}

/** Settings and machine figures that make two runs hard to compare when they differ. */
function differences(a: BenchRun, b: BenchRun): string[] {
  const checks: [string, unknown, unknown][] = [
    ['max tokens', a.settings.maxTokens, b.settings.maxTokens],
    ['prompts', a.settings.prompts, b.settings.prompts],
    ['temperature', a.settings.temperature, b.settings.temperature],
    ['streaming', a.settings.stream, b.settings.stream],
    ['ignore EOS', a.settings.ignoreEos, b.settings.ignoreEos],
    ['threads', a.settings.threads, b.settings.threads],
    ['CPU', a.machine.cpuModel, b.machine.cpuModel],
    ['logical cores', a.machine.logicalCores, b.machine.logicalCores],
    ['memory', a.machine.totalMemoryBytes, b.machine.totalMemoryBytes],
    ['Node.js', a.machine.nodeVersion, b.machine.nodeVersion],
    ['tandem', a.tandemVersion, b.tandemVersion],
  ];
  const show = (value: unknown) =>
    value === undefined ? 'default' : typeof value === 'string' ? value : JSON.stringify(value);
  return checks
    .filter(([, valueA, valueB]) => JSON.stringify(valueA) !== JSON.stringify(valueB))
    .map(
      ([label, valueA, valueB]) =>
        `${label} differs: ${show(valueA)} in ${runLabel(a, 'A')}, ${show(valueB)} in ${runLabel(b, 'B')}`,
    );
}

/** Compares run B with run A, model by model (by reference) and level by level. */
export function diffRuns(a: BenchRun, b: BenchRun): RunDiff {
  const lines: RunDiffLine[] = [];
  const notes: string[] = [];
  const labelA = runLabel(a, 'A');
  const labelB = runLabel(b, 'B');
  const referencesB = new Map<string, number>();
  b.models.forEach((model, index) => {
    if (!referencesB.has(model.reference)) referencesB.set(model.reference, index);
  });
  const referencesA = new Set(a.models.map((model) => model.reference));
  const compared = new Set<string>();
  a.models.forEach((modelA, modelIndexA) => {
    if (compared.has(modelA.reference)) return;
    compared.add(modelA.reference);
    const modelIndexB = referencesB.get(modelA.reference);
    if (modelIndexB === undefined) {
      notes.push(`${modelA.reference} is only in ${labelA}`);
      return;
    }
    a.settings.levels.forEach((level, levelIndexA) => {
      const levelIndexB = b.settings.levels.findIndex((other) => sameLoadLevel(level, other));
      if (levelIndexB < 0) return;
      for (const metric of DIFF_METRICS) {
        lines.push(
          compareMetric(
            a,
            b,
            modelA.reference,
            { modelA: modelIndexA, levelA: levelIndexA, modelB: modelIndexB, levelB: levelIndexB },
            level,
            metric,
          ),
        );
      }
    });
  });
  for (const model of b.models) {
    if (!referencesA.has(model.reference)) notes.push(`${model.reference} is only in ${labelB}`);
  }
  for (const level of a.settings.levels) {
    if (!b.settings.levels.some((other) => sameLoadLevel(level, other)))
      notes.push(`load ${formatLoadLevel(level)} is only in ${labelA}`);
  }
  for (const level of b.settings.levels) {
    if (!a.settings.levels.some((other) => sameLoadLevel(level, other)))
      notes.push(`load ${formatLoadLevel(level)} is only in ${labelB}`);
  }
  notes.push(...differences(a, b));
  return { a: a.id, b: b.id, lines, notes };
}
