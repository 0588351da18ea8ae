/**
 * Grounded answers: retrieve, fit the numbered sources into the model's context, stream the
 * answer, then check every [n] citation against the sources given. When nothing relevant is
 * retrieved, tandem says the documents do not cover the question without calling the model.
 */

import type { ChatMessage, Engine } from '../engines/spec.js';
import { InvalidArgumentError } from '../errors.js';
import { measureRun, type RunRequest, type RunResult } from '../generate/generate.js';
import { estimateTokens } from '../measure/token-estimate.js';
import { type CitationCheck, checkCitations } from './citations.js';
import type { RagCollection, RagStore } from './rag-store.js';
import { type RetrievalMode, type RetrieveOptions, retrieve } from './search/retrieve.js';
import { HEADING_SEPARATOR, type RetrievedChunk } from './search/retrieved-chunk.js';

/** What tandem answers, without calling the model, when no chunk passes retrieval. */
export const NOT_COVERED_ANSWER = 'The documents do not cover this question.';

export const GROUNDED_SYSTEM_PROMPT = [
  'Answer the question using only the numbered sources below.',
  'Cite the sources you use with their numbers in square brackets, like [1] or [2][3], right after the statement they support.',
  'If the sources do not contain the answer, say that the documents do not cover it; do not use outside knowledge.',
].join(' ');

/** A source as the model saw it, numbered from 1. */
export interface GroundedSource {
  number: number;
  chunkId: number;
  source: string;
  title: string | undefined;
  headingPath: string[];
  /** The chunk text given to the model (shortened only when it alone did not fit). */
  excerpt: string;
  truncated: boolean;
  score: number;
  start: number;
  end: number;
}

export interface DroppedSource {
  chunkId: number;
  source: string;
  reason: string;
}

export interface GroundedAnswer {
  question: string;
  answer: string;
  /** True when nothing was retrieved and the model was not called. */
  notCovered: boolean;
  sources: GroundedSource[];
  /** Retrieved chunks left out to fit the context window. */
  dropped: DroppedSource[];
  /** The citation check; `citedChunkIds` are the chunks behind the valid citations. */
  citations: (CitationCheck & { citedChunkIds: number[] }) | undefined;
  retrieval: { mode: RetrievalMode; elapsedMs: number; candidates: number };
  /** The generation's figures (as `tandem run` reports them); undefined when not called. */
  run: RunResult | undefined;
}

export interface AskOptions {
  engine: Engine;
  retrieval?: RetrieveOptions;
  maxTokens?: number;
  temperature?: number;
  /** The first use of this engine: its load time is reported with the run (`run.loadMs`). */
  cold?: boolean;
  onPart?: RunRequest['onPart'];
  /** Called once retrieval is done, before generation starts. */
  onSources?: (sources: readonly GroundedSource[], dropped: readonly DroppedSource[]) => void;
  signal?: AbortSignal;
}

/** "Handbook › Expenses": the document's title (else its file name), then the headings below it. */
export function sourceLabel(chunk: {
  source: string;
  title: string | undefined;
  headingPath: readonly string[];
}): string {
  const name = chunk.title ?? chunk.source.split(/[\\/]/).pop() ?? chunk.source;
  // The title is usually the first heading too: name it once.
  const headings = chunk.headingPath[0] === name ? chunk.headingPath.slice(1) : chunk.headingPath;
  return [name, ...headings].join(HEADING_SEPARATOR);
}

function sourceBlock(number: number, chunk: RetrievedChunk, text: string): string {
  return `[${number}] ${sourceLabel(chunk)}\n${text}`;
}

/** The chat messages of a grounded question with its numbered sources. */
export function groundedMessages(
  question: string,
  sources: readonly { number: number; chunk: RetrievedChunk; text: string }[],
): ChatMessage[] {
  const blocks = sources.map(({ number, chunk, text }) => sourceBlock(number, chunk, text));
  return [
    { role: 'system', content: GROUNDED_SYSTEM_PROMPT },
    { role: 'user', content: `Sources:\n\n${blocks.join('\n\n')}\n\nQuestion: ${question}` },
  ];
}

/**
 * Keeps the best-ranked chunks that fit `budget` tokens (by `count`), in rank order; the
 * best one is shortened to fit when it alone does not.
 */
