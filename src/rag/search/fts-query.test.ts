import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_MAX_TERMS, ftsMatchExpression, queryTerms } from './fts-query.js';

const TOKENIZER = "tokenize = 'unicode61 remove_diacritics 2'";

const ROWS: readonly (readonly [number, string, string])[] = [
  [1, 'Café au lait recipe', 'Drinks'],
  [2, 'The secret password is hunter2', 'Security'],
  [3, '東京の天気は晴れです', 'Weather'],
  [4, 'NOT AND OR NEAR are FTS5 operators', 'Syntax'],
  [5, "Don't drop tables; use parameters", 'Databases'],
  [6, 'Emoji 🎉 party time', 'Fun'],
  [7, 'Naïve résumé of Zoë', 'People'],
  [8, 'Resume writing tips', 'Careers'],
];

let database: BetterSqlite3.Database;

beforeAll(() => {
  database = new BetterSqlite3(':memory:');
  database.exec(`
    CREATE TABLE chunks (id INTEGER PRIMARY KEY, text TEXT NOT NULL, heading TEXT NOT NULL);
    CREATE VIRTUAL TABLE chunk_fts USING fts5(
      text, heading, ${TOKENIZER}, content = 'chunks', content_rowid = 'id'
    );
    CREATE VIRTUAL TABLE probe_fts USING fts5(text, ${TOKENIZER}, content = '');
    CREATE VIRTUAL TABLE probe_vocabulary USING fts5vocab(probe_fts, instance);
  `);
  const insert = database.prepare('INSERT INTO chunks (id, text, heading) VALUES (?, ?, ?)');
  for (const row of ROWS) insert.run(...row);
  database.exec("INSERT INTO chunk_fts (chunk_fts) VALUES ('rebuild')");
});

afterAll(() => {
  database.close();
});

/** Row ids matching the text, best BM25 first; [] when the text has no terms. */
function search(text: string): number[] {
  const expression = ftsMatchExpression(text);
  if (expression === undefined) return [];
  const rows = database
    .prepare('SELECT rowid AS id FROM chunk_fts WHERE chunk_fts MATCH ? ORDER BY rank')
    .all(expression) as { id: number }[];
  return rows.map((row) => row.id);
}

function searchSorted(text: string): number[] {
  return search(text).sort((left, right) => left - right);
}

/** The same query, unescaped: what would happen without ftsMatchExpression. */
function rawSearch(text: string): unknown[] {
  return database.prepare('SELECT rowid FROM chunk_fts WHERE chunk_fts MATCH ?').all(text);
}

let nextProbeId = 1;

/** The distinct terms FTS5 itself makes of the text, in order. */
function ftsTerms(text: string): string[] {
  const id = nextProbeId++;
  database.prepare('INSERT INTO probe_fts (rowid, text) VALUES (?, ?)').run(id, text);
  const rows = database
    .prepare('SELECT term FROM probe_vocabulary WHERE doc = ? ORDER BY offset')
    .all(id) as { term: string }[];
  return [...new Set(rows.map((row) => row.term))];
}

