/**
 * A cheap estimate of how many tokens a text makes, for where the engine has no tokenizer to
 * ask: the RAG chunker sizes its chunks with it, and grounded answers and the chat's history
 * fit their context with it. The rules are in {@link estimateTokens}.
 */

import { isHighSurrogate, isLowSurrogate, isWhitespace } from './code-units.js';

/** What {@link estimateTokens} makes of a code point. */
type CharacterClass = number;
const CharacterClass = {
  Unknown: 0,
  Whitespace: 1,
  LineBreak: 2,
  Digit: 3,
  Latin: 4,
  Mark: 5,
  OtherLetter: 6,
  Ideograph: 7,
  Symbol: 8,
} as const;

const LATIN = /^\p{Script=Latin}$/u;
const MARK = /^\p{M}$/u;
const DIGIT = /^\p{Nd}$/u;
const SYMBOL = /^[\p{P}\p{S}]$/u;
const LINE_BREAK = /^[\n\r\v\f\u2028\u2029]$/;

function isIdeograph(codePoint: number): boolean {
  return (
    (codePoint >= 0x1100 && codePoint <= 0x11ff) || // Hangul Jamo
    (codePoint >= 0x3040 && codePoint <= 0x30ff) || // Hiragana, Katakana
    (codePoint >= 0x3130 && codePoint <= 0x318f) || // Hangul compatibility Jamo
    (codePoint >= 0x3400 && codePoint <= 0x4dbf) || // CJK extension A
    (codePoint >= 0x4e00 && codePoint <= 0x9fff) || // CJK unified ideographs
    (codePoint >= 0xac00 && codePoint <= 0xd7af) || // Hangul syllables
    (codePoint >= 0xf900 && codePoint <= 0xfaff) || // CJK compatibility ideographs
    (codePoint >= 0x20000 && codePoint <= 0x3134f) // CJK extensions B–G
  );
}

function classify(codePoint: number): CharacterClass {
  if (isIdeograph(codePoint)) return CharacterClass.Ideograph;
  const character = String.fromCodePoint(codePoint);
  if (LINE_BREAK.test(character)) return CharacterClass.LineBreak;
  if (isWhitespace(codePoint)) return CharacterClass.Whitespace;
  if (DIGIT.test(character)) return CharacterClass.Digit;
  if (MARK.test(character)) return CharacterClass.Mark;
  if (LATIN.test(character)) return CharacterClass.Latin;
  if (SYMBOL.test(character)) return CharacterClass.Symbol;
  return CharacterClass.OtherLetter;
}

/** Class of every code point, filled in on first sight (ASCII up front). */
const characterClasses = new Uint8Array(0x110000);
for (let codePoint = 0; codePoint < 0x80; codePoint++) {
  characterClasses[codePoint] = classify(codePoint);
}

function classOf(codePoint: number): CharacterClass {
  let characterClass = characterClasses[codePoint] ?? CharacterClass.Unknown;
  if (characterClass === CharacterClass.Unknown) {
    characterClass = classify(codePoint);
    characterClasses[codePoint] = characterClass;
  }
  return characterClass;
}

/** Tokens of one run of characters of one class, `length` in UTF-16 units (code points for symbols). */
function runTokens(runClass: CharacterClass, length: number): number {
  switch (runClass) {
    case CharacterClass.Latin:
      return Math.ceil(length / 6);
    case CharacterClass.Digit:
    case CharacterClass.OtherLetter:
      return Math.ceil(length / 3);
    case CharacterClass.Symbol:
      return length === 1 ? 1 : Math.ceil(length / 4);
    case CharacterClass.Whitespace:
      return length > 1 ? 1 : 0;
    case CharacterClass.LineBreak:
      return 1;
    default:
      return 0;
  }
}

/**
 * A cheap estimate of how many tokens a BPE tokenizer (GPT-style, ~100k vocabulary) makes of
 * `text`: exact on short everyday English, usually within about 20% on English prose, higher
 * on code and rare words. The text is read as runs:
 * - a run of Latin letters (with combining marks): ⌈length / 6⌉, since such vocabularies hold
 *   most words of up to six letters, with their leading space, as one token;
 * - a run of decimal digits: ⌈length / 3⌉ (these tokenizers group digits by three);
 * - a run of letters of another script (Cyrillic, Greek, Arabic, Devanagari…): ⌈length / 3⌉;
 * - each CJK character (Han, kana, Hangul): 1;
 * - each punctuation or symbol character (emoji included): 1, except that a run of one
 *   repeated character (`---`, `===`, `...`) counts ⌈length / 4⌉;
 * - whitespace: a single space or tab is free (it merges into the next word); a longer run, or
 *   one holding a line break, counts 1.
 * Lengths are in UTF-16 units, except for symbol runs (code points).
 *
 * Cutting a text at whitespace never makes the sum of the pieces' counts smaller than the
 * whole's, which lets the chunker add counts of pieces instead of recounting.
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  let runClass: CharacterClass = CharacterClass.Unknown;
  let runLength = 0;
  let runCodePoint = -1;
  for (let index = 0; index < text.length; ) {
    let codePoint = text.charCodeAt(index);
    let width = 1;
    if (isHighSurrogate(codePoint) && isLowSurrogate(text.charCodeAt(index + 1))) {
      codePoint = (codePoint - 0xd800) * 0x400 + (text.charCodeAt(index + 1) - 0xdc00) + 0x10000;
      width = 2;
    }
    index += width;
    let characterClass: CharacterClass =
      codePoint < 0x80
        ? (characterClasses[codePoint] ?? CharacterClass.Unknown)
        : classOf(codePoint);
    if (characterClass === CharacterClass.Mark) {
      if (runClass === CharacterClass.Latin || runClass === CharacterClass.OtherLetter) {
        runLength += width;
        continue;
      }
      characterClass = CharacterClass.Latin;
    }
    if (characterClass === CharacterClass.LineBreak) {
      if (runClass === CharacterClass.Whitespace || runClass === CharacterClass.LineBreak) {
        runClass = CharacterClass.LineBreak;
        continue;
      }
    } else if (
      characterClass === runClass &&
      characterClass !== CharacterClass.Ideograph &&
      (characterClass !== CharacterClass.Symbol || codePoint === runCodePoint)
    ) {
      runLength += characterClass === CharacterClass.Symbol ? 1 : width;
      continue;
    } else if (
      characterClass === CharacterClass.Whitespace &&
      runClass === CharacterClass.LineBreak
    ) {
      continue;
    }
    tokens += runTokens(runClass, runLength);
    if (characterClass === CharacterClass.Ideograph) {
      tokens += 1;
      runClass = CharacterClass.Unknown;
      runLength = 0;
    } else {
      runClass = characterClass;
      runLength = characterClass === CharacterClass.Symbol ? 1 : width;
      runCodePoint = codePoint;
    }
  }
  return tokens + runTokens(runClass, runLength);
}
