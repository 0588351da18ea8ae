/**
 * The demo tokenizer.json and tokenizer_config.json: transformers.js tokenizes and decodes
 * exactly like llama.cpp (node-llama-cpp) does on the demo GGUF, token id for token id.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env, PreTrainedTokenizer } from '@huggingface/transformers';
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random.js';
import { demoModelDefinition } from './definitions.js';
import { ensureDemoModel } from './demo-models.js';
import { demoTokenizerConfig, demoTokenizerJson } from './demo-tokenizer.js';
import { buildDemoVocabulary, CHATML_TEMPLATE, DEMO_SPECIAL_TOKENS } from './vocabulary.js';

const vocabularySize = demoModelDefinition('demo-slm').vocabularySize;
const vocabulary = buildDemoVocabulary(vocabularySize);
const tokenIds = new Map(vocabulary.tokens.map((token, tokenId) => [token, tokenId]));

function tokenId(text: string): number {
  const id = tokenIds.get(text);
  if (id === undefined) throw new Error(`${text} is not a demo token`);
  return id;
}

function mergesOf(json: Record<string, unknown>): [string, string][] {
  return (json.model as { merges: [string, string][] }).merges;
}

/**
 * llama.cpp's SentencePiece merging, written out plainly (quadratic, for short text only):
 * merge the adjacent pair whose concatenation is the highest-scoring token, leftmost on
 * ties, until none is a token; characters outside the vocabulary become byte tokens.
 */
