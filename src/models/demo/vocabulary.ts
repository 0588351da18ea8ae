/**
 * The demo models' tokenizer: a SentencePiece-style ("llama") vocabulary with byte
 * fallback, built deterministically from a word list written here.
 *
 * Layout: 0 `<unk>`, 1 `<s>`, 2 `</s>`, 3 `<|im_start|>`, 4 `<|im_end|>`, 5..260 the byte
 * tokens `<0x00>`..`<0xFF>`, then normal pieces up to the vocabulary size: `▁` and every
 * printable ASCII character, then common English words with every prefix of each (so
 * SentencePiece's pairwise merges can reach the whole word), then letter pairs and
 * triples. Scores are -rank, so earlier (more common) pieces win merges.
 */

import { InvalidArgumentError } from '../../errors.js';

/** SentencePiece token types as llama.cpp reads them from tokenizer.ggml.token_type. */
export const TOKEN_TYPE = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

export const DEMO_SPECIAL_TOKENS = {
  unknown: { id: 0, text: '<unk>' },
  beginOfSequence: { id: 1, text: '<s>' },
  endOfSequence: { id: 2, text: '</s>' },
  imStart: { id: 3, text: '<|im_start|>' },
  imEnd: { id: 4, text: '<|im_end|>' },
} as const;

/** First byte token id (`<0x00>`). */
export const DEMO_FIRST_BYTE_TOKEN_ID = 5;
/** First normal piece id; every id below it is a control, unknown or byte token. */
export const DEMO_FIRST_NORMAL_TOKEN_ID = DEMO_FIRST_BYTE_TOKEN_ID + 256;

/** SentencePiece's word-boundary marker (U+2581), which stands for a space. */
export const SPACE_MARKER = '\u2581';

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Common English words, most frequent first. */
const COMMON_WORDS =
  `the of and to a in is it you that user assistant system he was for on are with as I his they be at one
have this from or had by hot word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so these her
long make thing see him two has look more day could go come did number sound no most people my over
know water than call first who may down side been now find any new work part take get place made live
where after back little only round man year came show every good me give our under name very through
just form sentence great think say help low line differ turn cause much mean before move right boy old
too same tell does set three want air well also play small end put home read hand port large spell add
even land here must big high such follow act why ask men change went light kind off need house picture
try us again animal point mother world near build self earth father head stand own page should country
found answer school grow study still learn plant cover food sun four between state keep eye never last
let thought city tree cross farm hard start might story saw far sea draw left late run while press close
night real life few north open seem together next white children begin got walk example ease paper group
always music those both mark often letter until mile river car feet care second book carry took science
eat room friend began idea fish mountain stop once base hear horse cut sure watch color face wood main
enough plain girl usual young ready above ever red list though feel talk bird soon body dog family direct
leave song measure door product black short numeral class wind question happen complete ship area half
rock order fire south problem piece told knew pass since top whole king space heard best hour better true
during hundred five remember step early hold west ground interest reach fast verb sing listen six table
travel less morning ten simple several vowel toward war lay against pattern slow center love person money
serve appear road map rain rule govern pull cold notice voice unit power town fine certain fly fall lead
cry dark machine note wait plan figure star box noun field rest correct able pound done beauty drive stood
contain front teach week final gave green oh quick develop ocean warm free minute strong special mind
behind clear tail produce fact street inch multiply nothing course stay wheel full force blue object decide
surface deep moon island foot system busy test record boat common gold possible plane stead dry wonder
laugh thousand ago ran check game shape equate miss brought heat snow tire bring yes distant fill east
paint language among model data report brief answer question result value speed memory token context
prompt small large local machine test bench measure`
    .split(/\s+/)
    .filter((word) => word.length > 0);

const SUFFIXES = [
  'ing',
  'ed',
  'er',
  'ers',
  'ly',
  'tion',
  'tions',
  'es',
  's',
  'ment',
  'ness',
  'able',
  'al',
  'ous',
  'ive',
  'est',
  'ity',
  'ful',
  'less',
  'ize',
  'ism',
  'ist',
  'ent',
  'ant',
  'ence',
  'ance',
  'ic',
];

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export interface DemoVocabulary {
  readonly tokens: readonly string[];
  readonly scores: readonly number[];
  readonly tokenTypes: readonly number[];
}

