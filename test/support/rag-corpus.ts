/**
 * A deterministic synthetic corpus for the RAG benchmark: Markdown documents (a title,
 * sections with headings, paragraphs of sentences) whose words are drawn from a Zipf-like
 * vocabulary, so that term frequencies are as skewed as in real text — a handful of words
 * appear in nearly every chunk, most appear in few — and BM25 has real work to do. Each
 * document also leans on a few topic words of its own (drawn from the rarer ranks), which
 * makes rare terms bursty as in real documents.
 *
 * Everything comes from one text seed through {@link createSeededRandom}, so the same seed
 * gives the same vocabulary, documents and queries on every machine. Documents come from a
 * generator, one at a time and without end: the caller decides when to stop, and the corpus
 * is never held in memory as a whole.
 */

import { createSeededRandom, type SeededRandom } from '../../src/models/random.js';

export const DEFAULT_CORPUS_SEED = 'tandem-rag-bench';
export const DEFAULT_VOCABULARY_SIZE = 6000;
/** The exponent s of the Zipf law: the word of rank r is drawn with weight 1 / r^s. */
export const DEFAULT_ZIPF_EXPONENT = 1.0;

export interface CorpusOptions {
  seed?: string;
  vocabularySize?: number;
  zipfExponent?: number;
}

/** Words by rank (rank 1, the most frequent, first) with their cumulative draw weights. */
export interface Vocabulary {
  readonly words: readonly string[];
  /** cumulative[i] = P(rank ≤ i + 1); the last is 1. */
  readonly cumulative: Float64Array;
}

export interface CorpusDocument {
  /** 0, 1, 2, … in generation order. */
  index: number;
  source: string;
  title: string;
  /** The document as Markdown. */
  text: string;
}

const SYLLABLE_ONSETS = [
  'b',
  'c',
  'd',
  'f',
  'g',
  'h',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'w',
  'z',
  'br',
  'ch',
  'cl',
  'dr',
  'fl',
  'gr',
  'pl',
  'pr',
  'sh',
  'st',
  'str',
  'th',
  'tr',
] as const;
const SYLLABLE_VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou', 'y'] as const;
const SYLLABLE_CODAS = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'rk', 'st', 'x'] as const;

function pick<T>(items: readonly T[], random: SeededRandom): T {
  return items[random.nextUint32() % items.length] as T;
}

/** An integer in [low, high], inclusive. */
function between(low: number, high: number, random: SeededRandom): number {
  return low + (random.nextUint32() % (high - low + 1));
}

function settings(options: CorpusOptions): Required<CorpusOptions> {
  const vocabularySize = options.vocabularySize ?? DEFAULT_VOCABULARY_SIZE;
  if (!Number.isSafeInteger(vocabularySize) || vocabularySize < 100) {
    throw new RangeError(`Invalid vocabularySize ${vocabularySize}: use at least 100 words.`);
  }
  const zipfExponent = options.zipfExponent ?? DEFAULT_ZIPF_EXPONENT;
  if (!(zipfExponent > 0)) throw new RangeError(`Invalid zipfExponent ${zipfExponent}.`);
  return { seed: options.seed ?? DEFAULT_CORPUS_SEED, vocabularySize, zipfExponent };
}

/**
 * The vocabulary of a seed: distinct pronounceable pseudo-words, shorter ones at the
 * frequent ranks (as in real languages), with Zipf weights 1 / rank^s.
 */
export function buildVocabulary(options: CorpusOptions = {}): Vocabulary {
  const { seed, vocabularySize, zipfExponent } = settings(options);
  const random = createSeededRandom(`${seed}/vocabulary`);
  const distinct = new Set<string>();
  let attempts = 0;
  while (distinct.size < vocabularySize) {
    if (++attempts > vocabularySize * 100) throw new RangeError('Vocabulary too large to draw.');
    // 1–4 syllables; once sorted by length, the frequent ranks get the short words.
    const syllables = 1 + (random.nextUint32() % 4);
    let word = '';
    for (let index = 0; index < syllables; index++) {
      word += pick(SYLLABLE_ONSETS, random) + pick(SYLLABLE_VOWELS, random);
      if (index === syllables - 1 || random.nextUnit() < 0.3) word += pick(SYLLABLE_CODAS, random);
    }
    distinct.add(word);
  }
  // Stable by length: ties keep their (seeded) order of drawing.
  const words = [...distinct].sort((left, right) => left.length - right.length);
  const cumulative = new Float64Array(words.length);
  let total = 0;
  for (let rank = 1; rank <= words.length; rank++) {
    total += 1 / rank ** zipfExponent;
    cumulative[rank - 1] = total;
  }
  for (let index = 0; index < cumulative.length; index++) {
    cumulative[index] = (cumulative[index] as number) / total;
  }
  cumulative[cumulative.length - 1] = 1;
  return { words, cumulative };
}

