import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../errors.js';
import { estimateTokens } from '../../measure/token-estimate.js';
import { createSeededRandom, type SeededRandom } from '../../models/random.js';
import { type Chunk, type ChunkOptions, chunkDocument } from './chunk.js';

// ---------------------------------------------------------------------------------------
// Helpers

function pick<T>(random: SeededRandom, items: readonly T[]): T {
  const item = items[random.nextUint32() % items.length];
  if (item === undefined) throw new Error('empty list');
  return item;
}

function between(random: SeededRandom, low: number, high: number): number {
  return low + (random.nextUint32() % (high - low + 1));
}

/** Whether `position` falls between the two halves of a surrogate pair. */
function splitsSurrogatePair(text: string, position: number): boolean {
  const before = text.charCodeAt(position - 1);
  const after = text.charCodeAt(position);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

/** Invariants every chunking must satisfy, whatever the document: a list of violations. */
function basicViolations(text: string, chunks: Chunk[], options: ChunkOptions = {}): string[] {
  const count = options.countTokens ?? estimateTokens;
  const target = options.targetTokens ?? 200;
  const max = options.maxTokens ?? Math.floor(target * 1.5);
  const overlap = options.overlapTokens ?? Math.min(30, Math.floor(target / 2));
  const problems: string[] = [];
  chunks.forEach((chunk, index) => {
    const where = `chunk ${index} [${chunk.start}, ${chunk.end})`;
    if (chunk.index !== index) problems.push(`${where}: index ${chunk.index}`);
    if (text.slice(chunk.start, chunk.end) !== chunk.text)
      problems.push(`${where}: text is not the slice`);
    if (chunk.text.length === 0 || chunk.text !== chunk.text.trim())
      problems.push(`${where}: not trimmed`);
    if (chunk.tokenCount !== count(chunk.text))
      problems.push(`${where}: tokenCount ${chunk.tokenCount}`);
    if (chunk.tokenCount > max) problems.push(`${where}: ${chunk.tokenCount} tokens > ${max}`);
    if (splitsSurrogatePair(text, chunk.start) || splitsSurrogatePair(text, chunk.end)) {
      problems.push(`${where}: splits a surrogate pair`);
    }
    const previous = chunks[index - 1];
    if (previous !== undefined && (chunk.start <= previous.start || chunk.end <= previous.end)) {
      problems.push(`${where}: does not move forward`);
    }
    if (previous !== undefined && chunk.start < previous.end) {
      const repeated = count(text.slice(chunk.start, previous.end));
      if (repeated > overlap) problems.push(`${where}: overlap of ${repeated} tokens > ${overlap}`);
      if (!/\s/.test(text[chunk.start - 1] ?? ''))
        problems.push(`${where}: overlap starts mid-word`);
    }
  });
  // Nothing is lost: every non-whitespace character is in some chunk.
  const covered = new Uint8Array(text.length);
  for (const chunk of chunks) covered.fill(1, chunk.start, chunk.end);
  for (const match of text.matchAll(/\S/g)) {
    if (covered[match.index] === 0) {
      problems.push(`character ${match.index} (${JSON.stringify(match[0])}) is in no chunk`);
      break;
    }
  }
  return problems;
}

function expectBasicInvariants(text: string, chunks: Chunk[], options: ChunkOptions = {}): void {
  expect(basicViolations(text, chunks, options)).toEqual([]);
}

const WORDS = [
  'the',
  'model',
  'token',
  'a',
  'retrieval',
  'of',
  'internationalization',
  'cache',
  'GPU',
  '2048',
  'emoji🙂',
  '👍🏽',
  '日本語',
  'naïve',
  'Привет',
  'x',
  'embedding',
  'chunk',
  'e.g.',
  '(see',
  'below)',
  'it’s',
  '`code`',
];

function sentence(random: SeededRandom, words: number): string {
  const parts: string[] = [];
  for (let index = 0; index < words; index++) parts.push(pick(random, WORDS));
  const first = parts[0] ?? 'Word';
  parts[0] = first.charAt(0).toUpperCase() + first.slice(1);
  return `${parts.join(' ')}${pick(random, ['.', '.', '!', '?', '."'])}`;
}

interface GeneratedDocument {
  text: string;
  /** One per section (including a leading section without a heading when there is text before the first heading). */
  sections: { start: number; end: number; headingPath: string[] }[];
  fences: { start: number; end: number }[];
}

/** Random Markdown with known sections and fences. */
function randomMarkdown(seed: string, blockCount: number): GeneratedDocument {
  const random = createSeededRandom(seed);
  const newline = random.nextUnit() < 0.3 ? '\r\n' : '\n';
  let text = '';
  const sections: GeneratedDocument['sections'] = [{ start: 0, end: 0, headingPath: [] }];
  const fences: GeneratedDocument['fences'] = [];
  const stack: { level: number; title: string }[] = [];
  let headingNumber = 0;

  const separate = (): void => {
    if (text.length === 0) return;
    const blanks = between(random, 1, 3);
    text += newline;
    for (let index = 0; index < blanks; index++)
      text += `${pick(random, ['', '', '  ', '\t'])}${newline}`;
  };

  for (let block = 0; block < blockCount; block++) {
    separate();
    const kind = random.nextUnit();
    if (kind < 0.18) {
      const setext = random.nextUnit() < 0.25;
      const level = setext ? between(random, 1, 2) : between(random, 1, 4);
      headingNumber++;
      const title = `Part ${headingNumber} ${pick(random, WORDS)}`;
      while (stack.length > 0 && (stack.at(-1)?.level ?? 0) >= level) stack.pop();
      stack.push({ level, title });
      const last = sections.at(-1);
      if (last !== undefined) last.end = text.length;
      sections.push({ start: text.length, end: 0, headingPath: stack.map((item) => item.title) });
      text += setext
        ? `${title}${newline}${(level === 1 ? '=' : '-').repeat(between(random, 1, 8))}`
        : `${'#'.repeat(level)} ${title}${random.nextUnit() < 0.2 ? ` ${'#'.repeat(level)}` : ''}`;
    } else if (kind < 0.32) {
      const marker = pick(random, ['```', '~~~', '````']);
      const start = text.length;
      const lines = [`${marker}${pick(random, ['', 'ts', 'md'])}`];
      const lineCount = between(random, 0, 12);
      for (let index = 0; index < lineCount; index++) {
        lines.push(
          pick(random, [
            '# not a heading',
            '## also not',
            'Title',
            '=====',
            '',
            'const value = compute(1, 2);',
            `  ${sentence(random, 4)}`,
          ]),
        );
      }
      lines.push(marker);
      text += lines.join(newline);
      fences.push({ start, end: text.length });
    } else if (kind < 0.4) {
      const items = between(random, 1, 6);
      const lines: string[] = [];
      for (let index = 0; index < items; index++)
        lines.push(`- ${sentence(random, between(random, 2, 12))}`);
      text += lines.join(newline);
    } else {
      const sentences = random.nextUnit() < 0.1 ? between(random, 20, 80) : between(random, 1, 8);
      const parts: string[] = [];
      for (let index = 0; index < sentences; index++)
        parts.push(sentence(random, between(random, 3, 25)));
      const separator = random.nextUnit() < 0.3 ? newline : ' ';
      text += parts.join(separator);
    }
  }
  if (random.nextUnit() < 0.5) text += `${newline}  ${newline}`;
  const last = sections.at(-1);
  if (last !== undefined) last.end = text.length;
  return { text, sections, fences };
}

const OPTION_SETS: ChunkOptions[] = [
  {},
  { targetTokens: 40, maxTokens: 60, overlapTokens: 8 },
  { targetTokens: 25, overlapTokens: 0 },
  { targetTokens: 12, maxTokens: 12, overlapTokens: 3 },
  // A counter that is not additive at all: characters plus a fixed cost per text.
  { targetTokens: 120, maxTokens: 160, overlapTokens: 20, countTokens: (text) => text.length + 5 },
];

// ---------------------------------------------------------------------------------------
// estimateTokens, as the chunker relies on it (it adds the counts of pieces instead of
// recounting), on random Markdown; its own tests are in src/measure/token-estimate.test.ts

describe('estimateTokens', () => {
  it('never counts a text as more than its pieces cut at whitespace', () => {
    for (let seed = 0; seed < 50; seed++) {
      const { text } = randomMarkdown(`additive-${seed}`, 8);
      const pieces = text.match(/\s+|\S+/g) ?? [];
      const sum = pieces.reduce((total, piece) => total + estimateTokens(piece), 0);
      expect(estimateTokens(text)).toBeLessThanOrEqual(sum);
    }
  });
});

// ---------------------------------------------------------------------------------------
// chunkDocument

describe('chunkDocument', () => {
  it('gives no chunks for empty or whitespace-only text', () => {
    expect(chunkDocument('')).toEqual([]);
    expect(chunkDocument('  \n\t\r\n  \n')).toEqual([]);
  });

  it('trims chunks and keeps a short document in one chunk', () => {
    const text = '\n\n  Just a short note.\n\nWith two paragraphs.  \n\n';
    const chunks = chunkDocument(text);
    expect(chunks).toEqual([
      {
        index: 0,
        text: 'Just a short note.\n\nWith two paragraphs.',
        headingPath: [],
        start: 4,
        end: 44,
        tokenCount: estimateTokens('Just a short note.\n\nWith two paragraphs.'),
      },
    ]);
    expectBasicInvariants(text, chunks);
  });

  it('follows heading levels into heading paths and starts each section with its heading', () => {
    const text = [
      'Intro text before any heading.',
      '# Install',
      'Install it.',
      '## Linux',
      'Use the package.',
      '### Debian ###',
      'apt install.',
      '## macOS',
      'Use brew.',
      '# Usage',
      'Run it.',
      '### Deep',
      'Deep text.',
    ].join('\n\n');
    const chunks = chunkDocument(text);
    expect(chunks.map((chunk) => chunk.headingPath)).toEqual([
      [],
      ['Install'],
      ['Install', 'Linux'],
      ['Install', 'Linux', 'Debian'],
      ['Install', 'macOS'],
      ['Usage'],
      ['Usage', 'Deep'],
    ]);
    expect(chunks.map((chunk) => chunk.text.split('\n')[0])).toEqual([
      'Intro text before any heading.',
      '# Install',
      '## Linux',
      '### Debian ###',
      '## macOS',
      '# Usage',
      '### Deep',
    ]);
    expectBasicInvariants(text, chunks);
  });

  it('recognises setext headings but not #tags or indented lines', () => {
    const text = [
      'Getting Started',
      '===============',
      '',
      '#hashtag is not a heading.',
      '```inline``` code is not a fence.',
      '',
      '    # indented code, not a heading',
      '',
      'Details',
      '-------',
      '',
      'Text under details.',
      '',
      '- a list item',
      '---',
      '',
      'After the rule.',
    ].join('\n');
    const chunks = chunkDocument(text);
    expect(chunks.map((chunk) => [chunk.headingPath, chunk.text.split('\n')[0]])).toEqual([
      [['Getting Started'], 'Getting Started'],
      [['Getting Started', 'Details'], 'Details'],
    ]);
    expect(chunks[1]?.text).toContain('After the rule.');
    expectBasicInvariants(text, chunks);
  });

  it('never mixes sections, even when they are tiny', () => {
    const text = '# A\n\none\n\n# B\n\ntwo\n\n## C\n\n# D';
    const chunks = chunkDocument(text);
    expect(chunks.map((chunk) => chunk.text)).toEqual(['# A\n\none', '# B\n\ntwo', '## C', '# D']);
    expect(chunks.map((chunk) => chunk.headingPath)).toEqual([['A'], ['B'], ['B', 'C'], ['D']]);
  });

  it('ignores headings inside fenced code and keeps fences whole', () => {
    const fence = ['```md', '# not a heading', '', '## nor this', '', 'Title', '=====', '```'].join(
      '\n',
    );
    const tilde = ['~~~', '```', '# still code', '~~~'].join('\n');
    const longer = ['````', '```', '# code too', '````'].join('\n');
    const filler = 'Some words to fill the chunk up. '.repeat(3).trim();
    const text = [
      '# Real',
      filler,
      fence,
      filler,
      tilde,
      filler,
      longer,
      filler,
      '## Next',
      'End.',
    ].join('\n\n');
    const chunks = chunkDocument(text, { targetTokens: 30, maxTokens: 45, overlapTokens: 5 });
    expect(new Set(chunks.map((chunk) => chunk.headingPath.join('/')))).toEqual(
      new Set(['Real', 'Real/Next']),
    );
    for (const code of [fence, tilde, longer]) {
      const start = text.indexOf(code);
      const end = start + code.length;
      expect(chunks.some((chunk) => chunk.start <= start && chunk.end >= end)).toBe(true);
      for (const chunk of chunks) {
        expect(chunk.start > start && chunk.start < end).toBe(false);
        expect(chunk.end > start && chunk.end < end).toBe(false);
      }
    }
    expectBasicInvariants(text, chunks, { targetTokens: 30, maxTokens: 45 });
  });

  it('treats an unclosed fence as code to the end and keeps front matter out of headings', () => {
    const text = '---\ntitle: x\n---\n\n# Doc\n\nText.\n\n```\n# in code\nmore';
    const chunks = chunkDocument(text);
    expect(chunks.map((chunk) => chunk.headingPath)).toEqual([[], ['Doc']]);
    expect(chunks[0]?.text).toBe('---\ntitle: x\n---');
    expect(chunks[1]?.text).toBe('# Doc\n\nText.\n\n```\n# in code\nmore');
    const withMark = chunkDocument('\ufeff---\ntitle: x\n---\n\nText.');
    expect(withMark.map((chunk) => [chunk.headingPath, chunk.text])).toEqual([
      [[], '---\ntitle: x\n---\n\nText.'],
    ]);
  });

  it('splits an oversized code fence at line boundaries', () => {
    const lines = Array.from({ length: 60 }, (_, index) => `line_${index} = value(${index})`);
    const text = `\`\`\`\n${lines.join('\n')}\n\`\`\``;
    const options = { targetTokens: 40, maxTokens: 60, overlapTokens: 0 };
    const chunks = chunkDocument(text, options);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.start === 0 || text[chunk.start - 1] === '\n').toBe(true);
      expect(chunk.end === text.length || text[chunk.end] === '\n').toBe(true);
    }
    expectBasicInvariants(text, chunks, options);
  });

  it('packs paragraphs up to the target and splits an oversized paragraph at sentences', () => {
    const sentences = Array.from(
      { length: 40 },
      (_, index) =>
        `Sentence number ${index} covers tools, e.g. chunkers and splitters, for search.`,
    );
    const text = `# Long\n\n${sentences.join(' ')}`;
    const options = { targetTokens: 35, maxTokens: 52, overlapTokens: 0 };
    const chunks = chunkDocument(text, options);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) {
      // Never cut after an abbreviation followed by a lowercase word.
      expect(chunk.text.endsWith('for search.')).toBe(true);
      expect(chunk.tokenCount).toBeLessThanOrEqual(35);
      expect(chunk.headingPath).toEqual(['Long']);
    }
    expect(chunks[0]?.text.startsWith('# Long\n\nSentence number 0')).toBe(true);
    expectBasicInvariants(text, chunks, options);
  });

  it('packs several small paragraphs into one chunk', () => {
    const paragraphs = Array.from({ length: 12 }, (_, index) => `Paragraph ${index} is short.`);
    const text = paragraphs.join('\n\n');
    const chunks = chunkDocument(text, { targetTokens: 30, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.length).toBeLessThan(paragraphs.length / 2);
    for (const chunk of chunks) {
      expect(chunk.tokenCount).toBeLessThanOrEqual(30);
      expect(chunk.text.startsWith('Paragraph')).toBe(true);
      expect(chunk.text.endsWith('short.')).toBe(true);
    }
  });

  it('splits an endless sentence at word boundaries and an endless word at characters', () => {
    const words = Array.from({ length: 300 }, (_, index) => `word${index}`).join(' ');
    const options = { targetTokens: 20, maxTokens: 30, overlapTokens: 0 };
    const wordChunks = chunkDocument(words, options);
    expect(wordChunks.length).toBeGreaterThan(10);
    for (const chunk of wordChunks) {
      expect(chunk.start === 0 || words[chunk.start - 1] === ' ').toBe(true);
      expect(chunk.end === words.length || words[chunk.end] === ' ').toBe(true);
    }
    expectBasicInvariants(words, wordChunks, options);

    const blob = 'abcdefghij'.repeat(500);
    const blobChunks = chunkDocument(blob, options);
    expect(blobChunks.length).toBeGreaterThan(10);
    expect(blobChunks.map((chunk) => chunk.text).join('')).toBe(blob);
    expectBasicInvariants(blob, blobChunks, options);
  });

  it('never splits a surrogate pair, even inside a run of emoji', () => {
    const emoji = '😀👍🏽🎉🙂'.repeat(200);
    const text = `# Emoji\n\n${emoji}\n\nBefore ${emoji} after.`;
    for (const targetTokens of [1, 2, 3, 7, 20]) {
      const options = { targetTokens, maxTokens: targetTokens, overlapTokens: 0 };
      const chunks = chunkDocument(text, options);
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) expect(hasLoneSurrogate(chunk.text)).toBe(false);
      expectBasicInvariants(text, chunks, options);
    }
    // A counter that makes every UTF-16 unit a token: a pair is still never cut.
    const unitCounter = {
      targetTokens: 3,
      maxTokens: 3,
      overlapTokens: 1,
      countTokens: (t: string) => t.length,
    };
    const chunks = chunkDocument(emoji, unitCounter);
    for (const chunk of chunks) expect(hasLoneSurrogate(chunk.text)).toBe(false);
    expectBasicInvariants(emoji, chunks, unitCounter);
  });

  it('overlaps consecutive chunks of a section by at most overlapTokens, at word starts', () => {
    const sentences = Array.from(
      { length: 60 },
      (_, index) => `Fact ${index} says the cache keeps recent answers close.`,
    );
    const text = `# One\n\n${sentences.slice(0, 30).join(' ')}\n\n# Two\n\n${sentences.slice(30).join(' ')}`;
    const options = { targetTokens: 60, maxTokens: 90, overlapTokens: 15 };
    const chunks = chunkDocument(text, options);
    let overlaps = 0;
    for (let index = 1; index < chunks.length; index++) {
      const previous = chunks[index - 1];
      const chunk = chunks[index];
      if (previous === undefined || chunk === undefined) continue;
      if (previous.headingPath.join('/') !== chunk.headingPath.join('/')) {
        expect(chunk.start).toBeGreaterThanOrEqual(previous.end);
        continue;
      }
      overlaps++;
      expect(chunk.start).toBeLessThan(previous.end);
      expect(chunk.start).toBeGreaterThan(previous.start);
      expect(estimateTokens(text.slice(chunk.start, previous.end))).toBeLessThanOrEqual(15);
      expect(text[chunk.start - 1]).toMatch(/\s/);
      // Sentence starts are preferred: these sentences are shorter than the overlap.
      expect(chunk.text.startsWith('Fact')).toBe(true);
    }
    expect(overlaps).toBeGreaterThan(4);
    expectBasicInvariants(text, chunks, options);

    const none = chunkDocument(text, { ...options, overlapTokens: 0 });
    for (let index = 1; index < none.length; index++) {
      expect(none[index]?.start).toBeGreaterThanOrEqual(none[index - 1]?.end ?? 0);
    }
  });

  it('handles CRLF text like LF text, with exact offsets', () => {
    const lf = [
      '# Title',
      '',
      'First paragraph here.',
      '',
      '```',
      '# code',
      '```',
      '',
      'Setext',
      '------',
      '',
      'Last paragraph.',
      '',
    ].join('\n');
    const crlf = lf.replaceAll('\n', '\r\n');
    const lfChunks = chunkDocument(lf);
    const crlfChunks = chunkDocument(crlf);
    expect(crlfChunks.map((chunk) => chunk.headingPath)).toEqual([['Title'], ['Title', 'Setext']]);
    expect(crlfChunks.map((chunk) => chunk.text.replaceAll('\r\n', '\n'))).toEqual(
      lfChunks.map((chunk) => chunk.text),
    );
    for (const chunk of crlfChunks) expect(chunk.text.endsWith('\r')).toBe(false);
    expectBasicInvariants(crlf, crlfChunks);
  });

  it('keeps every chunk within maxTokens of any counter', () => {
    const { text } = randomMarkdown('custom-counter', 60);
    const counters: ((text: string) => number)[] = [
      (piece) => piece.length,
      (piece) => Math.ceil(new TextEncoder().encode(piece).length / 3) + 2,
      (piece) => piece.split(/\s+/).filter(Boolean).length,
      // Superadditive: a whole counts more than the sum of its parts.
      (piece) => {
        const words = piece.split(/\s+/).filter(Boolean).length;
        return words + Math.floor((words * words) / 20);
      },
    ];
    for (const countTokens of counters) {
      const options = { targetTokens: 50, maxTokens: 70, overlapTokens: 10, countTokens };
      const chunks = chunkDocument(text, options);
      expectBasicInvariants(text, chunks, options);
    }
  });

  it('holds every invariant on seeded random Markdown', () => {
    const problems: string[] = [];
    for (let seed = 0; seed < 40; seed++) {
      const document = randomMarkdown(
        `random-${seed}`,
        between(createSeededRandom(`n${seed}`), 1, 60),
      );
      for (const [optionsIndex, options] of OPTION_SETS.entries()) {
        const label = `seed ${seed}, options ${optionsIndex}`;
        const chunks = chunkDocument(document.text, options);
        problems.push(
          ...basicViolations(document.text, chunks, options).map((p) => `${label}: ${p}`),
        );
        const count = options.countTokens ?? estimateTokens;
        const max = options.maxTokens ?? Math.floor((options.targetTokens ?? 200) * 1.5);
        const fittingFences = document.fences.filter(
          (fence) => count(document.text.slice(fence.start, fence.end)) <= max,
        );
        for (const chunk of chunks) {
          const where = `${label}, chunk ${chunk.index}`;
          // Within exactly one section, with that section's heading path.
          const section = document.sections.find(
            (candidate) => chunk.start >= candidate.start && chunk.start < candidate.end,
          );
          if (section === undefined || chunk.end > section.end) {
            problems.push(`${where}: spans sections`);
          } else if (chunk.headingPath.join(' / ') !== section.headingPath.join(' / ')) {
            problems.push(`${where}: heading path ${chunk.headingPath.join(' / ')}`);
          }
          // Fences that fit are never cut.
          for (const fence of fittingFences) {
            if ([chunk.start, chunk.end].some((at) => at > fence.start && at < fence.end)) {
              problems.push(`${where}: cuts the fence at ${fence.start}`);
            }
          }
        }
        // Each section with a heading starts with a chunk showing it.
        for (const section of document.sections.slice(1)) {
          if (!chunks.some((chunk) => chunk.start === section.start)) {
            problems.push(`${label}: no chunk starts at the heading at ${section.start}`);
          }
        }
      }
    }
    expect(problems.slice(0, 20)).toEqual([]);
  });

  it('is deterministic', () => {
    const { text } = randomMarkdown('deterministic', 80);
    expect(chunkDocument(text, { targetTokens: 30 })).toEqual(
      chunkDocument(text, { targetTokens: 30 }),
    );
  });

  it('rejects invalid options', () => {
    expect(() => chunkDocument('x', { targetTokens: 0 })).toThrow(InvalidArgumentError);
    expect(() => chunkDocument('x', { targetTokens: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => chunkDocument('x', { targetTokens: 100, maxTokens: 50 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => chunkDocument('x', { targetTokens: 100, overlapTokens: 100 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => chunkDocument('x', { overlapTokens: -1 })).toThrow(InvalidArgumentError);
  });

  it('chunks about 2 MB in well under a second, whatever its shape', () => {
    const { text: markdown } = randomMarkdown('performance', 200);
    const shapes = {
      markdown: markdown.repeat(Math.ceil(2_000_000 / markdown.length)),
      'one paragraph': 'A plain sentence of modest length goes here. '.repeat(45_000),
      'no whitespace': 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(56_000),
      'one line per word': 'word\n'.repeat(400_000),
      'every line a heading': '## Heading line\n'.repeat(125_000),
      'emoji only': '😀👍🏽🎉🙂'.repeat(200_000),
    };
    for (const [shape, text] of Object.entries(shapes)) {
      const started = performance.now();
      const chunks = chunkDocument(text);
      const elapsedMs = performance.now() - started;
      expect(chunks.length, shape).toBeGreaterThan(100);
      expect(elapsedMs, shape).toBeLessThan(1000);
      expect(chunks.at(-1)?.end, shape).toBe(text.trimEnd().length);
    }
  });
});
