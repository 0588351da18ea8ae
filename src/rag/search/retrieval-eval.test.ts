import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../errors.js';
import { type Embedder, normalized } from '../embedder.js';
import {
  evaluateRetrieval,
  firstHitRank,
  loadQuestions,
  parseQuestions,
  type RetrievalQuestion,
  scoreOutcomes,
} from './retrieval-eval.js';

const EVAL_FOLDER = fileURLToPath(new URL('../../../datasets/retrieval/', import.meta.url));

/**
 * BM25 recall@5 on the repository's set, measured at 67 of 70 (95.7%) when the set was
 * written; the floor allows two more misses before it fails.
 */
const BM25_RECALL_AT_5_FLOOR = 0.92;
const BM25_MRR_FLOOR = 0.8;

describe('scoreOutcomes', () => {
  it('computes recall@1, recall@k and MRR from the ranks of the first hits', () => {
    // Ranks 1, 2, none, 5: recall@1 = 1/4, recall@k = 3/4, MRR = (1 + 1/2 + 0 + 1/5) / 4.
    const scores = scoreOutcomes([{ rank: 1 }, { rank: 2 }, { rank: undefined }, { rank: 5 }]);
    expect(scores.questions).toBe(4);
    expect(scores.recallAt1).toBe(0.25);
    expect(scores.recallAtK).toBe(0.75);
    expect(scores.meanReciprocalRank).toBeCloseTo(1.7 / 4, 12);
  });

  it('is all zeros for no questions and all ones when every first chunk is right', () => {
    expect(scoreOutcomes([])).toEqual({
      questions: 0,
      recallAt1: 0,
      recallAtK: 0,
      meanReciprocalRank: 0,
    });
    expect(scoreOutcomes([{ rank: 1 }, { rank: 1 }])).toEqual({
      questions: 2,
      recallAt1: 1,
      recallAtK: 1,
      meanReciprocalRank: 1,
    });
  });
});

describe('firstHitRank', () => {
  it('is the 1-based rank of the first chunk from the document, undefined when absent', () => {
    expect(firstHitRank(['a.md', 'b.md', 'b.md'], 'b.md')).toBe(2);
    expect(firstHitRank(['a.md'], 'a.md')).toBe(1);
    expect(firstHitRank(['a.md', 'c.md'], 'b.md')).toBeUndefined();
    expect(firstHitRank([], 'b.md')).toBeUndefined();
  });
});

describe('parseQuestions', () => {
  it('reads one question per line and skips blank lines', () => {
    const text =
      '{"id":"q1","question":"Where?","document":"a.md"}\n\n{"id":"q2","question":"When?","document":"b.md"}\n';
    expect(parseQuestions(text)).toEqual([
      { id: 'q1', question: 'Where?', document: 'a.md' },
      { id: 'q2', question: 'When?', document: 'b.md' },
    ]);
  });

  it('names the line of invalid JSON, a missing field or a duplicate id', () => {
    expect(() => parseQuestions('{"id":', 'set.jsonl')).toThrow(/set\.jsonl:1: not valid JSON/);
    expect(() => parseQuestions('{"id":"q","question":"x"}')).toThrow(InvalidArgumentError);
    const duplicate =
      '{"id":"q","question":"x","document":"a.md"}\n{"id":"q","question":"y","document":"a.md"}';
    expect(() => parseQuestions(duplicate)).toThrow(/:2: duplicate id 'q'/);
  });
});

/** A bag-of-words embedder: each word hashed into one of 64 dimensions. */
const wordEmbedder: Embedder = {
  model: 'test-words',
  async embed(texts) {
    return texts.map((text) => {
      const values = new Array<number>(64).fill(0);
      for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
        let hash = 0;
        for (const character of word) hash = (hash * 31 + character.charCodeAt(0)) % 64;
        values[hash] = (values[hash] ?? 0) + 1;
      }
      return normalized(values);
    });
  },
};

