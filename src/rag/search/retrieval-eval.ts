/**
 * Retrieval quality on a fixed question set: each question names the document that answers
 * it; the documents are indexed into an in-memory store through indexPaths (the real
 * ingest path), every question goes through retrieve(), and a question is a hit at rank r
 * when the r-th retrieved chunk comes from its document. Reported per retrieval mode:
 * recall@1, recall@k (k = 5 by default) and the mean reciprocal rank of the first hit within
 * the top k (a question with no hit there counts 0), with the questions missed.
 */

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { InvalidArgumentError } from '../../errors.js';
import type { Embedder } from '../embedder.js';
import type { ChunkOptions } from '../ingest/chunk.js';
import { indexPaths } from '../ingest/ingest.js';
import { RagStore } from '../rag-store.js';
import { type RetrievalMode, retrieve } from './retrieve.js';

export interface RetrievalQuestion {
  id: string;
  question: string;
  /** The file name (no folder) of the document that answers it. */
  document: string;
}

/** One question's result in one mode. */
export interface QuestionOutcome extends RetrievalQuestion {
  /** 1-based rank of the first retrieved chunk from the answering document; undefined: none in the top k. */
  rank: number | undefined;
  /** The file names of the retrieved chunks, best first. */
  retrieved: string[];
}

export interface RetrievalScores {
  questions: number;
  /** Share of questions whose first retrieved chunk is from the answering document. */
  recallAt1: number;
  /** Share of questions with a chunk from the answering document in the top k. */
  recallAtK: number;
  /** Mean of 1 / rank of the first hit within the top k (0 when there is none). */
  meanReciprocalRank: number;
}

export interface ModeEvaluation extends RetrievalScores {
  mode: RetrievalMode;
  k: number;
  outcomes: QuestionOutcome[];
  /** The questions with no hit in the top k. */
  misses: QuestionOutcome[];
  /** Mean retrieval time per question. */
  meanRetrievalMs: number;
}

export interface RetrievalEvaluation {
  documents: number;
  chunks: number;
  indexMs: number;
  modes: ModeEvaluation[];
}

export interface EvaluateRetrievalOptions {
  /** Chunks retrieved per question (default 5). */
  k?: number;
  /** Modes to run (default bm25, plus vector and hybrid when there is an embedder). */
  modes?: readonly RetrievalMode[];
  /** Makes vectors when indexing and embeds the questions (vector and hybrid modes). */
  embedder?: Embedder;
  chunk?: ChunkOptions;
}

const QuestionSchema = z.object({
  id: z.string().min(1),
  question: z.string().min(1),
  document: z.string().min(1),
});

/** Parses a questions file: one JSON object `{id, question, document}` per line (blank lines skipped). */
export function parseQuestions(text: string, path = 'questions.jsonl'): RetrievalQuestion[] {
  const questions: RetrievalQuestion[] = [];
  const ids = new Set<string>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new InvalidArgumentError(`${path}:${index + 1}: not valid JSON.`);
    }
    const parsed = QuestionSchema.safeParse(value);
    if (!parsed.success) {
      throw new InvalidArgumentError(
        `${path}:${index + 1}: expected {"id", "question", "document"} strings.`,
      );
    }
    if (ids.has(parsed.data.id)) {
      throw new InvalidArgumentError(`${path}:${index + 1}: duplicate id '${parsed.data.id}'.`);
    }
    ids.add(parsed.data.id);
    questions.push(parsed.data);
  }
  return questions;
}

export async function loadQuestions(path: string): Promise<RetrievalQuestion[]> {
  return parseQuestions(await readFile(path, 'utf8'), path);
}

/** The 1-based rank of the first of `retrieved` (file names, best first) that is `document`. */
export function firstHitRank(retrieved: readonly string[], document: string): number | undefined {
  const index = retrieved.indexOf(document);
  return index === -1 ? undefined : index + 1;
}

/** Recall@1, recall@k and MRR of outcomes whose ranks are already limited to the top k. */
export function scoreOutcomes(outcomes: readonly { rank: number | undefined }[]): RetrievalScores {
  const questions = outcomes.length;
  if (questions === 0) {
    return { questions, recallAt1: 0, recallAtK: 0, meanReciprocalRank: 0 };
  }
  let first = 0;
  let found = 0;
  let reciprocal = 0;
  for (const { rank } of outcomes) {
    if (rank === undefined) continue;
    found += 1;
    if (rank === 1) first += 1;
    reciprocal += 1 / rank;
  }
  return {
    questions,
    recallAt1: first / questions,
    recallAtK: found / questions,
    meanReciprocalRank: reciprocal / questions,
  };
}

/**
 * Indexes the files of `documentsFolder` into a fresh in-memory store and runs every question
 * in each mode. Throws when a question names a document that was not indexed.
 */
export async function evaluateRetrieval(
  documentsFolder: string,
  questions: readonly RetrievalQuestion[],
  options: EvaluateRetrievalOptions = {},
): Promise<RetrievalEvaluation> {
  const k = options.k ?? 5;
  const modes: readonly RetrievalMode[] =
    options.modes ?? (options.embedder === undefined ? ['bm25'] : ['bm25', 'vector', 'hybrid']);
  const store = RagStore.open(':memory:');
  try {
    const report = await indexPaths(store, 'retrieval-eval', [documentsFolder], {
      ...(options.chunk === undefined ? {} : { chunk: options.chunk }),
      ...(options.embedder === undefined ? {} : { embedder: options.embedder }),
    });
    const indexed = new Set(
      report.files.filter((file) => file.outcome === 'added').map((file) => basename(file.source)),
    );
    const unknown = questions.filter((question) => !indexed.has(question.document));
    if (unknown.length > 0) {
      throw new InvalidArgumentError(
        `${unknown.length} question(s) name documents that were not indexed from ${documentsFolder}: ${unknown
          .slice(0, 5)
          .map((question) => `${question.id} → ${question.document}`)
          .join(', ')}.`,
      );
    }
    const collection = store.collection('retrieval-eval');
    if (collection === undefined) throw new InvalidArgumentError('The eval collection is missing.');
    const evaluations: ModeEvaluation[] = [];
    for (const mode of modes) {
      const outcomes: QuestionOutcome[] = [];
      let totalMs = 0;
      for (const question of questions) {
        const result = await retrieve(store, collection, question.question, {
          mode,
          k,
          ...(options.embedder === undefined ? {} : { embedder: options.embedder }),
        });
        totalMs += result.elapsedMs;
        const retrieved = result.chunks.map((chunk) => basename(chunk.source));
        outcomes.push({ ...question, rank: firstHitRank(retrieved, question.document), retrieved });
      }
      evaluations.push({
        mode,
        k,
        ...scoreOutcomes(outcomes),
        outcomes,
        misses: outcomes.filter((outcome) => outcome.rank === undefined),
        meanRetrievalMs: questions.length === 0 ? 0 : totalMs / questions.length,
      });
    }
    return {
      documents: indexed.size,
      chunks: report.chunks,
      indexMs: report.elapsedMs,
      modes: evaluations,
    };
  } finally {
    store.close();
  }
}
