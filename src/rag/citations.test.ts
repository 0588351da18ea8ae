import { describe, expect, test } from 'vitest';
import { checkCitations, MAX_RANGE_LENGTH, parseCitations } from './citations.js';

/** The sources of each citation, for compact assertions. */
function sourcesOf(answer: string): number[][] {
  return parseCitations(answer).map((citation) => citation.sources);
}

describe('parseCitations', () => {
  test('single markers, with marker text and UTF-16 offsets', () => {
    const answer = 'Paris is the capital [1]. It is large 🗼 [2].';
    expect(parseCitations(answer)).toEqual([
      { marker: '[1]', offset: 21, sources: [1] },
      { marker: '[2]', offset: 41, sources: [2] },
    ]);
    for (const citation of parseCitations(answer)) {
      expect(answer.slice(citation.offset, citation.offset + citation.marker.length)).toBe(
        citation.marker,
      );
    }
  });

  test.each([
    ['[1,2]', [[1, 2]]],
    ['[1, 2]', [[1, 2]]],
    ['[ 3 ;1 ]', [[3, 1]]],
    ['[1][2]', [[1], [2]]],
    ['[1, 1, 2]', [[1, 2]]],
    ['[01]', [[1]]],
    ['[Source 2]', [[2]]],
    ['[source 2]', [[2]]],
    ['[SOURCES: 1, 3]', [[1, 3]]],
    ['[Source 1, Source 3]', [[1, 3]]],
    ['[^2]', [[2]]],
    ['[0]', [[0]]],
    ['[[1]]', [[1]]],
    ['[1] (see above)', [[1]]],
  ])('%j', (answer, expected) => {
    expect(sourcesOf(answer)).toEqual(expected);
  });

  test.each([
    ['[1-3]', [1, 2, 3]],
    ['[1–3]', [1, 2, 3]],
    ['[1—3]', [1, 2, 3]],
    ['[1 - 3]', [1, 2, 3]],
    ['[3-1]', [1, 2, 3]],
    ['[2-2]', [2]],
    ['[1, 3-5, 8]', [1, 3, 4, 5, 8]],
    ['[Sources 2–4]', [2, 3, 4]],
  ])('range %j', (answer, expected) => {
    expect(sourcesOf(answer)).toEqual([expected]);
  });

  test('a huge range is cut short: the first MAX_RANGE_LENGTH numbers, then its end', () => {
    const [citation] = parseCitations('Everything [1-100000].');
    expect(citation?.marker).toBe('[1-100000]');
    expect(citation?.sources).toHaveLength(MAX_RANGE_LENGTH + 1);
    expect(citation?.sources.slice(0, 3)).toEqual([1, 2, 3]);
    expect(citation?.sources.at(-2)).toBe(MAX_RANGE_LENGTH);
    expect(citation?.sources.at(-1)).toBe(100_000);
    expect(sourcesOf('[5-999999999999999]')[0]).toHaveLength(MAX_RANGE_LENGTH + 1);
    expect(sourcesOf(`[1-${MAX_RANGE_LENGTH}]`)[0]).toHaveLength(MAX_RANGE_LENGTH);
  });

  test.each([
    '[a]',
    '[1.5]',
    '[-1]',
    '[]',
    '[ ]',
    '[1a]',
    '[a1]',
    '[1,]',
    '[,1]',
    '[1-]',
    '[1--3]',
    '[^ 2]',
    '[^1, 2]',
    '[Source]',
    '[see 1]',
    '[1 2]',
    '[1 and 2]',
    '[1234567890123456]',
    '[1\n]',
    '1]',
    '[1',
  ])('%j is not a citation', (answer) => {
    expect(parseCitations(answer)).toEqual([]);
  });

  test('Markdown links and images are not citations', () => {
    expect(
      parseCitations('See [the docs](https://example.com) and [1](https://a.example).'),
    ).toEqual([]);
    expect(parseCitations('![2](image.png)')).toEqual([]);
    expect(sourcesOf('[1] [docs](https://example.com/[2]) [3]')).toEqual([[1], [3]]);
    expect(sourcesOf('[docs](https://example.com/a_(b)/[2]) [3]')).toEqual([[3]]);
    // A parenthesis that never closes: the marker before it is skipped, later ones count.
    expect(sourcesOf('[1](no close [2]')).toEqual([[2]]);
  });

  test('link and footnote definitions at the start of a line are not citations', () => {
    const answer = 'Claim [1] and [^2].\n\n[1]: https://example.com\n  [^2]: A footnote.';
    expect(sourcesOf(answer)).toEqual([[1], [2]]);
    expect(sourcesOf('Mid-line [3]: still a citation')).toEqual([[3]]);
  });

  test('escaped brackets are not citations, an escaped backslash does not escape', () => {
    expect(parseCitations('\\[1] literal')).toEqual([]);
    expect(sourcesOf('\\\\[1] cited')).toEqual([[1]]);
  });

  test('numbers inside inline code are not citations', () => {
    expect(sourcesOf('Use `arr[1]` or `[2]` here [3].')).toEqual([[3]]);
    expect(sourcesOf('Double ``a ` [1] b`` then [2]')).toEqual([[2]]);
    // An unmatched backtick is literal text, so the marker after it counts.
    expect(sourcesOf('A lone ` backtick [4]')).toEqual([[4]]);
  });

  test('numbers inside fenced code blocks are not citations', () => {
    const answer = [
      'Before [1].',
      '```python',
      'x = items[2]',
      '```',
      'Between [3].',
      '~~~~',
      'y[4]',
      '```',
      'still code [5]',
      '~~~~',
      'After [6].',
    ].join('\n');
    expect(sourcesOf(answer)).toEqual([[1], [3], [6]]);
    const offsets = parseCitations(answer).map((citation) => citation.offset);
    expect(offsets.map((offset) => answer.slice(offset, offset + 3))).toEqual([
      '[1]',
      '[3]',
      '[6]',
    ]);
  });

  test('an unclosed fence runs to the end of the answer', () => {
    expect(sourcesOf('Cited [1].\n```\ncode [2]\nmore [3]')).toEqual([[1]]);
  });

  test('many markers', () => {
    const answer = Array.from(
      { length: 5000 },
      (_, index) => `Fact ${index} [${(index % 7) + 1}].`,
    ).join(' ');
    const citations = parseCitations(answer);
    expect(citations).toHaveLength(5000);
    expect(citations[4999]?.sources).toEqual([(4999 % 7) + 1]);
    expect(checkCitations(answer, 5).invalidSources).toEqual([6, 7]);
  });
});

