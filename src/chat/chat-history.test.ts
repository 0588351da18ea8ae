import { describe, expect, it } from 'vitest';
import type { ChatMessage, EngineInfo } from '../engines/spec.js';
import { fitHistory } from './chat-history.js';

/** An engine whose tokenizer counts one token per character. */
function engine(contextSize: number) {
  const info: EngineInfo = { engine: 'llama', reference: 'test', model: 'test', contextSize };
  return { info, countTokens: async (text: string) => text.length };
}

const exchange = (n: number, length: number): ChatMessage[] => [
  { role: 'user', content: `q${n}`.padEnd(length, '.') },
  { role: 'assistant', content: `a${n}`.padEnd(length, '.') },
];

describe('fitHistory', () => {
  it('keeps everything that fits', async () => {
    const history = [...exchange(1, 10), ...exchange(2, 10)];
    expect(await fitHistory(engine(4096), history, 'next?', 256)).toEqual({
      messages: history,
      droppedMessages: 0,
    });
  });

  it('drops the oldest whole exchanges first, never an answer without its question', async () => {
    const history = [...exchange(1, 150), ...exchange(2, 150), ...exchange(3, 150)];
    // 1000 − 200 (answer) − 32 − 5 (question) − 8 = 755 tokens of room; a message costs 158.
    const fitted = await fitHistory(engine(1000), history, 'next?', 200);
    expect(fitted.droppedMessages).toBe(2);
    expect(fitted.messages).toEqual(history.slice(2));
    // 200 tokens of room: the last answer fits but not its question, so both go.
    const tight = await fitHistory(engine(1000), history, 'next?', 755);
    expect(tight).toEqual({ messages: [], droppedMessages: 6 });
  });

  it('keeps nothing when the question alone fills the context', async () => {
    const fitted = await fitHistory(engine(64), exchange(1, 4), 'x'.repeat(100), 16);
    expect(fitted).toEqual({ messages: [], droppedMessages: 2 });
  });

  it('estimates tokens where the engine has no tokenizer', async () => {
    const info: EngineInfo = {
      engine: 'llama',
      reference: 'x',
      model: 'x',
      contextSize: 4096,
    };
    const long = 'word '.repeat(5000);
    const history: ChatMessage[] = [
      { role: 'user', content: long },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'short' },
      { role: 'assistant', content: 'ok' },
    ];
    expect((await fitHistory({ info }, history, 'next?', 256)).droppedMessages).toBe(2);
  });

  it('leaves everything to a server whose context size it does not know', async () => {
    const info: EngineInfo = { engine: 'openai', reference: 'remote', model: 'remote' };
    const history: ChatMessage[] = [
      { role: 'user', content: 'word '.repeat(50_000) },
      { role: 'assistant', content: 'ok' },
    ];
    expect(await fitHistory({ info }, history, 'next?', 256)).toEqual({
      messages: history,
      droppedMessages: 0,
    });
  });
});
