/**
 * Markdown-aware chunking for retrieval. A document is cut into sections at its headings
 * (ATX `#`..`######` and setext `Title\n===`/`---`, never inside fenced code); inside a
 * section, blocks (paragraphs, fenced code, front matter) are packed greedily into chunks of
 * about `targetTokens`. A block larger than `maxTokens` is split at sentence (code: line)
 * boundaries, then at whitespace, then at code-point boundaries. Consecutive chunks of one
 * section share up to `overlapTokens` of text, starting at a word (preferably sentence) start.
 *
 * Every chunk is an exact slice of the input (`text.slice(start, end)`), trimmed of
 * surrounding whitespace, and never spans two sections. The work is linear in the document
 * length (each stretch of text is counted a small, bounded number of times).
 */

import { InvalidArgumentError } from '../../errors.js';
import { isHighSurrogate, isLowSurrogate, isWhitespace } from '../../measure/code-units.js';
import { estimateTokens } from '../../measure/token-estimate.js';
import {
  BLOCK_LINE_START,
  type Block,
  type BlockKind,
  parseSections,
} from './markdown-sections.js';

/** How {@link chunkDocument} sizes its chunks. */
export interface ChunkOptions {
  /** Target chunk size in tokens (default 200). Chunks may be smaller at section ends; never larger than maxTokens. */
  targetTokens?: number;
  /** Hard upper bound (default 1.5 × targetTokens). */
  maxTokens?: number;
  /**
   * Tokens of the previous chunk repeated at the start of the next one within the same
   * section (default 30, or half of targetTokens when that is smaller; 0 = none). Must be
   * smaller than targetTokens.
   */
  overlapTokens?: number;
  /** Token counter; default estimateTokens. Assumed not to shrink when text is appended. */
  countTokens?: (text: string) => number;
}

/** One piece of a document, as {@link chunkDocument} returns it. */
export interface Chunk {
  /** 0-based position in the document. */
  index: number;
  /** Exactly documentText.slice(start, end). */
  text: string;
  /** Markdown heading titles enclosing the chunk, outermost first (e.g. ['Install', 'Linux']). */
  headingPath: string[];
  /** UTF-16 offsets into the document text. */
  start: number;
  end: number;
  tokenCount: number;
}

// ---------------------------------------------------------------------------------------
// Character classes

/** `.` `!` `?` `…` */
function isLatinTerminator(code: number): boolean {
  return code === 0x2e || code === 0x21 || code === 0x3f || code === 0x2026;
}

/** `。` `！` `？`: end a sentence without a following space. */
function isCjkTerminator(code: number): boolean {
  return code === 0x3002 || code === 0xff01 || code === 0xff1f;
}

/** Closing quotes and brackets that may follow a sentence terminator. */
function isCloser(code: number): boolean {
  return (
    code === 0x22 ||
    code === 0x27 ||
    code === 0x29 ||
    code === 0x5d ||
    code === 0x2019 ||
    code === 0x201d ||
    code === 0xbb ||
    code === 0x300d ||
    code === 0x300f
  );
}

const LOWERCASE_START = /^\p{Ll}/u;

// ---------------------------------------------------------------------------------------
// Chunking

interface Atom {
  start: number;
  end: number;
  tokens: number;
  /** Tokens of the whitespace between the previous atom of the section and this one. */
  gapTokens: number;
  kind: BlockKind;
  /** Whether an overlap may start at a word inside this atom (not inside intact code). */
  wordsInside: boolean;
}

interface Limits {
  target: number;
  max: number;
  overlap: number;
  count: (text: string) => number;
}

function positiveOption(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`Invalid ${name} ${value}: expected a positive number.`);
  }
  return value;
}

function resolveLimits(options: ChunkOptions): Limits {
  const target = positiveOption(options.targetTokens, 'targetTokens', 200);
  const max = positiveOption(
    options.maxTokens,
    'maxTokens',
    Math.max(target, Math.floor(target * 1.5)),
  );
  if (max < target) {
    throw new InvalidArgumentError(
      `Invalid maxTokens ${max}: expected at least targetTokens (${target}).`,
    );
  }
  const overlap = options.overlapTokens ?? Math.min(30, Math.floor(target / 2));
  if (!Number.isFinite(overlap) || overlap < 0 || overlap >= target) {
    throw new InvalidArgumentError(
      `Invalid overlapTokens ${overlap}: expected 0 or more and less than targetTokens (${target}).`,
    );
  }
  return { target, max, overlap, count: options.countTokens ?? estimateTokens };
}

