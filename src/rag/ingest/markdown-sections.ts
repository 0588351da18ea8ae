/**
 * The Markdown structure the chunker follows: a document cut into sections at its headings
 * (ATX `#`..`######` with optional closing `#`s, and setext `Title\n===`/`---`, never inside
 * fenced code), each section with its blocks (its heading, paragraphs, fenced code, front
 * matter) as trimmed ranges of the text. An unclosed fence runs to the end of the document;
 * front matter is recognised only at its very start. CRLF line ends read like LF.
 */

import { isWhitespace } from '../../measure/code-units.js';

export type BlockKind = 'heading' | 'text' | 'code';

export interface Block {
  start: number;
  end: number;
  kind: BlockKind;
}

export interface Section {
  headingPath: string[];
  blocks: Block[];
}

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
const ATX_CLOSING = /(?:^|[ \t]+)#+[ \t]*$/;
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const FRONT_MATTER_OPEN = /^\ufeff?---[ \t]*$/;
const FRONT_MATTER_CLOSE = /^(?:---|\.\.\.)[ \t]*$/;

/** A line that starts a list item, a quote or a table row. */
export const BLOCK_LINE_START = /^[ \t]*(?:[-*+>|][ \t]|\d{1,9}[.)][ \t])/;

function leadingWhitespace(line: string): number {
  let index = 0;
  while (index < line.length && isWhitespace(line.charCodeAt(index))) index++;
  return index;
}

/** Cuts `text` into sections at its headings, each with its blocks (trimmed ranges). */
export function parseSections(text: string): Section[] {
  const sections: Section[] = [];
  const headings: { level: number; title: string }[] = [];
  let section: Section = { headingPath: [], blocks: [] };
  sections.push(section);

  let paragraph: { start: number; end: number; plain: boolean } | undefined;
  let fence: { start: number; end: number; closes: (line: string) => boolean } | undefined;

  const flushParagraph = (): void => {
    if (paragraph === undefined) return;
    section.blocks.push({ start: paragraph.start, end: paragraph.end, kind: 'text' });
    paragraph = undefined;
  };
  const startSection = (level: number, title: string, start: number, end: number): void => {
    while (headings.length > 0 && (headings.at(-1)?.level ?? 0) >= level) headings.pop();
    headings.push({ level, title });
    section = {
      headingPath: headings.map((heading) => heading.title),
      blocks: [{ start, end, kind: 'heading' }],
    };
    sections.push(section);
  };

  let lineStart = 0;
  for (;;) {
    const newline = text.indexOf('\n', lineStart);
    let contentEnd = newline === -1 ? text.length : newline;
    if (contentEnd > lineStart && text.charCodeAt(contentEnd - 1) === 0x0d) contentEnd--;
    const line = text.slice(lineStart, contentEnd);
    const trimmedLength = line.trimEnd().length;
    const blank = trimmedLength === 0;
    const lineFirst = lineStart + leadingWhitespace(line);
    const lineLast = lineStart + trimmedLength;

    if (fence !== undefined) {
      if (!blank) fence.end = lineLast;
      if (fence.closes(line)) {
        section.blocks.push({ start: fence.start, end: fence.end, kind: 'code' });
        fence = undefined;
      }
    } else if (blank) {
      flushParagraph();
    } else {
      const atx = ATX_HEADING.exec(line);
      const fenceOpen = atx === null ? FENCE_OPEN.exec(line) : null;
      if (atx !== null) {
        flushParagraph();
        const title = (atx[2] ?? '').replace(ATX_CLOSING, '').trim();
        startSection(atx[1]?.length ?? 1, title, lineFirst, lineLast);
      } else if (
        fenceOpen !== null &&
        !(fenceOpen[1]?.startsWith('`') === true && fenceOpen[2]?.includes('`') === true)
      ) {
        flushParagraph();
        const marker = fenceOpen[1] ?? '```';
        fence = {
          start: lineFirst,
          end: lineLast,
          closes: (candidate) => {
            const close = FENCE_CLOSE.exec(candidate);
            const closeMarker = close?.[1];
            return (
              closeMarker !== undefined &&
              closeMarker[0] === marker[0] &&
              closeMarker.length >= marker.length
            );
          },
        };
      } else if (lineStart === 0 && FRONT_MATTER_OPEN.test(line)) {
        fence = {
          start: lineFirst,
          end: lineLast,
          closes: (candidate) => FRONT_MATTER_CLOSE.test(candidate),
        };
      } else if (paragraph?.plain === true && SETEXT_UNDERLINE.test(line)) {
        const title = text
          .slice(paragraph.start, paragraph.end)
          .split('\n')
          .map((part) => part.trim())
          .join(' ');
        const level = line.trim().startsWith('=') ? 1 : 2;
        const start = paragraph.start;
        paragraph = undefined;
        startSection(level, title, start, lineLast);
      } else {
        const plain = !BLOCK_LINE_START.test(line) && line.length - line.trimStart().length < 4;
        if (paragraph === undefined) paragraph = { start: lineFirst, end: lineLast, plain };
        else {
          paragraph.end = lineLast;
          paragraph.plain &&= plain;
        }
      }
    }

    if (newline === -1) break;
    lineStart = newline + 1;
  }
  if (fence !== undefined)
    section.blocks.push({ start: fence.start, end: fence.end, kind: 'code' });
  flushParagraph();
  return sections;
}
