import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInputTokens, readPromptFile, syntheticPrompts } from './prompts.js';

const directory = mkdtempSync(join(tmpdir(), 'tandem-prompts-'));

function file(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

describe('benchmark prompts', () => {
  it('reads one prompt per line of text', async () => {
    const prompts = await readPromptFile(file('a.txt', 'first\n\n  second  \r\nthird\n'));
    expect(prompts.map((prompt) => prompt.messages[0]?.content)).toEqual([
      'first',
      'second',
      'third',
    ]);
  });

  it('reads JSONL with messages, prompts or bare message arrays', async () => {
    const prompts = await readPromptFile(
      file(
        'b.jsonl',
        [
          '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}',
          '{"prompt":"Hello"}',
          '[{"role":"user","content":"Bare"}]',
        ].join('\n'),
      ),
    );
    expect(prompts.map((prompt) => prompt.messages.length)).toEqual([2, 1, 1]);
    expect(prompts[1]?.messages[0]).toEqual({ role: 'user', content: 'Hello' });
  });

  it('names the line that is wrong', async () => {
    await expect(
      readPromptFile(file('c.jsonl', '{"prompt":"ok"}\n{"messages":"no"}\n')),
    ).rejects.toThrow(/c\.jsonl:2:/);
    await expect(readPromptFile(file('d.jsonl', '{"prompt":"ok"}\nnot json\n'))).rejects.toThrow(
      /d\.jsonl:2 is not JSON/,
    );
    await expect(readPromptFile(join(directory, 'missing.txt'))).rejects.toThrow(
      /Cannot read the prompts file .*ENOENT/,
    );
    await expect(readPromptFile(file('e.txt', '\n\n'))).rejects.toThrow(/has no prompts/);
  });

  it('makes synthetic prompts of the asked length, the same for the same seed', async () => {
    // A stand-in tokenizer: one token per word.
    const countTokens = async (text: string) => text.split(' ').length;
    const options = { count: 40, inputTokensMean: 200, inputTokensSd: 20, seed: 3, countTokens };
    const prompts = await syntheticPrompts(options);
    expect(await syntheticPrompts(options)).toEqual(prompts);
    expect(await syntheticPrompts({ ...options, seed: 4 })).not.toEqual(prompts);
    const lengths = await Promise.all(
      prompts.map((prompt) => countTokens(prompt.messages[0]?.content ?? '')),
    );
    for (const [index, prompt] of prompts.entries()) {
      expect(lengths[index]).toBeGreaterThanOrEqual(prompt.targetInputTokens as number);
      expect(lengths[index]).toBeLessThanOrEqual((prompt.targetInputTokens as number) + 2);
    }
    const mean = lengths.reduce((sum, length) => sum + length, 0) / lengths.length;
    expect(mean).toBeGreaterThan(190);
    expect(mean).toBeLessThan(210);
    // Unique prefixes: no two prompts share a cached prefix.
    expect(new Set(prompts.map((prompt) => prompt.messages[0]?.content.slice(0, 12))).size).toBe(
      40,
    );
  });

  it('parses --input-tokens', () => {
    expect(parseInputTokens('512')).toEqual({ mean: 512, sd: 0 });
    expect(parseInputTokens('512:64')).toEqual({ mean: 512, sd: 64 });
    expect(() => parseInputTokens('lots')).toThrow(/MEAN or MEAN:SD/);
  });
});
