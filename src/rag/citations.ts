/**
 * Citation markers in a grounded answer: the model is given numbered sources and cites them
 * as `[n]`. {@link parseCitations} finds the markers; {@link checkCitations} says which
 * cited numbers exist, which do not, and which sources went unused.
 *
 * What counts as a marker, in brackets, with optional spaces inside:
 * - one number or several, separated by commas or semicolons: `[1]`, `[1,2]`, `[1; 3]`;
 *   adjacent markers are separate citations: `[1][2]`;
 * - ranges with a hyphen, en dash or em dash: `[1-3]`, `[1–3]`, expanded to 1, 2, 3 (a
 *   reversed range `[3-1]` means the same); a range longer than {@link MAX_RANGE_LENGTH}
 *   numbers gives its first {@link MAX_RANGE_LENGTH} numbers and then its end, so
 *   `[1-100000]` never allocates 100,000 entries and its end still shows as invalid;
 * - the word "source" or "sources" (any case, optional colon) before numbers:
 *   `[Source 2]`, `[sources: 1, 2]`, `[Source 1, Source 3]`;
 * - Markdown footnote references `[^2]`, since models often cite that way; the footnote
 *   definition `[^2]: ...` at the start of a line is not a citation.
 *
 * What does not: Markdown links and images `[1](url)` (nor brackets inside the url), link
 * reference definitions `[1]: url` at the start of a line, escaped brackets `\[1]`,
 * brackets without a plain whole number (`[a]`, `[1.5]`, `[-1]`, `[]`, `[1a]`, `[1 and 2]`),
 * numbers of more than 15 digits, and anything inside code: fenced blocks (``` or ~~~, to
 * the closing fence or the end of the answer) and inline code spans (`` `[1]` ``).
 * `[0]` is a citation, of a source that does not exist; the label of a reference-style link
 * `[text][1]` reads as a citation too, as the two cannot be told apart.
 */

/** The most numbers one range marker expands to before it is cut short. */
export const MAX_RANGE_LENGTH = 100;

/** A citation marker found in an answer. */
export interface Citation {
  /** The marker as written, e.g. "[2]" or "[1, 3]" or "[2-4]". */
  marker: string;
  /** UTF-16 offset of the marker in the answer. */
  offset: number;
  /** Source numbers it names (1-based), expanded for ranges. */
  sources: number[];
}

/** What an answer's citations say about the sources it was given. */
export interface CitationCheck {
  citations: Citation[];
  /** Distinct cited source numbers that exist (1..sourceCount), ascending. */
  validSources: number[];
  /** Distinct cited numbers that do not exist (0, > sourceCount), ascending. */
  invalidSources: number[];
  /** True when the answer cites nothing at all (no marker, valid or not). */
  uncited: boolean;
  /** Sources given to the model but never cited, ascending. */
  unusedSources: number[];
}

/** Bracketed text on one line, without brackets inside; the content is checked afterwards. */
const BRACKETED = /\[([^[\]\n]{1,200})\]/g;

const NUMBER = String.raw`\d{1,15}`;
const SOURCE_WORD = String.raw`(?:sources?\s*:?\s*)?`;
const ITEM = String.raw`${SOURCE_WORD}${NUMBER}(?:\s*[-–—]\s*${NUMBER})?`;
/** The content of a numbered marker: items separated by commas or semicolons. */
const MARKER_CONTENT = new RegExp(String.raw`^\s*${ITEM}(?:\s*[,;]\s*${ITEM})*\s*$`, 'i');
/** The content of a footnote reference: a caret and one number. */
const FOOTNOTE_CONTENT = /^\^(\d{1,15})$/;
/** One item of a marker's content, capturing its start and optional end. */
const ITEM_PARTS = new RegExp(String.raw`(${NUMBER})(?:\s*[-–—]\s*(${NUMBER}))?`, 'g');

/** An opening or closing code fence: up to three spaces, then three or more ` or ~. */
const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/**
 * The answer with everything inside code replaced by spaces, of the same length, so that
 * markers in code are not found and offsets stay those of the answer.
 */
function maskCode(answer: string): string {
  const lines = answer.split('\n');
  const masked: string[] = [];
  let prose: string[] = [];
  let openFence: string | undefined;
  const flushProse = (): void => {
    if (prose.length > 0) masked.push(maskInlineCode(prose.join('\n')));
    prose = [];
  };
  for (const line of lines) {
    const fence = FENCE.exec(line);
    if (openFence === undefined) {
      const marks = fence?.[1];
      const rest = fence?.[2] ?? '';
      if (marks !== undefined && !(marks.startsWith('`') && rest.includes('`'))) {
        flushProse();
        openFence = marks;
        masked.push(' '.repeat(line.length));
      } else {
        prose.push(line);
      }
      continue;
    }
    masked.push(' '.repeat(line.length));
    const marks = fence?.[1];
    if (
      marks !== undefined &&
      marks[0] === openFence[0] &&
      marks.length >= openFence.length &&
      (fence?.[2] ?? '').trim() === ''
    ) {
      openFence = undefined;
    }
  }
  flushProse();
  return masked.join('\n');
}

/**
 * Text with its inline code spans blanked: a run of n backticks opens a span that the next
 * run of exactly n backticks closes; a run with no closing run is literal text.
 */
