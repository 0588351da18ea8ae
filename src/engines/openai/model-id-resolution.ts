/**
 * Resolves a model alias (`phi-4-mini`, `phi4-mini`) to the id a server lists in
 * GET /v1/models (`Phi-4-mini-instruct-cuda-gpu:5`, `phi4-mini:latest`).
 */
import { ModelNotFoundError } from '../../errors.js';

export type ModelIdMatch = 'exact' | 'case-insensitive' | 'normalized' | 'prefix';

export interface ModelIdResolution {
  /** The id to send. */
  id: string;
  match: ModelIdMatch;
  /** Every server id that matched at the winning step (more than one: a variant was chosen). */
  candidates: readonly string[];
}

/** Hardware variants in the order they are preferred: GPU first, then NPU, then CPU. */
const deviceSuffixes: readonly { pattern: RegExp; rank: number }[] = [
  { pattern: /-cuda-gpu$/, rank: 0 },
  { pattern: /-trtrtx-gpu$/, rank: 1 },
  { pattern: /-generic-gpu$/, rank: 2 },
  { pattern: /-openvino-gpu$/, rank: 2 },
  { pattern: /-qnn-npu$/, rank: 4 },
  { pattern: /-openvino-npu$/, rank: 4 },
  { pattern: /-openvino-[a-z0-9]+$/, rank: 5 },
  { pattern: /-generic-cpu$/, rank: 6 },
  { pattern: /-openvino-cpu$/, rank: 6 },
];

/** An id without a device suffix ranks between GPU and NPU variants. */
const unknownDeviceRank = 3;

function stripTag(id: string): { name: string; tag: string | undefined } {
  const colon = id.lastIndexOf(':');
  return colon === -1
    ? { name: id, tag: undefined }
    : { name: id.slice(0, colon), tag: id.slice(colon + 1) };
}

/**
 * Lowercases and drops what varies between servers for one model: `:N` / `:latest` tags,
 * device suffixes (`-cuda-gpu`, `-generic-cpu`, `-openvino-*`, `-qnn-npu`...) and `-instruct`.
 */
export function normalizeModelId(id: string): string {
  let name = stripTag(id.trim().toLowerCase()).name;
  for (const { pattern } of deviceSuffixes) name = name.replace(pattern, '');
  return name.replace(/-instruct(?=-|$)/g, '');
}

function deviceRank(id: string): number {
  const name = stripTag(id.toLowerCase()).name;
  for (const { pattern, rank } of deviceSuffixes) if (pattern.test(name)) return rank;
  return unknownDeviceRank;
}

function versionOf(id: string): number {
  const tag = stripTag(id).tag;
  return tag !== undefined && /^[0-9]+$/.test(tag) ? Number(tag) : -1;
}

/** GPU over NPU over CPU; then the highest `:N` version; then the server's order. */
function preferredVariant(candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const candidate of candidates) {
    if (best === undefined) {
      best = candidate;
      continue;
    }
    const rankDifference = deviceRank(candidate) - deviceRank(best);
    if (rankDifference < 0 || (rankDifference === 0 && versionOf(candidate) > versionOf(best))) {
      best = candidate;
    }
  }
  return best;
}

function isBoundary(character: string | undefined): boolean {
  return character === undefined || /[-:_/]/.test(character);
}

/**
 * Exact id; else a case-insensitive match; else the same normalized name (Foundry and
 * Ollama ids); else ids whose normalized name starts with the alias at a word boundary.
 * Several matches of one model in different hardware variants: GPU is preferred. Matches
 * of different models: ambiguous. No match: ModelNotFoundError listing the server's ids.
 */
export function resolveModelId(
  requested: string,
  serverIds: readonly string[],
  serverDescription = 'the server',
): ModelIdResolution {
  if (serverIds.includes(requested)) {
    return { id: requested, match: 'exact', candidates: [requested] };
  }
  const lower = requested.toLowerCase();
  const caseInsensitive = serverIds.filter((id) => id.toLowerCase() === lower);
  const first = caseInsensitive[0];
  if (first !== undefined) {
    return { id: first, match: 'case-insensitive', candidates: caseInsensitive };
  }
  const wanted = normalizeModelId(requested);
  const steps: readonly { match: ModelIdMatch; test: (normalized: string) => boolean }[] = [
    { match: 'normalized', test: (normalized) => normalized === wanted },
    {
      match: 'prefix',
      test: (normalized) => normalized.startsWith(wanted) && isBoundary(normalized[wanted.length]),
    },
  ];
  for (const step of steps) {
    const candidates = serverIds.filter((id) => step.test(normalizeModelId(id)));
    if (candidates.length === 0) continue;
    const models = new Set(candidates.map(normalizeModelId));
    if (models.size > 1) {
      throw new ModelNotFoundError(
        requested,
        candidates,
        `'${requested}' matches several models on ${serverDescription}; name one.`,
      );
    }
    const id = preferredVariant(candidates);
    if (id !== undefined) return { id, match: step.match, candidates };
  }
  const listed =
    serverIds.length === 0 ? 'it lists no models' : `it has ${serverIds.slice(0, 30).join(', ')}`;
  throw new ModelNotFoundError(
    requested,
    [],
    `${capitalize(serverDescription)} has no model '${requested}' (${listed}${serverIds.length > 30 ? ', ...' : ''}).`,
  );
}

/** `the server at …` at the start of a sentence; product names keep their spelling. */
function capitalize(text: string): string {
  return text.startsWith('the ') ? `The ${text.slice(4)}` : text;
}