function referenceSentencePiece(text: string): number[] {
  const symbols = Array.from(text.replaceAll(' ', '\u2581'));
  for (;;) {
    let best: { index: number; score: number } | undefined;
    for (let index = 0; index + 1 < symbols.length; index++) {
      const id = tokenIds.get(`${symbols[index]}${symbols[index + 1]}`);
      if (id === undefined) continue;
      const score = vocabulary.scores[id] ?? 0;
      if (best === undefined || score > best.score) best = { index, score };
    }
    if (best === undefined) break;
    symbols.splice(best.index, 2, `${symbols[best.index]}${symbols[best.index + 1]}`);
  }
  return symbols.flatMap((symbol) => {
    const id = tokenIds.get(symbol);
    if (id !== undefined) return [id];
    return Array.from(new TextEncoder().encode(symbol), (byte) =>
      tokenId(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`),
    );
  });
}

/** Seeded text of `length` random picks from `alphabet` (characters or longer pieces). */
function randomText(seed: string, length: number, alphabet: readonly string[]): string {
  const random = createSeededRandom(seed);
  let text = '';
  for (let index = 0; index < length; index++) {
    text += alphabet[random.nextUint32() % alphabet.length] ?? '';
  }
  return text;
}

const LETTERS_AND_SPACES = Array.from('abcdefghijklmnopqrstuvwxyz    ');
const WORD_PIECES = vocabulary.tokens.slice(300, 1500).map((token) => token.replaceAll('▁', ' '));

describe('demoTokenizerJson merges', () => {
  const json = demoTokenizerJson(vocabularySize);
  const merges = mergesOf(json);

  it('ranks every merge by its token score, highest first', () => {
    const scores = merges.map(([left, right]) => vocabulary.scores[tokenId(left + right)] ?? 0);
    for (let rank = 1; rank < scores.length; rank++) {
      expect(scores[rank]).toBeLessThanOrEqual(scores[rank - 1] ?? 0);
    }
    const ranks = new Map(merges.map(([left, right], rank) => [`${left} ${right}`, rank]));
    // '▁f' and '▁fo' (prefixes of '▁for') score higher than the letter pair 'ox'.
    expect(ranks.get('▁ f')).toBeLessThan(ranks.get('▁f o') ?? -1);
    expect(ranks.get('▁f o')).toBeLessThan(ranks.get('o x') ?? -1);
  });

  it('has a merge for every split of a token into two symbols, and no other', () => {
    const expected = new Set<string>();
    vocabulary.tokens.forEach((token) => {
      const characters = Array.from(token);
      for (let split = 1; split < characters.length; split++) {
        const left = characters.slice(0, split).join('');
        const right = characters.slice(split).join('');
        const isSymbol = (piece: string) => tokenIds.has(piece) || Array.from(piece).length === 1;
        if (isSymbol(left) && isSymbol(right)) expected.add(`${left} ${right}`);
      }
    });
    expect(new Set(merges.map(([left, right]) => `${left} ${right}`))).toEqual(expected);
    expect(merges.length).toBe(expected.size);
  });

  it('makes transformers.js merge like SentencePiece (highest score first, not longest)', () => {
    const tokenizer = new PreTrainedTokenizer(json, demoTokenizerConfig());
    const encode = (text: string) => tokenizer.encode(text, { add_special_tokens: false });
    // '▁f' and '▁fo' outscore 'ox', so ' fox' is '▁fo' + 'x'; ranking merges by length
    // (shortest first) would give '▁f' + 'ox' instead.
    expect(encode(' fox')).toEqual([tokenId('▁fo'), tokenId('x')]);
    const texts = [
      'The quick brown fox jumps over the lazy dog',
      'thethe aaaa ababab abcabc xyzzy',
      ...Array.from({ length: 200 }, (_, index) =>
        randomText(`letters-${index}`, 1 + (index % 50), LETTERS_AND_SPACES),
      ),
      ...Array.from({ length: 200 }, (_, index) =>
        randomText(`words-${index}`, 1 + (index % 12), WORD_PIECES),
      ),
    ];
    for (const text of texts) expect(encode(text), text).toEqual(referenceSentencePiece(text));
  });
});

describe('demo tokenizer in transformers.js and llama.cpp', { timeout: 120_000 }, () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-demo-tokenizer-'));
  const tokenizerDirectory = join(directory, 'tokenizer');
  let llama: Llama;
  let model: LlamaModel;
  let tokenizer: PreTrainedTokenizer;

  beforeAll(async () => {
    const { path } = await ensureDemoModel('demo-slm', { modelsDirectory: directory });
    mkdirSync(tokenizerDirectory);
    writeFileSync(
      join(tokenizerDirectory, 'tokenizer.json'),
      JSON.stringify(demoTokenizerJson(vocabularySize)),
    );
    writeFileSync(
      join(tokenizerDirectory, 'tokenizer_config.json'),
      JSON.stringify(demoTokenizerConfig()),
    );
    env.allowRemoteModels = false;
    tokenizer = await AutoTokenizer.from_pretrained(tokenizerDirectory, { local_files_only: true });
    llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: path });
  });
  afterAll(async () => {
    await model?.dispose();
    await llama?.dispose();
    rmSync(directory, { recursive: true, force: true });
  });

  const encodeWithTransformers = (text: string): number[] =>
    tokenizer.encode(text, { add_special_tokens: false });
  const encodeWithLlama = (text: string): Token[] => model.tokenize(text, true);

  const longText = randomText('tandem/demo-tokenizer/long', 3000, [
    ...WORD_PIECES,
    ...Array.from('  \n\t.,!?0123456789'),
    'é',
    'ß',
    '世界',
    '🙂',
    '👩‍👩‍👧',
    'e\u0301',
    '<|im_start|>',
    '<|im_end|>',
    '<|im_',
    '<s>',
  ]);

  const texts: [string, string][] = [
    ['an ASCII sentence', 'The quick brown fox jumps over the lazy dog.'],
    ['common words', 'hello world, this is a test of the small model'],
    ['words outside the vocabulary', 'xylophone quizzical zephyr bfdjkq'],
    ['capitalised words', 'Hello World Time People HELLO'],
    ['digits and punctuation', '3.14159, 42! (x+y)*2 = $100 #1 @home ~/path "quoted" \'single\''],
    ['a leading space', ' leading'],
    ['a trailing space', 'trailing '],
    ['multiple spaces', '  two  spaces   three    four'],
    ['only spaces', '   '],
    ['tabs and newlines', 'line one\nline two\n\n\ttabbed\r\nwindows'],
    ['accents and sharp s', 'café naïve Grüße straße'],
    ['CJK', '世界你好，こんにちは 안녕하세요'],
    ['emoji', 'smile 🙂 rocket 🚀'],
    ['ZWJ emoji sequences', 'family 👩‍👩‍👧‍👦 and 🏳️‍🌈 flag'],
    ['combining marks', 'e\u0301 a\u0308 n\u0303'],
    ['the space marker itself', 'a\u2581b'],
    ['ChatML markup', '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'],
    ['other special tokens', '<s>hello</s><unk>'],
    ['markup that is not complete', '<|im_sta <|im_end| im_start|> <|im_start'],
    ['special tokens next to spaces', ' <|im_start|> user <|im_end|> '],
    ['byte-token-looking text', '<0x41> <0xZZ>'],
    ['the empty string', ''],
    ['a single character', 'a'],
    ['repeating letters', 'aaaaaaa ababababab thethethe'],
    ['a long seeded random text', longText],
  ];

  it.each(texts)('encodes %s to the same token ids', (_, text) => {
    const expected = encodeWithLlama(text);
    expect(encodeWithTransformers(text)).toEqual(expected);
    if (text.length > 0) expect(expected.length).toBeGreaterThan(0);
  });

  it('adds no beginning-of-sequence token', () => {
    expect(encodeWithTransformers('hello')).toEqual(encodeWithLlama('hello'));
    expect(encodeWithTransformers('hello')[0]).not.toBe(DEMO_SPECIAL_TOKENS.beginOfSequence.id);
    expect(tokenizer.encode('hello')).toEqual(encodeWithLlama('hello'));
  });

  it('parses the chat markup into single special tokens', () => {
    const ids = encodeWithTransformers('<|im_start|>user\nHi<|im_end|>\n');
    expect(ids[0]).toBe(DEMO_SPECIAL_TOKENS.imStart.id);
    expect(ids).toContain(DEMO_SPECIAL_TOKENS.imEnd.id);
    expect(encodeWithTransformers('<|im_sta')).not.toContain(DEMO_SPECIAL_TOKENS.imStart.id);
  });

  it('tokenizes a rendered chat like llama.cpp', () => {
    const messages = [
      { role: 'system', content: 'You are brief.' },
      { role: 'user', content: 'What is 2 + 2? Answer in one word.' },
    ];
    const rendered = tokenizer.apply_chat_template(messages, {
      tokenize: false,
      add_generation_prompt: true,
    });
    expect(rendered).toBe(
      '<|im_start|>system\nYou are brief.<|im_end|>\n<|im_start|>user\nWhat is 2 + 2? Answer in one word.<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(encodeWithTransformers(rendered as string)).toEqual(encodeWithLlama(rendered as string));
  });

  it.each(texts.filter(([, text]) => text.length > 0))('decodes %s like llama.cpp', (_, text) => {
    const ids = encodeWithLlama(text);
    expect(tokenizer.decode(ids)).toBe(model.detokenize(ids, true));
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(model.detokenize(ids));
    // A literal ▁ decodes to a space, in both.
    if (!text.includes('\u2581')) expect(tokenizer.decode(ids)).toBe(text);
  });

  it('writes the same JSON every time', () => {
    expect(JSON.stringify(demoTokenizerJson(vocabularySize))).toBe(
      JSON.stringify(demoTokenizerJson(vocabularySize)),
    );
    expect(JSON.stringify(demoTokenizerConfig())).toBe(JSON.stringify(demoTokenizerConfig()));
  });

  it('uses the plain tokenizer class with the demo special tokens', () => {
    expect(tokenizer.constructor).toBe(PreTrainedTokenizer);
    expect(tokenizer.bos_token_id).toBe(DEMO_SPECIAL_TOKENS.beginOfSequence.id);
    expect(tokenizer.eos_token_id).toBe(DEMO_SPECIAL_TOKENS.imEnd.id);
    expect(tokenizer.pad_token_id).toBe(DEMO_SPECIAL_TOKENS.endOfSequence.id);
    expect(tokenizer.unk_token_id).toBe(DEMO_SPECIAL_TOKENS.unknown.id);
    expect(tokenizer.chat_template).toBe(CHATML_TEMPLATE);
  });
});
