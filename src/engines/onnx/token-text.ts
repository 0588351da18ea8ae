/**
 * Turns generated token ids into text deltas, one token at a time, the way text-generation
 * servers do it: each new token is decoded together with a few tokens before it, and the
 * delta is the decoded text past what those earlier tokens decode to. That keeps spaces that
 * a tokenizer's decoder strips at the start of a text (SentencePiece's leading "▁") and
 * holds back a token that ends inside a UTF-8 character until the character is complete
 * (at most `maxPendingTokens` tokens).
 */
export class TokenTextDecoder {
  readonly #decode: (ids: readonly number[]) => string;
  readonly #maxPendingTokens: number;
  readonly #ids: number[] = [];
  /** Start of the window decoded for context. */
  #prefixOffset = 0;
  /** Tokens before this one have been shown. */
  #readOffset = 0;

  constructor(decode: (ids: readonly number[]) => string, maxPendingTokens = 8) {
    this.#decode = decode;
    this.#maxPendingTokens = maxPendingTokens;
  }

  /** Tokens pushed whose text has not been returned yet. */
  get pendingTokens(): number {
    return this.#ids.length - this.#readOffset;
  }

  /** Adds a token; returns the text it completes ('' while a character is incomplete). */
  push(id: number): string {
    this.#ids.push(id);
    const shown = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const text = this.#decode(this.#ids.slice(this.#prefixOffset));
    const complete = !text.endsWith('\uFFFD');
    if (text.length > shown.length && (complete || this.pendingTokens >= this.#maxPendingTokens)) {
      this.#prefixOffset = this.#readOffset;
      this.#readOffset = this.#ids.length;
      return text.slice(shown.length);
    }
    return '';
  }

  /** The text of tokens still held back (an incomplete character at the end). */
  flush(): string {
    if (this.pendingTokens === 0) return '';
    const shown = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const text = this.#decode(this.#ids.slice(this.#prefixOffset));
    this.#prefixOffset = this.#readOffset;
    this.#readOffset = this.#ids.length;
    return text.slice(shown.length);
  }
}