function maskInlineCode(text: string): string {
  let result = '';
  let position = 0;
  while (position < text.length) {
    const open = text.indexOf('`', position);
    if (open < 0) break;
    let openEnd = open;
    while (text[openEnd] === '`') openEnd++;
    const runLength = openEnd - open;
    const close = findBacktickRun(text, openEnd, runLength);
    if (close < 0) {
      result += text.slice(position, openEnd);
      position = openEnd;
      continue;
    }
    result += text.slice(position, open) + ' '.repeat(close + runLength - open);
    position = close + runLength;
  }
  return result + text.slice(position);
}

/** Where the next run of exactly `runLength` backticks starts at or after `from`, or -1. */
function findBacktickRun(text: string, from: number, runLength: number): number {
  let position = from;
  while (position < text.length) {
    const start = text.indexOf('`', position);
    if (start < 0) return -1;
    let end = start;
    while (text[end] === '`') end++;
    if (end - start === runLength) return start;
    position = end;
  }
  return -1;
}

/** True when the character before `offset` is an unescaped backslash. */
function isEscaped(text: string, offset: number): boolean {
  let backslashes = 0;
  for (let index = offset - 1; index >= 0 && text[index] === '\\'; index--) backslashes++;
  return backslashes % 2 === 1;
}

/** True when the marker starts a line (after up to three spaces) and is followed by a colon. */
function isDefinition(text: string, offset: number, end: number): boolean {
  if (text[end] !== ':') return false;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^ {0,3}$/.test(text.slice(lineStart, offset));
}

/**
 * Where a link destination that opens at `openParen` ends (just after its closing
 * parenthesis, nested pairs allowed, on one line), so brackets inside a URL are skipped;
 * just after the parenthesis when it never closes.
 */
function linkDestinationEnd(text: string, openParen: number): number {
  let depth = 0;
  for (let index = openParen; index < text.length; index++) {
    const character = text[index];
    if (character === '\n') break;
    if (character === '\\') index++;
    else if (character === '(') depth++;
    else if (character === ')' && --depth === 0) return index + 1;
  }
  return openParen + 1;
}

/** The numbers from `start` to `end` (either order), cut short as {@link MAX_RANGE_LENGTH} says. */
function expandRange(start: number, end: number): number[] {
  const low = Math.min(start, end);
  const high = Math.max(start, end);
  const numbers: number[] = [];
  for (let number = low; number <= high && numbers.length < MAX_RANGE_LENGTH; number++) {
    numbers.push(number);
  }
  if (high - low + 1 > MAX_RANGE_LENGTH) numbers.push(high);
  return numbers;
}

/** The source numbers of a marker's content, in order, each once; undefined if not a marker. */
function markerSources(content: string): number[] | undefined {
  const footnote = FOOTNOTE_CONTENT.exec(content);
  if (footnote?.[1] !== undefined) return [Number(footnote[1])];
  if (!MARKER_CONTENT.test(content)) return undefined;
  const sources = new Set<number>();
  for (const item of content.matchAll(ITEM_PARTS)) {
    const start = Number(item[1]);
    const end = item[2] === undefined ? start : Number(item[2]);
    for (const number of expandRange(start, end)) sources.add(number);
  }
  return [...sources];
}

/**
 * The citation markers in an answer, in order of appearance (see the module comment for
 * what counts as one). Offsets are UTF-16 offsets into `answer`.
 */
export function parseCitations(answer: string): Citation[] {
  const masked = maskCode(answer);
  const citations: Citation[] = [];
  const bracketed = new RegExp(BRACKETED);
  for (let match = bracketed.exec(masked); match !== null; match = bracketed.exec(masked)) {
    const offset = match.index;
    const end = offset + match[0].length;
    if (masked[end] === '(') {
      bracketed.lastIndex = linkDestinationEnd(masked, end);
      continue;
    }
    if (isEscaped(masked, offset) || isDefinition(masked, offset, end)) continue;
    const sources = markerSources(match[1] ?? '');
    if (sources === undefined) continue;
    citations.push({ marker: answer.slice(offset, end), offset, sources });
  }
  return citations;
}

/**
 * The citations of an answer checked against the `sourceCount` sources (numbered 1..sourceCount)
 * the model was given. Throws RangeError when `sourceCount` is not a non-negative integer.
 */
export function checkCitations(answer: string, sourceCount: number): CitationCheck {
  if (!Number.isSafeInteger(sourceCount) || sourceCount < 0) {
    throw new RangeError(`Invalid sourceCount ${sourceCount}: must be a non-negative integer.`);
  }
  const citations = parseCitations(answer);
  const cited = new Set<number>();
  for (const citation of citations) {
    for (const source of citation.sources) cited.add(source);
  }
  const ascending = [...cited].sort((left, right) => left - right);
  const validSources = ascending.filter((source) => source >= 1 && source <= sourceCount);
  const invalidSources = ascending.filter((source) => source < 1 || source > sourceCount);
  const valid = new Set(validSources);
  const unusedSources: number[] = [];
  for (let source = 1; source <= sourceCount; source++) {
    if (!valid.has(source)) unusedSources.push(source);
  }
  return {
    citations,
    validSources,
    invalidSources,
    uncited: citations.length === 0,
    unusedSources,
  };
}
