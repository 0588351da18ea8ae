/**
 * Turns one file's bytes into plain text for the RAG chunker: text and Markdown as they are,
 * HTML and DOCX as Markdown-flavoured text (headings as `#` lines, blank lines between blocks),
 * PDF as the text layer of each page. Files that cannot be read throw UnreadableDocumentError.
 */

import { DomUtils, ElementType, parseDocument } from 'htmlparser2';
import { TandemError } from '../../errors.js';

/** The kinds of document tandem can index. */
export type DocumentKind = 'text' | 'markdown' | 'html' | 'pdf' | 'docx';

/** One document turned into text. */
export interface ExtractedDocument {
  kind: DocumentKind;
  /**
   * Plain text. Markdown stays Markdown. HTML and DOCX headings become Markdown headings
   * ("## Title") and blocks are separated by blank lines, so the chunker sees the structure.
   * PDF pages are separated by blank lines.
   */
  text: string;
  /**
   * The document's title when it has one (HTML <title>, first Markdown/HTML h1, DOCX first
   * heading), else undefined.
   */
  title: string | undefined;
}

/** A file that cannot be turned into text (binary, corrupt, encrypted, scanned…); it is skipped. */
export class UnreadableDocumentError extends TandemError {}

const kindsByExtension: ReadonlyMap<string, DocumentKind> = new Map([
  ['.txt', 'text'],
  ['.text', 'text'],
  ['.md', 'markdown'],
  ['.markdown', 'markdown'],
  ['.html', 'html'],
  ['.htm', 'html'],
  ['.pdf', 'pdf'],
  ['.docx', 'docx'],
]);

/** The document kind for `path` by its extension (case-insensitive), or undefined when unsupported. */
export function documentKindOf(path: string): DocumentKind | undefined {
  const fileName = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0) return undefined;
  return kindsByExtension.get(fileName.slice(dot).toLowerCase());
}

const sampleBytes = 8192;
/** Share of control bytes in the sample above which a file counts as binary. */
const maximumControlShare = 0.1;

type Decoded = { text: string } | { binaryReason: string };

/**
 * Decodes text bytes (UTF-8, or UTF-16 with a byte order mark), or says why they look binary:
 * NUL bytes or many control bytes in the first 8 KB, or an invalid encoding.
 */
function decodeText(bytes: Uint8Array): Decoded {
  const utf16 =
    bytes[0] === 0xff && bytes[1] === 0xfe
      ? 'utf-16le'
      : bytes[0] === 0xfe && bytes[1] === 0xff
        ? 'utf-16be'
        : undefined;
  if (utf16 !== undefined) {
    try {
      return { text: new TextDecoder(utf16, { fatal: true }).decode(bytes) };
    } catch {
      return { binaryReason: 'invalid UTF-16' };
    }
  }
  const sample = bytes.subarray(0, sampleBytes);
  let controlBytes = 0;
  for (const byte of sample) {
    if (byte === 0) return { binaryReason: 'NUL bytes' };
    // Tab, line feed, vertical tab, form feed and carriage return are ordinary in text.
    if ((byte < 0x20 && (byte < 0x09 || byte > 0x0d)) || byte === 0x7f) controlBytes += 1;
  }
  if (sample.length > 0 && controlBytes / sample.length > maximumControlShare) {
    return { binaryReason: 'control bytes' };
  }
  try {
    // The decoder strips a UTF-8 byte order mark.
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { binaryReason: 'invalid UTF-8' };
  }
}

/**
 * Whether bytes meant to be text (a .txt, .md or .html file) look binary: NUL bytes or a high
 * share of control bytes in the first 8 KB, or invalid UTF-8.
 */
export function looksBinary(bytes: Uint8Array): boolean {
  return 'binaryReason' in decodeText(bytes);
}

function normaliseNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

function decodeOrThrow(path: string, bytes: Uint8Array): string {
  const decoded = decodeText(bytes);
  if ('binaryReason' in decoded) {
    throw new UnreadableDocumentError(
      `${path} looks binary (${decoded.binaryReason}): not indexed. Save it as UTF-8 text to index it.`,
    );
  }
  return normaliseNewlines(decoded.text.replace(/^\uFEFF/, ''));
}

