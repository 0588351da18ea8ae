/**
 * tandem's BM25 postings on their own: the block encoding, the Pareto bounds, blocks kept in
 * step through appends, inserts below existing ids and removals (checked against a plain
 * in-memory model), and MaxScore search against brute-force scoring.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../models/random.js';
import { RagStore } from '../rag-store.js';
import { bm25Contribution, bm25Normaliser } from './bm25.js';
import {
  chunkTerms,
  decodeBlock,
  decodeBounds,
  encodeBlock,
  encodeBounds,
  POSTINGS_BLOCK_SIZE,
  type Posting,
  PostingsIndex,
  TermPostings,
} from './postings.js';

let store: RagStore;
let index: PostingsIndex;
let collectionId: number;
beforeEach(() => {
  store = RagStore.open(':memory:');
  collectionId = store.ensureCollection('postings').id;
  index = new PostingsIndex(store.db);
});
afterEach(() => store.close());

const random = createSeededRandom('postings-test');
const between = (low: number, high: number) => low + (random.nextUint32() % (high - low + 1));

/** A random posting: the term is in the text, the heading, or both (never neither). */
function posting(id: number): Posting {
  const inHeading = between(0, 4) === 0;
  return {
    id,
    textCount: inHeading && between(0, 1) === 0 ? 0 : between(1, 200),
    headingCount: inHeading ? between(1, 3) : 0,
    length: between(1, 400),
  };
}

/** Adds postings of one term (as chunks holding it) through the index's public path. */
function addTerm(term: string, postings: readonly Posting[]): void {
  const gathered = new TermPostings();
  for (const entry of postings) {
    gathered.add(entry.id, {
      counts: new Map([[term, { textCount: entry.textCount, headingCount: entry.headingCount }]]),
      textTerms: entry.length,
      headingTerms: 0,
    });
  }
  store.db.transaction(() => index.add(collectionId, gathered))();
}

function blocksOf(term: string) {
  return store.db
    .prepare(
      'SELECT first_id, last_id, count, postings FROM rag_postings WHERE collection_id = ? AND term = ? ORDER BY first_id',
    )
    .all(collectionId, term) as {
    first_id: number;
    last_id: number;
    count: number;
    postings: Buffer;
  }[];
}

/** Blocks are full-sized at most, never empty, ordered, and say what they hold. */
function expectWellFormed(term: string): void {
  let previousLast = Number.NEGATIVE_INFINITY;
  for (const block of blocksOf(term)) {
    const postings = decodeBlock(block.first_id, block.postings);
    expect(postings.length).toBe(block.count);
    expect(block.count).toBeGreaterThan(0);
    expect(block.count).toBeLessThanOrEqual(POSTINGS_BLOCK_SIZE);
    expect(postings[0]?.id).toBe(block.first_id);
    expect(postings.at(-1)?.id).toBe(block.last_id);
    expect(block.first_id).toBeGreaterThan(previousLast);
    previousLast = block.last_id;
  }
}

describe('postings blocks', () => {
  it('encode and decode postings exactly, multi-byte varints and ids past 2^32 included', () => {
    const postings = [
      { id: 7, textCount: 1, headingCount: 0, length: 12 },
      { id: 300, textCount: 130, headingCount: 2, length: 20_000 },
      { id: 2 ** 33 + 5, textCount: 0, headingCount: 1, length: 1 },
    ];
    expect(decodeBlock(7, encodeBlock(postings))).toEqual(postings);
    // Appended bytes continue from the previous block's last id.
    const appended = [{ id: 2 ** 33 + 9, textCount: 4, headingCount: 0, length: 3 }];
    const joined = Buffer.concat([encodeBlock(postings), encodeBlock(appended, 2 ** 33 + 5)]);
    expect(decodeBlock(7, joined)).toEqual([...postings, ...appended]);
  });

  it('keeps only undominated (frequency, length) pairs, and they bound every posting', () => {
    const postings = Array.from({ length: 128 }, (_, id) => posting(id + 1));
    const bounds = encodeBounds(
      postings.map((entry) => ({
        doubled: 2 * entry.textCount + entry.headingCount,
        length: entry.length,
      })),
    );
    // None of the pairs dominates another.
    const pairs = decodeBounds(bounds).map(({ doubled, length }) => [doubled, length] as const);
    expect(pairs.length).toBeLessThan(postings.length);
    for (const [doubled, length] of pairs) {
      for (const [otherDoubled, otherLength] of pairs) {
        if (doubled === otherDoubled && length === otherLength) continue;
        expect(otherDoubled >= doubled && otherLength <= length).toBe(false);
      }
    }
    // For any average length, the best pair's factor is at least every posting's.
    for (const average of [1, 37.5, 180, 5000]) {
      const best = Math.max(
        ...pairs.map(([doubled, length]) =>
          bm25Contribution(1, doubled / 2, bm25Normaliser(length, average)),
        ),
      );
      for (const entry of postings) {
        const frequency = entry.textCount + 0.5 * entry.headingCount;
        expect(
          bm25Contribution(1, frequency, bm25Normaliser(entry.length, average)),
        ).toBeLessThanOrEqual(best);
      }
    }
  });

  it('counts terms per column as FTS5 tokenizes them', () => {
    const terms = chunkTerms('Lanterns, lanterns! The LANTERN glows.', 'Harbour › Lanterns');
    expect(terms.textTerms).toBe(5);
    expect(terms.headingTerms).toBe(2);
    expect(terms.counts.get('lanterns')).toEqual({ textCount: 2, headingCount: 1 });
    expect(terms.counts.get('harbour')).toEqual({ textCount: 0, headingCount: 1 });
  });
});

