/** Escaping of text that comes from data (model names, prompts, error messages). */

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text safe in HTML element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ENTITIES[character] ?? character);
}

/**
 * Text safe inside Markdown (including a table cell): HTML is neutralised as entities,
 * Markdown syntax characters are backslash-escaped, the pipe cannot end a cell, and line
 * breaks become spaces so a cell stays on its line.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/[&<>]/g, (character) => HTML_ENTITIES[character] ?? character)
    .replace(/[\\`*_[\]|~]/g, (character) => `\\${character}`)
    .replace(/^(#|[-+](?= ))/, '\\$1')
    .replace(/^(\d+)([.)])(?= )/, '$1\\$2');
}
