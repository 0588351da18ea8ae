/**
 * Reading a streamed chunk without JSON.parse when it is the previous chunk with another
 * content string — which, within one stream, is nearly every chunk:
 *
 *   data: {"id":"x","object":"chat.completion.chunk",…,"delta":{"content":"lorem "},…}
 *   data: {"id":"x","object":"chat.completion.chunk",…,"delta":{"content":"ipsum "},…}
 *
 * At 100 000 tokens/s, JSON.parse of each ~200-byte chunk was the largest single cost of the
 * client. The shortcut is exact, not a heuristic: a template is the text before and after
 * the content string token of a chunk that was parsed in full, and it is only kept after a
 * probe (the template with a known string in the gap) parsed to the same plain shape with
 * that string as the content. A chunk that starts with the template's head, ends with its
 * tail, and has between them a string body with no quote, backslash or control character
 * lexes as the same JSON with a different string in that one place, so its content is that
 * string. Anything else goes through JSON.parse.
 */

const contentKey = '"content":';
const probeText = 'tandem-probe';

export class ContentChunkTemplate {
  /** Text up to and including the content string's opening quote. */
  #head: string | undefined;
  /** Text from the content string's closing quote to the end. */
  #tail = '';

  /** The content of a chunk that matches the template, else undefined (parse it in full). */
  match(data: string): string | undefined {
    const head = this.#head;
    if (head === undefined) return undefined;
    const tail = this.#tail;
    const end = data.length - tail.length;
    // slice + === rather than startsWith/endsWith: V8 compares a slice natively, ~10x faster.
    if (end < head.length || data.slice(0, head.length) !== head || data.slice(end) !== tail) {
      return undefined;
    }
    for (let index = head.length; index < end; index++) {
      const code = data.charCodeAt(index);
      if (code < 0x20 || code === 0x22 || code === 0x5c) return undefined;
    }
    return data.slice(head.length, end);
  }

  /**
   * Learns from a chunk that was parsed in full and found to be a plain content delta with
   * content `content`. `isPlainContent` must say the same of the probe's parse.
   */
  learn(
    data: string,
    content: string,
    isPlainContent: (payload: unknown) => string | undefined,
  ): void {
    const known = this.#head;
    if (known !== undefined && this.#sameShape(data, known)) {
      // The same template; this chunk's content only had an escape in it.
      return;
    }
    const token = contentKey + JSON.stringify(content);
    const at = data.indexOf(token);
    if (at === -1 || data.indexOf(token, at + 1) !== -1) {
      // Not written the way JSON.stringify writes it (escapes, spaces), or ambiguous.
      this.#head = undefined;
      return;
    }
    const head = data.slice(0, at + contentKey.length + 1);
    const tail = data.slice(at + token.length - 1);
    let probe: unknown;
    try {
      probe = JSON.parse(`${head}${probeText}${tail}`);
    } catch {
      this.#head = undefined;
      return;
    }
    if (isPlainContent(probe) !== probeText) {
      this.#head = undefined;
      return;
    }
    this.#head = head;
    this.#tail = tail;
  }

  #sameShape(data: string, head: string): boolean {
    const end = data.length - this.#tail.length;
    return (
      end >= head.length && data.slice(0, head.length) === head && data.slice(end) === this.#tail
    );
  }

  get learned(): boolean {
    return this.#head !== undefined;
  }
}