function* candidatePieces(): Generator<string> {
  yield SPACE_MARKER;
  for (let code = 0x21; code <= 0x7e; code++) yield String.fromCharCode(code);
  const withPrefixes = function* (piece: string, shortest: number): Generator<string> {
    for (let length = shortest; length <= piece.length; length++) yield piece.slice(0, length);
  };
  for (const word of COMMON_WORDS) yield* withPrefixes(SPACE_MARKER + word, 2);
  for (const word of COMMON_WORDS.slice(0, 150)) yield* withPrefixes(word, 2);
  for (const word of COMMON_WORDS.slice(0, 100)) {
    const capitalized = word.charAt(0).toUpperCase() + word.slice(1);
    yield* withPrefixes(SPACE_MARKER + capitalized, 2);
    yield* withPrefixes(capitalized, 2);
  }
  for (const suffix of SUFFIXES) yield* withPrefixes(suffix, 2);
  for (const first of LETTERS) for (const second of LETTERS) yield first + second;
  for (const first of LETTERS) {
    for (const second of LETTERS) yield SPACE_MARKER + first + second;
  }
  for (const first of LETTERS) {
    for (const second of LETTERS) for (const third of LETTERS) yield first + second + third;
  }
  // Past ~20,000 tokens (only the shape twins of real models need more): four letters, with
  // and without the space marker, up to ~930,000 tokens.
  for (const marker of ['', SPACE_MARKER]) {
    for (const first of LETTERS) {
      for (const second of LETTERS) {
        for (const third of LETTERS) {
          for (const fourth of LETTERS) yield marker + first + second + third + fourth;
        }
      }
    }
  }
}

const cache = new Map<number, DemoVocabulary>();

/** Builds the demo vocabulary of `vocabularySize` tokens (same input, same output). */
export function buildDemoVocabulary(vocabularySize: number): DemoVocabulary {
  const cached = cache.get(vocabularySize);
  if (cached !== undefined) return cached;
  if (!Number.isInteger(vocabularySize) || vocabularySize < DEMO_FIRST_NORMAL_TOKEN_ID + 95) {
    throw new InvalidArgumentError(`Demo vocabulary size ${vocabularySize} is too small.`);
  }
  const tokens: string[] = [];
  const scores: number[] = [];
  const tokenTypes: number[] = [];
  const add = (text: string, type: number, score: number): void => {
    tokens.push(text);
    tokenTypes.push(type);
    scores.push(score);
  };
  add(DEMO_SPECIAL_TOKENS.unknown.text, TOKEN_TYPE.unknown, 0);
  add(DEMO_SPECIAL_TOKENS.beginOfSequence.text, TOKEN_TYPE.control, 0);
  add(DEMO_SPECIAL_TOKENS.endOfSequence.text, TOKEN_TYPE.control, 0);
  add(DEMO_SPECIAL_TOKENS.imStart.text, TOKEN_TYPE.control, 0);
  add(DEMO_SPECIAL_TOKENS.imEnd.text, TOKEN_TYPE.control, 0);
  for (let byte = 0; byte < 256; byte++) {
    add(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`, TOKEN_TYPE.byte, 0);
  }
  const seen = new Set(tokens);
  let rank = 0;
  for (const piece of candidatePieces()) {
    if (tokens.length >= vocabularySize) break;
    if (seen.has(piece)) continue;
    seen.add(piece);
    rank += 1;
    add(piece, TOKEN_TYPE.normal, -rank);
  }
  if (tokens.length < vocabularySize) {
    throw new InvalidArgumentError(`Demo vocabulary size ${vocabularySize} is too large.`);
  }
  const vocabulary: DemoVocabulary = { tokens, scores, tokenTypes };
  cache.set(vocabularySize, vocabulary);
  return vocabulary;
}
