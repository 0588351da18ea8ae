import { describe, expect, it } from 'vitest';
import { type ServerSentEvent, SseParser } from './sse-parser.js';

const encoder = new TextEncoder();

function parseAll(chunks: readonly (string | Uint8Array)[]): ServerSentEvent[] {
  const parser = new SseParser();
  const events: ServerSentEvent[] = [];
  chunks.forEach((chunk, index) => {
    events.push(...parser.push(chunk, index));
  });
  events.push(...parser.end(chunks.length));
  return events;
}

/** Drops the arrival times, to compare the content of two parses. */
function contentOf(events: readonly ServerSentEvent[]) {
  return events.map(({ arrivedAtMs: _arrivedAtMs, ...rest }) => rest);
}

/** A recorded stream in the shape llama-server / Ollama / vLLM send (with a BOM, pings, CRLF). */
const recordedStream = [
  '\uFEFF: connected\r\n',
  '\r\n',
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"phi-4-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
  'data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"reasoning_content":"Thinking… ü"},"finish_reason":null}]}\r\n\r\n',
  ': ping\n\n',
  'data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Héllo, 世界 🌍"},"finish_reason":null}]}\r\r',
  'event: message\nid: 42\nretry: 1500\ndata: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
  'data: {"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}\n',
  'data: second line\n\n',
  'data: [DONE]\n\n',
].join('');

