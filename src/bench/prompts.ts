import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { ChatMessage } from '../engines/spec.js';
import { InvalidArgumentError } from '../errors.js';
import { createRandomUint32 } from '../measure/random.js';

/** A prompt of a benchmark: the messages sent, and the input tokens asked for (synthetic). */
export interface BenchPrompt {
  messages: ChatMessage[];
  targetInputTokens: number | undefined;
}

const messageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
});
const jsonLineSchema = z.union([
  z.object({ messages: z.array(messageSchema).min(1) }),
  z.object({ prompt: z.string().min(1) }),
  z.array(messageSchema).min(1),
]);

/**
 * `--prompts FILE`: one prompt per non-empty line of text, or JSONL where each line is
 * `{"messages": [...]}`, `{"prompt": "..."}` or a bare array of messages (a file ending in
 * .jsonl, or whose first line starts with `{` or `[`).
 */
export async function readPromptFile(path: string): Promise<BenchPrompt[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(
      `Cannot read the prompts file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}): check the path.`,
    );
  }
  const lines = text
    .split(/\r?\n/)
    .map((line, index) => ({ line: line.trim(), number: index + 1 }));
  const filled = lines.filter(({ line }) => line !== '');
  if (filled.length === 0)
    throw new InvalidArgumentError(`The prompts file ${path} has no prompts.`);
  const isJsonLines = path.toLowerCase().endsWith('.jsonl') || /^[[{]/.test(filled[0]?.line ?? '');
  if (!isJsonLines) {
    return filled.map(({ line }) => ({
      messages: [{ role: 'user', content: line }],
      targetInputTokens: undefined,
    }));
  }
  return filled.map(({ line, number }) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new InvalidArgumentError(
        `${path}:${number} is not JSON: write one JSON object per line.`,
      );
    }
    const parsed = jsonLineSchema.safeParse(value);
    if (!parsed.success) {
      throw new InvalidArgumentError(
        `${path}:${number}: expected {"messages":[{"role":"user","content":"…"}]} or {"prompt":"…"}.`,
      );
    }
    const data = parsed.data;
    const messages: ChatMessage[] = Array.isArray(data)
      ? data
      : 'messages' in data
        ? data.messages
        : [{ role: 'user', content: data.prompt }];
    return { messages, targetInputTokens: undefined };
  });
}

const WORDS = (
  'the of and to in is for that on with as by at from this be are or it an was we can will data ' +
  'model local time system use more one all new has which two their not also have each work any ' +
  'first other when many used make way only well long then number some like after these into place ' +
  'run part text small large fast value point set same form case world help under state field light'
).split(' ');

/**
 * Synthetic prompts of a given input length, reproducible from a seed: lengths drawn from a
 * normal distribution (mean, sd; Irwin–Hall, so no platform-dependent math), text of common
 * words behind a unique numbered prefix so no two prompts share a cached prefix. The length
 * is fitted with the model's tokenizer when one is given, else ~1.3 tokens per word.
 */
export async function syntheticPrompts(options: {
  count: number;
  inputTokensMean: number;
  inputTokensSd: number;
  seed: number;
  countTokens?: (text: string) => Promise<number>;
}): Promise<BenchPrompt[]> {
  const next = createRandomUint32(options.seed);
  const uniform = () => next() / 4294967296;
  const prompts: BenchPrompt[] = [];
  for (let index = 0; index < options.count; index++) {
    let normal = -6;
    for (let draw = 0; draw < 12; draw++) normal += uniform();
    const target = Math.max(
      4,
      Math.round(options.inputTokensMean + options.inputTokensSd * normal),
    );
    const words: string[] = [`Request ${index + 1}:`];
    const text = () => words.join(' ');
    const estimate = async () =>
      options.countTokens === undefined
        ? Math.round(words.length * 1.3)
        : options.countTokens(text());
    while ((await estimate()) < target) {
      const batch = Math.max(1, Math.floor((target - (await estimate())) / 2));
      for (let word = 0; word < batch; word++) words.push(WORDS[next() % WORDS.length] as string);
    }
    prompts.push({ messages: [{ role: 'user', content: text() }], targetInputTokens: target });
  }
  return prompts;
}

/** `--input-tokens MEAN[:SD]`. */
export function parseInputTokens(text: string): { mean: number; sd: number } {
  const match = /^(\d+)(?::(\d+(?:\.\d+)?))?$/.exec(text.trim());
  const mean = Number(match?.[1]);
  const sd = match?.[2] === undefined ? 0 : Number(match[2]);
  if (match === null || !Number.isInteger(mean) || mean < 1 || mean > 1_000_000) {
    throw new InvalidArgumentError(
      `Invalid --input-tokens '${text}': write MEAN or MEAN:SD, e.g. 512 or 512:64.`,
    );
  }
  return { mean, sd };
}
