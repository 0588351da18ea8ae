import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { type Database, openDatabase } from '../store/database.js';
import { MIGRATIONS } from '../store/migrations.js';
import {
  ConversationNotFoundError,
  ConversationStore,
  DEFAULT_CONVERSATION_TITLE,
  excerpt,
  INTERRUPTED_ERROR,
  MessageNotFoundError,
} from './conversations.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-conversations-'));

/** A clock that ticks one second per call from 2025-01-01T00:00:00Z. */
function tickingClock(): () => string {
  let tick = 0;
  return () => new Date(Date.UTC(2025, 0, 1, 0, 0, tick++)).toISOString();
}

let db: Database;
let store: ConversationStore;

beforeEach(() => {
  db = openDatabase(':memory:');
  store = new ConversationStore(db, { now: tickingClock() });
});
afterEach(() => db.close());

describe('schema', () => {
  it('is migration 4: both tables are STRICT and the schema version is the migration count', () => {
    expect(MIGRATIONS).toHaveLength(4);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const tables = db
      .prepare("SELECT name, strict FROM pragma_table_list WHERE name LIKE 'chat_%' ORDER BY name")
      .all();
    expect(tables).toEqual([
      { name: 'chat_conversations', strict: 1 },
      { name: 'chat_messages', strict: 1 },
    ]);
  });

  it('refuses, in SQL too, a rating on a user message or out of range', () => {
    const { id } = store.create('x');
    const user = store.appendMessage(id, { role: 'user', content: 'hi' });
    const answer = store.appendMessage(id, { role: 'assistant', content: 'hello' });
    expect(() =>
      db.prepare('UPDATE chat_messages SET rating = 1 WHERE id = ?').run(user.id),
    ).toThrow(/CHECK/);
    expect(() =>
      db.prepare('UPDATE chat_messages SET rating = 2 WHERE id = ?').run(answer.id),
    ).toThrow(/CHECK/);
  });
});

describe('create and list', () => {
  it('creates a conversation with the clock’s time and no messages', () => {
    const conversation = store.create('Quarterly brief');
    expect(conversation).toEqual({
      id: expect.any(Number),
      title: 'Quarterly brief',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
    });
    expect(store.get(conversation.id)).toEqual({ ...conversation, messages: [] });
    expect(store.create().title).toBe(DEFAULT_CONVERSATION_TITLE);
    expect(store.create('  padded  ').title).toBe('padded');
  });

  it('refuses a title over 200 characters', () => {
    expect(store.create('é'.repeat(200)).title).toHaveLength(200);
    expect(() => store.create('x'.repeat(201))).toThrow(InvalidArgumentError);
    expect(() => store.create('x'.repeat(201))).toThrow(
      'Conversation title is 201 characters long: use at most 200.',
    );
  });

  it('lists newest first by updated time, with counts and the last message', () => {
    const first = store.create('first');
    const second = store.create('second');
    const third = store.create('third');
    // A message makes the first conversation the most recent.
    store.appendMessage(first.id, { role: 'user', content: 'Hello\n\n  there' });
    store.appendMessage(first.id, { role: 'assistant', content: '' });
    const list = store.list();
    expect(list.map((c) => c.title)).toEqual(['first', 'third', 'second']);
    expect(list[0]).toMatchObject({
      id: first.id,
      messageCount: 2,
      // The empty (still streaming) answer is skipped; whitespace is collapsed.
      lastMessage: 'Hello there',
      createdAt: '2025-01-01T00:00:00.000Z',
    });
    expect(list[1]).toMatchObject({ id: third.id, messageCount: 0, lastMessage: undefined });
    expect(list[2]?.id).toBe(second.id);
  });

  it('cuts the last message to 120 characters', () => {
    const { id } = store.create('long');
    store.appendMessage(id, { role: 'user', content: 'word '.repeat(200) });
    const lastMessage = store.list()[0]?.lastMessage ?? '';
    expect(lastMessage.length).toBeLessThanOrEqual(120);
    expect(lastMessage).toMatch(/^word( word)+…$/);
  });

  it('pages with limit and a before cursor, ties broken by id', () => {
    // A clock that stands still: every conversation has the same updated time.
    const still = new ConversationStore(db, { now: () => '2025-02-01T00:00:00.000Z' });
    const ids = Array.from({ length: 7 }, (_, i) => still.create(`c${i}`).id);
    const seen: number[] = [];
    let page = still.list({ limit: 3 });
    while (page.length > 0) {
      expect(page.length).toBeLessThanOrEqual(3);
      seen.push(...page.map((c) => c.id));
      page = still.list({ limit: 3, before: page.at(-1) });
    }
    expect(seen).toEqual([...ids].reverse());

    expect(
      store.list({ limit: 1, before: { updatedAt: '2025-02-01T00:00:00.000Z', id: 1 } }),
    ).toEqual([]);
  });

  it('refuses a bad limit or cursor with one line', () => {
    expect(() => store.list({ limit: 0 })).toThrow(/Invalid list limit '0': use a whole number/);
    expect(() => store.list({ limit: 2.5 })).toThrow(InvalidArgumentError);
    expect(() => store.list({ limit: 501 })).toThrow(InvalidArgumentError);
    expect(() => store.list({ before: { updatedAt: 'x', id: -1 } })).toThrow(InvalidArgumentError);
  });
});