describe('checkCitations', () => {
  test('all valid, none unused', () => {
    expect(checkCitations('A [1]. B [2][3].', 3)).toEqual({
      citations: [
        { marker: '[1]', offset: 2, sources: [1] },
        { marker: '[2]', offset: 9, sources: [2] },
        { marker: '[3]', offset: 12, sources: [3] },
      ],
      validSources: [1, 2, 3],
      invalidSources: [],
      uncited: false,
      unusedSources: [],
    });
  });

  test('invalid numbers: 0 and beyond the source count', () => {
    const check = checkCitations('Zero [0], too large [4] and [7], fine [2].', 3);
    expect(check.validSources).toEqual([2]);
    expect(check.invalidSources).toEqual([0, 4, 7]);
    expect(check.uncited).toBe(false);
    expect(check.unusedSources).toEqual([1, 3]);
  });

  test('uncited: no marker at all, every source unused', () => {
    const check = checkCitations('An answer from memory, with [a] list and `[1]` code.', 3);
    expect(check.citations).toEqual([]);
    expect(check.uncited).toBe(true);
    expect(check.validSources).toEqual([]);
    expect(check.invalidSources).toEqual([]);
    expect(check.unusedSources).toEqual([1, 2, 3]);
  });

  test('only invalid citations still count as citing', () => {
    const check = checkCitations('Made up [9].', 2);
    expect(check.uncited).toBe(false);
    expect(check.validSources).toEqual([]);
    expect(check.invalidSources).toEqual([9]);
    expect(check.unusedSources).toEqual([1, 2]);
  });

  test('mixed forms, distinct and ascending', () => {
    const check = checkCitations('X [3, 1]. Y [Source 2]. Z [^5] [1–2] [0].', 4);
    expect(check.validSources).toEqual([1, 2, 3]);
    expect(check.invalidSources).toEqual([0, 5]);
    expect(check.unusedSources).toEqual([4]);
  });

  test('ranges: valid part and invalid part', () => {
    const check = checkCitations('All of it [2-6].', 4);
    expect(check.citations[0]?.sources).toEqual([2, 3, 4, 5, 6]);
    expect(check.validSources).toEqual([2, 3, 4]);
    expect(check.invalidSources).toEqual([5, 6]);
    expect(check.unusedSources).toEqual([1]);
  });

  test('a huge range stays small and its end is invalid', () => {
    const check = checkCitations('Everything [1-100000].', 5);
    expect(check.validSources).toEqual([1, 2, 3, 4, 5]);
    expect(check.invalidSources).toHaveLength(MAX_RANGE_LENGTH - 5 + 1);
    expect(check.invalidSources.at(-1)).toBe(100_000);
  });

  test('no sources given: every citation is invalid, nothing unused', () => {
    const check = checkCitations('Claim [1].', 0);
    expect(check.validSources).toEqual([]);
    expect(check.invalidSources).toEqual([1]);
    expect(check.unusedSources).toEqual([]);
  });

  test.each([-1, 1.5, Number.NaN])('sourceCount %d is a RangeError', (sourceCount) => {
    expect(() => checkCitations('[1]', sourceCount)).toThrow(RangeError);
  });
});
