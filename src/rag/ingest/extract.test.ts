import { describe, expect, it } from 'vitest';
import { buildDocx, buildPdf, buildZip, crc32 } from '../../../test/support/document-fixtures.js';
import { TandemError } from '../../errors.js';
import {
  type DocumentKind,
  documentKindOf,
  extractText,
  looksBinary,
  UnreadableDocumentError,
} from './extract.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The UnreadableDocumentError `promise` rejects with (fails the test when it resolves). */
async function unreadable(promise: Promise<unknown>): Promise<UnreadableDocumentError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UnreadableDocumentError);
  expect(error).toBeInstanceOf(TandemError);
  const message = (error as UnreadableDocumentError).message;
  expect(message).not.toContain('\n');
  return error as UnreadableDocumentError;
}

describe('documentKindOf', () => {
  it.each<[string, DocumentKind | undefined]>([
    ['notes.txt', 'text'],
    ['notes.text', 'text'],
    ['docs/README.md', 'markdown'],
    ['guide.markdown', 'markdown'],
    ['page.html', 'html'],
    ['page.htm', 'html'],
    ['paper.pdf', 'pdf'],
    ['report.docx', 'docx'],
    ['C:\\Users\\me\\REPORT.DOCX', 'docx'],
    ['Page.HTM', 'html'],
    ['archive.tar.gz', undefined],
    ['legacy.doc', undefined],
    ['picture.png', undefined],
    ['Makefile', undefined],
    ['.md', undefined],
    ['dir.md/file', undefined],
  ])('%s → %s', (path, kind) => {
    expect(documentKindOf(path)).toBe(kind);
  });
});

describe('looksBinary', () => {
  it('accepts plain UTF-8 text, including multi-byte characters and an empty file', () => {
    expect(looksBinary(utf8('Grüße, 世界 👋\n\ttabbed\r\n'))).toBe(false);
    expect(looksBinary(new Uint8Array())).toBe(false);
  });

  it('flags NUL bytes', () => {
    expect(looksBinary(new Uint8Array([0x68, 0x69, 0x00, 0x21]))).toBe(true);
  });

  it('flags a high share of control bytes in the first 8 KB', () => {
    const bytes = utf8('abcdefghij'.repeat(10));
    for (let index = 0; index < bytes.length; index += 5) bytes[index] = 0x01;
    expect(looksBinary(bytes)).toBe(true);
    // A few escape sequences (coloured log output) stay text.
    expect(looksBinary(utf8(`\u001b[31mred\u001b[0m ${'plain text '.repeat(20)}`))).toBe(false);
  });

  it('flags invalid UTF-8, even after the first 8 KB', () => {
    expect(looksBinary(new Uint8Array([0x63, 0x61, 0x66, 0xe9]))).toBe(true); // Latin-1 "café"
    const late = new Uint8Array(10_000).fill(0x61);
    late[9_000] = 0xff;
    expect(looksBinary(late)).toBe(true);
  });

  it('does not flag a multi-byte character cut by the 8 KB sample', () => {
    const text = `${'a'.repeat(8191)}é and more`;
    expect(looksBinary(utf8(text))).toBe(false);
  });
});

describe('extractText: text and markdown', () => {
  it('strips a BOM and normalises CRLF and CR line endings', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('one\r\ntwo\rthree\nfour')]);
    const document = await extractText('notes.txt', bytes);
    expect(document).toEqual({ kind: 'text', text: 'one\ntwo\nthree\nfour', title: undefined });
  });

  it('decodes UTF-16 with a byte order mark', async () => {
    const bytes = new Uint8Array([0xff, 0xfe, ...Buffer.from('héllo\r\nworld', 'utf16le')]);
    expect((await extractText('windows.txt', bytes)).text).toBe('héllo\nworld');
  });

  it('keeps Markdown as Markdown and takes the first h1 as the title', async () => {
    const markdown =
      '\uFEFF```sh\r\n# not a heading\r\n```\r\n\r\n## Intro\r\n\r\n# The Guide #\r\n\r\nText *here*.\r\n';
    const document = await extractText('guide.md', utf8(markdown));
    expect(document.kind).toBe('markdown');
    expect(document.text).toBe(
      '```sh\n# not a heading\n```\n\n## Intro\n\n# The Guide #\n\nText *here*.\n',
    );
    expect(document.title).toBe('The Guide');
  });

  it('reads a setext h1 as the title and leaves the title undefined without one', async () => {
    expect((await extractText('a.md', utf8('Setext Title\n====\n\nbody'))).title).toBe(
      'Setext Title',
    );
    expect((await extractText('b.md', utf8('## only h2\n\nbody'))).title).toBeUndefined();
  });

  it('honours an explicit kind over the extension', async () => {
    const document = await extractText('notes.txt', utf8('# Heading'), 'markdown');
    expect(document).toEqual({ kind: 'markdown', text: '# Heading', title: 'Heading' });
  });

  it('refuses binary content with one line naming the file and the reason', async () => {
    const error = await unreadable(extractText('data.txt', new Uint8Array([0x61, 0x00, 0x62])));
    expect(error.message).toBe(
      'data.txt looks binary (NUL bytes): not indexed. Save it as UTF-8 text to index it.',
    );
    const latin1 = await unreadable(
      extractText('old.md', new Uint8Array([0x63, 0x61, 0x66, 0xe9])),
    );
    expect(latin1.message).toContain('old.md looks binary (invalid UTF-8)');
    await unreadable(extractText('page.html', new Uint8Array([0x3c, 0x00])));
  });

  it('refuses an unsupported extension', async () => {
    const error = await unreadable(extractText('picture.png', utf8('x')));
    expect(error.message).toMatch(/^picture\.png is not a supported document .*not indexed\.$/);
  });
});

