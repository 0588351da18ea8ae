import { describe, expect, it } from 'vitest';
import {
  buildVocabulary,
  type CorpusDocument,
  corpusDocuments,
  corpusQueries,
  FREQUENT_RANKS,
} from './rag-corpus.js';

function take(count: number, seed?: string): CorpusDocument[] {
  const documents: CorpusDocument[] = [];
  for (const document of corpusDocuments(seed === undefined ? {} : { seed })) {
    documents.push(document);
    if (documents.length === count) break;
  }
  return documents;
}

describe('corpusDocuments', () => {
  it('gives the same documents for the same seed, and others for another seed', () => {
    const first = take(5);
    expect(take(5)).toEqual(first);
    expect(take(5, 'another seed').map((document) => document.text)).not.toEqual(
      first.map((document) => document.text),
    );
    expect(first.map((document) => document.source)).toEqual([
      'synthetic/doc-000000.md',
      'synthetic/doc-000001.md',
      'synthetic/doc-000002.md',
      'synthetic/doc-000003.md',
      'synthetic/doc-000004.md',
    ]);
  });

  it('writes Markdown with a title, section headings and paragraphs', () => {
    const [document] = take(1);
    const text = document?.text ?? '';
    expect(text.startsWith(`# ${document?.title}\n`)).toBe(true);
    expect(text).toMatch(/\n## \S/);
    expect(text.split('\n\n').length).toBeGreaterThan(4);
    expect(text.length).toBeGreaterThan(1000);
  });

  it('is lazy: an endless generator that computes a document only when asked', () => {
    const generator = corpusDocuments();
    expect(typeof generator.next).toBe('function');
    // The sequence has no end, so it cannot have been built eagerly: that documents come
    // back at all shows they are made on demand.
    let index = -1;
    for (let count = 0; count < 3; count++) index = generator.next().value?.index ?? -1;
    expect(index).toBe(2);
    generator.return(undefined);
    expect(generator.next().done).toBe(true);
  });

  it('draws words with a Zipf-like skew from a few thousand distinct words', () => {
    const vocabulary = buildVocabulary();
    expect(new Set(vocabulary.words).size).toBe(vocabulary.words.length);
    expect(vocabulary.words.length).toBeGreaterThanOrEqual(2000);
    const counts = new Map<string, number>();
    let total = 0;
    for (const document of take(300)) {
      for (const word of document.text.toLowerCase().match(/[a-z]+/g) ?? []) {
        counts.set(word, (counts.get(word) ?? 0) + 1);
        total += 1;
      }
    }
    const frequencies = [...counts.values()].sort((left, right) => right - left);
    const top = frequencies[0] as number;
    const tenth = frequencies[9] as number;
    const hundredth = frequencies[99] as number;
    // Zipf with s = 1: rank 1 about 10× rank 10 and 100× rank 100 (topic words blur the tail).
    expect(top / tenth).toBeGreaterThan(5);
    expect(top / hundredth).toBeGreaterThan(40);
    // The ten most frequent words are about a fifth of all text, as in English.
    const topTen = frequencies.slice(0, 10).reduce((sum, count) => sum + count, 0);
    expect(topTen / total).toBeGreaterThan(0.15);
    expect(topTen / total).toBeLessThan(0.45);
    expect(counts.size).toBeGreaterThan(2000);
  });
});

describe('corpusQueries', () => {
  it('is a fixed set of 2–5 distinct vocabulary words mixing frequent and rare terms', () => {
    const queries = corpusQueries(200);
    expect(corpusQueries(200)).toEqual(queries);
    expect(queries).toHaveLength(200);
    expect(corpusQueries(20)).toEqual(queries.slice(0, 20));
    const { words } = buildVocabulary();
    const rank = new Map(words.map((word, index) => [word, index]));
    for (const query of queries) {
      const terms = query.split(' ');
      expect(terms.length).toBeGreaterThanOrEqual(2);
      expect(terms.length).toBeLessThanOrEqual(5);
      expect(new Set(terms).size).toBe(terms.length);
      const ranks = terms.map((term) => rank.get(term) ?? -1);
      expect(ranks.every((value) => value >= 0)).toBe(true);
      expect(ranks.some((value) => value < FREQUENT_RANKS)).toBe(true);
      expect(ranks.some((value) => value >= FREQUENT_RANKS)).toBe(true);
    }
  });
});
