import { describe, expect, it } from 'vitest';
import { TokenTextDecoder } from './token-text.js';

/** A SentencePiece-like decoder that strips the leading space of whatever it decodes. */
const pieces = ['▁Hello', '▁wor', 'ld', '!', '▁caf', '<0xC3>', '<0xA9>', '▁ok'];
function decode(ids: readonly number[]): string {
  const bytes: number[] = [];
  for (const id of ids) {
    const piece = pieces[id] as string;
    const byte = /^<0x([0-9A-F]{2})>$/.exec(piece);
    if (byte !== null) bytes.push(Number.parseInt(byte[1] as string, 16));
    else bytes.push(...Buffer.from(piece.replaceAll('▁', ' ')));
  }
  return Buffer.from(bytes).toString('utf8').replace(/^ /, '');
}

describe('TokenTextDecoder', () => {
  it('keeps the spaces a decoder strips at the start of a text', () => {
    const decoder = new TokenTextDecoder(decode);
    const deltas = [0, 1, 2, 3].map((id) => decoder.push(id));
    expect(deltas).toEqual(['Hello', ' wor', 'ld', '!']);
    expect(deltas.join('')).toBe(decode([0, 1, 2, 3]));
  });

  it('holds a token that ends inside a UTF-8 character until it is complete', () => {
    const decoder = new TokenTextDecoder(decode);
    expect(decoder.push(4)).toBe('caf');
    expect(decoder.push(5)).toBe('');
    expect(decoder.pendingTokens).toBe(1);
    expect(decoder.push(6)).toBe('é');
    expect(decoder.push(7)).toBe(' ok');
    expect(decoder.flush()).toBe('');
  });

  it('gives up waiting after maxPendingTokens and flushes what is held', () => {
    const decoder = new TokenTextDecoder(decode, 2);
    decoder.push(0);
    expect(decoder.push(5)).toBe('');
    expect(decoder.push(5)).toBe('\uFFFD\uFFFD');
    decoder.push(5);
    expect(decoder.flush()).toBe('\uFFFD');
  });
});