/** The first level-1 heading of Markdown text (ATX `# Title` or setext `Title\n===`), outside code fences. */
function markdownTitle(markdown: string): string | undefined {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  for (const [index, line] of lines.entries()) {
    const fenceMatch = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceMatch?.[1] !== undefined) {
      const marker = fenceMatch[1];
      if (fence === undefined) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const atx = /^ {0,3}#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx?.[1] !== undefined && atx[1].trim() !== '') return atx[1].trim();
    const next = lines[index + 1];
    if (next !== undefined && /^ {0,3}=+[ \t]*$/.test(next) && line.trim() !== '') {
      return line.trim();
    }
  }
  return undefined;
}

/** HTML turned into text, with the titles found on the way. */
interface HtmlText {
  text: string;
  /** Text of <title>. */
  documentTitle: string | undefined;
  /** Text of the first <h1>. */
  firstTopHeading: string | undefined;
  /** Text of the first heading of any level. */
  firstHeading: string | undefined;
}

type Break = 'none' | 'line' | 'paragraph';

/**
 * Elements whose content is never text for the reader. <head> holds only these (and <title> is
 * read apart), so it needs no rule of its own; skipping it whole would lose the body of a page
 * that forgets to close it.
 */
const skippedElements = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'math',
  'title',
  'meta',
  'link',
  'base',
  'iframe',
  'object',
  'canvas',
  'select',
  'button',
]);

/** Elements separated from their surroundings by a blank line. */
const paragraphElements = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'caption',
  'details',
  'dialog',
  'div',
  'dl',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hgroup',
  'hr',
  'main',
  'nav',
  'ol',
  'p',
  'section',
  'summary',
  'table',
  'ul',
]);

/** Elements that start and end on their own line. */
const lineElements = new Set(['li', 'tr', 'dt', 'dd', 'option', 'legend']);

const headingLevels: ReadonlyMap<string, number> = new Map([
  ['h1', 1],
  ['h2', 2],
  ['h3', 3],
  ['h4', 4],
  ['h5', 5],
  ['h6', 6],
]);

function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Collects text in lines and blocks; breaks are only written between two pieces of text. */
class TextWriter {
  private output = '';
  private inline = '';
  private pendingBreak: Break = 'none';
  /** Prefix of the next line written (a list marker or a heading's `#`s). */
  private linePrefix = '';
  /** Prefix of the lines after it inside the same block (indentation under a list item). */
  continuationPrefix = '';

  appendInline(text: string): void {
    this.inline += text;
  }

  /** Ends the current line and asks for at least `kind` of break before the next text. */
  requestBreak(kind: Exclude<Break, 'none'>): void {
    this.flush();
    if (kind === 'paragraph' || this.pendingBreak === 'none') this.pendingBreak = kind;
  }

  startLine(prefix: string): void {
    this.flush();
    this.linePrefix = prefix;
  }

  /** Writes `text` as is (already laid out, like <pre>), on its own lines. */
  appendVerbatim(text: string): void {
    this.flush();
    this.writeLine(text);
  }

  finish(): string {
    this.flush();
    return this.output;
  }

  private flush(): void {
    const text = collapseWhitespace(this.inline);
    this.inline = '';
    if (text === '') return;
    this.writeLine(`${this.linePrefix || this.continuationPrefix}${text}`);
    this.linePrefix = '';
  }

  private writeLine(line: string): void {
    if (this.output !== '') {
      this.output += this.pendingBreak === 'paragraph' ? '\n\n' : '\n';
    }
    this.output += line;
    this.pendingBreak = 'line';
  }
}

type DomNode = ReturnType<typeof parseDocument>['children'][number];
type DomElement = Extract<DomNode, { attribs: unknown }>;
type DomText = Extract<DomNode, { type: ElementType.ElementType.Text }>;

// htmlparser2's DomUtils types promise isTag/isText, but domutils 4 no longer exports them.
function isElement(node: DomNode): node is DomElement {
  return (
    node.type === ElementType.Tag ||
    node.type === ElementType.Script ||
    node.type === ElementType.Style
  );
}

function isText(node: DomNode): node is DomText {
  return node.type === ElementType.Text;
}

