/**
 * tandem's own BM25 postings, beside the FTS5 index: for each collection and term, the chunks
 * that hold the term, in blocks of up to {@link POSTINGS_BLOCK_SIZE} ascending by chunk id.
 * A posting keeps the term's count in the text and in the heading and the chunk's length in
 * tokens, which is all bm25() needs; a block also keeps the Pareto front of its
 * (frequency, length) pairs, so the most it can add to any score is known for whatever the
 * corpus's average length is at query time.
 *
 * Why: FTS5 computes bm25() row by row through its auxiliary-function API, and a query that
 * ORs a few words found in a tenth of the chunks makes it score tens of thousands of rows
 * (≈ 3 µs each). Here a query reads packed blocks and adds up scores term at a time into an
 * array (≈ 10 ns a posting), and MaxScore skips the postings of common terms: once the k-th
 * best partial score is above what the remaining terms can add together, only the chunks
 * already found are looked up in the remaining terms' blocks.
 *
 * Blocks are written in the caller's transaction with the chunks they describe, so they are
 * always in step with rag_chunks; each block row is (collection, term, first id) → varints.
 */

import type { Database, Statement } from 'better-sqlite3';
import { BM25_HEADING_WEIGHT, BM25_TEXT_WEIGHT, bm25Contribution, bm25Normaliser } from './bm25.js';
import { ftsTokens } from './fts-query.js';

/** Postings per block: small enough to rewrite a block's tail on every append. */
export const POSTINGS_BLOCK_SIZE = 128;

/**
 * The most chunk ids one search adds up scores over (an array of doubles this long):
 * beyond it (ids left sparse by many deletions), the caller falls back to FTS5.
 */
const MAX_ACCUMULATOR_IDS = 1 << 24;

/** The largest score array kept from one search to the next (32 MiB). */
const KEPT_ACCUMULATOR_IDS = 1 << 22;
/** Terms whose block lists are kept between searches. */
const MAX_CACHED_TERMS = 4096;

export interface Posting {
  /** The chunk's id (rag_chunks.id). */
  id: number;
  /** How often the term is in the chunk's text, and in its heading path. */
  textCount: number;
  headingCount: number;
  /** The chunk's length in FTS5 tokens, text and heading together. */
  length: number;
}

/** A chunk as the postings see it. */
export interface PostingsChunk {
  id: number;
  text: string;
  heading: string;
}

/** A chunk's term counts (in first-seen order) and its token lengths. */
export interface ChunkTerms {
  counts: Map<string, { textCount: number; headingCount: number }>;
  textTerms: number;
  headingTerms: number;
}

/** Tokenizes a chunk's text and heading as FTS5 does and counts each term in each. */
export function chunkTerms(text: string, heading: string): ChunkTerms {
  const counts = new Map<string, { textCount: number; headingCount: number }>();
  let textTerms = 0;
  for (const token of ftsTokens(text)) {
    textTerms += 1;
    const entry = counts.get(token);
    if (entry === undefined) counts.set(token, { textCount: 1, headingCount: 0 });
    else entry.textCount += 1;
  }
  let headingTerms = 0;
  for (const token of ftsTokens(heading)) {
    headingTerms += 1;
    const entry = counts.get(token);
    if (entry === undefined) counts.set(token, { textCount: 0, headingCount: 1 });
    else entry.headingCount += 1;
  }
  return { counts, textTerms, headingTerms };
}

/**
 * Postings gathered chunk by chunk before they are written, grouped by term, each kept flat
 * (id, text count, heading count, length) so a batch of thousands of chunks stays small.
 */
export class TermPostings {
  readonly #byTerm = new Map<string, number[]>();

  add(id: number, terms: ChunkTerms): void {
    const length = terms.textTerms + terms.headingTerms;
    for (const [term, count] of terms.counts) {
      const list = this.#byTerm.get(term);
      if (list === undefined) {
        this.#byTerm.set(term, [id, count.textCount, count.headingCount, length]);
      } else list.push(id, count.textCount, count.headingCount, length);
    }
  }

  /** Each term with its postings, ascending by id. */
  *terms(): Generator<[string, Posting[]]> {
    for (const [term, flat] of this.#byTerm) {
      const postings: Posting[] = [];
      for (let index = 0; index < flat.length; index += 4) {
        postings.push({
          id: flat[index] as number,
          textCount: flat[index + 1] as number,
          headingCount: flat[index + 2] as number,
          length: flat[index + 3] as number,
        });
      }
      postings.sort((left, right) => left.id - right.id);
      yield [term, postings];
    }
  }
}