export async function fitSources(
  chunks: readonly RetrievedChunk[],
  budget: number,
  count: (text: string) => Promise<number> | number,
): Promise<{
  kept: { chunk: RetrievedChunk; text: string; truncated: boolean }[];
  dropped: DroppedSource[];
}> {
  const kept: { chunk: RetrievedChunk; text: string; truncated: boolean }[] = [];
  const dropped: DroppedSource[] = [];
  let used = 0;
  for (const chunk of chunks) {
    const tokens = await count(sourceBlock(kept.length + 1, chunk, chunk.text));
    if (used + tokens <= budget) {
      kept.push({ chunk, text: chunk.text, truncated: false });
      used += tokens;
      continue;
    }
    if (kept.length === 0 && budget > 0) {
      // Not even the best source fits: give the model as much of it as fits.
      let text = chunk.text.slice(
        0,
        Math.max(1, Math.floor((chunk.text.length * budget) / tokens)),
      );
      while (text.length > 1 && (await count(sourceBlock(1, chunk, text))) > budget) {
        text = text.slice(0, Math.floor(text.length * 0.9));
      }
      kept.push({ chunk, text, truncated: true });
      used = budget;
      continue;
    }
    dropped.push({
      chunkId: chunk.chunkId,
      source: chunk.source,
      reason: `does not fit in the context window (${tokens} tokens, ${Math.max(0, budget - used)} left)`,
    });
  }
  return { kept, dropped };
}

/** Retrieves, answers from the sources with `engine`, and checks the citations. */
export async function askGrounded(
  store: RagStore,
  collection: RagCollection,
  question: string,
  options: AskOptions,
): Promise<GroundedAnswer> {
  const retrieval = await retrieve(store, collection, question, {
    ...options.retrieval,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const retrievalFigures = {
    mode: retrieval.mode,
    elapsedMs: retrieval.elapsedMs,
    candidates: retrieval.candidates,
  };
  if (retrieval.chunks.length === 0) {
    options.onSources?.([], []);
    return {
      question,
      answer: NOT_COVERED_ANSWER,
      notCovered: true,
      sources: [],
      dropped: [],
      citations: undefined,
      retrieval: retrievalFigures,
      run: undefined,
    };
  }
  const { engine } = options;
  // Loaded here (the context size decides which sources fit), so its time is taken here.
  const loadStartedAt = performance.now();
  await engine.load(options.signal === undefined ? {} : { signal: options.signal });
  const loadMs = performance.now() - loadStartedAt;
  const maxTokens = options.maxTokens ?? 256;
  const contextSize = engine.info.contextSize ?? 4096;
  const count = async (text: string) =>
    engine.countTokens === undefined ? estimateTokens(text) : await engine.countTokens(text);
  const frame = await count(
    groundedMessages(question, [])
      .map((message) => message.content)
      .join('\n'),
  );
  // Room for the chat template's own tokens and the answer.
  const budget = contextSize - maxTokens - frame - 64;
  if (budget <= 0) {
    throw new InvalidArgumentError(
      `--max-tokens ${maxTokens} leaves no room for sources in ${engine.info.model}'s ${contextSize}-token context: lower --max-tokens.`,
    );
  }
  const { kept, dropped } = await fitSources(retrieval.chunks, budget, count);
  const sources: GroundedSource[] = kept.map(({ chunk, text, truncated }, index) => ({
    number: index + 1,
    chunkId: chunk.chunkId,
    source: chunk.source,
    title: chunk.title,
    headingPath: chunk.headingPath,
    excerpt: text,
    truncated,
    score: chunk.score,
    start: chunk.start,
    end: chunk.end,
  }));
  options.onSources?.(sources, dropped);
  const run = await measureRun(
    engine,
    {
      messages: groundedMessages(
        question,
        kept.map(({ chunk, text }, index) => ({ number: index + 1, chunk, text })),
      ),
      maxTokens,
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onPart === undefined ? {} : { onPart: options.onPart }),
    },
    { cold: false },
  );
  if (options.cold === true) run.loadMs = loadMs;
  const check = checkCitations(run.text, sources.length);
  return {
    question,
    answer: run.text,
    notCovered: false,
    sources,
    dropped,
    citations: {
      ...check,
      citedChunkIds: check.validSources.map((number) => sources[number - 1]?.chunkId as number),
    },
    retrieval: retrievalFigures,
    run,
  };
}