/** The text of `nodes` as written (whitespace kept), without the elements that are skipped. */
function visibleText(nodes: readonly DomNode[]): string {
  let text = '';
  for (const node of nodes) {
    if (isText(node)) text += node.data;
    else if (node.type === ElementType.CDATA) text += DomUtils.textContent(node);
    else if (isElement(node) && !skippedElements.has(node.name)) {
      text += node.name === 'br' ? '\n' : visibleText(node.children);
    }
  }
  return text;
}

/** A Markdown code fence longer than any run of backticks in `text`. */
function fenceFor(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longestRun + 1));
}

/**
 * HTML to text: scripts, styles and other non-content elements dropped, entities decoded,
 * headings as `#` lines, list items as `- ` lines, blocks separated by blank lines, whitespace
 * collapsed except in <pre> (kept as is inside a Markdown code fence).
 */
function htmlToText(html: string): HtmlText {
  const document = parseDocument(html, { decodeEntities: true });
  const writer = new TextWriter();
  let documentTitle: string | undefined;
  let firstTopHeading: string | undefined;
  let firstHeading: string | undefined;
  /** One entry per open list: whether it is ordered, and the next item number. */
  const lists: { ordered: boolean; nextNumber: number }[] = [];
  /** Cells seen so far in each open table row. */
  const rowCells: number[] = [];

  const findTitle = (nodes: readonly DomNode[]): void => {
    for (const node of nodes) {
      if (documentTitle !== undefined || !isElement(node)) continue;
      if (node.name === 'title') {
        documentTitle = collapseWhitespace(DomUtils.textContent(node)) || undefined;
      } else if (!skippedElements.has(node.name)) {
        findTitle(node.children);
      }
    }
  };
  findTitle(document.children);

  const walk = (nodes: readonly DomNode[]): void => {
    for (const node of nodes) {
      if (isText(node)) {
        writer.appendInline(node.data);
        continue;
      }
      if (node.type === ElementType.CDATA) {
        writer.appendInline(DomUtils.textContent(node));
        continue;
      }
      if (!isElement(node)) continue;
      const name = node.name;
      if (skippedElements.has(name)) continue;

      const level = headingLevels.get(name);
      if (level !== undefined) {
        const heading = collapseWhitespace(visibleText(node.children));
        firstHeading ??= heading || undefined;
        if (level === 1) firstTopHeading ??= heading || undefined;
        writer.requestBreak('paragraph');
        writer.startLine(`${'#'.repeat(level)} `);
        writer.appendInline(heading);
        writer.requestBreak('paragraph');
        continue;
      }
      if (name === 'pre') {
        const text = visibleText(node.children).replace(/\r\n?/g, '\n').replace(/^\n/, '');
        const trimmed = text.replace(/\s+$/, '');
        writer.requestBreak('paragraph');
        if (trimmed !== '') {
          const fence = fenceFor(trimmed);
          writer.appendVerbatim(`${fence}\n${trimmed}\n${fence}`);
        }
        writer.requestBreak('paragraph');
        continue;
      }
      if (name === 'br') {
        writer.requestBreak('line');
        continue;
      }
      if (name === 'ul' || name === 'ol') {
        writer.requestBreak(lists.length > 0 ? 'line' : 'paragraph');
        lists.push({ ordered: name === 'ol', nextNumber: 1 });
        walk(node.children);
        lists.pop();
        writer.requestBreak(lists.length > 0 ? 'line' : 'paragraph');
        continue;
      }
      if (name === 'li') {
        const list = lists.at(-1);
        const indent = '  '.repeat(Math.max(0, lists.length - 1));
        let marker = '- ';
        if (list?.ordered) {
          marker = `${list.nextNumber}. `;
          list.nextNumber += 1;
        }
        const outerContinuation = writer.continuationPrefix;
        writer.startLine(`${indent}${marker}`);
        writer.continuationPrefix = `${indent}${' '.repeat(marker.length)}`;
        walk(node.children);
        writer.requestBreak('line');
        writer.continuationPrefix = outerContinuation;
        continue;
      }
      if (name === 'tr') {
        writer.requestBreak('line');
        rowCells.push(0);
        walk(node.children);
        rowCells.pop();
        writer.requestBreak('line');
        continue;
      }
      if (name === 'td' || name === 'th') {
        const cells = rowCells.at(-1);
        if (cells !== undefined) {
          if (cells > 0) writer.appendInline(' | ');
          rowCells[rowCells.length - 1] = cells + 1;
        }
        writer.appendInline(' ');
        walk(node.children);
        writer.appendInline(' ');
        continue;
      }
      const kind: Break | undefined = paragraphElements.has(name)
        ? 'paragraph'
        : lineElements.has(name)
          ? 'line'
          : undefined;
      if (kind === undefined) {
        // Inline element (a, span, strong, img…): its text flows with its surroundings.
        walk(node.children);
        continue;
      }
      writer.requestBreak(kind);
      walk(node.children);
      writer.requestBreak(kind);
    }
  };
  walk(document.children);

  return { text: writer.finish(), documentTitle, firstTopHeading, firstHeading };
}

