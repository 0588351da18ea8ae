/**
 * JSON for the columns that hold nested values. The run shapes use `undefined` (never
 * `null`) for "not known", and JSON has no undefined: it is written as null and read back
 * as undefined, so that every key survives the round trip. (A non-finite number, which
 * JSON cannot hold either, reads back as undefined too.)
 */

export function encodeJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item === undefined ? null : item));
}

export function decodeJson<T>(text: string): T {
  return restoreUndefined(JSON.parse(text)) as T;
}

/** JSON or SQL NULL for an optional value. */
export function encodeOptionalJson(value: unknown): string | null {
  return value === undefined ? null : encodeJson(value);
}

export function decodeOptionalJson<T>(text: string | null): T | undefined {
  return text === null ? undefined : decodeJson<T>(text);
}

function restoreUndefined(value: unknown): unknown {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(restoreUndefined);
  if (typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = restoreUndefined(item);
    return result;
  }
  return value;
}