describe('extractText: html', () => {
  const page = `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>  The &amp; Page  </title>
  <style>body { color: red; }</style>
  <script>var secret = "<p>not text</p>";</script>
</head>
<body>
  <noscript>Enable JavaScript</noscript>
  <template><p>template text</p></template>
  <svg><title>icon title</title><text>svg text</text></svg>
  <h1>Main   <em>heading</em></h1>
  <p>First
     paragraph with &lt;tags&gt; &amp; &quot;quotes&quot; &eacute; &#x263A;.</p>
  <div>Line one<br>Line two</div>
  <h2><a href="#x"><svg><title>link</title></svg></a>Install</h2>
  <ul>
    <li>Apples</li>
    <li>Pears
      <ol><li>Conference</li><li>Williams</li></ol>
    </li>
  </ul>
  <pre>
def main():
    # keep   this
    return 1 &lt; 2
</pre>
  <table><tr><th>Name</th><th>Size</th></tr><tr><td>a.txt</td><td>3 KB</td></tr></table>
  <blockquote><p>Quoted</p></blockquote>
  <h6>Small</h6>
  <script>document.write("late script")</script>
</body>
</html>`;

  it('turns headings, paragraphs, lists, tables and pre into structured text', async () => {
    const document = await extractText('page.html', utf8(page));
    expect(document.kind).toBe('html');
    expect(document.text).toBe(
      [
        '# Main heading',
        'First paragraph with <tags> & "quotes" é ☺.',
        'Line one\nLine two',
        '## Install',
        '- Apples\n- Pears\n  1. Conference\n  2. Williams',
        '```\ndef main():\n    # keep   this\n    return 1 < 2\n```',
        'Name | Size\na.txt | 3 KB',
        'Quoted',
        '###### Small',
      ].join('\n\n'),
    );
  });

  it('drops script, style, noscript, template, svg and head content', async () => {
    const { text } = await extractText('page.html', utf8(page));
    for (const hidden of [
      'secret',
      'color: red',
      'Enable JavaScript',
      'template text',
      'svg text',
      'icon title',
      'late script',
      'The & Page',
    ]) {
      expect(text).not.toContain(hidden);
    }
    // "<tags>" is text (escaped in the source); no element of the source survives as markup.
    expect(text).not.toMatch(
      /<\/?(html|head|meta|body|p|div|em|a|li|ul|ol|h\d|pre|table|tr|td|th|br|svg|script|style|blockquote|noscript|template|title)\b/i,
    );
  });

  it('takes <title> as the title, else the first h1', async () => {
    expect((await extractText('page.html', utf8(page))).title).toBe('The & Page');
    const noTitle = '<body><h2>Second</h2><h1>First <b>Top</b></h1></body>';
    expect((await extractText('x.htm', utf8(noTitle))).title).toBe('First Top');
    expect((await extractText('y.htm', utf8('<p>no heading</p>'))).title).toBeUndefined();
  });

  it('keeps the body of a page whose <head> is never closed', async () => {
    const html = '<html><head><title>T</title><p>Body text</p></html>';
    expect((await extractText('broken.html', utf8(html))).text).toBe('Body text');
  });

  it('uses a longer fence when the pre text holds backticks', async () => {
    const html = '<pre>use ```code``` here</pre>';
    expect((await extractText('fence.html', utf8(html))).text).toBe(
      '````\nuse ```code``` here\n````',
    );
  });
});

