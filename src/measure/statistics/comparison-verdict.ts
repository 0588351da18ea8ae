/**
 * What a comparison of two samples concludes, and why: the words compareSamples
 * (compare-samples.ts) and compareRatio (compare-ratio.ts) both answer in.
 */

export type ComparisonVerdict = 'a-greater' | 'b-greater' | 'indistinguishable';

/**
 * Why the verdict is what it is:
 * - 'too few samples': a or b has fewer than 2 values, nothing can be said about noise;
 * - 'beyond noise': the interval excludes "no difference" (0 for a difference, 1 for a
 *   ratio);
 * - 'within noise': it includes it.
 */
export type ComparisonReason = 'too few samples' | 'beyond noise' | 'within noise';