/** The weighted frequency bm25() gives a term with these counts (exact: halves add exactly). */
function weightedFrequency(textCount: number, headingCount: number): number {
  return textCount * BM25_TEXT_WEIGHT + headingCount * BM25_HEADING_WEIGHT;
}

// --- Encoding: unsigned LEB128 varints ---------------------------------------------------

class ByteWriter {
  readonly bytes: number[] = [];

  varint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.bytes.push(rest);
  }

  buffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

/** Reads varints from a buffer; `offset` advances past each. */
class ByteReader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.bytes[this.offset++];
      if (byte === undefined) throw new Error('Truncated postings block.');
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }
}

/**
 * A block's postings: (id − previous id, text count, heading count, length) per posting; the
 * first id is relative to `previousId` (the block's first id, or the last id of the block
 * the postings are appended to).
 */
export function encodeBlock(
  postings: readonly Posting[],
  previousId = postings[0]?.id ?? 0,
): Buffer {
  const writer = new ByteWriter();
  let previous = previousId;
  for (const posting of postings) {
    writer.varint(posting.id - previous);
    writer.varint(posting.textCount);
    writer.varint(posting.headingCount);
    writer.varint(posting.length);
    previous = posting.id;
  }
  return writer.buffer();
}

/** One block decoded into reused arrays: ids, weighted frequencies and lengths. */
class DecodedBlock {
  readonly ids = new Float64Array(POSTINGS_BLOCK_SIZE);
  readonly frequencies = new Float64Array(POSTINGS_BLOCK_SIZE);
  readonly lengths = new Float64Array(POSTINGS_BLOCK_SIZE);
  count = 0;

  decode(firstId: number, bytes: Uint8Array): void {
    const reader = new ByteReader(bytes);
    let id = firstId;
    let count = 0;
    while (!reader.done && count < POSTINGS_BLOCK_SIZE) {
      id += reader.varint();
      this.ids[count] = id;
      this.frequencies[count] = weightedFrequency(reader.varint(), reader.varint());
      this.lengths[count] = reader.varint();
      count += 1;
    }
    if (!reader.done) throw new Error('Postings block holds more than a block of postings.');
    this.count = count;
  }
}

export function decodeBlock(firstId: number, bytes: Uint8Array): Posting[] {
  const reader = new ByteReader(bytes);
  const postings: Posting[] = [];
  let id = firstId;
  while (!reader.done) {
    id += reader.varint();
    postings.push({
      id,
      textCount: reader.varint(),
      headingCount: reader.varint(),
      length: reader.varint(),
    });
  }
  return postings;
}

/** A posting's (2·frequency, length): what bounds its bm25() contribution. */
export interface BoundPair {
  doubled: number;
  length: number;
}

function boundPairs(postings: readonly Posting[]): BoundPair[] {
  return postings.map((posting) => ({
    doubled: 2 * weightedFrequency(posting.textCount, posting.headingCount),
    length: posting.length,
  }));
}

export function decodeBounds(bounds: Uint8Array): BoundPair[] {
  const reader = new ByteReader(bounds);
  const pairs: BoundPair[] = [];
  while (!reader.done) pairs.push({ doubled: reader.varint(), length: reader.varint() });
  return pairs;
}

/**
 * The block's undominated (2·frequency, length) pairs: no other posting has a frequency as
 * high and a length as short. bm25() grows with frequency and shrinks with length, so the
 * block's largest contribution is at one of these, whatever the average length.
 */
export function encodeBounds(pairs: readonly BoundPair[]): Buffer {
  const sorted = [...pairs].sort(
    (left, right) => left.length - right.length || right.doubled - left.doubled,
  );
  const writer = new ByteWriter();
  let best = -1;
  for (const pair of sorted) {
    if (pair.doubled <= best) continue;
    best = pair.doubled;
    writer.varint(pair.doubled);
    writer.varint(pair.length);
  }
  return writer.buffer();
}

/** The largest bm25() frequency factor f·(k1+1)/(f + normaliser) of a block's bounds. */
function boundFactor(bounds: Uint8Array, averageLength: number): number {
  let largest = 0;
  for (const { doubled, length } of decodeBounds(bounds)) {
    const factor = bm25Contribution(1, doubled / 2, bm25Normaliser(length, averageLength));
    if (factor > largest) largest = factor;
  }
  return largest;
}