/** Trimmed `[start, end)` ranges of `text` between the cut positions (ascending). */
function trimmedRanges(
  text: string,
  start: number,
  end: number,
  cuts: number[],
): [number, number][] {
  const ranges: [number, number][] = [];
  let from = start;
  for (const cut of [...cuts, end]) {
    let a = from;
    let b = cut;
    while (a < b && isWhitespace(text.charCodeAt(a))) a++;
    while (b > a && isWhitespace(text.charCodeAt(b - 1))) b--;
    if (b > a) ranges.push([a, b]);
    from = cut;
  }
  return ranges;
}

/** Cut positions at sentence starts (and at lines that start list items, quotes or table rows). */
function sentenceCuts(text: string, start: number, end: number): number[] {
  const cuts: number[] = [];
  let index = start;
  while (index < end) {
    const code = text.charCodeAt(index);
    if (code === 0x0a) {
      const lineEnd = text.indexOf('\n', index + 1);
      const next = text.slice(index + 1, Math.min(lineEnd === -1 ? end : lineEnd, end));
      if (BLOCK_LINE_START.test(next)) cuts.push(index + 1);
      index++;
    } else if (isCjkTerminator(code)) {
      let after = index + 1;
      while (after < end && isCloser(text.charCodeAt(after))) after++;
      if (after < end) cuts.push(after);
      index = after;
    } else if (isLatinTerminator(code)) {
      let after = index + 1;
      while (after < end && isCloser(text.charCodeAt(after))) after++;
      let next = after;
      while (next < end && isWhitespace(text.charCodeAt(next))) next++;
      if (next > after && next < end && !LOWERCASE_START.test(text.slice(next, next + 2))) {
        cuts.push(next);
      }
      index = next;
    } else index++;
  }
  return cuts;
}

/** Cut positions at line starts. */
function lineCuts(text: string, start: number, end: number): number[] {
  const cuts: number[] = [];
  for (let newline = text.indexOf('\n', start); newline !== -1 && newline < end; ) {
    cuts.push(newline + 1);
    newline = text.indexOf('\n', newline + 1);
  }
  return cuts;
}

/** Cut positions at word starts (after whitespace). */
function wordCuts(text: string, start: number, end: number): number[] {
  const cuts: number[] = [];
  for (let index = start + 1; index < end; index++) {
    if (isWhitespace(text.charCodeAt(index - 1)) && !isWhitespace(text.charCodeAt(index))) {
      cuts.push(index);
    }
  }
  return cuts;
}

/** Moves `position` back off the middle of a surrogate pair. */
function codePointBoundary(text: string, position: number): number {
  return position > 0 &&
    isLowSurrogate(text.charCodeAt(position)) &&
    isHighSurrogate(text.charCodeAt(position - 1))
    ? position - 1
    : position;
}

function nextCodePoint(text: string, position: number): number {
  return isHighSurrogate(text.charCodeAt(position)) && isLowSurrogate(text.charCodeAt(position + 1))
    ? position + 2
    : position + 1;
}

/**
 * The end of the longest prefix of `[start, end)` that counts at most `limit` tokens (at
 * least one code point; never inside a surrogate pair). Gallops from `start + guess` (the
 * previous piece's length, usually right or close) and then bisects, so a run of similar
 * pieces costs a few counts each.
 */
function longestPrefix(
  text: string,
  start: number,
  end: number,
  limit: number,
  guess: number,
  count: (text: string) => number,
): { end: number; tokens: number } {
  let good = start;
  let goodTokens = 0;
  /** Whether the prefix up to `position` fits; callers then make `position` the new `good`. */
  const fits = (position: number): boolean => {
    const tokens = count(text.slice(start, position));
    if (tokens > limit) return false;
    goodTokens = tokens;
    return true;
  };
  const first = Math.min(end, nextCodePoint(text, start));
  if (!fits(first)) return { end: first, tokens: count(text.slice(start, first)) };
  good = first;
  if (first >= end) return { end, tokens: goodTokens };
  let bad = end + 1; // unknown: nothing past `good` has failed yet
  const probe = codePointBoundary(text, Math.min(end, start + guess));
  if (probe > good) {
    if (fits(probe)) good = probe;
    else bad = probe;
  }
  if (bad > end) {
    for (let step = 1; good < end; step *= 2) {
      let next = codePointBoundary(text, Math.min(end, good + step));
      if (next <= good) next = nextCodePoint(text, good);
      if (!fits(next)) {
        bad = next;
        break;
      }
      good = next;
    }
    if (good >= end) return { end, tokens: goodTokens };
  } else {
    for (let step = 1; ; step *= 2) {
      const next = codePointBoundary(text, bad - step);
      if (next <= good) break;
      if (fits(next)) {
        good = next;
        break;
      }
      bad = next;
    }
  }
  for (;;) {
    let middle = codePointBoundary(text, Math.floor((good + bad) / 2));
    if (middle <= good) middle = nextCodePoint(text, good);
    if (middle >= bad) return { end: good, tokens: goodTokens };
    if (fits(middle)) good = middle;
    else bad = middle;
  }
}