describe('evaluateRetrieval on a tiny fake set', () => {
  let folder: string;
  const questions: RetrievalQuestion[] = [
    { id: 'cats', question: 'What do cats like to eat?', document: 'cats.md' },
    { id: 'boats', question: 'How are sailing boats steered?', document: 'boats.md' },
    { id: 'nowhere', question: 'quantum chromodynamics', document: 'cats.md' },
  ];

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tandem-retrieval-eval-'));
    await writeFile(
      join(folder, 'cats.md'),
      '# Cats\n\nCats like to eat fish and chicken. Cats sleep most of the day.\n',
    );
    await writeFile(
      join(folder, 'boats.md'),
      '# Boats\n\nSailing boats are steered with a rudder and a tiller or a wheel.\n',
    );
    await writeFile(
      join(folder, 'bread.md'),
      '# Bread\n\nBread is baked from flour, water, salt and yeast.\n',
    );
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('finds each answering document with BM25 and lists the misses', async () => {
    const evaluation = await evaluateRetrieval(folder, questions);
    expect(evaluation.documents).toBe(3);
    expect(evaluation.modes.map((mode) => mode.mode)).toEqual(['bm25']);
    const [bm25] = evaluation.modes;
    expect(bm25?.outcomes.map((outcome) => outcome.rank)).toEqual([1, 1, undefined]);
    expect(bm25?.recallAt1).toBeCloseTo(2 / 3, 12);
    expect(bm25?.recallAtK).toBeCloseTo(2 / 3, 12);
    expect(bm25?.meanReciprocalRank).toBeCloseTo(2 / 3, 12);
    expect(bm25?.misses.map((miss) => miss.id)).toEqual(['nowhere']);
  });

  it('runs vector and hybrid retrieval too when given an embedder', async () => {
    const evaluation = await evaluateRetrieval(folder, questions.slice(0, 2), {
      embedder: wordEmbedder,
      k: 2,
    });
    expect(evaluation.modes.map((mode) => mode.mode)).toEqual(['bm25', 'vector', 'hybrid']);
    for (const mode of evaluation.modes) {
      expect(mode.k).toBe(2);
      expect(mode.outcomes).toHaveLength(2);
      for (const outcome of mode.outcomes) expect(outcome.retrieved.length).toBeLessThanOrEqual(2);
    }
    expect(evaluation.modes[2]?.recallAtK).toBe(1);
  });

  it('refuses questions that name a document that is not in the folder', async () => {
    await expect(
      evaluateRetrieval(folder, [{ id: 'x', question: 'cats', document: 'dogs.md' }]),
    ).rejects.toThrow(/x → dogs\.md/);
  });
});

describe("the repository's retrieval set (datasets/retrieval)", () => {
  it('has about 25 documents of 200–600 words and questions that each name one of them', async () => {
    const documents = (await readdir(join(EVAL_FOLDER, 'documents'))).filter((name) =>
      name.endsWith('.md'),
    );
    expect(documents.length).toBeGreaterThanOrEqual(20);
    for (const name of documents) {
      const text = await readFile(join(EVAL_FOLDER, 'documents', name), 'utf8');
      const words = text.split(/\s+/).filter(Boolean).length;
      expect(words, name).toBeGreaterThanOrEqual(200);
      expect(words, name).toBeLessThanOrEqual(600);
    }
    const questions = await loadQuestions(join(EVAL_FOLDER, 'questions.jsonl'));
    expect(questions.length).toBeGreaterThanOrEqual(50);
    const named = new Set(questions.map((question) => question.document));
    for (const document of named) expect(documents).toContain(document);
    // Every document is asked about.
    expect(named.size).toBe(documents.length);
  });

  it(`keeps BM25 recall@5 at or above ${BM25_RECALL_AT_5_FLOOR} and MRR at or above ${BM25_MRR_FLOOR}`, async () => {
    const questions = await loadQuestions(join(EVAL_FOLDER, 'questions.jsonl'));
    const evaluation = await evaluateRetrieval(join(EVAL_FOLDER, 'documents'), questions);
    const [bm25] = evaluation.modes;
    const misses = bm25?.misses.map((miss) => `${miss.id} → ${miss.retrieved.join(', ')}`);
    expect(bm25?.recallAtK ?? 0, `misses:\n${misses?.join('\n')}`).toBeGreaterThanOrEqual(
      BM25_RECALL_AT_5_FLOOR,
    );
    expect(bm25?.meanReciprocalRank ?? 0).toBeGreaterThanOrEqual(BM25_MRR_FLOOR);
  });
});