describe('postings kept in step', () => {
  it('matches a plain model through appends, inserts below existing ids and removals', () => {
    const model = new Map<number, Posting>();
    const check = () => {
      expectWellFormed('lantern');
      expect(index.termPostings(collectionId, 'lantern')).toEqual(
        [...model.values()].sort((left, right) => left.id - right.id),
      );
    };
    // Appends: a partial block filled, then new blocks.
    let next = 1;
    for (const size of [5, 200, 123, 1, 300]) {
      const batch = Array.from({ length: size }, () => {
        next += between(1, 3);
        return posting(next);
      });
      addTerm('lantern', batch);
      for (const entry of batch) model.set(entry.id, entry);
      check();
    }
    // Ids below and between existing ones (ids reused after deletions): the merge path.
    const below = [...new Set(Array.from({ length: 150 }, () => between(1, next)))]
      .filter((id) => !model.has(id))
      .sort((left, right) => left - right)
      .map(posting);
    addTerm('lantern', below);
    for (const entry of below) model.set(entry.id, entry);
    check();
    // Removals: scattered, a whole block's worth, and the last ones.
    const ids = [...model.keys()].sort((left, right) => left - right);
    const removed = [
      ...ids.filter((_, position) => position % 7 === 3),
      ...ids.slice(200, 340),
      ...ids.slice(-10),
    ];
    store.db.transaction(() =>
      index.remove(
        collectionId,
        removed.map((id) => ({ id, text: 'the lantern', heading: '' })),
      ),
    )();
    for (const id of removed) model.delete(id);
    check();
    // Everything removed: no block is left.
    store.db.transaction(() =>
      index.remove(
        collectionId,
        [...model.keys()].map((id) => ({ id, text: 'lantern', heading: '' })),
      ),
    )();
    expect(blocksOf('lantern')).toEqual([]);
  });
});

describe('postings search', () => {
  /** Brute force: every posting of every term, summed in the query's order. */
  function bruteForce(
    terms: Map<string, Posting[]>,
    query: { term: string; idf: number }[],
    average: number,
  ) {
    const scores = new Map<number, number>();
    for (const { term, idf } of query) {
      for (const entry of terms.get(term) ?? []) {
        const frequency = entry.textCount + 0.5 * entry.headingCount;
        scores.set(
          entry.id,
          (scores.get(entry.id) ?? 0) +
            bm25Contribution(idf, frequency, bm25Normaliser(entry.length, average)),
        );
      }
    }
    return [...scores]
      .map(([id, score]) => ({ id, score }))
      .sort((left, right) => right.score - left.score || left.id - right.id);
  }

  it('finds the same best chunks as scoring every posting, for rare, common and missing terms', () => {
    const terms = new Map<string, Posting[]>();
    const shares = { rare: 0.003, uncommon: 0.03, middle: 0.15, common: 0.6, everywhere: 0.97 };
    for (const [term, share] of Object.entries(shares)) {
      const postings: Posting[] = [];
      for (let id = 1; id <= 6000; id++) {
        if (random.nextUnit() < share) postings.push(posting(id));
      }
      terms.set(term, postings);
      addTerm(term, postings);
    }
    const idf = { rare: 7.1, uncommon: 3.4, middle: 1.7, common: 0.4, everywhere: 1e-6 };
    const names = Object.keys(shares);
    let lookups = 0;
    for (let round = 0; round < 120; round++) {
      const chosen = names.filter(() => random.nextUnit() < 0.6);
      if (round % 10 === 0) chosen.push('missing');
      const query = chosen.map((term) => ({ term, idf: idf[term as keyof typeof idf] ?? 1 }));
      const k = [1, 5, 20, 10_000][round % 4] as number;
      const average = [50, 200, 400][round % 3] as number;
      const result = index.search(collectionId, query, k, average);
      if (result === undefined) throw new Error('search fell back');
      if (result.statistics.lookupTerms > 0) lookups += 1;
      const expected = bruteForce(terms, query, average).slice(0, k);
      const found = result.candidates.slice(0, expected.length);
      expect(found.map((entry) => entry.id)).toEqual(expected.map((entry) => entry.id));
      for (const [position, entry] of found.entries()) {
        expect(entry.score).toBeCloseTo(expected[position]?.score as number, 9);
      }
      // Anything past the k-th is only a tie within rounding.
      for (const extra of result.candidates.slice(k)) {
        expect(extra.score).toBeCloseTo(expected.at(-1)?.score as number, 9);
      }
    }
    expect(lookups).toBeGreaterThan(10);
  });
});
