import { InvalidArgumentError } from './errors.js';

export interface NumberBounds {
  min?: number;
  max?: number;
}

function rangeText(min: number, max: number, kind: string): string {
  if (max === Number.POSITIVE_INFINITY || max === Number.MAX_SAFE_INTEGER)
    return `${kind} of ${min} or more`;
  return `${kind} from ${min} to ${max}`;
}

/**
 * Parses a whole number given by a person (a flag, an environment variable, a model-reference
 * option). `what` names it as the user wrote it, e.g. `--max-tokens 'ten'` or
 * `TANDEM_THREADS=0`; the error is one line that says what is expected.
 */
export function parseWholeNumber(
  text: string,
  what: string,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: NumberBounds = {},
): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `Invalid ${what}: expected a ${rangeText(min, max, 'whole number')}.`,
    );
  }
  return value;
}

/** Like parseWholeNumber, for any finite number. */
export function parseDecimal(
  text: string,
  what: string,
  { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY }: NumberBounds = {},
): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidArgumentError(`Invalid ${what}: expected a ${rangeText(min, max, 'number')}.`);
  }
  return value;
}
