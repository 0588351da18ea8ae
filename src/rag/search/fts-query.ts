/**
 * Turns user text into an SQLite FTS5 MATCH expression that can never be a syntax error:
 * the text is split into terms the way FTS5's `unicode61` tokenizer (with
 * `remove_diacritics 2`) splits it, and every term becomes a double-quoted FTS5 string,
 * so quotes, `AND`/`OR`/`NOT`/`NEAR`, `column:` filters, parentheses, `^`, `*`, `-` and `+`
 * in the text are only ever searched for as words (or dropped as separators). The
 * expression is still bound as a statement parameter, never spliced into SQL.
 *
 * Case folding and diacritic removal are ported verbatim from SQLite's
 * `fts5_unicode2.c` (SQLite 3.53), so `Café` gives `cafe` exactly as the index stores it.
 * Which characters belong to words comes from JavaScript's Unicode property escapes
 * (letters, numbers, private use, unassigned), as `unicode61`'s default categories
 * `L* N* Co` plus unassigned; SQLite's tables are from an older Unicode version, so a few
 * thousand characters assigned since (mostly newer symbols and emoji, which SQLite keeps
 * inside words) are split differently. That changes which words a query looks for, never
 * whether the expression parses: FTS5 re-tokenizes every quoted term itself.
 */

/** How many distinct terms {@link queryTerms} keeps when not told otherwise. */
export const DEFAULT_MAX_TERMS = 32;

/** A word character for `unicode61` with its default categories (`L* N* Co`, and unassigned). */
const WORD_CHARACTER = /^[\p{L}\p{N}\p{Co}\p{Cn}]$/u;

/**
 * Letters to JavaScript that SQLite's older tables make separators (New Tai Lue vowel signs,
 * two Vedic signs, and the noncharacters U+FFFE and U+FFFF), so that every word character
 * here is one for FTS5 too.
 */
const SQLITE_SEPARATORS = /^[\u19b0-\u19c0\u19c8\u19c9\u1cf2\u1cf3\ufffe\uffff]$/u;

/**
 * Simple case folding from SQLite's `sqlite3Fts5UnicodeFold`, as triples
 * (first code point, flags, range length): a code point C in the range folds to
 * `(C + CASE_FOLD_OFFSETS[flags >> 1]) & 0xffff`, for every code point of the range when
 * bit 0 of flags is clear, or for every second one (starting at the first) when it is set.
 */
