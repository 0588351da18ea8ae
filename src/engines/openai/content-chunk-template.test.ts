import { describe, expect, it } from 'vitest';
import { ChatCompletionAccumulator } from './chat-completion-chunk.js';
import { ContentChunkTemplate } from './content-chunk-template.js';

const head = '{"id":"c-1","object":"chat.completion.chunk","created":1,"model":"m",';
const chunk = (delta: string, finish = 'null'): string =>
  `${head}"choices":[{"index":0,"delta":${delta},"finish_reason":${finish}}]}`;
const content = (text: string): string => chunk(`{"content":${JSON.stringify(text)}}`);

function plainContent(payload: unknown): string | undefined {
  const choice = (payload as { choices?: { delta?: { content?: unknown } }[] }).choices?.[0];
  const value = choice?.delta?.content;
  return typeof value === 'string' ? value : undefined;
}

function learned(data: string, text: string): ContentChunkTemplate {
  const template = new ContentChunkTemplate();
  template.learn(data, text, plainContent);
  return template;
}

describe('ContentChunkTemplate', () => {
  it('reads the content of a chunk that differs only in its content string', () => {
    const template = learned(content('lorem '), 'lorem ');
    expect(template.learned).toBe(true);
    for (const text of ['ipsum ', '', 'é€😀', ' x y ']) {
      expect(template.match(content(text))).toBe(text);
      expect(plainContent(JSON.parse(content(text)))).toBe(text);
    }
  });

  it('leaves to JSON.parse what it cannot read exactly', () => {
    const template = learned(content('lorem '), 'lorem ');
    // Escapes, quotes and control characters in the string.
    expect(template.match(content('a\nb'))).toBeUndefined();
    expect(template.match(content('say "hi"'))).toBeUndefined();
    expect(template.match(content('back\\slash'))).toBeUndefined();
    expect(template.match(chunk('{"content":"tab\there"}'))).toBeUndefined();
    // Anything else changed: another field, a finish reason, another shape.
    expect(template.match(content('x').replace('"model":"m"', '"model":"n"'))).toBeUndefined();
    expect(template.match(chunk('{"content":"x"}', '"stop"'))).toBeUndefined();
    expect(template.match(chunk('{"role":"assistant","content":"x"}'))).toBeUndefined();
    expect(template.match('[DONE]')).toBeUndefined();
    expect(template.match('')).toBeUndefined();
  });

  it('learns nothing from a chunk whose content string is not written as JSON.stringify would', () => {
    const escaped = chunk('{"content":"\\u00e9"}');
    expect(learned(escaped, 'é').learned).toBe(false);
    const spaced = chunk('{"content": "x"}');
    expect(learned(spaced, 'x').learned).toBe(false);
  });

  it('learns nothing when the content string token appears twice', () => {
    const twice = chunk('{"content":"x"}').replace(
      '"model":"m"',
      '"model":"m","echo":{"content":"x"}',
    );
    expect(learned(twice, 'x').learned).toBe(false);
  });

  it('learns nothing when the probe does not land in the delta content', () => {
    // The same token elsewhere, and a delta content that is not it.
    const elsewhere = `${head}"note":{"content":"x"},"choices":[{"index":0,"delta":{"content":"y"},"finish_reason":null}]}`;
    expect(learned(elsewhere, 'x').learned).toBe(false);
  });
});

describe('ChatCompletionAccumulator.acceptData', () => {
  it('gives exactly what parsing every chunk gives', () => {
    const stream = [
      chunk('{"role":"assistant","content":""}'),
      content('Hel'),
      content('lo'),
      content(' wörld\n'),
      content('"quoted"'),
      content('😀'),
      chunk('{}', '"stop"'),
      `${head}"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":6}}`,
    ];
    const fast = new ChatCompletionAccumulator();
    const slow = new ChatCompletionAccumulator();
    for (const [index, data] of stream.entries()) {
      expect(fast.acceptData(data, index)).toEqual(slow.accept(JSON.parse(data), index));
    }
    expect(fast.finishPart(9)).toEqual(slow.finishPart(9));
    expect(fast.finishPart(9)).toMatchObject({
      finishReason: 'stop',
      usage: { inputTokens: 3, outputTokens: 6 },
      responseModelId: 'm',
    });
  });

  it('parses fewer chunks than it reads', () => {
    const accumulator = new ChatCompletionAccumulator();
    const parse = JSON.parse;
    let parses = 0;
    JSON.parse = (text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      parses++;
      return parse(text, reviver);
    };
    try {
      for (let index = 0; index < 100; index++)
        accumulator.acceptData(content(`w${index} `), index);
    } finally {
      JSON.parse = parse;
    }
    // The first chunk and the probe that checks its template; the other 99 are read from it.
    expect(parses).toBe(2);
  });

  it('says when an event is not JSON, and reports an in-band error', () => {
    const accumulator = new ChatCompletionAccumulator();
    expect(accumulator.acceptData('{"choices": [', 0)).toBeUndefined();
    expect(accumulator.acceptData('{"error":{"message":"overloaded"}}', 1)).toEqual({
      kind: 'error',
      error: { message: 'overloaded' },
    });
  });
});
