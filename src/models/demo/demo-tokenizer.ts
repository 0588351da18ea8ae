/**
 * The demo models' tokenizer as Hugging Face `tokenizer.json` and `tokenizer_config.json`,
 * for the ONNX demo models run through transformers.js. It must tokenize exactly like
 * llama.cpp does on the demo GGUF, whose vocabulary is SentencePiece-style ("llama").
 *
 * ## Why a BPE model reproduces llama.cpp's SentencePiece tokenizer
 *
 * llama.cpp (`llm_tokenizer_spm`) escapes spaces to `▁`, splits the text into Unicode
 * characters and then repeatedly merges the adjacent pair of symbols whose concatenation
 * is a vocabulary token with the highest score, the leftmost pair on ties, until no
 * adjacent pair concatenates to a token. Symbols that are not tokens (characters outside
 * the vocabulary) become their UTF-8 byte tokens.
 *
 * transformers.js' BPE splits a word into characters and repeatedly merges the adjacent
 * pair with the lowest rank in `merges`, the leftmost pair on ties (it scores a pair
 * `rank + start / length`), then turns pieces outside the vocabulary into byte tokens
 * (`byte_fallback`). The two agree when:
 *
 * - the mergeable pairs are the same: for every token `t` and every split `t = a + b`
 *   where `a` and `b` can each be a symbol (a token, or a single character, which is where
 *   every symbol starts), `(a, b)` is a merge; llama.cpp would merge exactly those pairs;
 * - the order is the same: merges are ranked by their token's score, highest first, so a
 *   lower rank means a higher score. Every normal demo piece has its own score (-rank), so
 *   pairs making different tokens are ordered the same way in both, and pairs making the
 *   same token through the same split are taken leftmost first in both. Pairs making the
 *   same token through different splits never overlap unless `x + y = y + z` for adjacent
 *   symbols `x y z` (a periodic token such as `aba` from `ab a ba`), where llama.cpp takes
 *   the leftmost pair and BPE the split ranked first; that is the one theoretical gap.
 *   Reversing the split order changed nothing on 20,000 random strings, and the tests
 *   compare with llama.cpp on long random text.
 *
 * Everything else is set to match llama.cpp with this GGUF: no pre-tokenizer (the whole
 * text is one word, as in SentencePiece), a normalizer that only turns spaces into `▁`
 * (add_space_prefix is false, so no `▁` is prepended), the five control tokens as special
 * added tokens (llama.cpp parses them in text when asked to parse special tokens), no
 * post-processor (add_bos_token and add_eos_token are false), and a decoder that reverses
 * the normalizer and the byte fallback without stripping a leading space.
 */

import { buildDemoVocabulary, CHATML_TEMPLATE, DEMO_SPECIAL_TOKENS } from './vocabulary.js';

/** One BPE merge of the demo vocabulary: `left + right` makes `tokenId`. */
interface DemoMerge {
  readonly left: string;
  readonly right: string;
  readonly tokenId: number;
  readonly score: number;
  /** Number of characters in `left`: which split of the token this is. */
  readonly splitIndex: number;
}

/**
 * The merges, ranked so that rank-based BPE reproduces SentencePiece's score-based merging:
 * every split of every token into two possible symbols, by the token's score (highest
 * first), then token id, then split position (both only to make the order total).
 */
function demoMerges(tokens: readonly string[], scores: readonly number[]): [string, string][] {
  const tokenIds = new Set(tokens);
  const canBeSymbol = (characters: readonly string[]): boolean =>
    characters.length === 1 || tokenIds.has(characters.join(''));
  const merges: DemoMerge[] = [];
  tokens.forEach((token, tokenId) => {
    const characters = Array.from(token);
    for (let splitIndex = 1; splitIndex < characters.length; splitIndex++) {
      const left = characters.slice(0, splitIndex);
      const right = characters.slice(splitIndex);
      if (!canBeSymbol(left) || !canBeSymbol(right)) continue;
      merges.push({
        left: left.join(''),
        right: right.join(''),
        tokenId,
        score: scores[tokenId] ?? 0,
        splitIndex,
      });
    }
  });
  merges.sort(
    (first, second) =>
      second.score - first.score ||
      first.tokenId - second.tokenId ||
      first.splitIndex - second.splitIndex,
  );
  return merges.map((merge) => [merge.left, merge.right]);
}

/** The special (control) tokens, which transformers.js splits out of text before BPE. */
function demoAddedTokens(): Record<string, unknown>[] {
  return Object.values(DEMO_SPECIAL_TOKENS)
    .map(({ id, text }) => ({
      id,
      content: text,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }))
    .sort((first, second) => first.id - second.id);
}

/**
 * The Hugging Face `tokenizer.json` for a demo vocabulary of `vocabularySize` tokens: a
 * byte-fallback BPE whose merges reproduce llama.cpp's SentencePiece tokenization of the
 * demo GGUF (see the module comment). Same input, same JSON.
 */
export function demoTokenizerJson(vocabularySize: number): Record<string, unknown> {
  const { tokens, scores } = buildDemoVocabulary(vocabularySize);
  const vocabulary: Record<string, number> = {};
  tokens.forEach((token, tokenId) => {
    vocabulary[token] = tokenId;
  });
  const spaceToMarker = { pattern: { String: ' ' }, content: '\u2581' };
  const markerToSpace = { pattern: { String: '\u2581' }, content: ' ' };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: demoAddedTokens(),
    normalizer: { type: 'Replace', ...spaceToMarker },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', ...markerToSpace }, { type: 'ByteFallback' }, { type: 'Fuse' }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: DEMO_SPECIAL_TOKENS.unknown.text,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: vocabulary,
      merges: demoMerges(tokens, scores),
    },
  };
}

/**
 * The Hugging Face `tokenizer_config.json` of the demo models. `PreTrainedTokenizerFast`
 * makes transformers.js use its base `PreTrainedTokenizer` (it drops the `Fast` suffix),
 * which adds nothing to tokenizer.json; spaces are not cleaned up when decoding, so decoding
 * gives back the text exactly as llama.cpp's detokenizer does.
 */
export function demoTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: DEMO_SPECIAL_TOKENS.beginOfSequence.text,
    eos_token: DEMO_SPECIAL_TOKENS.imEnd.text,
    unk_token: DEMO_SPECIAL_TOKENS.unknown.text,
    pad_token: DEMO_SPECIAL_TOKENS.endOfSequence.text,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: 2048,
    chat_template: CHATML_TEMPLATE,
  };
}