describe('ftsMatchExpression with hostile queries', () => {
  const cases: readonly (readonly [string, number[]])[] = [
    ['a"b', []],
    ['secret"password', [2]],
    ['NOT', [4]],
    ['AND OR', [4]],
    ['NEAR(a b)', [4]],
    ['col:term', []],
    ['text:secret', [2]],
    ['nosuchcolumn:secret', [2]],
    ['heading:drinks', [1]],
    ['^x', []],
    ['-x', []],
    ['+x', []],
    ['^secret', [2]],
    ['-secret', [2]],
    ['+secret', [2]],
    ['*secret*', [2]],
    ['secret*', [2]],
    ['a AND (b', [4]],
    ["'; DROP TABLE chunks; --", [5]],
    ['SELECT * FROM chunks WHERE 1=1 UNION SELECT password', [2]],
    ['party 🎉', [6]],
    ['東京の天気は晴れです', [3]],
    ['secret\u0000password', [2]],
    ['\ud800secret', [2]],
  ];

  test.each(cases)('%j matches rows %j', (text, expected) => {
    expect(searchSorted(text)).toEqual(expected);
  });

  test('the same queries unescaped are FTS5 errors, so the cases above test something', () => {
    for (const text of ['"', "'", 'a"b', 'NOT', 'AND OR', 'col:term', '(', ')', '*', '-x', '+x']) {
      expect(() => rawSearch(text), text).toThrow();
    }
    for (const text of ['a AND (b', "'; DROP TABLE chunks; --", 'nosuchcolumn:secret']) {
      expect(() => rawSearch(text), text).toThrow();
    }
  });

  test.each([
    '"',
    '""',
    "'",
    '(',
    ')',
    '*',
    '🎉',
    '',
    '  \n\t ',
    '!@#$%^&*()_+-={}[]|\\:;"\'<>,.?/~`',
  ])('%j has no terms: undefined, and the caller skips the query', (text) => {
    expect(queryTerms(text)).toEqual([]);
    expect(ftsMatchExpression(text)).toBeUndefined();
  });

  test('SQL in the query is only searched for, and the tables are intact', () => {
    expect(search("'; DROP TABLE chunks; --")).toEqual([5]);
    expect(search('x"); DROP TABLE chunk_fts; --')).toEqual([5]);
    const count = database.prepare('SELECT count(*) AS count FROM chunks').get() as {
      count: number;
    };
    expect(count.count).toBe(ROWS.length);
    expect(search('secret')).toEqual([2]);
  });

  test('accented and unaccented text match each other (remove_diacritics 2)', () => {
    expect(searchSorted('naive resume')).toEqual([7, 8]);
    expect(searchSorted('Résumé')).toEqual([7, 8]);
    expect(search('CAFÉ')).toEqual([1]);
    expect(search('cafe')).toEqual([1]);
    expect(search('ZOË')).toEqual([7]);
    expect(search('zoe')).toEqual([7]);
  });

  test('a run of CJK text is one term, as unicode61 makes it', () => {
    expect(queryTerms('東京の天気は晴れです')).toEqual(['東京の天気は晴れです']);
    expect(search('東京')).toEqual([]);
  });

  test('rows matching more terms rank first (OR of terms, BM25)', () => {
    expect(search('resume writing')[0]).toBe(8);
    expect(search('resume naive zoe')[0]).toBe(7);
  });

  test('a 10,000-character query', () => {
    const repeated = `${'secret '.repeat(1428)}!!!!`;
    expect(repeated).toHaveLength(10_000);
    expect(ftsMatchExpression(repeated)).toBe('"secret"');
    expect(search(repeated)).toEqual([2]);

    const oneWord = 'a'.repeat(10_000);
    expect(queryTerms(oneWord)).toEqual([oneWord]);
    expect(search(oneWord)).toEqual([]);

    const manyWords = Array.from({ length: 2000 }, (_, index) => `w${index}`)
      .join(' ')
      .slice(0, 10_000);
    expect(queryTerms(manyWords)).toHaveLength(DEFAULT_MAX_TERMS);
    expect(search(manyWords)).toEqual([]);

    const hostile = '"(*^:-+'.repeat(1429);
    expect(ftsMatchExpression(hostile)).toBeUndefined();
  });

  test('the expression is only quoted terms joined with OR', () => {
    const texts = ['Hello "world"', 'a AND (b', "'; DROP TABLE chunks; --", 'col:term NEAR(x y)'];
    for (const text of texts) {
      expect(ftsMatchExpression(text)).toMatch(/^"[^"]+"(?: OR "[^"]+")*$/);
    }
    expect(ftsMatchExpression('Hello "world" hello')).toBe('"hello" OR "world"');
    expect(ftsMatchExpression('a AND (b')).toBe('"a" OR "and" OR "b"');
  });
});

