import { InvalidArgumentError } from '../errors.js';

/** Flag value parsers for commander: each rejects nonsense with one clear line. */
export function integerFlag(flag: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(
        `Invalid ${flag} '${value}': expected a whole number from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'up' : max}.`,
      );
    }
    return parsed;
  };
}

export function numberFlag(
  flag: string,
  { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = {},
) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(
        `Invalid ${flag} '${value}': expected a number from ${min} to ${max}.`,
      );
    }
    return parsed;
  };
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
