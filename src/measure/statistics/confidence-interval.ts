/**
 * A two-sided confidence interval, and the confidence level it is computed at: 0.95 unless
 * asked otherwise, always strictly between 0 and 1.
 */

import { InvalidArgumentError } from '../../errors.js';

const DEFAULT_CONFIDENCE = 0.95;

/** A two-sided confidence interval. */
export interface ConfidenceInterval {
  readonly low: number;
  readonly high: number;
  /** The confidence level it was computed at, e.g. 0.95. */
  readonly confidence: number;
}

export function checkedConfidence(requested: number | undefined): number {
  const confidence = requested ?? DEFAULT_CONFIDENCE;
  if (!(typeof confidence === 'number' && confidence > 0 && confidence < 1)) {
    throw new InvalidArgumentError(
      `Confidence must be a number strictly between 0 and 1 (e.g. 0.95), got ${String(confidence)}.`,
    );
  }
  return confidence;
}
