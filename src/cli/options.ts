import { InvalidArgumentError } from '../errors.js';
import { type NumberBounds, parseDecimal, parseWholeNumber } from '../numbers.js';

/** Flag value parsers for commander: each rejects nonsense with one clear line. */
export function integerFlag(flag: string, bounds: NumberBounds = {}) {
  return (value: string): number => parseWholeNumber(value, `${flag} '${value}'`, bounds);
}

export function numberFlag(flag: string, bounds: NumberBounds = {}) {
  return (value: string): number => parseDecimal(value, `${flag} '${value}'`, bounds);
}

export function choiceFlag<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(
        `Invalid ${flag} '${value}': use one of ${choices.join(', ')}.`,
      );
    }
    return value as T;
  };
}

/** Repeatable string flag. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