/** One term's blocks in a collection, without their postings. */
interface TermBlocks {
  firstIds: number[];
  lastIds: number[];
  bounds: Uint8Array[];
  postings: number;
  /** Each block's largest frequency factor, for the average length it was computed at. */
  factors?: Float64Array;
  factorsAverage?: number;
}

/** A query term with its idf (from the whole index, as FTS5's). */
export interface WeightedTerm {
  term: string;
  idf: number;
}

/** Appended to the result of a search: how much work it took. */
export interface PostingsSearchStatistics {
  /** Terms whose postings were all read, and terms looked up only for candidates. */
  essentialTerms: number;
  lookupTerms: number;
  /** Postings added up in full, and candidates looked up in the other terms' blocks. */
  postingsScored: number;
  candidatesLookedUp: number;
}

export interface PostingsSearchResult {
  /**
   * The best chunks by score, best first: at least the best `k` (fewer when fewer match),
   * plus any within rounding of the k-th. Scores are summed in the order terms were read,
   * so they may differ from FTS5's in the last bits: rescore to order ties as FTS5 does.
   */
  candidates: { id: number; score: number }[];
  statistics: PostingsSearchStatistics;
}

/** Keeps the k largest values seen; `kth` is the smallest of them once there are k. */
class TopValues {
  readonly #values: number[] = [];
  constructor(readonly k: number) {}

  add(value: number): void {
    const values = this.#values;
    if (values.length === this.k && value <= (values[this.k - 1] as number)) return;
    let index = values.length === this.k ? this.k - 1 : values.length;
    if (values.length < this.k) values.push(value);
    while (index > 0 && (values[index - 1] as number) < value) {
      values[index] = values[index - 1] as number;
      index -= 1;
    }
    values[index] = value;
  }

  get kth(): number {
    return this.#values.length === this.k ? (this.#values[this.k - 1] as number) : 0;
  }
}

/**
 * Whether a bound is below a score by more than rounding: all parts of a score are positive,
 * so sums in another order differ by far less than a relative 1e-9.
 */
function clearlyBelow(bound: number, threshold: number): boolean {
  return bound < threshold - 1e-9 * threshold;
}

export class PostingsIndex {
  readonly #db: Database;
  readonly #statements = new Map<string, Statement>();
  #version: number | undefined;
  readonly #blocks = new Map<string, TermBlocks>();
  #scores = new Float64Array(0);
  readonly #block = new DecodedBlock();

  constructor(db: Database) {
    this.#db = db;
  }

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Forgets cached block lists (after this connection writes; others bump data_version). */
  invalidate(): void {
    this.#version = undefined;
  }

  #fresh(): void {
    const version = this.#db.pragma('data_version', { simple: true }) as number;
    if (version === this.#version) return;
    this.#version = version;
    this.#blocks.clear();
  }

  /** Adds the chunks' postings (ids not yet in the collection's postings), in one pass per term. */
  add(collectionId: number, postings: TermPostings): void {
    for (const [term, added] of postings.terms()) {
      if (!this.#append(collectionId, term, added)) {
        this.#merge(collectionId, term, added, new Set());
      }
    }
    this.invalidate();
  }