describe('appendMessage', () => {
  it('assigns positions 0, 1, 2… per conversation and bumps updated_at', () => {
    const a = store.create('a');
    const b = store.create('b');
    const m0 = store.appendMessage(a.id, { role: 'user', content: 'one' });
    const m1 = store.appendMessage(a.id, { role: 'assistant', content: 'two', model: 'demo-slm' });
    const other = store.appendMessage(b.id, { role: 'user', content: 'elsewhere' });
    const m2 = store.appendMessage(a.id, { role: 'user', content: 'three' });
    expect([m0.position, m1.position, m2.position]).toEqual([0, 1, 2]);
    expect(other.position).toBe(0);
    expect(m1).toMatchObject({
      conversationId: a.id,
      role: 'assistant',
      content: 'two',
      model: 'demo-slm',
      figures: undefined,
      sources: undefined,
      citations: undefined,
      finish: undefined,
      error: undefined,
      rating: undefined,
      ratingComment: undefined,
      ratedAt: undefined,
    });
    const stored = store.get(a.id);
    expect(stored?.messages.map((m) => m.content)).toEqual(['one', 'two', 'three']);
    expect(stored?.messages).toEqual([m0, m1, m2]);
    expect(stored?.updatedAt).toBe(m2.createdAt);
    expect(stored?.createdAt).toBe(a.createdAt);
  });

  it('titles an untitled conversation from the first user message, on a word boundary', () => {
    const untitled = store.create();
    store.appendMessage(untitled.id, {
      role: 'user',
      content: '  What is   the\nTTFT of phi-4-mini?  ',
    });
    expect(store.get(untitled.id)?.title).toBe('What is the TTFT of phi-4-mini?');
    // Later user messages do not rename it.
    store.appendMessage(untitled.id, { role: 'user', content: 'And gpt-oss-20b?' });
    expect(store.get(untitled.id)?.title).toBe('What is the TTFT of phi-4-mini?');

    const empty = store.create('');
    const long =
      'Summarise the quarterly results for the executive brief and compare the small model against the large one';
    store.appendMessage(empty.id, { role: 'assistant', content: 'Hello! Ask me anything.' });
    expect(store.get(empty.id)?.title).toBe('');
    store.appendMessage(empty.id, { role: 'user', content: long });
    const title = store.get(empty.id)?.title ?? '';
    expect(title.length).toBeLessThanOrEqual(80);
    expect(title).toBe(
      'Summarise the quarterly results for the executive brief and compare the small…',
    );
    expect(long.startsWith(title.slice(0, -1))).toBe(true);

    // A title the user chose is kept.
    const named = store.create('Mine');
    store.appendMessage(named.id, { role: 'user', content: 'something else' });
    expect(store.get(named.id)?.title).toBe('Mine');
  });

  it('refuses an unknown conversation, a bad role, an empty user message, a model on a user message', () => {
    expect(() => store.appendMessage(999, { role: 'user', content: 'hi' })).toThrow(
      ConversationNotFoundError,
    );
    expect(() => store.appendMessage(999, { role: 'user', content: 'hi' })).toThrow(
      'No conversation 999: it may have been deleted; reload the conversation list.',
    );
    const { id } = store.create('x');
    expect(() => store.appendMessage(id, { role: 'system' as 'user', content: 'hi' })).toThrow(
      /Invalid message role 'system'/,
    );
    expect(() => store.appendMessage(id, { role: 'user', content: ' \n ' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => store.appendMessage(id, { role: 'user', content: 'hi', model: 'm' })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      store.appendMessage(id, { role: 'assistant', content: '', figures: [1] as never }),
    ).toThrow(/figures must be an object/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() =>
      store.appendMessage(id, { role: 'assistant', content: '', figures: cyclic }),
    ).toThrow(/figures cannot be stored as JSON/);
    expect(store.get(id)?.messages).toEqual([]);
    expect(() => store.appendMessage(0, { role: 'user', content: 'hi' })).toThrow(
      /Invalid conversation id '0'/,
    );
  });
});

describe('JSON columns', () => {
  it('round-trips figures, sources and citations', () => {
    const { id } = store.create('json');
    const figures = {
      ttftMs: 123.5,
      tokensPerSecond: 41.2,
      outputTokens: 87,
      tokenSource: 'usage',
      e2eMs: 2100,
      nested: { memory: { peakRssBytes: 1_234_567 } },
      unknownYet: undefined,
    };
    const sources = [
      { chunkId: 3, source: 'docs/brief.md', headingPath: ['Results', 'Q3'], score: 0.82 },
      { chunkId: 9, source: 'docs/ü.md', headingPath: [], score: 0.4 },
    ];
    const citations = [{ marker: 1, chunkId: 3, quote: 'revenue grew "12%"' }];
    const message = store.appendMessage(id, {
      role: 'assistant',
      content: 'Revenue grew [1].',
      model: 'phi-4-mini',
      figures,
      sources,
      citations,
      finish: 'stop',
    });
    const reread = store.get(id)?.messages[0];
    expect(reread).toEqual(message);
    expect(reread?.figures).toEqual(figures);
    expect(reread?.sources).toEqual(sources);
    expect(reread?.citations).toEqual(citations);
    // Stored as JSON text.
    const raw = db
      .prepare('SELECT figures, sources FROM chat_messages WHERE id = ?')
      .get(message.id);
    expect(raw).toMatchObject({ figures: expect.stringContaining('"ttftMs":123.5') });
  });
});

describe('updateMessage', () => {
  it('finishes a streamed answer, keeps what the patch leaves out, clears with null', () => {
    const { id } = store.create('stream');
    store.appendMessage(id, { role: 'user', content: 'Go' });
    const started = store.appendMessage(id, {
      role: 'assistant',
      content: '',
      model: 'demo-llm',
      sources: [{ chunkId: 1 }],
    });
    const finished = store.updateMessage(started.id, {
      content: 'Done [1].',
      figures: { ttftMs: 50, outputTokens: 3, tokenSource: 'engine' },
      citations: { '1': 1 },
      finish: 'stop',
    });
    expect(finished).toEqual({
      ...started,
      content: 'Done [1].',
      figures: { ttftMs: 50, outputTokens: 3, tokenSource: 'engine' },
      citations: { '1': 1 },
      finish: 'stop',
    });
    expect(store.get(id)?.messages[1]).toEqual(finished);
    // The update makes the conversation the most recent.
    expect((store.get(id)?.updatedAt ?? '') > started.createdAt).toBe(true);

    const failed = store.updateMessage(started.id, { finish: 'error', error: 'Server stopped.' });
    expect(failed).toMatchObject({
      content: 'Done [1].',
      finish: 'error',
      error: 'Server stopped.',
    });
    const cleared = store.updateMessage(started.id, { error: null, sources: null, figures: null });
    expect(cleared).toMatchObject({
      error: undefined,
      sources: undefined,
      figures: undefined,
      finish: 'error',
      model: 'demo-llm',
    });
  });

  it('closes answers left streaming (a server that crashed), keeping their text', () => {
    const { id } = store.create('crash');
    store.appendMessage(id, { role: 'user', content: 'Go' });
    const cut = store.appendMessage(id, {
      role: 'assistant',
      content: '',
      model: 'demo-llm',
      finish: 'streaming',
    });
    store.updateMessage(cut.id, { content: 'Half an ans' });
    const done = store.appendMessage(id, {
      role: 'assistant',
      content: 'Whole.',
      model: 'demo-llm',
      finish: 'stop',
    });
    expect(store.closeInterrupted()).toBe(1);
    const messages = store.get(id)?.messages ?? [];
    expect(messages[1]).toMatchObject({
      id: cut.id,
      content: 'Half an ans',
      finish: 'interrupted',
      error: INTERRUPTED_ERROR,
    });
    expect(messages[2]).toEqual(done);
    expect(store.closeInterrupted()).toBe(0);
  });

  it('refuses an unknown message and a user message', () => {
    expect(() => store.updateMessage(404, { content: 'x' })).toThrow(MessageNotFoundError);
    expect(() => store.updateMessage(404, { content: 'x' })).toThrow(/^No message 404: /);
    const { id } = store.create('x');
    const user = store.appendMessage(id, { role: 'user', content: 'hi' });
    expect(() => store.updateMessage(user.id, { content: 'edited' })).toThrow(InvalidArgumentError);
    expect(store.get(id)?.messages[0]?.content).toBe('hi');
  });
});

describe('rate', () => {
  it('sets, changes and clears a rating with its comment and time', () => {
    const { id } = store.create('rated');
    store.appendMessage(id, { role: 'user', content: 'Question' });
    const answer = store.appendMessage(id, { role: 'assistant', content: 'Answer' });
    const before = store.get(id)?.updatedAt;

    const up = store.rate(answer.id, 1, '  Clear and grounded.  ');
    expect(up).toMatchObject({ rating: 1, ratingComment: 'Clear and grounded.' });
    expect(up.ratedAt).toMatch(/^2025-01-01T/);

    const down = store.rate(answer.id, -1);
    expect(down).toMatchObject({ rating: -1, ratingComment: undefined });
    expect(down.ratedAt && up.ratedAt && down.ratedAt > up.ratedAt).toBe(true);

    const withComment = store.rate(answer.id, -1, 'Made up a number.');
    expect(store.get(id)?.messages[1]).toEqual(withComment);

    const cleared = store.rate(answer.id, null);
    expect(cleared).toMatchObject({
      rating: undefined,
      ratingComment: undefined,
      ratedAt: undefined,
    });
    // Rating does not reorder the list.
    expect(store.get(id)?.updatedAt).toBe(before);
  });

  it('refuses a user message, a bad rating, an over-long comment, a comment without a rating', () => {
    const { id } = store.create('x');
    const user = store.appendMessage(id, { role: 'user', content: 'hi' });
    const answer = store.appendMessage(id, { role: 'assistant', content: 'hello' });
    expect(() => store.rate(user.id, 1)).toThrow(InvalidArgumentError);
    expect(() => store.rate(user.id, 1)).toThrow(/only assistant answers can be rated/);
    expect(() => store.rate(answer.id, 0 as 1)).toThrow(/Invalid rating '0'/);
    expect(store.rate(answer.id, 1, 'é'.repeat(2000)).ratingComment).toHaveLength(2000);
    expect(() => store.rate(answer.id, 1, 'x'.repeat(2001))).toThrow(
      'Rating comment is 2001 characters long: use at most 2000.',
    );
    expect(() => store.rate(answer.id, null, 'why')).toThrow(/A comment needs a rating/);
    expect(() => store.rate(12345, 1)).toThrow(MessageNotFoundError);
    // The failed calls left the last good rating.
    expect(store.get(id)?.messages[1]).toMatchObject({ rating: 1 });
  });

  it('survives closing and reopening a file database', () => {
    const path = join(scratch, 'rating.db');
    const first = openDatabase(path);
    let conversationId: number;
    let messageId: number;
    try {
      const fileStore = new ConversationStore(first);
      conversationId = fileStore.create('persisted').id;
      fileStore.appendMessage(conversationId, { role: 'user', content: 'Is it saved?' });
      messageId = fileStore.appendMessage(conversationId, {
        role: 'assistant',
        content: 'Yes.',
        figures: { ttftMs: 12 },
      }).id;
      fileStore.rate(messageId, -1, 'Too short.');
    } finally {
      first.close();
    }
    const second = openDatabase(path);
    try {
      const reread = new ConversationStore(second).get(conversationId);
      expect(reread?.title).toBe('persisted');
      expect(reread?.messages[1]).toMatchObject({
        id: messageId,
        rating: -1,
        ratingComment: 'Too short.',
        figures: { ttftMs: 12 },
      });
      expect(reread?.messages[1]?.ratedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    } finally {
      second.close();
    }
  });
});

describe('rename and remove', () => {
  it('renames, keeping the list order, and refuses empty, long or unknown', () => {
    const a = store.create('a');
    store.create('b');
    const renamed = store.rename(a.id, '  Brief  ');
    expect(renamed).toEqual({ ...a, title: 'Brief' });
    expect(store.list().map((c) => c.title)).toEqual(['b', 'Brief']);
    expect(() => store.rename(a.id, '   ')).toThrow(InvalidArgumentError);
    expect(() => store.rename(a.id, 'x'.repeat(201))).toThrow(InvalidArgumentError);
    expect(() => store.rename(777, 'x')).toThrow(ConversationNotFoundError);
  });

  it('removes a conversation with its messages; false for an unknown id', () => {
    const keep = store.create('keep');
    const drop = store.create('drop');
    store.appendMessage(keep.id, { role: 'user', content: 'stays' });
    store.appendMessage(drop.id, { role: 'user', content: 'goes' });
    const answer = store.appendMessage(drop.id, { role: 'assistant', content: 'goes too' });
    expect(store.remove(drop.id)).toBe(true);
    expect(store.get(drop.id)).toBeUndefined();
    expect(store.remove(drop.id)).toBe(false);
    expect(store.list().map((c) => c.id)).toEqual([keep.id]);
    expect(
      db.prepare('SELECT count(*) AS n FROM chat_messages WHERE conversation_id = ?').get(drop.id),
    ).toEqual({ n: 0 });
    expect(() => store.rate(answer.id, 1)).toThrow(MessageNotFoundError);
    expect(store.get(keep.id)?.messages).toHaveLength(1);
  });

  it('the foreign key cascades when a conversation row is deleted directly', () => {
    const { id } = store.create('cascade');
    store.appendMessage(id, { role: 'user', content: 'a' });
    db.prepare('DELETE FROM chat_conversations WHERE id = ?').run(id);
    expect(db.prepare('SELECT count(*) AS n FROM chat_messages').get()).toEqual({ n: 0 });
  });
});

describe('unknown ids', () => {
  it('get gives undefined; writes throw typed errors with one line', () => {
    expect(store.get(42)).toBeUndefined();
    expect(() => store.appendMessage(42, { role: 'user', content: 'x' })).toThrow(
      ConversationNotFoundError,
    );
    expect(() => store.rename(42, 'x')).toThrow(ConversationNotFoundError);
    expect(store.remove(42)).toBe(false);
    expect(() => store.updateMessage(42, {})).toThrow(MessageNotFoundError);
    expect(() => store.rate(42, 1)).toThrow(MessageNotFoundError);
    const error = new ConversationNotFoundError(42);
    expect(error.message).not.toContain('\n');
    expect(error.exitCode).toBe(3);
    expect(() => store.get(Number.NaN)).toThrow(InvalidArgumentError);
  });
});

describe('excerpt', () => {
  it('keeps short text, collapses whitespace, cuts long text on a word boundary', () => {
    expect(excerpt(' a \n b ', 10)).toBe('a b');
    expect(excerpt('exactly ten', 11)).toBe('exactly ten');
    expect(excerpt('one two three four', 10)).toBe('one two…');
    expect(excerpt('one, two three', 9)).toBe('one, two…');
    expect(excerpt('one, two three', 6)).toBe('one…');
    // A word too long to cut at a boundary is cut inside.
    expect(excerpt('a supercalifragilistic word', 10)).toBe('a superca…');
    // Surrogate pairs are one character each, never split.
    expect(excerpt('😀'.repeat(10), 5)).toBe('😀😀😀😀…');
  });
});