/** Turns the blocks of one section into atoms: whole blocks, or pieces of oversized ones. */
function sectionAtoms(text: string, blocks: readonly Block[], limits: Limits): Atom[] {
  const { count } = limits;
  const atoms: Atom[] = [];
  const push = (start: number, end: number, tokens: number, kind: BlockKind, whole: boolean) => {
    const previous = atoms.at(-1);
    const gapTokens = previous === undefined ? 0 : count(text.slice(previous.end, start));
    atoms.push({ start, end, tokens, gapTokens, kind, wordsInside: !(whole && kind === 'code') });
  };

  /** Last resort: pieces of one word, cut between code points. */
  const splitWord = (start: number, end: number, kind: BlockKind): void => {
    let guess = 0;
    for (let from = start; from < end; ) {
      const { end: to, tokens } = longestPrefix(text, from, end, limits.target, guess, count);
      push(from, to, tokens, kind, false);
      guess = to - from;
      from = to;
    }
  };

  /**
   * Words grouped greedily up to the target (by the sum of their counts); a group whose real
   * count passes the maximum (a counter that is not additive) falls back to one atom a word.
   */
  const splitWords = (start: number, end: number, kind: BlockKind): void => {
    let groupStart = -1;
    let groupEnd = -1;
    let groupTokens = 0;
    let groupWords = 0;
    const flush = (): void => {
      if (groupWords === 0) return;
      const tokens = groupWords === 1 ? groupTokens : count(text.slice(groupStart, groupEnd));
      if (tokens <= limits.max) push(groupStart, groupEnd, tokens, kind, false);
      else {
        for (const [from, to] of trimmedRanges(
          text,
          groupStart,
          groupEnd,
          wordCuts(text, groupStart, groupEnd),
        )) {
          push(from, to, count(text.slice(from, to)), kind, false);
        }
      }
      groupWords = 0;
    };
    let index = start;
    while (index < end) {
      while (index < end && isWhitespace(text.charCodeAt(index))) index++;
      if (index >= end) break;
      const wordStart = index;
      while (index < end && !isWhitespace(text.charCodeAt(index))) index++;
      const tokens = count(text.slice(wordStart, index));
      if (tokens > limits.max) {
        flush();
        splitWord(wordStart, index, kind);
        continue;
      }
      if (groupWords > 0) {
        const total = groupTokens + count(text.slice(groupEnd, wordStart)) + tokens;
        if (total <= limits.target) {
          groupTokens = total;
          groupEnd = index;
          groupWords++;
          continue;
        }
        flush();
      }
      groupStart = wordStart;
      groupEnd = index;
      groupTokens = tokens;
      groupWords = 1;
    }
    flush();
  };

  /** A block (level 0) or a sentence or line of an oversized one (level 1). */
  const add = (start: number, end: number, kind: BlockKind, level: 0 | 1, known?: number): void => {
    const tokens = known ?? count(text.slice(start, end));
    if (tokens <= limits.max) {
      push(start, end, tokens, kind, level === 0);
      return;
    }
    if (level === 1) {
      splitWords(start, end, kind);
      return;
    }
    const cuts = kind === 'code' ? lineCuts(text, start, end) : sentenceCuts(text, start, end);
    const ranges = trimmedRanges(text, start, end, cuts);
    for (const [from, to] of ranges)
      add(from, to, kind, 1, ranges.length === 1 ? tokens : undefined);
  };

  for (const block of blocks) add(block.start, block.end, block.kind, 0);
  return atoms;
}

/** Whether a chunk starting at `position` starts a sentence or a line. */
function startsSentence(text: string, position: number): boolean {
  let index = position;
  while (index > 0 && isWhitespace(text.charCodeAt(index - 1))) {
    if (text.charCodeAt(index - 1) === 0x0a) return true;
    index--;
  }
  while (index > 0 && isCloser(text.charCodeAt(index - 1))) index--;
  const code = text.charCodeAt(index - 1);
  return index === 0 || isLatinTerminator(code) || isCjkTerminator(code);
}

/**
 * Where the chunk after atoms `[first, last]` (spanning `[chunkStart, chunkEnd)`) may start
 * so that it repeats at most `budget` tokens of it: the earliest sentence start that fits,
 * otherwise the earliest word start; never at or before `chunkStart`, never in a heading,
 * never inside intact code.
 */
