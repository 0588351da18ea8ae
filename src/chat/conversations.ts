/**
 * The web app's chat history in SQLite: `chat_conversations` and their `chat_messages`, with
 * the local user's rating of an answer (there is no login: one user). A message's position
 * is assigned inside an IMMEDIATE transaction, so two writers (two tabs, two processes) never
 * give out the same one. `updated_at` is when the conversation last got or finished a
 * message: the conversation list is ordered by it, so renaming and rating leave it alone.
 * Every user value reaches SQL as a bound parameter.
 */
import { InvalidArgumentError, TandemError } from '../errors.js';
import type { Database } from '../store/database.js';
import { decodeOptionalJson, encodeJson } from '../store/json-columns.js';

/** The title a conversation has until its first user message names it. */
export const DEFAULT_CONVERSATION_TITLE = 'New conversation';
/** Longest title, in characters. */
export const MAX_TITLE_CHARACTERS = 200;
/** Longest title taken from the first user message, in characters. */
export const DERIVED_TITLE_CHARACTERS = 80;
/** Longest excerpt of the last message in a conversation summary, in characters. */
export const EXCERPT_CHARACTERS = 120;
/** Longest comment on a rating, in characters. */
export const MAX_RATING_COMMENT_CHARACTERS = 2000;
/** Conversations a list returns when no limit is given. */
export const DEFAULT_LIST_LIMIT = 50;
/** Most conversations one list returns: page with `before` for more. */
export const MAX_LIST_LIMIT = 500;

export type ChatRole = 'user' | 'assistant';

/** Thumbs up (1) or down (-1). */
export type MessageRating = 1 | -1;

export interface Conversation {
  id: number;
  title: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601: when the conversation last got or finished a message. */
  updatedAt: string;
}

/** One line of the conversation list. */
export interface ConversationSummary extends Conversation {
  messageCount: number;
  /**
   * The last message with any text, whitespace collapsed, at most {@link EXCERPT_CHARACTERS}
   * characters; undefined when there is none.
   */
  lastMessage: string | undefined;
}

/** A conversation with its messages in order. */
export interface ConversationWithMessages extends Conversation {
  messages: ChatMessage[];
}

export interface ChatMessage {
  id: number;
  conversationId: number;
  /** 0, 1, 2… within the conversation. */
  position: number;
  role: ChatRole;
  content: string;
  /** The served model's name (assistant messages). */
  model: string | undefined;
  /** Measured figures as the caller gave them (ttftMs, tokensPerSecond, outputTokens…). */
  figures: Record<string, unknown> | undefined;
  /** Retrieved sources as the caller gave them. */
  sources: unknown[] | undefined;
  /** Citations as the caller gave them (any JSON value). */
  citations: unknown;
  /** How generation ended: 'stop', 'length', 'aborted', 'error'… */
  finish: string | undefined;
  error: string | undefined;
  rating: MessageRating | undefined;
  ratingComment: string | undefined;
  /** ISO 8601: when the rating was last set. */
  ratedAt: string | undefined;
  /** ISO 8601. */
  createdAt: string;
}

/**
 * A message to append. A streamed answer is appended when it starts (content '') and
 * finished with {@link ConversationStore.updateMessage}.
 */
export interface ChatMessageInput {
  role: ChatRole;
  content: string;
  /** Assistant messages only. */
  model?: string | undefined;
  figures?: Record<string, unknown> | undefined;
  sources?: readonly unknown[] | undefined;
  citations?: unknown;
  finish?: string | undefined;
  error?: string | undefined;
}

/**
 * What to change in an assistant message: a field left out (or undefined) stays as it is,
 * null clears it.
 */
export interface ChatMessagePatch {
  content?: string | undefined;
  figures?: Record<string, unknown> | null | undefined;
  sources?: readonly unknown[] | null | undefined;
  citations?: unknown;
  finish?: string | null | undefined;
  error?: string | null | undefined;
}

/** Where a page of the list starts: after this conversation (a summary will do). */
export interface ConversationCursor {
  updatedAt: string;
  id: number;
}

export interface ConversationListOptions {
  /** 1 to {@link MAX_LIST_LIMIT}; {@link DEFAULT_LIST_LIMIT} when left out. */
  limit?: number | undefined;
  /** Only conversations listed after this one (older, or as old with a lower id). */
  before?: ConversationCursor | undefined;
}

