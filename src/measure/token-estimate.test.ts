/**
 * The token estimate on its own: counts of everyday English, of the documented runs (long
 * words, digits, symbols, whitespace, other scripts) and of prose. That it never counts a text
 * as more than its pieces cut at whitespace is checked with the chunker, which relies on it,
 * on its random Markdown (src/rag/ingest/chunk.test.ts).
 */

import { describe, expect, it } from 'vitest';
import { estimateTokens } from './token-estimate.js';

describe('estimateTokens', () => {
  it('counts common English words as one token each, like BPE tokenizers', () => {
    expect(estimateTokens('')).toBe(0);
    // cl100k_base: 10 tokens.
    expect(estimateTokens('The quick brown fox jumps over the lazy dog.')).toBe(10);
    // cl100k_base: "Hello" "," " world" "!".
    expect(estimateTokens('Hello, world!')).toBe(4);
  });

  it('counts long words, digits, symbols, whitespace and other scripts by the documented rules', () => {
    expect(estimateTokens('internationalization')).toBe(4);
    expect(estimateTokens('2024')).toBe(2);
    expect(estimateTokens('1234567')).toBe(3);
    expect(estimateTokens('日本語のテキスト')).toBe(8);
    expect(estimateTokens('Привет')).toBe(2);
    expect(estimateTokens('👍')).toBe(1);
    expect(estimateTokens('----------')).toBe(3);
    expect(estimateTokens('a.b')).toBe(3);
    expect(estimateTokens('a b')).toBe(2);
    expect(estimateTokens('a\nb')).toBe(3);
    expect(estimateTokens('a    b')).toBe(3);
    expect(estimateTokens('   ')).toBe(1);
  });

  it('lands near the usual 0.75 words per token on English prose', () => {
    const prose =
      'Retrieval-augmented generation grounds a language model in your own documents. ' +
      'The documents are split into chunks, each chunk is embedded, and the chunks closest ' +
      'to a question are given to the model along with it, so that the answer can cite them. ' +
      'Chunks that are too small lose their context; chunks that are too large dilute it.';
    const words = prose.split(/\s+/).length;
    const tokens = estimateTokens(prose);
    expect(tokens / words).toBeGreaterThan(1.1);
    expect(tokens / words).toBeLessThan(1.6);
  });
});
