/**
 * What the web app's API (/api) sends: the JSON bodies of its routes and the events of
 * POST /api/chat. The route handlers type what they send with these (so a field the server
 * stops sending or renames fails the typecheck), and the web app (web/src/api.ts) imports
 * them instead of copying them.
 *
 * Types only, and this file imports nothing: the web app's build type-checks it, in a
 * browser's world without Node's types. A field the server may leave undefined is optional
 * here, as it is absent from the JSON.
 */

/** The body of every list: GET /api/models, /api/collections, /api/conversations… */
export interface ListBody<Item> {
  data: Item[];
}

/** The body of an /api refusal (400, 403, 404, 413, 415): one line to show as it is. */
export interface ApiErrorBody {
  error: { message: string };
}

/** GET /api/models: a model this server serves. */
export interface ServedModel {
  name: string;
  /** The tandem reference behind the name (`demo-slm`, `llama:./x.gguf`, `foundry:…`). */
  reference?: string | undefined;
  /** The engine, or the server preset, behind the name. */
  engine: string;
  /** A random-weight demo model: its text is noise. */
  demo: boolean;
  loaded: boolean;
}

/** GET /api/collections: a RAG collection indexed with `tandem rag index`. */
export interface CollectionSummary {
  name: string;
  documentCount: number;
  chunkCount: number;
}

/** GET /api/bench/runs: a stored bench run (newest first). */
export interface BenchRunSummary {
  id: number;
  name?: string | undefined;
  startedAt: string;
  status: string;
  /** Model references, in the run's order. */
  models: string[];
  /** Measured (non-warm-up) requests recorded. */
  requests: number;
}

/** POST /api/bench/runs/ID/report-link: a link to the run's report that works once. */
export interface ReportLink {
  url: string;
}

/** The figures the server measured for one answer. */
export interface AnswerFigures {
  ttftMs?: number | undefined;
  e2eMs?: number | undefined;
  decodeTokensPerSecond?: number | undefined;
  outputTokens?: number | undefined;
  outputTokensSource?: string | undefined;
  promptTokens?: number | undefined;
  queueMs?: number | undefined;
  retrievalMs?: number | undefined;
  demo?: boolean | undefined;
  /** Earlier messages of the conversation left out so the question fits the context. */
  droppedHistoryMessages?: number | undefined;
}

/** A source a grounded answer was given, numbered as the answer cites it. */
export interface AnswerSource {
  number: number;
  chunkId: number;
  label: string;
  source: string;
  excerpt: string;
  score: number;
  truncated: boolean;
}

/** The citation check of a grounded answer: source numbers cited, invalid, not cited. */
export interface CitationSummary {
  valid: number[];
  invalid: number[];
  unused: number[];
  /** The answer cites no source at all. */
  uncited: boolean;
}

/** A stored message as the page reads it. */
export interface StoredMessage {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  model?: string | undefined;
  figures?: AnswerFigures | undefined;
  sources?: AnswerSource[] | undefined;
  citations?: CitationSummary | undefined;
  /** `streaming`, `stop`, `length`, `aborted`, `error`… */
  finish?: string | undefined;
  error?: string | undefined;
  rating?: 1 | -1 | undefined;
  ratingComment?: string | undefined;
}

/** GET /api/conversations: a conversation in the list. */
export interface ConversationSummary {
  id: number;
  title: string;
  updatedAt: string;
  messageCount: number;
}

/** GET /api/conversations/ID: a conversation with its messages. */
export interface Conversation {
  id: number;
  title: string;
  messages: StoredMessage[];
}

/** DELETE /api/conversations/ID. */
export interface ConversationRemoved {
  removed: true;
}

/** POST /api/chat, first event: where the question and its answer are stored. */
export interface ChatStartEvent {
  conversationId: number;
  userMessageId: number;
  assistantMessageId: number;
  model: string;
}

/** POST /api/chat, a grounded question: the sources, sent before generation. */
export interface ChatSourcesEvent {
  sources: AnswerSource[];
}

/** POST /api/chat: text as it is generated. */
export interface ChatDeltaEvent {
  text: string;
}

/** POST /api/chat, last event (`done` or `error`): the answer as it was stored. */
export interface ChatEndEvent {
  message: StoredMessage;
}

/** The events of POST /api/chat by name, in the order they come. */
export interface ChatEvents {
  start: ChatStartEvent;
  sources: ChatSourcesEvent;
  delta: ChatDeltaEvent;
  done: ChatEndEvent;
  error: ChatEndEvent;
}