export interface ConversationStoreOptions {
  /** The current time as ISO 8601; injectable so that tests are deterministic. */
  now?: (() => string) | undefined;
}

/** A conversation id that is not in the database (deleted, or from another database). */
export class ConversationNotFoundError extends TandemError {
  override readonly exitCode = 3;
  constructor(readonly id: number) {
    super(`No conversation ${id}: it may have been deleted; reload the conversation list.`);
  }
}

/** A message id that is not in the database (its conversation was deleted, or never had it). */
export class MessageNotFoundError extends TandemError {
  override readonly exitCode = 3;
  constructor(readonly id: number) {
    super(`No message ${id}: its conversation may have been deleted; reload the conversation.`);
  }
}

interface ConversationRow {
  id: number;
  title: string;
  created_at: string;
  updated_at: string;
}

interface SummaryRow extends ConversationRow {
  message_count: number;
  last_message: string | null;
}

interface MessageRow {
  id: number;
  conversation_id: number;
  position: number;
  role: ChatRole;
  content: string;
  model: string | null;
  figures: string | null;
  sources: string | null;
  citations: string | null;
  finish: string | null;
  error: string | null;
  rating: number | null;
  rating_comment: string | null;
  rated_at: string | null;
  created_at: string;
}

const optional = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** Length in characters (code points), as a user counts them, not UTF-16 units. */
function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * The text on one line (whitespace runs become one space), at most `maxCharacters`
 * characters: a longer text is cut at the last word boundary that fits and ends with '…'
 * (a single word longer than half the room is cut inside the word).
 */
export function excerpt(text: string, maxCharacters: number): string {
  const flat = text.replace(/\s+/gu, ' ').trim();
  const characters = Array.from(flat);
  if (characters.length <= maxCharacters) return flat;
  // One character is kept for the ellipsis.
  const head = characters.slice(0, maxCharacters - 1).join('');
  let cut = head;
  if (characters[maxCharacters - 1] !== ' ') {
    const space = head.lastIndexOf(' ');
    if (space >= head.length / 2) cut = head.slice(0, space);
  }
  return `${cut.replace(/[\s,;:–—-]+$/u, '')}…`;
}

/** The conversation list, newest first, after `where` (a cursor or nothing); LIMIT last. */
function listSql(where: string): string {
  // The excerpt only needs the start of a long message: read at most 4× its length.
  return `
    SELECT c.*,
      (SELECT count(*) FROM chat_messages m WHERE m.conversation_id = c.id) AS message_count,
      (SELECT substr(m.content, 1, ${EXCERPT_CHARACTERS * 4}) FROM chat_messages m
        WHERE m.conversation_id = c.id AND trim(m.content, char(32, 9, 10, 13)) != ''
        ORDER BY m.position DESC LIMIT 1) AS last_message
    FROM chat_conversations c
    ${where}
    ORDER BY c.updated_at DESC, c.id DESC
    LIMIT ?`;
}

function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toMessage(row: MessageRow): ChatMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    position: row.position,
    role: row.role,
    content: row.content,
    model: optional(row.model),
    figures: decodeOptionalJson<Record<string, unknown>>(row.figures),
    sources: decodeOptionalJson<unknown[]>(row.sources),
    citations: decodeOptionalJson<unknown>(row.citations),
    finish: optional(row.finish),
    error: optional(row.error),
    rating: optional(row.rating) as MessageRating | undefined,
    ratingComment: optional(row.rating_comment),
    ratedAt: optional(row.rated_at),
    createdAt: row.created_at,
  };
}

function checkId(id: number, what: 'conversation' | 'message'): number {
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new InvalidArgumentError(`Invalid ${what} id '${id}': use a positive whole number.`);
  }
  return id;
}

/** The title trimmed; throws when it is longer than {@link MAX_TITLE_CHARACTERS}. */
function checkTitle(title: string, allowEmpty: boolean): string {
  if (typeof title !== 'string') {
    throw new InvalidArgumentError('A conversation title must be text.');
  }
  const trimmed = title.trim();
  const length = characterCount(trimmed);
  if (length > MAX_TITLE_CHARACTERS) {
    throw new InvalidArgumentError(
      `Conversation title is ${length} characters long: use at most ${MAX_TITLE_CHARACTERS}.`,
    );
  }
  if (!allowEmpty && trimmed === '') {
    throw new InvalidArgumentError('A conversation title cannot be empty: give it some text.');
  }
  return trimmed;
}