describe('queryTerms', () => {
  test('lowercased, deduplicated, in order of first appearance', () => {
    expect(queryTerms('Hello, world! HELLO World again')).toEqual(['hello', 'world', 'again']);
  });

  test('punctuation, apostrophes, hyphens and underscores separate terms', () => {
    expect(queryTerms("don't re-use snake_case v1.2.3 3,14")).toEqual([
      'don',
      't',
      're',
      'use',
      'snake',
      'case',
      'v1',
      '2',
      '3',
      '14',
    ]);
  });

  test('at most maxTerms distinct terms, 32 by default', () => {
    expect(queryTerms('one two one three four', 2)).toEqual(['one', 'two']);
    expect(queryTerms('one two one three four', 3)).toEqual(['one', 'two', 'three']);
    const words = Array.from({ length: 100 }, (_, index) => `word${index}`).join(' ');
    expect(queryTerms(words)).toHaveLength(32);
    expect(queryTerms(words)[31]).toBe('word31');
    expect(ftsMatchExpression(words, 1)).toBe('"word0"');
  });

  test.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'maxTerms %d is a RangeError',
    (maxTerms) => {
      expect(() => queryTerms('a', maxTerms)).toThrow(RangeError);
      expect(() => ftsMatchExpression('a', maxTerms)).toThrow(RangeError);
    },
  );

  test('folds case and diacritics the way SQLite does, not the way JavaScript does', () => {
    // Only letters with a decomposable diacritic lose it: ø and ł are letters of their own.
    expect(queryTerms('Ünïcödé Ærøskøbing Łódź')).toEqual(['unicode', 'ærøskøbing', 'łodz']);
    // Combining marks inside a word are dropped; SQLite's case folding turns µ into μ, ſ into s.
    expect(queryTerms('cafe\u0301s µ ſ')).toEqual(['cafes', 'μ', 's']);
    // Greek accents are not diacritics to SQLite; final sigma folds to sigma.
    expect(queryTerms('Λόγος')).toEqual(['λόγοσ']);
    // Cherokee capitals have no lower case in SQLite's tables, unlike JavaScript's.
    expect(queryTerms('Ꭰ')).toEqual(['Ꭰ']);
    expect(queryTerms('ＡＢＣ Ⅻ 𐐀')).toEqual(['ａｂｃ', 'ⅻ', '𐐨']);
  });
});

describe('queryTerms agrees with FTS5 unicode61', () => {
  const samples = [
    'Hello, World! hello',
    'The quick (brown) fox: jumps* over ^the "lazy" dog\'s back -- 42 times; 3.14, 1_000.',
    'Ünïcödé Ærøskøbing Ŀłŧ ǅungla Ǆ ß ẞ İstanbul',
    'cafe\u0301s e\u0301 \u0301alone',
    'Λόγος ΚΑΙ λόγος ϐ ϑ',
    'Привет, МИР! Ёлка',
    '東京の天気は晴れです。カタカナ 한국어 텍스트',
    'مرحبا بالعالم ١٢٣',
    'नमस्ते दुनिया',
    'ﬁnance ＡＢＣ ０１２ Ⅻ ⓐ 𐐀𐐁 𝐀𝐁',
    'emoji 🎉👍 party\u200bzero\u00a0width',
    'tab\tnew\nline\r\nnul\u0000end',
  ];

  test.each(samples)('%j', (text) => {
    expect(queryTerms(text, 1000)).toEqual(ftsTerms(text));
  });

  test("a known difference: characters newer than SQLite's Unicode tables", () => {
    // U+1F3FD (skin tone modifier, Unicode 8) is unassigned to SQLite, so part of a word there.
    expect(ftsTerms('👍🏽')).toEqual(['🏽']);
    expect(queryTerms('👍🏽')).toEqual([]);
  });

  test('every Basic Multilingual Plane character: same fold, and no word character FTS5 splits', () => {
    const codePoints: number[] = [];
    for (let codePoint = 1; codePoint < 0x10000; codePoint++) {
      if (codePoint < 0xd800 || codePoint > 0xdfff) codePoints.push(codePoint);
    }
    for (let codePoint = 0x10400; codePoint < 0x10450; codePoint++) codePoints.push(codePoint);
    const ftsTermByCodePoint = new Map<number, string>();
    const insert = database.prepare('INSERT INTO probe_fts (rowid, text) VALUES (?, ?)');
    const firstId = nextProbeId;
    database.transaction(() => {
      for (const codePoint of codePoints) {
        insert.run(nextProbeId++, String.fromCodePoint(codePoint));
      }
    })();
    const rows = database
      .prepare('SELECT doc, term FROM probe_vocabulary WHERE doc >= ?')
      .all(firstId) as { doc: number; term: string }[];
    for (const row of rows) {
      const codePoint = codePoints[row.doc - firstId];
      if (codePoint !== undefined) ftsTermByCodePoint.set(codePoint, row.term);
    }
    expect(ftsTermByCodePoint.size).toBeGreaterThan(40_000);

    const disagreements: string[] = [];
    let onlyFts = 0;
    for (const codePoint of codePoints) {
      const ours = queryTerms(String.fromCodePoint(codePoint))[0];
      const theirs = ftsTermByCodePoint.get(codePoint);
      if (ours === undefined && theirs !== undefined) {
        onlyFts++;
      } else if (ours !== theirs) {
        disagreements.push(`U+${codePoint.toString(16)}: ${ours} vs ${theirs}`);
      }
    }
    expect(disagreements).toEqual([]);
    // Characters assigned after SQLite's Unicode tables: FTS5 keeps them in words, we do not.
    expect(onlyFts).toBeLessThan(1000);
  });
});
