/**
 * The database schema, as an append-only list of migrations. Migration i (from 0) brings
 * the schema from `PRAGMA user_version` i to i + 1. Never edit or reorder an entry once
 * released: add a new one at the end (RAG collections, chats…).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: benchmark runs and their requests.
  `
  CREATE TABLE bench_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete')),
    pid INTEGER,
    settings TEXT NOT NULL,
    machine TEXT NOT NULL,
    models TEXT NOT NULL,
    levels TEXT NOT NULL,
    comparisons TEXT NOT NULL,
    event_loop_lag TEXT,
    bandwidth REAL,
    tandem_version TEXT NOT NULL
  ) STRICT;

  CREATE INDEX bench_runs_status ON bench_runs (status);

  CREATE TABLE bench_requests (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES bench_runs (id) ON DELETE CASCADE,
    request_index INTEGER NOT NULL,
    model_index INTEGER NOT NULL,
    level_index INTEGER NOT NULL,
    warmup INTEGER NOT NULL CHECK (warmup IN (0, 1)),
    prompt_index INTEGER NOT NULL,
    issued_at_ms REAL NOT NULL,
    queue_ms REAL NOT NULL,
    attempts INTEGER NOT NULL,
    ttft_ms REAL,
    ttfo_ms REAL,
    e2e_ms REAL,
    tpot_ms REAL,
    decode_tokens_per_second REAL,
    output_tokens INTEGER NOT NULL,
    output_tokens_source TEXT NOT NULL,
    prompt_tokens INTEGER,
    reasoning_tokens INTEGER,
    token_times_ms TEXT NOT NULL,
    stall_count INTEGER NOT NULL,
    finish_reason TEXT NOT NULL,
    short_output INTEGER NOT NULL CHECK (short_output IN (0, 1)),
    error_cause TEXT,
    error_message TEXT,
    server_timings TEXT,
    meets_slo INTEGER CHECK (meets_slo IN (0, 1)),
    UNIQUE (run_id, request_index)
  ) STRICT;

  CREATE INDEX bench_requests_run_model_level ON bench_requests (run_id, model_index, level_index);
  `,
  // 2: RAG collections, documents, chunks and their full-text index (BM25). Vectors live in
  // one sqlite-vec table per collection (rag_vectors_<id>), created when a collection first
  // gets embeddings, since their dimension depends on the embedding model.
  `
  CREATE TABLE rag_collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    embedding_model TEXT,
    embedding_dimensions INTEGER
  ) STRICT;

  CREATE TABLE rag_documents (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES rag_collections (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT,
    content_sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    indexed_at TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    UNIQUE (collection_id, source)
  ) STRICT;

  CREATE TABLE rag_chunks (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES rag_documents (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    heading TEXT NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset INTEGER NOT NULL,
    token_count INTEGER NOT NULL,
    -- Lengths in FTS5 tokens (what BM25 normalises by), for scoring outside FTS5.
    text_terms INTEGER NOT NULL,
    heading_terms INTEGER NOT NULL,
    -- 0 when the text has characters whose tokens tandem cannot count exactly as FTS5 does.
    exact_terms INTEGER NOT NULL CHECK (exact_terms IN (0, 1)),
    text TEXT NOT NULL
  ) STRICT;

  CREATE INDEX rag_chunks_document ON rag_chunks (document_id, position);

  CREATE VIRTUAL TABLE rag_chunks_fts USING fts5 (
    text,
    heading,
    content = 'rag_chunks',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
  );

  -- Document frequency of each term (rows containing it), for BM25's idf.
  CREATE VIRTUAL TABLE rag_chunks_fts_vocab USING fts5vocab (rag_chunks_fts, row);

  CREATE TRIGGER rag_chunks_after_insert AFTER INSERT ON rag_chunks BEGIN
    INSERT INTO rag_chunks_fts (rowid, text, heading) VALUES (new.id, new.text, new.heading);
  END;

  CREATE TRIGGER rag_chunks_after_delete AFTER DELETE ON rag_chunks BEGIN
    INSERT INTO rag_chunks_fts (rag_chunks_fts, rowid, text, heading)
      VALUES ('delete', old.id, old.text, old.heading);
  END;
  `,
  // 3: tandem's own BM25 postings per collection and term (src/rag/postings.ts), in blocks
  // keyed by their first chunk id. Collections made before this migration have
  // postings_ready = 0 and get their postings built when a RagStore first opens the file.
  `
  CREATE TABLE rag_postings (
    collection_id INTEGER NOT NULL REFERENCES rag_collections (id) ON DELETE CASCADE,
    term TEXT NOT NULL,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    count INTEGER NOT NULL,
    bounds BLOB NOT NULL,
    postings BLOB NOT NULL,
    PRIMARY KEY (collection_id, term, first_id)
  ) STRICT, WITHOUT ROWID;

  ALTER TABLE rag_collections ADD COLUMN postings_ready INTEGER NOT NULL DEFAULT 0
    CHECK (postings_ready IN (0, 1));
  `,
  // 4: the web app's chat conversations and their messages, with the user's rating of an
  // answer (src/store/conversations.ts). figures, sources and citations are JSON text: their
  // shape belongs to the caller. Listing is by updated_at, newest first, with id breaking ties.
  `
  CREATE TABLE chat_conversations (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;

  CREATE INDEX chat_conversations_updated_at ON chat_conversations (updated_at, id);

  CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    -- The served model's name; assistant messages only.
    model TEXT CHECK (model IS NULL OR role = 'assistant'),
    figures TEXT,
    sources TEXT,
    citations TEXT,
    finish TEXT,
    error TEXT,
    rating INTEGER CHECK (rating IN (-1, 1)),
    rating_comment TEXT,
    rated_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (conversation_id, position),
    -- Only answers are rated, and a comment or a time only goes with a rating.
    CHECK (rating IS NULL OR role = 'assistant'),
    CHECK (rating IS NOT NULL OR (rating_comment IS NULL AND rated_at IS NULL))
  ) STRICT;
  `,
];
