/**
 * The RAG pipeline on real SQLite: incremental indexing, BM25 with hostile queries, vectors
 * and hybrid fusion, the not-covered path, citation checks, and context fitting.
 */

import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine, GenerateRequest, StreamPart } from '../engines/spec.js';
import { askGrounded, fitSources, NOT_COVERED_ANSWER } from './ask.js';
import type { Embedder } from './embedder.js';
import { normalized } from './embedder.js';
import { DocumentBatch } from './ingest/document-batch.js';
import { indexPaths, indexTexts } from './ingest/ingest.js';
import { type RagCollection, RagStore } from './rag-store.js';
import { queryTerms, termsMatchExpression } from './search/fts-query.js';
import { decodeBlock, type Posting, PostingsIndex } from './search/postings.js';
import { reciprocalRankFusion, retrieve } from './search/retrieve.js';
import type { RetrievedChunk } from './search/retrieved-chunk.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-rag-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let store: RagStore;
beforeEach(() => {
  store = RagStore.open(':memory:');
});
afterEach(() => store.close());

const DOCUMENTS = {
  'travel.md':
    '# Travel policy\n\nEmployees book flights through the travel desk.\n\n## Hotels\n\nHotel stays are reimbursed up to 180 euros per night in Paris.\n',
  'leave.md':
    '# Leave policy\n\nEveryone has 25 days of paid leave per year.\n\n## Carry-over\n\nUp to five unused days carry over to March.\n',
  'gpu.txt': 'The GPU needs 16 GB of memory to hold the large model with its KV cache.',
};

function writeDocuments(folder: string): void {
  for (const [name, text] of Object.entries(DOCUMENTS)) writeFileSync(join(folder, name), text);
}

/** A deterministic embedder: a bag of hashed words, so related texts share dimensions. */
function wordEmbedder(model = 'test-embedder', dimensions = 64): Embedder & { calls: number } {
  const embedder = {
    model,
    calls: 0,
    async embed(texts: readonly string[]) {
      embedder.calls += 1;
      return texts.map((text) => {
        const vector = new Array<number>(dimensions).fill(0);
        for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
          let hash = 0;
          for (const character of word) hash = (hash * 31 + character.charCodeAt(0)) % dimensions;
          vector[hash] = (vector[hash] as number) + 1;
        }
        return normalized(vector);
      });
    },
  };
  return embedder;
}

/** An engine that answers with a fixed text, token by token, and records what it was asked. */
function scriptedEngine(answer: string, contextSize = 4096) {
  const requests: GenerateRequest[] = [];
  const engine: Engine = {
    info: { engine: 'llama', reference: 'scripted', model: 'scripted', contextSize },
    async load() {},
    async dispose() {},
    async countTokens(text: string) {
      return Math.ceil(text.length / 4);
    },
    async *stream(request): AsyncGenerator<StreamPart> {
      requests.push(request);
      yield { type: 'request-start', attempt: 1 };
      for (const word of answer.split(/(?<= )/))
        yield { type: 'text-delta', text: word, tokenCount: 1 };
      yield {
        type: 'finish',
        finishReason: 'stop',
        usage: {
          inputTokens: 10,
          outputTokens: answer.split(' ').length,
          reasoningTokens: undefined,
        },
        usageSource: 'engine',
      };
    },
  };
  return { engine, requests };
}