/** A rank (0-based index into `words`) drawn with the Zipf weights, by binary search. */
export function drawRank(vocabulary: Vocabulary, random: SeededRandom): number {
  const unit = random.nextUnit();
  const { cumulative } = vocabulary;
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((cumulative[middle] as number) < unit) low = middle + 1;
    else high = middle;
  }
  return low;
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Share of a document's words taken from its own topic words. */
const TOPIC_SHARE = 0.08;

interface DocumentWords {
  vocabulary: Vocabulary;
  random: SeededRandom;
  topic: readonly string[];
}

function nextWord({ vocabulary, random, topic }: DocumentWords): string {
  if (random.nextUnit() < TOPIC_SHARE) return pick(topic, random);
  return vocabulary.words[drawRank(vocabulary, random)] as string;
}

function phrase(words: DocumentWords, count: number): string {
  const parts: string[] = [];
  for (let index = 0; index < count; index++) parts.push(nextWord(words));
  return parts.join(' ');
}

function paragraph(words: DocumentWords): string {
  const sentences: string[] = [];
  const count = between(3, 8, words.random);
  for (let index = 0; index < count; index++) {
    const sentence = phrase(words, between(6, 20, words.random));
    const comma = words.random.nextUnit() < 0.3 ? sentence.replace(/ (\S+) /, ' $1, ') : sentence;
    sentences.push(`${capitalized(comma)}.`);
  }
  return sentences.join(' ');
}

function heading(words: DocumentWords, low: number, high: number): string {
  return capitalized(phrase(words, between(low, high, words.random)));
}

/**
 * Documents of the corpus, generated one at a time, without end (stop when you have
 * enough). Document i is the same for a seed whatever was taken before it.
 */
export function* corpusDocuments(options: CorpusOptions = {}): Generator<CorpusDocument> {
  const { seed } = settings(options);
  const vocabulary = buildVocabulary(options);
  const rareStart = Math.min(200, Math.floor(vocabulary.words.length / 4));
  for (let index = 0; ; index++) {
    const random = createSeededRandom(`${seed}/document/${index}`);
    const topic: string[] = [];
    for (let count = between(3, 6, random); topic.length < count; ) {
      const rank = rareStart + (random.nextUint32() % (vocabulary.words.length - rareStart));
      topic.push(vocabulary.words[rank] as string);
    }
    const words: DocumentWords = { vocabulary, random, topic };
    const title = heading(words, 2, 6);
    const lines = [`# ${title}`, '', paragraph(words)];
    const sections = between(3, 9, random);
    for (let section = 0; section < sections; section++) {
      lines.push('', `## ${heading(words, 1, 4)}`);
      const paragraphs = between(2, 6, random);
      for (let count = 0; count < paragraphs; count++) {
        if (count > 0 && random.nextUnit() < 0.25) lines.push('', `### ${heading(words, 1, 3)}`);
        lines.push('', paragraph(words));
      }
    }
    lines.push('');
    yield {
      index,
      source: `synthetic/doc-${String(index).padStart(6, '0')}.md`,
      title,
      text: lines.join('\n'),
    };
  }
}

/** Query words are drawn from the frequent head of the vocabulary (these ranks) or its rare tail. */
export const FREQUENT_RANKS = 100;

/**
 * A fixed query set: `count` queries of 2–5 distinct words, each with at least one word
 * from the `FREQUENT_RANKS` most frequent (drawn by their Zipf weights) and at least one
 * from the rarer ranks (drawn uniformly); the other words are either, with even odds, and
 * the words come in a seeded order.
 */
export function corpusQueries(count: number, options: CorpusOptions = {}): string[] {
  const { seed } = settings(options);
  const vocabulary = buildVocabulary(options);
  const random = createSeededRandom(`${seed}/queries`);
  const size = vocabulary.words.length;
  const frequentWord = (): string => {
    // Zipf weights restricted to the head: redraw until the rank falls in it.
    let rank: number;
    do rank = drawRank(vocabulary, random);
    while (rank >= FREQUENT_RANKS);
    return vocabulary.words[rank] as string;
  };
  const rareWord = (): string =>
    vocabulary.words[FREQUENT_RANKS + (random.nextUint32() % (size - FREQUENT_RANKS))] as string;
  const queries: string[] = [];
  for (let index = 0; index < count; index++) {
    const length = between(2, 5, random);
    const terms = new Set<string>([frequentWord(), rareWord()]);
    while (terms.size < length) terms.add(random.nextUnit() < 0.5 ? frequentWord() : rareWord());
    const words = [...terms];
    // Fisher–Yates, so the frequent word is not always first.
    for (let last = words.length - 1; last > 0; last--) {
      const other = random.nextUint32() % (last + 1);
      [words[last], words[other]] = [words[other] as string, words[last] as string];
    }
    queries.push(words.join(' '));
  }
  return queries;
}