describe('extractText: docx', () => {
  it('turns a Heading1 paragraph into "# …" and keeps the paragraphs', async () => {
    const bytes = buildDocx([
      { text: 'Quarterly Report', style: 'Heading1' },
      { text: 'Sales grew & costs fell.' },
      { text: 'Regions', style: 'Heading2' },
      { text: 'North   and south.' },
    ]);
    const document = await extractText('report.docx', bytes);
    expect(document).toEqual({
      kind: 'docx',
      text: '# Quarterly Report\n\nSales grew & costs fell.\n\n## Regions\n\nNorth and south.',
      title: 'Quarterly Report',
    });
  });

  it('reads a stored (uncompressed) zip too, and takes the first heading of any level as the title', async () => {
    const bytes = buildDocx([{ text: 'Body first' }, { text: 'Sub heading', style: 'Heading2' }], {
      compression: 'stored',
    });
    const document = await extractText('stored.docx', bytes);
    expect(document.text).toBe('Body first\n\n## Sub heading');
    expect(document.title).toBe('Sub heading');
  });

  it('refuses a zip that is not a docx with one line', async () => {
    const zip = buildZip([{ name: 'hello.txt', content: 'hello' }]);
    const error = await unreadable(extractText('fake.docx', zip));
    expect(error.message).toMatch(/^fake\.docx is not a readable \.docx \(.+\): not indexed\.$/);
  });

  it('refuses bytes that are not a zip at all with one line', async () => {
    const error = await unreadable(extractText('noise.docx', utf8('just some text')));
    expect(error.message).toMatch(/^noise\.docx is not a readable \.docx \(.+\): not indexed\.$/);
  });
});

describe('extractText: pdf', () => {
  it('extracts the text of each page, pages separated by a blank line', async () => {
    const bytes = buildPdf([
      ['Hello from page one', 'Second line (with parens)'],
      ['Page two says goodbye'],
    ]);
    const document = await extractText('paper.pdf', bytes);
    expect(document.kind).toBe('pdf');
    expect(document.title).toBeUndefined();
    const pages = document.text.split('\n\n');
    expect(pages).toHaveLength(2);
    expect(pages[0]).toContain('Hello from page one');
    expect(pages[0]).toContain('Second line (with parens)');
    expect(pages[1]).toBe('Page two says goodbye');
  });

  it('leaves the caller bytes usable (pdf.js gets a copy)', async () => {
    const bytes = buildPdf([['Reusable']]);
    await extractText('a.pdf', bytes);
    expect(bytes.byteLength).toBeGreaterThan(0);
    expect((await extractText('a.pdf', bytes)).text).toBe('Reusable');
  });

  it('refuses a truncated PDF with one line', async () => {
    const bytes = buildPdf([['Hello'], ['World']]);
    const error = await unreadable(
      extractText('cut.pdf', bytes.subarray(0, Math.floor(bytes.length / 2))),
    );
    expect(error.message).toMatch(/^cut\.pdf is not a readable PDF \(.+\): not indexed\.$/);
  });

  it('refuses an encrypted PDF whose password is not empty', async () => {
    const error = await unreadable(
      extractText('secret.pdf', buildPdf([['Hidden']], { encrypted: true })),
    );
    expect(error.message).toBe(
      'secret.pdf is an encrypted PDF (password required): not indexed. Save an unprotected copy to index it.',
    );
  });

  it('refuses bytes that are not a PDF with one line', async () => {
    const error = await unreadable(extractText('noise.pdf', utf8('not a pdf at all')));
    expect(error.message).toContain('noise.pdf is not a readable PDF');
  });

  it('refuses a PDF without a text layer, saying OCR is not supported', async () => {
    const error = await unreadable(extractText('scan.pdf', buildPdf([[], []])));
    expect(error.message).toBe(
      'scan.pdf has no text layer (a scanned PDF?): not indexed, OCR is not supported.',
    );
  });
});

describe('document fixtures', () => {
  it('computes the standard CRC-32 check value', () => {
    expect(crc32(utf8('123456789'))).toBe(0xcbf43926);
  });

  it('writes xref offsets that point at each object', () => {
    const text = Buffer.from(buildPdf([['a'], ['b']])).toString('latin1');
    const xref = text.slice(text.lastIndexOf('xref\n0 '));
    const offsets = [...xref.matchAll(/^(\d{10}) 00000 n $/gm)].map((match) => Number(match[1]));
    expect(offsets).toHaveLength(7);
    for (const [index, offset] of offsets.entries()) {
      expect(text.slice(offset)).toMatch(new RegExp(`^${index + 1} 0 obj`));
    }
    expect(Number(/startxref\n(\d+)/.exec(text)?.[1])).toBe(text.lastIndexOf('xref\n0 '));
  });
});