function checkText(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`Message ${field} must be text.`);
  return value;
}

function optionalText(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : checkText(value, field);
}

/** JSON text of a value the caller gave, or an error saying which field cannot be stored. */
function jsonText(value: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = encodeJson(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new InvalidArgumentError(`Message ${field} cannot be stored as JSON (${reason}).`);
  }
  if (typeof text !== 'string') {
    throw new InvalidArgumentError(`Message ${field} cannot be stored as JSON: give a JSON value.`);
  }
  return text;
}

function figuresText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError('Message figures must be an object such as { ttftMs: 120 }.');
  }
  return jsonText(value, 'figures');
}

function sourcesText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw new InvalidArgumentError('Message sources must be an array.');
  return jsonText(value, 'sources');
}

function citationsText(value: unknown): string | null {
  return value === undefined || value === null ? null : jsonText(value, 'citations');
}

/** The error of an answer that a stopped server never finished. */
export const INTERRUPTED_ERROR =
  'The server stopped while this answer was being written; what it wrote is kept. Ask again.';

/** The store of chat conversations, on a database that `openDatabase` has migrated. */
export class ConversationStore {
  readonly #db: Database;
  readonly #now: () => string;
  readonly #statements;

  constructor(db: Database, options: ConversationStoreOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date().toISOString());
    this.#statements = {
      insertConversation: db.prepare(
        'INSERT INTO chat_conversations (title, created_at, updated_at) VALUES (?, ?, ?) RETURNING *',
      ),
      conversation: db.prepare('SELECT * FROM chat_conversations WHERE id = ?'),
      messages: db.prepare(
        'SELECT * FROM chat_messages WHERE conversation_id = ? ORDER BY position',
      ),
      message: db.prepare('SELECT * FROM chat_messages WHERE id = ?'),
      nextPosition: db.prepare(
        'SELECT coalesce(max(position) + 1, 0) AS position FROM chat_messages WHERE conversation_id = ?',
      ),
      insertMessage: db.prepare(`
        INSERT INTO chat_messages (
          conversation_id, position, role, content, model, figures, sources, citations, finish,
          error, created_at
        ) VALUES (
          @conversationId, @position, @role, @content, @model, @figures, @sources, @citations,
          @finish, @error, @createdAt
        ) RETURNING *`),
      updateMessage: db.prepare(`
        UPDATE chat_messages SET
          content = @content, figures = @figures, sources = @sources, citations = @citations,
          finish = @finish, error = @error
        WHERE id = @id RETURNING *`),
      rateMessage: db.prepare(
        'UPDATE chat_messages SET rating = ?, rating_comment = ?, rated_at = ? WHERE id = ? RETURNING *',
      ),
      listFirst: db.prepare(listSql('')),
      listBefore: db.prepare(listSql('WHERE (c.updated_at, c.id) < (?, ?)')),
      touch: db.prepare('UPDATE chat_conversations SET updated_at = ? WHERE id = ?'),
      touchAndTitle: db.prepare(
        'UPDATE chat_conversations SET updated_at = ?, title = ? WHERE id = ?',
      ),
      rename: db.prepare('UPDATE chat_conversations SET title = ? WHERE id = ? RETURNING *'),
      deleteMessages: db.prepare('DELETE FROM chat_messages WHERE conversation_id = ?'),
      deleteConversation: db.prepare('DELETE FROM chat_conversations WHERE id = ?'),
    };
  }

  /**
   * A new, empty conversation. Left out, '' or {@link DEFAULT_CONVERSATION_TITLE}, the title
   * is taken from the first user message.
   */
  create(title: string = DEFAULT_CONVERSATION_TITLE): Conversation {
    const checked = checkTitle(title, true);
    const now = this.#now();
    const row = this.#statements.insertConversation.get(checked, now, now) as ConversationRow;
    return toConversation(row);
  }

  /** Conversations, most recently updated first; page with `before: lastSummary`. */
  list(options: ConversationListOptions = {}): ConversationSummary[] {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new InvalidArgumentError(
        `Invalid list limit '${limit}': use a whole number from 1 to ${MAX_LIST_LIMIT}.`,
      );
    }
    const before = options.before;
    if (before !== undefined) {
      checkId(before.id, 'conversation');
      if (typeof before.updatedAt !== 'string') {
        throw new InvalidArgumentError(
          'Invalid list cursor: give the updatedAt and id of the last conversation listed.',
        );
      }
    }
    const rows = (
      before === undefined
        ? this.#statements.listFirst.all(limit)
        : this.#statements.listBefore.all(before.updatedAt, before.id, limit)
    ) as SummaryRow[];
    return rows.map((row) => ({
      ...toConversation(row),
      messageCount: row.message_count,
      lastMessage:
        row.last_message === null ? undefined : excerpt(row.last_message, EXCERPT_CHARACTERS),
    }));
  }

  /** The conversation with its messages in order; undefined when there is none with this id. */
  get(id: number): ConversationWithMessages | undefined {
    checkId(id, 'conversation');
    // One read transaction: the conversation and its messages from the same snapshot.
    return this.#db.transaction(() => {
      const row = this.#statements.conversation.get(id) as ConversationRow | undefined;
      if (row === undefined) return undefined;
      const messages = (this.#statements.messages.all(id) as MessageRow[]).map(toMessage);
      return { ...toConversation(row), messages };
    })();
  }

  /**
   * Appends a message at the next position and makes the conversation the most recent. An
   * untitled conversation ('' or {@link DEFAULT_CONVERSATION_TITLE}) takes its title from
   * a user message, cut to {@link DERIVED_TITLE_CHARACTERS} on a word boundary.
   * Throws {@link ConversationNotFoundError} for an unknown conversation.
   */
  appendMessage(conversationId: number, message: ChatMessageInput): ChatMessage {
    checkId(conversationId, 'conversation');
    const role = message.role;
    if (role !== 'user' && role !== 'assistant') {
      throw new InvalidArgumentError(
        `Invalid message role '${String(role)}': use 'user' or 'assistant'.`,
      );
    }
    const content = checkText(message.content, 'content');
    if (role === 'user' && content.trim() === '') {
      throw new InvalidArgumentError('A user message cannot be empty: type something to send.');
    }
    const model = optionalText(message.model, 'model');
    if (role === 'user' && model !== null) {
      throw new InvalidArgumentError('Only assistant messages have a model: leave it out.');
    }
    const parameters = {
      conversationId,
      role,
      content,
      model,
      figures: figuresText(message.figures),
      sources: sourcesText(message.sources),
      citations: citationsText(message.citations),
      finish: optionalText(message.finish, 'finish'),
      error: optionalText(message.error, 'error'),
    };
    // IMMEDIATE: the next position is read and taken under the write lock.
    return this.#db
      .transaction(() => {
        const conversation = this.#statements.conversation.get(conversationId) as
          | ConversationRow
          | undefined;
        if (conversation === undefined) throw new ConversationNotFoundError(conversationId);
        const { position } = this.#statements.nextPosition.get(conversationId) as {
          position: number;
        };
        const now = this.#now();
        const row = this.#statements.insertMessage.get({
          ...parameters,
          position,
          createdAt: now,
        }) as MessageRow;
        const untitled =
          conversation.title === '' || conversation.title === DEFAULT_CONVERSATION_TITLE;
        const title = role === 'user' && untitled ? excerpt(content, DERIVED_TITLE_CHARACTERS) : '';
        if (title !== '') this.#statements.touchAndTitle.run(now, title, conversationId);
        else this.#statements.touch.run(now, conversationId);
        return toMessage(row);
      })
      .immediate();
  }

  /**
   * Changes an assistant message, typically to finish one that was streamed (its content,
   * figures, sources, citations, finish and error), and makes its conversation the most
   * recent. Throws {@link MessageNotFoundError} for an unknown message.
   */
  updateMessage(id: number, patch: ChatMessagePatch): ChatMessage {
    checkId(id, 'message');
    const changes = {
      content: patch.content === undefined ? undefined : checkText(patch.content, 'content'),
      figures: patch.figures === undefined ? undefined : figuresText(patch.figures),
      sources: patch.sources === undefined ? undefined : sourcesText(patch.sources),
      citations: patch.citations === undefined ? undefined : citationsText(patch.citations),
      finish: patch.finish === undefined ? undefined : optionalText(patch.finish, 'finish'),
      error: patch.error === undefined ? undefined : optionalText(patch.error, 'error'),
    };
    return this.#db
      .transaction(() => {
        const current = this.#message(id);
        if (current.role !== 'assistant') {
          throw new InvalidArgumentError(
            `Message ${id} is the user's: only assistant messages can be updated.`,
          );
        }
        const row = this.#statements.updateMessage.get({
          id,
          content: changes.content ?? current.content,
          figures: changes.figures === undefined ? current.figures : changes.figures,
          sources: changes.sources === undefined ? current.sources : changes.sources,
          citations: changes.citations === undefined ? current.citations : changes.citations,
          finish: changes.finish === undefined ? current.finish : changes.finish,
          error: changes.error === undefined ? current.error : changes.error,
        }) as MessageRow;
        this.#statements.touch.run(this.#now(), current.conversation_id);
        return toMessage(row);
      })
      .immediate();
  }

  /**
   * Rates an assistant message: 1 (good) or -1 (bad), with an optional comment of at most
   * {@link MAX_RATING_COMMENT_CHARACTERS}; each call replaces the rating and comment, and
   * null clears both. Throws {@link MessageNotFoundError} for an unknown message and
   * {@link InvalidArgumentError} for a user message.
   */
  rate(messageId: number, rating: MessageRating | null, comment?: string): ChatMessage {
    checkId(messageId, 'message');
    if (rating !== 1 && rating !== -1 && rating !== null) {
      throw new InvalidArgumentError(
        `Invalid rating '${String(rating)}': use 1 (good), -1 (bad) or null to clear it.`,
      );
    }
    let storedComment: string | null = null;
    if (comment !== undefined) {
      if (typeof comment !== 'string') {
        throw new InvalidArgumentError('A rating comment must be text.');
      }
      const trimmed = comment.trim();
      const length = characterCount(trimmed);
      if (length > MAX_RATING_COMMENT_CHARACTERS) {
        throw new InvalidArgumentError(
          `Rating comment is ${length} characters long: use at most ${MAX_RATING_COMMENT_CHARACTERS}.`,
        );
      }
      if (rating === null && trimmed !== '') {
        throw new InvalidArgumentError('A comment needs a rating: rate the answer 1 or -1.');
      }
      storedComment = trimmed === '' ? null : trimmed;
    }
    return this.#db
      .transaction(() => {
        const current = this.#message(messageId);
        if (current.role !== 'assistant') {
          throw new InvalidArgumentError(
            `Message ${messageId} is the user's: only assistant answers can be rated.`,
          );
        }
        const row = this.#statements.rateMessage.get(
          rating,
          storedComment,
          rating === null ? null : this.#now(),
          messageId,
        ) as MessageRow;
        return toMessage(row);
      })
      .immediate();
  }

  /**
   * Gives a conversation a new title (trimmed, 1 to {@link MAX_TITLE_CHARACTERS} characters).
   * Throws {@link ConversationNotFoundError} for an unknown conversation.
   */
  rename(id: number, title: string): Conversation {
    checkId(id, 'conversation');
    const checked = checkTitle(title, false);
    const row = this.#statements.rename.get(checked, id) as ConversationRow | undefined;
    if (row === undefined) throw new ConversationNotFoundError(id);
    return toConversation(row);
  }

  /**
   * Closes the answers still marked `streaming`: when no server is writing them (at start,
   * after a crash or a kill), they are kept as far as they got, marked `interrupted` with a
   * one-line error. Returns how many there were.
   */
  closeInterrupted(): number {
    return this.#db
      .prepare(
        "UPDATE chat_messages SET finish = 'interrupted', error = ? WHERE finish = 'streaming'",
      )
      .run(INTERRUPTED_ERROR).changes;
  }

  /** Deletes a conversation and its messages; false when there was none with this id. */
  remove(id: number): boolean {
    checkId(id, 'conversation');
    // The messages go by ON DELETE CASCADE too; deleting them here does not depend on
    // the connection having foreign keys on.
    return this.#db.transaction(() => {
      this.#statements.deleteMessages.run(id);
      return this.#statements.deleteConversation.run(id).changes > 0;
    })();
  }

  #message(id: number): MessageRow {
    const row = this.#statements.message.get(id) as MessageRow | undefined;
    if (row === undefined) throw new MessageNotFoundError(id);
    return row;
  }
}
