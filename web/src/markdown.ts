/**
 * Model output as sanitized Markdown. A model (or a document it quotes) must not inject
 * HTML: raw HTML in the answer is shown as text, never parsed (Chromium reports a CSP
 * violation as soon as an element with an inline handler is made, even in an inert
 * document); marked renders the Markdown, DOMPurify keeps only plain formatting (no images,
 * no forms, no styles, so nothing the answer says can make the browser fetch anything), and
 * links open outside the app. Citations [n] become buttons that show source n; a number
 * that names no source is marked invalid.
 */

import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const ALLOWED_TAGS = [
  'p',
  'br',
  'strong',
  'em',
  'del',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'a',
];

const CITATION = /\[(\d{1,3})\]/g;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

/** Markdown to HTML, with the answer's own raw HTML (block or inline) as escaped text. */
const markdown = new Marked({
  async: false,
  gfm: true,
  breaks: true,
  renderer: { html: ({ text }) => escapeHtml(text) },
});

/**
 * Wraps each [n] in a text node in a citation button; not inside code, nor inside a link
 * (a button there would both show the source and follow the link).
 */
function linkCitations(root: DocumentFragment | Element, validNumbers: ReadonlySet<number>): void {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    if ((node.parentElement?.closest('code, pre, a') ?? null) === null) texts.push(node as Text);
  }
  for (const text of texts) {
    const value = text.data;
    // matchAll starts from the regex's lastIndex, which test() would move: test a copy.
    if (!new RegExp(CITATION.source).test(value)) continue;
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of value.matchAll(CITATION)) {
      const index = match.index ?? 0;
      fragment.append(value.slice(last, index));
      const number = Number(match[1]);
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = `[${number}]`;
      button.dataset.citation = String(number);
      if (validNumbers.has(number)) {
        button.className = 'citation';
        button.title = `Show source ${number}`;
      } else {
        button.className = 'citation invalid';
        button.title = `No source ${number} was given to the model: this citation is invalid`;
      }
      fragment.append(button);
      last = index + match[0].length;
    }
    fragment.append(value.slice(last));
    text.replaceWith(fragment);
  }
}

/** Safe HTML for an answer; `sourceNumbers` are the sources the model was given. */
export function renderAnswer(source: string, sourceNumbers?: ReadonlySet<number>): string {
  const html = markdown.parse(source) as string;
  const clean = DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ['href', 'title'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const anchor of clean.querySelectorAll('a')) {
    anchor.target = '_blank';
    anchor.rel = 'noopener noreferrer';
  }
  if (sourceNumbers !== undefined) linkCitations(clean, sourceNumbers);
  const container = document.createElement('div');
  container.append(clean);
  return container.innerHTML;
}