function overlapStart(
  text: string,
  atoms: readonly Atom[],
  first: number,
  last: number,
  budget: number,
  count: (text: string) => number,
): { start: number; tokens: number } | undefined {
  if (budget <= 0) return undefined;
  const chunkStart = atoms[first]?.start ?? 0;
  const chunkEnd = atoms[last]?.end ?? 0;
  const candidates: number[] = [];
  let estimate = 0;
  let cursor = chunkEnd;
  const consider = (position: number): boolean => {
    if (position <= chunkStart) return false;
    estimate += count(text.slice(position, cursor));
    cursor = position;
    if (estimate > budget) return false;
    candidates.push(position);
    return true;
  };
  scan: for (let index = last; index >= first; index--) {
    const atom = atoms[index];
    if (atom === undefined || atom.kind === 'heading') break;
    if (atom.wordsInside) {
      for (let position = atom.end - 1; position > atom.start; position--) {
        if (
          isWhitespace(text.charCodeAt(position - 1)) &&
          !isWhitespace(text.charCodeAt(position))
        ) {
          if (!consider(position)) break scan;
        }
      }
    }
    if (!consider(atom.start)) break;
  }
  // Earliest sentence starts first, then earliest word starts; the first that truly fits.
  const earliestFirst = candidates.reverse();
  const ordered = [
    ...earliestFirst.filter((position) => startsSentence(text, position)),
    ...earliestFirst.filter((position) => !startsSentence(text, position)),
  ];
  for (const start of ordered) {
    const tokens = count(text.slice(start, chunkEnd));
    if (tokens <= budget) return { start, tokens };
  }
  return undefined;
}

/** Packs one section's atoms into chunks (start, end, tokens). */
function packSection(
  text: string,
  atoms: readonly Atom[],
  limits: Limits,
  emit: (start: number, end: number, tokens: number) => void,
): void {
  let previous: { first: number; last: number } | undefined;
  let next = 0;
  while (next < atoms.length) {
    const first = next;
    const firstAtom = atoms[first];
    if (firstAtom === undefined) break;
    let start = firstAtom.start;
    let tokens = firstAtom.tokens;
    let overlapped = false;
    if (previous !== undefined && limits.overlap > 0) {
      const budget = Math.min(limits.overlap, limits.max - firstAtom.tokens - firstAtom.gapTokens);
      const overlap = overlapStart(
        text,
        atoms,
        previous.first,
        previous.last,
        budget,
        limits.count,
      );
      if (overlap !== undefined) {
        start = overlap.start;
        tokens += overlap.tokens + firstAtom.gapTokens;
        overlapped = true;
      }
    }
    let headingOnly = firstAtom.kind === 'heading' && !overlapped;
    next = first + 1;
    for (let atom = atoms[next]; atom !== undefined; atom = atoms[next]) {
      const total = tokens + atom.gapTokens + atom.tokens;
      if (total > (headingOnly ? limits.max : limits.target)) break;
      tokens = total;
      headingOnly &&= atom.kind === 'heading';
      next++;
    }
    // The sum above is exact or an overestimate for estimateTokens; check the real count
    // for any other counter, dropping the overlap and then trailing atoms until it fits.
    let end = atoms[next - 1]?.end ?? firstAtom.end;
    tokens = limits.count(text.slice(start, end));
    while (tokens > limits.max) {
      if (start !== firstAtom.start) start = firstAtom.start;
      else if (next - 1 > first) {
        next--;
        end = atoms[next - 1]?.end ?? firstAtom.end;
      } else break;
      tokens = limits.count(text.slice(start, end));
    }
    emit(start, end, tokens);
    previous = { first, last: next - 1 };
  }
}

/**
 * Cuts a Markdown (or plain) document into chunks for retrieval; see the module comment for
 * the rules. A section's first chunk starts with its heading (the heading is packed with
 * what follows up to maxTokens rather than targetTokens). Every chunk counts at most
 * maxTokens, except a single code point that alone counts more, which becomes a chunk of its
 * own. Deterministic; whitespace-only text gives no chunks. Throws InvalidArgumentError for
 * invalid options.
 */
export function chunkDocument(text: string, options: ChunkOptions = {}): Chunk[] {
  const limits = resolveLimits(options);
  const chunks: Chunk[] = [];
  for (const section of parseSections(text)) {
    if (section.blocks.length === 0) continue;
    const atoms = sectionAtoms(text, section.blocks, limits);
    packSection(text, atoms, limits, (start, end, tokenCount) => {
      chunks.push({
        index: chunks.length,
        text: text.slice(start, end),
        headingPath: [...section.headingPath],
        start,
        end,
        tokenCount,
      });
    });
  }
  return chunks;
}