/** The first line of an error's message, for one-line errors about third-party failures. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n').find((line) => line.trim() !== '') ?? 'unknown error';
  return firstLine.trim().replace(/[.:]\s*$/, '');
}

async function extractDocx(path: string, bytes: Uint8Array): Promise<ExtractedDocument> {
  const { default: mammoth } = await import('mammoth');
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
      {
        styleMap: ["p[style-name='Title'] => h1:fresh", 'p.Title => h1:fresh'],
        // Images carry no text: skip them instead of inlining them as base64.
        convertImage: mammoth.images.imgElement(async () => ({ src: '' })),
      },
    );
    html = result.value;
  } catch (error) {
    throw new UnreadableDocumentError(
      `${path} is not a readable .docx (${reasonOf(error)}): not indexed.`,
      { cause: error },
    );
  }
  const converted = htmlToText(html);
  return { kind: 'docx', text: converted.text, title: converted.firstHeading };
}

/** The text of one PDF page: lines kept, runs of spaces collapsed, blank runs limited to one. */
function normalisePdfPage(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

async function extractPdf(path: string, bytes: Uint8Array): Promise<ExtractedDocument> {
  const unpdf = await import('unpdf');
  let pages: string[];
  try {
    // pdf.js may take over the buffer it is given: hand it a copy.
    const document = await unpdf.getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    try {
      pages = (await unpdf.extractText(document, { mergePages: false })).text;
    } finally {
      await document.destroy();
    }
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'PasswordException') {
      throw new UnreadableDocumentError(
        `${path} is an encrypted PDF (password required): not indexed. Save an unprotected copy to index it.`,
        { cause: error },
      );
    }
    throw new UnreadableDocumentError(
      `${path} is not a readable PDF (${reasonOf(error)}): not indexed.`,
      { cause: error },
    );
  }
  const text = pages
    .map(normalisePdfPage)
    .filter((page) => page !== '')
    .join('\n\n');
  if (text === '') {
    throw new UnreadableDocumentError(
      `${path} has no text layer (a scanned PDF?): not indexed, OCR is not supported.`,
    );
  }
  return { kind: 'pdf', text, title: undefined };
}

/**
 * Turns one file's bytes into text. `kind` defaults to the kind of `path`'s extension.
 * Throws UnreadableDocumentError (one line) for unsupported, binary, corrupt, encrypted or
 * scanned files; the caller skips them.
 */
export async function extractText(
  path: string,
  bytes: Uint8Array,
  kind: DocumentKind | undefined = documentKindOf(path),
): Promise<ExtractedDocument> {
  switch (kind) {
    case 'text':
      return { kind, text: decodeOrThrow(path, bytes), title: undefined };
    case 'markdown': {
      const text = decodeOrThrow(path, bytes);
      return { kind, text, title: markdownTitle(text) };
    }
    case 'html': {
      const converted = htmlToText(decodeOrThrow(path, bytes));
      return {
        kind,
        text: converted.text,
        title: converted.documentTitle ?? converted.firstTopHeading,
      };
    }
    case 'docx':
      return extractDocx(path, bytes);
    case 'pdf':
      return extractPdf(path, bytes);
    case undefined:
      throw new UnreadableDocumentError(
        `${path} is not a supported document (.txt, .text, .md, .markdown, .html, .htm, .pdf, .docx): not indexed.`,
      );
  }
}
