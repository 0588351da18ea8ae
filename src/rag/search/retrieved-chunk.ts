/**
 * A chunk as a search finds it: where it comes from (document, source, title, heading path)
 * and its score, read from the chunk's row in the RAG database. BM25 (bm25-search.ts) and
 * vector search (rag-store.ts) both select chunks in this row shape. The heading path is
 * stored as one string, its titles joined with HEADING_SEPARATOR.
 */

/** Separates heading titles in the stored heading path. */
export const HEADING_SEPARATOR = ' › ';

/** A chunk found by a search, with where it comes from. */
export interface RetrievedChunk {
  chunkId: number;
  documentId: number;
  source: string;
  title: string | undefined;
  headingPath: string[];
  text: string;
  start: number;
  end: number;
  /** Higher is better: −bm25 for BM25, cosine similarity for vectors, the fused score for hybrid. */
  score: number;
}

/** A chunk's row as the searches select it, with its document's source and title. */
export interface ChunkRow {
  chunk_id: number;
  document_id: number;
  source: string;
  title: string | null;
  heading: string;
  text: string;
  start_offset: number;
  end_offset: number;
  score: number;
}

/** The chunk a row describes, its stored heading path split back into titles. */
export function toRetrieved(row: ChunkRow): RetrievedChunk {
  return {
    chunkId: row.chunk_id,
    documentId: row.document_id,
    source: row.source,
    title: row.title ?? undefined,
    headingPath: row.heading === '' ? [] : row.heading.split(HEADING_SEPARATOR),
    text: row.text,
    start: row.start_offset,
    end: row.end_offset,
    score: row.score,
  };
}