  /**
   * The usual case, new chunks after every indexed one: fills the term's last block up to
   * {@link POSTINGS_BLOCK_SIZE} by appending bytes, then starts new blocks. False (nothing
   * written) when some posting of the term has an id at or past the first added one.
   */
  #append(collectionId: number, term: string, added: readonly Posting[]): boolean {
    const tail = this.#statement(
      `SELECT first_id, last_id, count, bounds, postings FROM rag_postings
       WHERE collection_id = ? AND term = ? ORDER BY first_id DESC LIMIT 1`,
    ).get(collectionId, term) as
      | { first_id: number; last_id: number; count: number; bounds: Buffer; postings: Buffer }
      | undefined;
    if (tail !== undefined && tail.last_id >= (added[0] as Posting).id) return false;
    let rest = added;
    if (tail !== undefined && tail.count < POSTINGS_BLOCK_SIZE) {
      const fill = added.slice(0, POSTINGS_BLOCK_SIZE - tail.count);
      rest = added.slice(fill.length);
      this.#statement(
        `UPDATE rag_postings SET last_id = ?, count = ?, bounds = ?, postings = ?
         WHERE collection_id = ? AND term = ? AND first_id = ?`,
      ).run(
        (fill.at(-1) as Posting).id,
        tail.count + fill.length,
        encodeBounds([...decodeBounds(tail.bounds), ...boundPairs(fill)]),
        Buffer.concat([tail.postings, encodeBlock(fill, tail.last_id)]),
        collectionId,
        term,
        tail.first_id,
      );
    }
    this.#insertBlocks(collectionId, term, rest);
    return true;
  }

  /** Writes postings (ascending, after any of the term's blocks) as new full blocks. */
  #insertBlocks(collectionId: number, term: string, postings: readonly Posting[]): void {
    const insert = this.#statement(
      `INSERT INTO rag_postings (collection_id, term, first_id, last_id, count, bounds, postings)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    for (let start = 0; start < postings.length; start += POSTINGS_BLOCK_SIZE) {
      const block = postings.slice(start, start + POSTINGS_BLOCK_SIZE);
      insert.run(
        collectionId,
        term,
        (block[0] as Posting).id,
        (block.at(-1) as Posting).id,
        block.length,
        encodeBounds(boundPairs(block)),
        encodeBlock(block),
      );
    }
  }

  /** Removes the chunks' postings; call before the chunks themselves are deleted. */
  remove(collectionId: number, chunks: readonly PostingsChunk[]): void {
    const gathered = new TermPostings();
    for (const chunk of chunks) gathered.add(chunk.id, chunkTerms(chunk.text, chunk.heading));
    for (const [term, postings] of gathered.terms()) {
      this.#merge(
        collectionId,
        term,
        [],
        new Set(postings.map((posting) => posting.id)),
        postings[0]?.id,
        postings.at(-1)?.id,
      );
    }
    this.invalidate();
  }

  /**
   * Rewrites the blocks of `term` that the change touches: the block holding the first
   * affected id and those starting up to the last. Added postings are merged in id order,
   * removed ids dropped, and the result cut again into full blocks.
   */
  #merge(
    collectionId: number,
    term: string,
    added: readonly Posting[],
    removed: ReadonlySet<number>,
    firstRemoved?: number,
    lastRemoved?: number,
  ): void {
    const low = Math.min(added[0]?.id ?? Number.POSITIVE_INFINITY, firstRemoved ?? Infinity);
    const high = Math.max(added.at(-1)?.id ?? Number.NEGATIVE_INFINITY, lastRemoved ?? -Infinity);
    const holding = this.#statement(
      `SELECT first_id, postings FROM rag_postings
       WHERE collection_id = ? AND term = ? AND first_id <= ? ORDER BY first_id DESC LIMIT 1`,
    ).get(collectionId, term, low) as { first_id: number; postings: Buffer } | undefined;
    const following = this.#statement(
      `SELECT first_id, postings FROM rag_postings
       WHERE collection_id = ? AND term = ? AND first_id > ? AND first_id <= ? ORDER BY first_id`,
    ).all(collectionId, term, low, high) as { first_id: number; postings: Buffer }[];
    const blocks = holding === undefined ? following : [holding, ...following];
    const existing = blocks.flatMap((block) => decodeBlock(block.first_id, block.postings));
    const merged: Posting[] = [];
    let next = 0;
    for (const posting of existing) {
      while (next < added.length && (added[next] as Posting).id < posting.id) {
        merged.push(added[next] as Posting);
        next += 1;
      }
      if (next < added.length && (added[next] as Posting).id === posting.id) continue;
      if (!removed.has(posting.id)) merged.push(posting);
    }
    while (next < added.length) merged.push(added[next++] as Posting);
    const remove = this.#statement(
      'DELETE FROM rag_postings WHERE collection_id = ? AND term = ? AND first_id = ?',
    );
    for (const block of blocks) remove.run(collectionId, term, block.first_id);
    this.#insertBlocks(collectionId, term, merged);
  }

  /** Drops and rebuilds a collection's postings from its chunks, a batch of chunks at a time. */
  rebuild(collectionId: number, batchChunks = 5000): void {
    this.#statement('DELETE FROM rag_postings WHERE collection_id = ?').run(collectionId);
    const batch = this.#statement(
      `SELECT c.id, c.text, c.heading FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id
       WHERE d.collection_id = ? AND c.id > ? ORDER BY c.id LIMIT ?`,
    );
    let after = 0;
    for (;;) {
      const chunks = batch.all(collectionId, after, batchChunks) as PostingsChunk[];
      if (chunks.length === 0) break;
      const gathered = new TermPostings();
      for (const chunk of chunks) gathered.add(chunk.id, chunkTerms(chunk.text, chunk.heading));
      this.add(collectionId, gathered);
      after = (chunks.at(-1) as PostingsChunk).id;
    }
    this.invalidate();
  }

  /** All of a term's postings in a collection, ascending by chunk id (for checks and tests). */
  termPostings(collectionId: number, term: string): Posting[] {
    const rows = this.#statement(
      'SELECT first_id, postings FROM rag_postings WHERE collection_id = ? AND term = ? ORDER BY first_id',
    )
      .raw(false)
      .all(collectionId, term) as { first_id: number; postings: Buffer }[];
    return rows.flatMap((row) => decodeBlock(row.first_id, row.postings));
  }

  #termBlocks(collectionId: number, term: string): TermBlocks {
    const key = `${collectionId}\u0000${term}`;
    let blocks = this.#blocks.get(key);
    if (blocks === undefined) {
      const rows = this.#statement(
        `SELECT first_id, last_id, count, bounds FROM rag_postings
         WHERE collection_id = ? AND term = ? ORDER BY first_id`,
      )
        .raw(true)
        .all(collectionId, term) as [number, number, number, Buffer][];
      blocks = { firstIds: [], lastIds: [], bounds: [], postings: 0 };
      for (const [firstId, lastId, count, bounds] of rows) {
        blocks.firstIds.push(firstId);
        blocks.lastIds.push(lastId);
        blocks.bounds.push(bounds);
        blocks.postings += count;
      }
      // Block lists of the terms asked since the last write; a long-running server asked
      // many different words starts over rather than grow without end.
      if (this.#blocks.size >= MAX_CACHED_TERMS) this.#blocks.clear();
      this.#blocks.set(key, blocks);
    }
    return blocks;
  }

  /** Each block's largest bm25() frequency factor for this average length (cached with the blocks). */
  #blockFactors(blocks: TermBlocks, averageLength: number): Float64Array {
    if (blocks.factors === undefined || blocks.factorsAverage !== averageLength) {
      blocks.factors = Float64Array.from(blocks.bounds, (bounds) =>
        boundFactor(bounds, averageLength),
      );
      blocks.factorsAverage = averageLength;
    }
    return blocks.factors;
  }

  /**
   * A zeroed array of `size` scores, reused from search to search: a fresh one would cost a
   * page fault per 512 chunk ids on first touch, most of a short query's time.
   */
  #accumulator(size: number): Float64Array {
    // A huge span (ids left sparse) gets an array of its own, not kept after the search.
    if (size > KEPT_ACCUMULATOR_IDS) return new Float64Array(size);
    if (this.#scores.length < size) this.#scores = new Float64Array(size);
    return this.#scores;
  }

  /**
   * The best `k` chunks of the collection for the terms by bm25() (see
   * {@link PostingsSearchResult}); undefined when the collection's chunk ids are too sparse
   * to add up scores in an array (the caller then asks FTS5).
   *
   * MaxScore, term at a time: terms are read in order of the most each can add (rarest
   * first, usually); every posting of a term is added up while a chunk holding none of the
   * terms read so far could still reach the k-th best partial score. After that, only the
   * chunks found so far can, and each remaining term is looked up for them alone, block by
   * block, dropping a chunk as soon as what is left to add cannot lift it to the k-th.
   */
  search(
    collectionId: number,
    terms: readonly WeightedTerm[],
    k: number,
    averageLength: number,
  ): PostingsSearchResult | undefined {
    this.#fresh();
    const entries: (WeightedTerm & {
      blocks: TermBlocks;
      factors: Float64Array;
      largest: number;
    })[] = [];
    for (const entry of terms) {
      const blocks = this.#termBlocks(collectionId, entry.term);
      if (blocks.postings === 0) continue;
      const factors = this.#blockFactors(blocks, averageLength);
      const largest = factors.reduce((best, factor) => Math.max(best, factor), 0);
      entries.push({ ...entry, blocks, factors, largest: entry.idf * largest });
    }
    entries.sort((left, right) => right.largest - left.largest);
    const statistics: PostingsSearchStatistics = {
      essentialTerms: 0,
      lookupTerms: 0,
      postingsScored: 0,
      candidatesLookedUp: 0,
    };
    if (entries.length === 0) return { candidates: [], statistics };
    let lowestId = Number.POSITIVE_INFINITY;
    let highestId = Number.NEGATIVE_INFINITY;
    for (const { blocks } of entries) {
      lowestId = Math.min(lowestId, blocks.firstIds[0] as number);
      highestId = Math.max(highestId, blocks.lastIds.at(-1) as number);
    }
    if (highestId - lowestId + 1 > MAX_ACCUMULATOR_IDS) return undefined;
    // remaining[i]: the most terms i, i+1, … can add to one chunk together.
    const remaining = new Float64Array(entries.length + 1);
    for (let index = entries.length - 1; index >= 0; index--) {
      remaining[index] = (remaining[index + 1] as number) + (entries[index]?.largest as number);
    }
    const scores = this.#accumulator(highestId - lowestId + 1);
    const found: number[] = [];
    const score = (id: number) => scores[id - lowestId] as number;
    const kthBest = (ids: readonly number[]) => {
      const top = new TopValues(k);
      for (const id of ids) top.add(score(id));
      return top.kth;
    };
    try {
      let threshold = 0;
      let next = 0;
      const readAll = this.#statement(
        'SELECT first_id, postings FROM rag_postings WHERE collection_id = ? AND term = ? ORDER BY first_id',
      ).raw(true);
      // Phase 1: every posting of each term while an unseen chunk could still make the top k.
      while (
        next < entries.length &&
        (found.length < k || !clearlyBelow(remaining[next] as number, threshold))
      ) {
        const entry = entries[next] as (typeof entries)[number];
        for (const [firstId, bytes] of readAll.all(collectionId, entry.term) as [
          number,
          Buffer,
        ][]) {
          const reader = new ByteReader(bytes);
          let id = firstId;
          while (!reader.done) {
            id += reader.varint();
            const frequency = weightedFrequency(reader.varint(), reader.varint());
            const normaliser = bm25Normaliser(reader.varint(), averageLength);
            const slot = id - lowestId;
            const before = scores[slot] as number;
            // A posting always adds more than 0 (its term is there, idf ≥ 1e-6): 0 is unseen.
            if (before === 0) found.push(id);
            scores[slot] = before + bm25Contribution(entry.idf, frequency, normaliser);
          }
        }
        statistics.essentialTerms += 1;
        statistics.postingsScored += entry.blocks.postings;
        threshold = kthBest(found);
        next += 1;
      }
      // Phase 2: the other terms, for the chunks that can still reach the k-th.
      let candidates = found
        .filter((id) => !clearlyBelow(score(id) + (remaining[next] as number), threshold))
        .sort((left, right) => left - right);
      const readBlock = this.#statement(
        'SELECT postings FROM rag_postings WHERE collection_id = ? AND term = ? AND first_id = ?',
      ).pluck(true);
      for (; next < entries.length; next++) {
        const entry = entries[next] as (typeof entries)[number];
        const { firstIds, lastIds } = entry.blocks;
        const after = remaining[next + 1] as number;
        const kept: number[] = [];
        let block = 0;
        let decodedBlock = -1;
        let position = 0;
        for (const id of candidates) {
          while (block < firstIds.length && (lastIds[block] as number) < id) block += 1;
          const inBlock = block < firstIds.length && (firstIds[block] as number) <= id;
          const ceiling = inBlock ? entry.idf * (entry.factors[block] as number) : 0;
          if (clearlyBelow(score(id) + ceiling + after, threshold)) continue;
          kept.push(id);
          if (!inBlock) continue;
          // Candidates ascend, so each block is read once and walked forward.
          if (decodedBlock !== block) {
            const bytes = readBlock.get(collectionId, entry.term, firstIds[block]) as Buffer;
            this.#block.decode(firstIds[block] as number, bytes);
            decodedBlock = block;
            position = 0;
          }
          const decoded = this.#block;
          while (position < decoded.count && (decoded.ids[position] as number) < id) position += 1;
          if (position < decoded.count && decoded.ids[position] === id) {
            scores[id - lowestId] =
              score(id) +
              bm25Contribution(
                entry.idf,
                decoded.frequencies[position] as number,
                bm25Normaliser(decoded.lengths[position] as number, averageLength),
              );
          }
          statistics.candidatesLookedUp += 1;
        }
        statistics.lookupTerms += 1;
        threshold = Math.max(threshold, kthBest(kept));
        candidates = kept.filter((id) => !clearlyBelow(score(id) + after, threshold));
      }
      // Every term is in the candidates' scores now; keep the k-th and anything within rounding.
      const ranked = candidates
        .map((id) => ({ id, score: score(id) }))
        .sort((left, right) => right.score - left.score || left.id - right.id);
      const kth = ranked[Math.min(k, ranked.length) - 1]?.score ?? 0;
      return {
        candidates: ranked.filter((entry, index) => index < k || !clearlyBelow(entry.score, kth)),
        statistics,
      };
    } finally {
      for (const id of found) scores[id - lowestId] = 0;
    }
  }
}