describe('SseParser', () => {
  it('parses single events with LF, CRLF and CR line endings', () => {
    const events = parseAll(['data: a\n\n', 'data: b\r\n\r\n', 'data: c\r\r']);
    expect(events.map((event) => event.data)).toEqual(['a', 'b', 'c']);
    expect(events.every((event) => event.event === 'message')).toBe(true);
  });

  it('joins multi-line data with \\n and strips one leading space only', () => {
    const events = parseAll(['data: first\ndata:second\ndata:  third\n\n']);
    expect(events[0]?.data).toBe('first\nsecond\n third');
  });

  it('ignores comment lines and counts them', () => {
    const parser = new SseParser();
    const events = parser.push(': ping\n\n:\n\ndata: x\n\n', 0);
    expect(events.map((event) => event.data)).toEqual(['x']);
    expect(parser.statistics.commentCount).toBe(2);
    expect(parser.statistics.eventCount).toBe(1);
  });

  it('reads event, id and retry fields; id persists, invalid retry is ignored', () => {
    const events = parseAll([
      'event: error\nid: 7\nretry: 3000\ndata: boom\n\n',
      'retry: soon\ndata: next\n\n',
      'id: bad\u0000id\ndata: third\n\n',
    ]);
    expect(events[0]).toMatchObject({ event: 'error', data: 'boom', lastEventId: '7' });
    expect(events[0]?.retryMs).toBe(3000);
    expect(events[1]).toMatchObject({ event: 'message', lastEventId: '7', retryMs: 3000 });
    expect(events[2]?.lastEventId).toBe('7');
  });

  it('does not dispatch empty events, but dispatches an empty data field', () => {
    const events = parseAll(['\n\n\nevent: nothing\n\nid: 1\n\n', 'data\n\n', 'data:\n\n']);
    expect(events.map((event) => [event.event, event.data])).toEqual([
      ['message', ''],
      ['message', ''],
    ]);
  });

  it('treats a field without colon as a field with an empty value and ignores unknown fields', () => {
    const events = parseAll(['foo: bar\ndata\ndata: x\n\n']);
    expect(events[0]?.data).toBe('\nx');
  });

  it('strips a byte order mark at the start of the stream only', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('data: a\n\n')]);
    expect(parseAll([bytes])[0]?.data).toBe('a');
    // A BOM split across chunks.
    expect(parseAll([bytes.slice(0, 2), bytes.slice(2)])[0]?.data).toBe('a');
    // As a string.
    expect(parseAll(['\uFEFFdata: b\n\n'])[0]?.data).toBe('b');
    // Later in the stream a BOM is ordinary data.
    expect(parseAll(['data: a\n\n', 'data: \uFEFFb\n\n'])[1]?.data).toBe('\uFEFFb');
  });

  it('handles \\r and \\n split across chunks as one line ending', () => {
    const events = parseAll(['data: a\r', '\ndata: b\r', '\n\r', '\n']);
    expect(events.map((event) => event.data)).toEqual(['a\nb']);
  });

  it('decodes UTF-8 code points split across chunks', () => {
    const bytes = encoder.encode('data: 🌍é\n\n');
    const events = parseAll([bytes.slice(0, 8), bytes.slice(8, 9), bytes.slice(9)]);
    expect(events[0]?.data).toBe('🌍é');
  });

  it('stamps each event with the arrival time of the chunk that completed it', () => {
    const parser = new SseParser();
    expect(parser.push('data: he', 10)).toEqual([]);
    expect(parser.push('llo\n', 20)).toEqual([]);
    const [first, second] = parser.push('\ndata: x\n\n', 30);
    expect(first).toMatchObject({ data: 'hello', arrivedAtMs: 30 });
    expect(second).toMatchObject({ data: 'x', arrivedAtMs: 30 });
    expect(parser.push('data: y\r', 40)).toEqual([]);
    expect(parser.push('\r', 50)).toEqual([
      expect.objectContaining({ data: 'y', arrivedAtMs: 50 }),
    ]);
  });

  it('dispatches a last event without a trailing blank line at end()', () => {
    const parser = new SseParser();
    expect(parser.push('data: [DONE]', 1)).toEqual([]);
    expect(parser.end(5)).toEqual([expect.objectContaining({ data: '[DONE]', arrivedAtMs: 5 })]);
    expect(parser.end(6)).toEqual([]);
    expect(() => parser.push('data: x\n\n', 7)).toThrow(/after end/);
  });

  it('replaces an incomplete UTF-8 sequence at the end with U+FFFD', () => {
    const bytes = encoder.encode('data: 🌍');
    expect(parseAll([bytes.slice(0, bytes.length - 1)])[0]?.data).toBe('\uFFFD');
  });

  it('parses a recorded stream the same when split at every byte boundary', () => {
    const bytes = encoder.encode(recordedStream);
    const reference = parseAll([bytes]);
    expect(reference.map((event) => event.data.slice(0, 20))).toEqual([
      '{"id":"chatcmpl-1","',
      '{"id":"chatcmpl-1","',
      '{"id":"chatcmpl-1","',
      '{"id":"chatcmpl-1","',
      '{"id":"chatcmpl-1","',
      '[DONE]',
    ]);
    expect(reference[3]).toMatchObject({ lastEventId: '42', retryMs: 1500 });
    expect(reference[4]?.data.endsWith('}\nsecond line')).toBe(true);
    expect(JSON.parse(reference[2]?.data ?? '').choices[0].delta.content).toBe('Héllo, 世界 🌍');
    for (let split = 0; split <= bytes.length; split++) {
      const events = parseAll([bytes.slice(0, split), bytes.slice(split)]);
      expect(contentOf(events), `split at byte ${split}`).toEqual(contentOf(reference));
    }
    for (let first = 1; first < bytes.length; first += 7) {
      for (let second = first + 1; second < bytes.length; second += 13) {
        const chunks = [bytes.slice(0, first), bytes.slice(first, second), bytes.slice(second)];
        expect(contentOf(parseAll(chunks)), `split at ${first} and ${second}`).toEqual(
          contentOf(reference),
        );
      }
    }
    const oneByteAtATime = Array.from(bytes, (byte) => new Uint8Array([byte]));
    expect(contentOf(parseAll(oneByteAtATime))).toEqual(contentOf(reference));
  });

  it('stamps a byte-at-a-time parse with the index of the completing byte', () => {
    const bytes = encoder.encode('data: a\n\ndata: b\n\n');
    const events = parseAll(Array.from(bytes, (byte) => new Uint8Array([byte])));
    expect(events.map((event) => event.arrivedAtMs)).toEqual([8, 17]);
  });

  it('counts events and comments', () => {
    const parser = new SseParser();
    parser.push(encoder.encode(': ping\ndata: é\n\n'), 0);
    parser.push('data: é\n\n', 1);
    expect(parser.statistics).toEqual({ eventCount: 2, commentCount: 1 });
  });
});