const CASE_FOLD_RULES: readonly number[] = [
  65, 14, 26, 181, 64, 1, 192, 14, 23, 216, 14, 7, 256, 1, 48, 306, 1, 6, 313, 1, 16, 330, 1, 46,
  376, 116, 1, 377, 1, 6, 383, 104, 1, 385, 50, 1, 386, 1, 4, 390, 44, 1, 391, 0, 1, 393, 42, 2,
  395, 0, 1, 398, 32, 1, 399, 38, 1, 400, 40, 1, 401, 0, 1, 403, 42, 1, 404, 46, 1, 406, 52, 1, 407,
  48, 1, 408, 0, 1, 412, 52, 1, 413, 54, 1, 415, 56, 1, 416, 1, 6, 422, 60, 1, 423, 0, 1, 425, 60,
  1, 428, 0, 1, 430, 60, 1, 431, 0, 1, 433, 58, 2, 435, 1, 4, 439, 62, 1, 440, 0, 1, 444, 0, 1, 452,
  2, 1, 453, 0, 1, 455, 2, 1, 456, 0, 1, 458, 2, 1, 459, 1, 18, 478, 1, 18, 497, 2, 1, 498, 1, 4,
  502, 122, 1, 503, 134, 1, 504, 1, 40, 544, 110, 1, 546, 1, 18, 570, 70, 1, 571, 0, 1, 573, 108, 1,
  574, 68, 1, 577, 0, 1, 579, 106, 1, 580, 28, 1, 581, 30, 1, 582, 1, 10, 837, 36, 1, 880, 1, 4,
  886, 0, 1, 902, 18, 1, 904, 16, 3, 908, 26, 1, 910, 24, 2, 913, 14, 17, 931, 14, 9, 962, 0, 1,
  975, 4, 1, 976, 140, 1, 977, 142, 1, 981, 146, 1, 982, 144, 1, 984, 1, 24, 1008, 136, 1, 1009,
  138, 1, 1012, 130, 1, 1013, 128, 1, 1015, 0, 1, 1017, 152, 1, 1018, 0, 1, 1021, 110, 3, 1024, 34,
  16, 1040, 14, 32, 1120, 1, 34, 1162, 1, 54, 1216, 6, 1, 1217, 1, 14, 1232, 1, 88, 1329, 22, 38,
  4256, 66, 38, 4295, 66, 1, 4301, 66, 1, 7680, 1, 150, 7835, 132, 1, 7838, 96, 1, 7840, 1, 96,
  7944, 150, 8, 7960, 150, 6, 7976, 150, 8, 7992, 150, 8, 8008, 150, 6, 8025, 151, 8, 8040, 150, 8,
  8072, 150, 8, 8088, 150, 8, 8104, 150, 8, 8120, 150, 2, 8122, 126, 2, 8124, 148, 1, 8126, 100, 1,
  8136, 124, 4, 8140, 148, 1, 8152, 150, 2, 8154, 120, 2, 8168, 150, 2, 8170, 118, 2, 8172, 152, 1,
  8184, 112, 2, 8186, 114, 2, 8188, 148, 1, 8486, 98, 1, 8490, 92, 1, 8491, 94, 1, 8498, 12, 1,
  8544, 8, 16, 8579, 0, 1, 9398, 10, 26, 11264, 22, 47, 11360, 0, 1, 11362, 88, 1, 11363, 102, 1,
  11364, 90, 1, 11367, 1, 6, 11373, 84, 1, 11374, 86, 1, 11375, 80, 1, 11376, 82, 1, 11378, 0, 1,
  11381, 0, 1, 11390, 78, 2, 11392, 1, 100, 11499, 1, 4, 11506, 0, 1, 42560, 1, 46, 42624, 1, 24,
  42786, 1, 14, 42802, 1, 62, 42873, 1, 4, 42877, 76, 1, 42878, 1, 10, 42891, 0, 1, 42893, 74, 1,
  42896, 1, 4, 42912, 1, 10, 42922, 72, 1, 65313, 14, 26,
];

/** The offsets that {@link CASE_FOLD_RULES} index (SQLite's `aiOff`). */
const CASE_FOLD_OFFSETS: readonly number[] = [
  1, 2, 8, 15, 16, 26, 28, 32, 37, 38, 40, 48, 63, 64, 69, 71, 79, 80, 116, 202, 203, 205, 206, 207,
  209, 210, 211, 213, 214, 217, 218, 219, 775, 7264, 10792, 10795, 23228, 23256, 30204, 54721,
  54753, 54754, 54756, 54787, 54793, 54809, 57153, 57274, 57921, 58019, 58363, 61722, 65268, 65341,
  65373, 65406, 65408, 65410, 65415, 65424, 65436, 65439, 65450, 65462, 65472, 65476, 65478, 65480,
  65482, 65488, 65506, 65511, 65514, 65521, 65527, 65528, 65529,
];

/**
 * Diacritic removal from SQLite's `fts5_remove_diacritic`: each entry is
 * `(first code point << 3) | (range length - 1)`, sorted; every code point of entry i's range
 * becomes `DIACRITIC_BASE_LETTERS[i]` (`_`: removed altogether, as combining marks are).
 * remove_diacritics 2 applies every entry (mode 1 skips a few).
 */