describe('indexing', () => {
  it('indexes a folder, skips unchanged files, replaces changed ones and prunes removed ones', async () => {
    const folder = mkdtempSync(join(scratch, 'docs-'));
    writeDocuments(folder);
    const first = await indexPaths(store, 'policies', [folder]);
    expect(first).toMatchObject({ added: 3, updated: 0, unchanged: 0, skipped: 0 });
    expect(first.chunks).toBeGreaterThanOrEqual(3);

    const again = await indexPaths(store, 'policies', [folder]);
    expect(again).toMatchObject({ added: 0, updated: 0, unchanged: 3, chunks: 0 });

    writeFileSync(join(folder, 'gpu.txt'), 'The GPU now needs 24 GB for the large model.');
    const changed = await indexPaths(store, 'policies', [folder]);
    expect(changed).toMatchObject({ updated: 1, unchanged: 2 });
    const collection = store.collection('policies') as RagCollection;
    expect(store.searchBm25(collection, '16 GB', 5).map((chunk) => chunk.text)).not.toContain(
      DOCUMENTS['gpu.txt'],
    );
    expect(store.searchBm25(collection, '24', 5)[0]?.source).toBe(join(folder, 'gpu.txt'));

    unlinkSync(join(folder, 'leave.md'));
    // A missing root given with --prune prunes nothing (an unmounted folder is not a deletion).
    const careful = await indexPaths(store, 'policies', [folder, join(scratch, 'not-mounted')], {
      prune: true,
    });
    expect(careful.removed).toBe(0);
    const pruned = await indexPaths(store, 'policies', [folder], { prune: true });
    expect(pruned.removed).toBe(1);
    // The FTS index follows the chunks exactly (triggers on insert and cascade delete).
    store.db
      .prepare("INSERT INTO rag_chunks_fts (rag_chunks_fts, rank) VALUES ('integrity-check', 1)")
      .run();
    const counts = store.db
      .prepare(
        'SELECT (SELECT COUNT(*) FROM rag_chunks) AS chunks, (SELECT COUNT(*) FROM rag_chunks_fts) AS indexed',
      )
      .get() as { chunks: number; indexed: number };
    expect(counts.indexed).toBe(counts.chunks);
    expect(store.removeCollection('policies')).toBe(true);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM rag_chunks_fts').get()).toEqual({ n: 0 });
  });

  it('writes in batches, reports each file once committed and in order', async () => {
    const collection = store.ensureCollection('batched');
    const committed: string[] = [];
    const batch = new DocumentBatch<string>(store, collection, (note) => committed.push(note), {
      chunks: 3,
    });
    const write = (source: string, chunkCount: number) => ({
      document: { source, kind: 'inline', title: undefined, contentSha256: source, sizeBytes: 1 },
      chunks: Array.from({ length: chunkCount }, (_, index) => ({
        index,
        text: `${source} lantern ${index}`,
        headingPath: [],
        start: 0,
        end: 1,
        tokenCount: 3,
      })),
    });
    batch.note('skipped-first');
    batch.add(write('a', 1), 'a');
    batch.note('unchanged-after-a');
    expect(committed).toEqual(['skipped-first']);
    expect(store.documents(collection.id)).toHaveLength(0);
    batch.add(write('b', 2), 'b');
    // Three chunks pending: one transaction wrote both documents, then their notes in order.
    expect(committed).toEqual(['skipped-first', 'a', 'unchanged-after-a', 'b']);
    expect(store.documents(collection.id).map((document) => document.source)).toEqual(['a', 'b']);
    batch.add(write('c', 1), 'c');
    batch.commit();
    expect(committed.at(-1)).toBe('c');
    expect(store.searchBm25(collection, 'lantern', 10)).toHaveLength(4);
  });

  it('indexes a file given twice, or inside two folders given, once', async () => {
    const folder = mkdtempSync(join(scratch, 'twice-'));
    writeDocuments(folder);
    const report = await indexPaths(store, 'twice', [folder, join(folder, 'gpu.txt'), folder]);
    expect(report).toMatchObject({ added: 3, skipped: 0 });
    expect(report.files.map((file) => file.source).sort()).toEqual(
      Object.keys(DOCUMENTS)
        .map((name) => join(folder, name))
        .sort(),
    );
  });

  it('keeps the files indexed before it was stopped', async () => {
    const folder = mkdtempSync(join(scratch, 'stopped-'));
    writeDocuments(folder);
    const controller = new AbortController();
    const embedder = wordEmbedder();
    const embed = embedder.embed.bind(embedder);
    embedder.embed = async (texts: readonly string[]) => {
      // The third file is being embedded when the user stops; the embedder gives up.
      if (embedder.calls === 2) {
        controller.abort();
        throw new Error('The operation was aborted.');
      }
      return embed(texts);
    };
    const done: string[] = [];
    await expect(
      indexPaths(store, 'stopped', [folder], {
        embedder,
        signal: controller.signal,
        onFile: (file) => done.push(file.source),
      }),
    ).rejects.toThrow('Indexing stopped; files done so far are kept.');
    const collection = store.collection('stopped') as RagCollection;
    expect(store.documents(collection.id).map((document) => document.source)).toEqual(done.sort());
    expect(done).toHaveLength(2);
  });

  it('skips unreadable, binary, oversized and unsupported files with a reason, and keeps going', async () => {
    const folder = mkdtempSync(join(scratch, 'mixed-'));
    writeDocuments(folder);
    writeFileSync(join(folder, 'binary.txt'), Buffer.from([0x41, 0x00, 0x42, 0x00, 0x01, 0x02]));
    writeFileSync(join(folder, 'broken.pdf'), 'not a pdf at all');
    writeFileSync(join(folder, 'big.md'), `# Big\n\n${'word '.repeat(5000)}`);
    writeFileSync(join(folder, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const report = await indexPaths(
      store,
      'mixed',
      [folder, join(folder, 'image.png'), join(folder, 'missing.md')],
      {
        maxFileBytes: 10_000,
      },
    );
    const skipped = Object.fromEntries(
      report.files
        .filter((file) => file.outcome === 'skipped')
        .map((file) => [file.source.split('/').pop(), file.reason]),
    );
    expect(report.added).toBe(3);
    expect(skipped['binary.txt']).toMatch(/binary/);
    expect(skipped['broken.pdf']).toMatch(/PDF|pdf/);
    expect(skipped['big.md']).toMatch(/over the 10 kB limit|over the .* limit/);
    expect(skipped['image.png']).toMatch(/unsupported type/);
    expect(skipped['missing.md']).toMatch(/no such file/);
    for (const reason of Object.values(skipped)) expect(reason).not.toContain('\n');
  });

  it('keeps chunk offsets into the document and heading paths', async () => {
    await indexTexts(store, 'inline', [DOCUMENTS['travel.md']]);
    const collection = store.collection('inline') as RagCollection;
    const [hit] = store.searchBm25(collection, 'hotel reimbursed', 1);
    expect(hit?.headingPath).toEqual(['Travel policy', 'Hotels']);
    expect(DOCUMENTS['travel.md'].slice(hit?.start, hit?.end)).toBe(hit?.text);
  });
});

describe('retrieval', () => {
  it('never lets user text break FTS5 or reach SQL', async () => {
    await indexTexts(store, 'inline', Object.values(DOCUMENTS));
    const collection = store.collection('inline') as RagCollection;
    for (const hostile of [
      '"',
      "'; DROP TABLE rag_chunks; --",
      'NOT AND OR',
      'text:hotel',
      'heading:Hotels OR (',
      'NEAR(hotel paris)',
      '*',
      '^hotel',
      'hotel" OR "leave',
      '',
      '   ',
    ]) {
      const result = await retrieve(store, collection, hostile, { k: 3 });
      expect(Array.isArray(result.chunks)).toBe(true);
    }
    expect((await retrieve(store, collection, 'text:hotel', { k: 1 })).chunks[0]?.text).toMatch(
      /Hotel/,
    );
    expect(store.collection('inline')?.chunkCount).toBeGreaterThan(0);
  });

  it('ranks by BM25, and applies k and the score cutoff', async () => {
    await indexTexts(store, 'inline', Object.values(DOCUMENTS));
    const collection = store.collection('inline') as RagCollection;
    const result = await retrieve(store, collection, 'how many days of paid leave', { k: 2 });
    expect(result.chunks[0]?.text).toMatch(/25 days of paid leave/);
    expect(result.chunks.length).toBeLessThanOrEqual(2);
    const scores = result.chunks.map((chunk) => chunk.score);
    expect([...scores].sort((left, right) => right - left)).toEqual(scores);
    const cut = await retrieve(store, collection, 'how many days of paid leave', {
      k: 5,
      minScore: (scores[0] as number) + 1,
    });
    expect(cut.chunks).toEqual([]);
    expect(cut.candidates).toBeGreaterThan(0);
  });

  it('finds chunks by vectors and fuses both lists in hybrid mode', async () => {
    const embedder = wordEmbedder();
    await indexTexts(store, 'inline', Object.values(DOCUMENTS), { embedder });
    const collection = store.collection('inline') as RagCollection;
    expect(collection.embeddingModel).toBe('test-embedder');
    const vector = await retrieve(store, collection, 'memory of the GPU', {
      mode: 'vector',
      k: 2,
      embedder,
    });
    expect(vector.chunks[0]?.text).toMatch(/GPU/);
    expect(vector.chunks[0]?.score).toBeGreaterThan(0);
    const hybrid = await retrieve(store, collection, 'GPU memory', {
      mode: 'hybrid',
      k: 3,
      embedder,
    });
    expect(hybrid.chunks[0]?.text).toMatch(/GPU/);
    await expect(
      retrieve(store, collection, 'GPU', { mode: 'vector', embedder: wordEmbedder('other') }),
    ).rejects.toThrow(/embedded with test-embedder, not other/);
    await indexTexts(store, 'plain', ['no vectors here']);
    await expect(
      retrieve(store, store.collection('plain') as RagCollection, 'x', {
        mode: 'vector',
        embedder,
      }),
    ).rejects.toThrow(/has no vectors: index it with --embed-model/);
  });

  it('keeps the vectors of a collection complete: one model, no documents without vectors', async () => {
    const embedder = wordEmbedder();
    await indexTexts(store, 'vectors', ['first text'], { embedder });
    await expect(indexTexts(store, 'vectors', ['second'])).rejects.toThrow(
      /has vectors from test-embedder: index with --embed-model test-embedder/,
    );
    await expect(
      indexTexts(store, 'vectors', ['second'], { embedder: wordEmbedder('other') }),
    ).rejects.toThrow(/has vectors from test-embedder/);
    await indexTexts(store, 'plain', ['no vectors']);
    await expect(indexTexts(store, 'plain', ['more'], { embedder })).rejects.toThrow(
      /already has documents without vectors/,
    );
  });

  it('fuses ranked lists by weighted reciprocal rank', () => {
    const chunk = (chunkId: number): RetrievedChunk => ({
      chunkId,
      documentId: 1,
      source: 's',
      title: undefined,
      headingPath: [],
      text: `chunk ${chunkId}`,
      start: 0,
      end: 1,
      score: 0,
    });
    const lexical = [chunk(1), chunk(2), chunk(3)];
    const semantic = [chunk(3), chunk(4), chunk(1)];
    const fused = reciprocalRankFusion([lexical, semantic], [0.5, 0.5], 60);
    // 1: .5/61 + .5/63; 3: .5/63 + .5/61 — a tie broken by first appearance; then 2, 4.
    expect(fused.map((item) => item.chunkId)).toEqual([1, 3, 2, 4]);
    expect(fused[0]?.score).toBeCloseTo(0.5 / 61 + 0.5 / 63, 12);
    const lexicalOnly = reciprocalRankFusion([lexical, semantic], [1, 0], 60);
    expect(lexicalOnly.slice(0, 3).map((item) => item.chunkId)).toEqual([1, 2, 3]);
  });
});

describe('grounded answers', () => {
  it('says the documents do not cover a question without calling the model', async () => {
    await indexTexts(store, 'inline', Object.values(DOCUMENTS));
    const { engine, requests } = scriptedEngine('should not be called');
    const answer = await askGrounded(
      store,
      store.collection('inline') as RagCollection,
      'quantum chromodynamics',
      { engine },
    );
    expect(answer).toMatchObject({ notCovered: true, answer: NOT_COVERED_ANSWER, run: undefined });
    expect(requests).toHaveLength(0);
  });

  it('numbers the sources in the prompt, streams, and checks valid, invalid and missing citations', async () => {
    await indexTexts(store, 'inline', Object.values(DOCUMENTS));
    const collection = store.collection('inline') as RagCollection;
    const valid = scriptedEngine('Hotels are reimbursed up to 180 euros [1].');
    const answer = await askGrounded(store, collection, 'hotel reimbursed Paris', {
      engine: valid.engine,
      retrieval: { k: 2 },
    });
    const prompt = valid.requests[0]?.messages.map((message) => message.content).join('\n') ?? '';
    expect(prompt).toMatch(/only the numbered sources/);
    expect(prompt).toMatch(
      /\[1\] doc-1 › Travel policy › Hotels\n## Hotels\n\nHotel stays are reimbursed/,
    );
    expect(prompt).toMatch(/Question: hotel reimbursed Paris/);
    expect(answer.answer).toBe('Hotels are reimbursed up to 180 euros [1].');
    expect(answer.citations).toMatchObject({
      validSources: [1],
      invalidSources: [],
      uncited: false,
    });
    expect(answer.citations?.citedChunkIds).toEqual([answer.sources[0]?.chunkId]);
    expect(answer.run?.outputTokensSource).toBe('engine');
    expect(answer.retrieval.mode).toBe('bm25');

    const invalid = await askGrounded(store, collection, 'hotel reimbursed Paris', {
      engine: scriptedEngine('It is 180 euros [7].').engine,
      retrieval: { k: 2 },
    });
    expect(invalid.citations).toMatchObject({ validSources: [], invalidSources: [7] });
    const uncited = await askGrounded(store, collection, 'hotel reimbursed Paris', {
      engine: scriptedEngine('It is 180 euros.').engine,
    });
    expect(uncited.citations?.uncited).toBe(true);
  });

  it('fits the sources to the context window and reports what was left out', async () => {
    const long = Array.from(
      { length: 6 },
      (_, index) => `Hotel rule ${index}: ${'paris hotel night '.repeat(60)}`,
    );
    await indexTexts(store, 'inline', long, { chunk: { targetTokens: 400 } });
    const collection = store.collection('inline') as RagCollection;
    const { engine, requests } = scriptedEngine('ok [1]', 1024);
    const answer = await askGrounded(store, collection, 'paris hotel night', {
      engine,
      maxTokens: 256,
      retrieval: { k: 6 },
    });
    expect(answer.sources.length).toBeGreaterThanOrEqual(1);
    expect(answer.dropped.length).toBeGreaterThanOrEqual(1);
    expect(answer.sources.length + answer.dropped.length).toBe(6);
    expect(answer.dropped[0]?.reason).toMatch(/does not fit in the context window/);
    const promptTokens = Math.ceil(
      (requests[0]?.messages.map((message) => message.content).join('') ?? '').length / 4,
    );
    expect(promptTokens).toBeLessThanOrEqual(1024 - 256);
  });

  it('refuses an answer length that leaves no room for sources', async () => {
    await indexTexts(store, 'inline', Object.values(DOCUMENTS));
    const { engine, requests } = scriptedEngine('x', 512);
    await expect(
      askGrounded(store, store.collection('inline') as RagCollection, 'hotel', {
        engine,
        maxTokens: 500,
      }),
    ).rejects.toThrow(
      /--max-tokens 500 leaves no room for sources in scripted's 512-token context/,
    );
    expect(requests).toHaveLength(0);
  });

  it('shortens the best source when it alone does not fit', async () => {
    const chunk: RetrievedChunk = {
      chunkId: 1,
      documentId: 1,
      source: 'a.md',
      title: undefined,
      headingPath: [],
      text: 'x'.repeat(4000),
      start: 0,
      end: 4000,
      score: 1,
    };
    const { kept, dropped } = await fitSources([chunk], 100, (text) => Math.ceil(text.length / 4));
    expect(dropped).toEqual([]);
    expect(kept[0]?.truncated).toBe(true);
    expect(Math.ceil(`[1] a.md\n${kept[0]?.text}`.length / 4)).toBeLessThanOrEqual(100);
  });
});

/** FTS5 scoring every match of a query's terms: what searchBm25 must return exactly. */
function fts5TopK(target: RagStore) {
  const full = target.db.prepare(
    `SELECT c.id AS chunkId, -bm25(rag_chunks_fts, 1.0, 0.5) AS score
     FROM rag_chunks_fts JOIN rag_chunks c ON c.id = rag_chunks_fts.rowid
     JOIN rag_documents d ON d.id = c.document_id
     WHERE rag_chunks_fts MATCH ? AND d.collection_id = ?
     ORDER BY bm25(rag_chunks_fts, 1.0, 0.5) LIMIT ?`,
  );
  return (query: string, collectionId: number, k: number) =>
    full.all(termsMatchExpression(queryTerms(query)), collectionId, k) as {
      chunkId: number;
      score: number;
    }[];
}

/** Compares searchBm25 with {@link fts5TopK} for every query and k: ids, and scores to 1e-9. */
async function expectFts5Results(
  target: RagStore,
  collection: RagCollection,
  queries: readonly string[],
  ks: readonly number[],
): Promise<number> {
  const full = fts5TopK(target);
  let compared = 0;
  for (const query of queries) {
    for (const k of ks) {
      const expected = full(query, collection.id, k);
      const actual = target.searchBm25(collection, query, k);
      expect(target.lastBm25Plan, query).toBe('postings');
      expect(
        actual.map((chunk) => chunk.chunkId),
        `${query} (k=${k})`,
      ).toEqual(expected.map((row) => row.chunkId));
      for (const [index, chunk] of actual.entries()) {
        expect(chunk.score).toBeCloseTo(expected[index]?.score as number, 9);
      }
      compared += 1;
    }
  }
  return compared;
}

/** Every term's postings in a collection, decoded, keyed by term. */
function allPostings(target: RagStore, collectionId: number): Map<string, Posting[]> {
  const rows = target.db
    .prepare(
      'SELECT term, first_id, postings FROM rag_postings WHERE collection_id = ? ORDER BY term, first_id',
    )
    .all(collectionId) as { term: string; first_id: number; postings: Buffer }[];
  const byTerm = new Map<string, Posting[]>();
  for (const row of rows) {
    const list = byTerm.get(row.term) ?? [];
    list.push(...decodeBlock(row.first_id, row.postings));
    byTerm.set(row.term, list);
  }
  return byTerm;
}

describe("BM25 on tandem's postings", () => {
  async function corpusTexts(count: number, seed: string): Promise<string[]> {
    const { corpusDocuments } = await import('../../test/support/rag-corpus.js');
    const texts: string[] = [];
    for (const document of corpusDocuments({ seed })) {
      texts.push(document.text);
      if (texts.length >= count) break;
    }
    return texts;
  }

  it('returns exactly what FTS5 scoring every match returns, ids and scores', async () => {
    const texts = await corpusTexts(150, 'exactness');
    await indexTexts(store, 'corpus', texts);
    await indexTexts(
      store,
      'other',
      texts.slice(0, 20).map((text) => text.toUpperCase()),
    );
    const collection = store.collection('corpus') as RagCollection;
    expect(collection.chunkCount).toBeGreaterThan(1000);
    const { corpusQueries } = await import('../../test/support/rag-corpus.js');
    const queries = corpusQueries(120, { seed: 'exactness' });
    let lookups = 0;
    let skipped = 0;
    const originalSearch = store.searchBm25.bind(store);
    store.searchBm25 = (target, query, k) => {
      const result = originalSearch(target, query, k);
      const work = store.lastPostingsSearch;
      if (work !== undefined && work.lookupTerms > 0) {
        lookups += 1;
        if (work.candidatesLookedUp > 0) skipped += 1;
      }
      return result;
    };
    expect(await expectFts5Results(store, collection, queries, [1, 5, 20])).toBe(360);
    // MaxScore did its work: most queries looked the common terms up for candidates only.
    expect(lookups).toBeGreaterThan(180);
    expect(skipped).toBeGreaterThan(0);
  });

  it('stays exact as documents are replaced and removed, and equals a rebuild', async () => {
    const texts = await corpusTexts(60, 'changes');
    await indexTexts(store, 'changing', texts);
    const changed = texts.map((text, index) =>
      index % 4 === 1 ? `${text}\n\nAn added paragraph about harbour lanterns.` : text,
    );
    await indexTexts(store, 'changing', changed);
    let collection = store.collection('changing') as RagCollection;
    for (const source of ['doc-3', 'doc-60', 'doc-17']) {
      expect(store.removeDocument(collection, source)).toBe(true);
    }
    // New chunks after the removals (ids past the highest, reusing the removed last ones).
    await indexTexts(store, 'changing', [...changed.slice(0, 59), texts[59] as string]);
    collection = store.collection('changing') as RagCollection;
    const { corpusQueries } = await import('../../test/support/rag-corpus.js');
    await expectFts5Results(
      store,
      collection,
      [...corpusQueries(40, { seed: 'changes' }), 'harbour lanterns'],
      [3, 10],
    );
    const maintained = allPostings(store, collection.id);
    store.db.transaction(() => new PostingsIndex(store.db).rebuild(collection.id))();
    expect(allPostings(store, collection.id)).toEqual(maintained);
    // Removing the collection removes its postings.
    store.removeCollection('changing');
    expect(store.db.prepare('SELECT COUNT(*) FROM rag_postings').pluck().get()).toBe(0);
  });

  it("gives FTS5's exact scores and tie order on a corpus full of near-ties", async () => {
    // A 30-word vocabulary, repeated chunk texts and headings, two collections, batches of
    // random sizes, removals between rounds: scores tie or differ in the last bit often.
    const { createSeededRandom } = await import('../models/random.js');
    const random = createSeededRandom('near-ties');
    const pick = <T>(items: readonly T[]) => items[random.nextUint32() % items.length] as T;
    const word = () => `w${Math.floor(random.nextUnit() ** 2.5 * 30)}`;
    const text = () => Array.from({ length: 1 + (random.nextUint32() % 12) }, word).join(' ');
    const repeated = [text(), text(), text()];
    const collections = [store.ensureCollection('ties-a'), store.ensureCollection('ties-b')];
    const full = fts5TopK(store);
    let compared = 0;
    for (let round = 0; round < 20; round++) {
      for (const collection of collections) {
        const batch = new DocumentBatch<string>(store, collection, () => {}, {
          chunks: 1 + (random.nextUint32() % 100),
        });
        const sources = new Set<string>();
        for (let index = 0; index < 30; index++) {
          const source = `d${random.nextUint32() % 120}`;
          if (sources.has(source)) continue;
          sources.add(source);
          batch.add(
            {
              document: {
                source,
                kind: 'inline',
                title: undefined,
                contentSha256: `${round}-${index}`,
                sizeBytes: 1,
              },
              chunks: Array.from({ length: random.nextUint32() % 6 }, (_, position) => ({
                index: position,
                text: random.nextUnit() < 0.2 ? pick(repeated) : text(),
                headingPath: random.nextUnit() < 0.3 ? [word(), word()] : [],
                start: 0,
                end: 1,
                tokenCount: 1,
              })),
            },
            source,
          );
        }
        batch.commit();
        for (let index = 0; index < 5; index++) {
          store.removeDocument(collection, `d${random.nextUint32() % 120}`);
        }
      }
      for (let index = 0; index < 10; index++) {
        const collection = pick(collections);
        const query = Array.from({ length: 1 + (random.nextUint32() % 5) }, word).join(' ');
        for (const k of [1, 3, 10, 1000]) {
          const expected = full(query, collection.id, k);
          const actual = store.searchBm25(collection, query, k);
          expect(
            actual.map((chunk) => ({ chunkId: chunk.chunkId, score: chunk.score })),
            `${query} (k=${k}, round ${round})`,
          ).toEqual(expected);
          compared += 1;
        }
      }
    }
    expect(compared).toBe(800);
  });

  it('builds the postings of a collection indexed before tandem kept them (schema 2)', async () => {
    const path = join(scratch, 'schema-2.db');
    const { MIGRATIONS } = await import('../store/migrations.js');
    const { migrate } = await import('../store/database.js');
    const BetterSqlite3 = (await import('better-sqlite3')).default;
    const old = new BetterSqlite3(path);
    migrate(old, MIGRATIONS.slice(0, 2));
    old.exec(`INSERT INTO rag_collections (id, name, created_at) VALUES (1, 'old', 'then');
      INSERT INTO rag_documents (id, collection_id, source, kind, content_sha256, size_bytes, indexed_at, chunk_count)
        VALUES (1, 1, 'a.md', 'markdown', 'x', 10, 'then', 2);
      INSERT INTO rag_chunks (document_id, position, heading, start_offset, end_offset, token_count, text_terms, heading_terms, exact_terms, text)
        VALUES (1, 0, 'Lanterns', 0, 33, 6, 6, 1, 1, 'The harbour lanterns glow at dusk'),
               (1, 1, 'Lanterns', 33, 63, 5, 5, 1, 1, 'Ships follow the lanterns home');`);
    old.close();
    const reopened = RagStore.open(path);
    try {
      const collection = reopened.collection('old') as RagCollection;
      expect(allPostings(reopened, collection.id).get('lanterns')).toHaveLength(2);
      await expectFts5Results(reopened, collection, ['lanterns dusk', 'ships home'], [1, 2]);
    } finally {
      reopened.close();
    }
  });

  it('scores with FTS5 itself when some text may be tokenized differently (beyond Latin)', async () => {
    await indexTexts(store, 'mixed', ['Café au lait 🤔 déjà vu', 'Привет мир', 'plain words here']);
    const collection = store.collection('mixed') as RagCollection;
    expect(store.searchBm25(collection, 'words', 3)[0]?.text).toBe('plain words here');
    expect(store.lastBm25Plan).toBe('full');
  });
});