const DIACRITIC_RANGES: readonly number[] = [
  0, 1797, 1848, 1859, 1891, 1928, 1940, 1995, 2024, 2040, 2060, 2110, 2168, 2206, 2264, 2286, 2344,
  2383, 2472, 2488, 2516, 2596, 2668, 2732, 2782, 2842, 2894, 2954, 2984, 3000, 3028, 3336, 3456,
  3696, 3712, 3728, 3744, 3766, 3832, 3896, 3912, 3928, 3944, 3968, 4008, 4040, 4056, 4106, 4138,
  4170, 4202, 4234, 4266, 4296, 4312, 4344, 4408, 4424, 4442, 4472, 4488, 4504, 6148, 6198, 6264,
  6280, 6360, 6429, 6505, 6529, 61448, 61468, 61512, 61534, 61592, 61610, 61642, 61672, 61688,
  61704, 61726, 61784, 61800, 61816, 61836, 61880, 61896, 61914, 61948, 61998, 62062, 62122, 62154,
  62184, 62200, 62218, 62252, 62302, 62364, 62410, 62442, 62478, 62536, 62554, 62584, 62604, 62640,
  62648, 62656, 62664, 62730, 62766, 62830, 62890, 62924, 62974, 63032, 63050, 63082, 63118, 63182,
  63242, 63274, 63310, 63368, 63390,
];

/** The base letter of each {@link DIACRITIC_RANGES} entry, one character per entry. */
const DIACRITIC_BASE_LETTERS =
  '_aceinouyyacdeeghijklnorstuuwyzouaiouuagkoojgnaaeiorusthaeoooy________' +
  'abcddeeefghhiiklllmnoprrrsstuuvwwxyzhtwyaaaaeeeioooouuuy';

/** The code point with its diacritic removed (0: removed altogether), as remove_diacritics 2. */
function removeDiacritic(codePoint: number): number {
  const key = codePoint * 8 + 7;
  let low = 0;
  let high = DIACRITIC_RANGES.length - 1;
  let found = 0;
  while (high >= low) {
    const middle = (low + high) >> 1;
    if (key >= (DIACRITIC_RANGES[middle] ?? 0)) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  const entry = DIACRITIC_RANGES[found] ?? 0;
  if (codePoint > (entry >> 3) + (entry & 7)) return codePoint;
  const base = DIACRITIC_BASE_LETTERS[found] ?? '_';
  return base === '_' ? 0 : base.charCodeAt(0);
}

/** `sqlite3Fts5UnicodeFold(codePoint, 2)`: lower case, then without diacritics (0: dropped). */
function foldCodePoint(codePoint: number): number {
  if (codePoint < 128) return codePoint >= 65 && codePoint <= 90 ? codePoint + 32 : codePoint;
  if (codePoint >= 65536) {
    // Deseret, the one supplementary-plane case pair SQLite folds.
    return codePoint >= 66560 && codePoint < 66600 ? codePoint + 40 : codePoint;
  }
  let low = 0;
  let high = CASE_FOLD_RULES.length / 3 - 1;
  let found = -1;
  while (high >= low) {
    const middle = (low + high) >> 1;
    if (codePoint >= (CASE_FOLD_RULES[middle * 3] ?? 0)) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  let folded = codePoint;
  if (found >= 0) {
    const first = CASE_FOLD_RULES[found * 3] ?? 0;
    const flags = CASE_FOLD_RULES[found * 3 + 1] ?? 0;
    const length = CASE_FOLD_RULES[found * 3 + 2] ?? 0;
    if (codePoint < first + length && (flags & 1 & (first ^ codePoint)) === 0) {
      folded = (codePoint + (CASE_FOLD_OFFSETS[flags >> 1] ?? 0)) & 0xffff;
    }
  }
  return removeDiacritic(folded);
}

/**
 * A combining mark that `unicode61` keeps inside a word (and then removes), though it could
 * not start one: SQLite's `sqlite3Fts5UnicodeIsdiacritic`, U+0300..U+0331 by bit mask.
 */
function isInWordDiacritic(codePoint: number): boolean {
  if (codePoint < 768 || codePoint > 817) return false;
  return codePoint < 800
    ? ((0x08029fdf >>> (codePoint - 768)) & 1) === 1
    : ((0x000361f8 >>> (codePoint - 800)) & 1) === 1;
}

function isWordCharacter(codePoint: number, character: string): boolean {
  if (codePoint < 128) {
    return (
      (codePoint >= 48 && codePoint <= 57) ||
      (codePoint >= 65 && codePoint <= 90) ||
      (codePoint >= 97 && codePoint <= 122)
    );
  }
  return WORD_CHARACTER.test(character) && !SQLITE_SEPARATORS.test(character);
}

function checkMaxTerms(maxTerms: number): void {
  if (!Number.isSafeInteger(maxTerms) || maxTerms < 1) {
    throw new RangeError(`Invalid maxTerms ${maxTerms}: must be a positive integer.`);
  }
}

/**
 * The terms of a user query as FTS5 would tokenize them (unicode61: letters and digits,
 * Unicode-aware, lowercased, diacritics folded as remove_diacritics 2 does), deduplicated,
 * in order of first appearance, at most `maxTerms` (default {@link DEFAULT_MAX_TERMS}).
 * Reading stops once `maxTerms` distinct terms are found, so a huge text costs little.
 * Throws RangeError when `maxTerms` is not a positive integer.
 */
export function queryTerms(text: string, maxTerms: number = DEFAULT_MAX_TERMS): string[] {
  checkMaxTerms(maxTerms);
  const terms = new Set<string>();
  for (const token of ftsTokens(text)) {
    terms.add(token);
    if (terms.size >= maxTerms) break;
  }
  return [...terms];
}

/**
 * Every token of `text` in order, repeats included, as FTS5's unicode61 tokenizer (with
 * remove_diacritics 2) makes them: the unit BM25 counts term frequencies and lengths in.
 */
export function* ftsTokens(text: string): Generator<string> {
  // ASCII text (most text): unicode61's tokens are its runs of letters and digits, lowercased.
  if (!NON_ASCII.test(text)) {
    for (const match of text.matchAll(ASCII_WORD)) yield (match[0] as string).toLowerCase();
    return;
  }
  let current = '';
  let inWord = false;
  for (const character of text) {
    const codePoint = character.codePointAt(0) ?? 0;
    if (isWordCharacter(codePoint, character) || (inWord && isInWordDiacritic(codePoint))) {
      inWord = true;
      const folded = foldCodePoint(codePoint);
      if (folded !== 0) current += String.fromCodePoint(folded);
      continue;
    }
    inWord = false;
    if (current !== '') {
      yield current;
      current = '';
    }
  }
  if (current !== '') yield current;
}

/** Any character above U+007F. */
const NON_ASCII = /[\u0080-\uffff]/;
const ASCII_WORD = /[A-Za-z0-9]+/g;

/** The number of FTS5 tokens in `text` (what FTS5 counts as the column's length). */
export function ftsTokenCount(text: string): number {
  let count = 0;
  for (const _token of ftsTokens(text)) count += 1;
  return count;
}

/** One FTS5 string literal: the text in double quotes, any double quote inside doubled. */
function quoteFtsString(term: string): string {
  return `"${term.replaceAll('"', '""')}"`;
}

/** The FTS5 MATCH expression for terms already extracted (see {@link ftsMatchExpression}). */
export function termsMatchExpression(terms: readonly string[]): string | undefined {
  return terms.length === 0 ? undefined : terms.map(quoteFtsString).join(' OR ');
}

/**
 * An FTS5 MATCH expression for user text: every term of {@link queryTerms} as a
 * double-quoted string (quotes inside doubled), joined with OR, so ranking is BM25 over
 * any term; undefined when the text has no terms (only punctuation, spaces or symbols),
 * and the caller can skip the query. Bind it as a parameter: `... WHERE chunk_fts MATCH ?`.
 */
export function ftsMatchExpression(
  text: string,
  maxTerms: number = DEFAULT_MAX_TERMS,
): string | undefined {
  return termsMatchExpression(queryTerms(text, maxTerms));
}
