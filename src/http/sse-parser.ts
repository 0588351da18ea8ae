/**
 * Incremental parser for `text/event-stream` (Server-Sent Events), after the WHATWG HTML
 * "event stream interpretation". Bytes may be split anywhere: mid-line, mid-UTF-8 code
 * point, between `\r` and `\n`. Each dispatched event carries the arrival time of the
 * chunk that completed it; the caller reads its clock the moment a chunk arrives, before
 * parsing, and passes that time with the chunk.
 *
 * One deliberate difference from a browser's EventSource: at the end of the stream,
 * `end()` dispatches a last event that was not followed by a blank line (a server that
 * writes `data: [DONE]\n` and closes). Browsers discard it.
 */

export interface ServerSentEvent {
  /** The `event:` field; `message` when the event named none. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The last `id:` seen so far in the stream (it persists across events, as in the spec). */
  lastEventId: string | undefined;
  /** The last valid `retry:` value seen so far, in milliseconds. */
  retryMs: number | undefined;
  /** Arrival time of the chunk that completed this event (the caller's clock). */
  arrivedAtMs: number;
}

export interface SseParserStatistics {
  /** Events dispatched so far. */
  eventCount: number;
  /** Comment lines (`: ping`) seen so far. */
  commentCount: number;
}

const lineFeed = 0x0a;
const carriageReturn = 0x0d;

export class SseParser {
  /** BOM handling is done once in #consume, for strings and bytes alike. */
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** The streaming decoder holds no bytes of an unfinished code point. */
  #decoderIsEmpty = true;
  #atStreamStart = true;
  #pending = '';
  /** The previous chunk ended in `\r`: a `\n` at the start of the next one belongs to it. */
  #skipLeadingLineFeed = false;
  #dataLines: string[] = [];
  #hasData = false;
  #eventType = '';
  #lastEventId: string | undefined;
  #retryMs: number | undefined;
  #eventCount = 0;
  #commentCount = 0;
  #ended = false;

  /** Comments seen so far (keep-alive pings) and events dispatched, for diagnostics. */
  get statistics(): SseParserStatistics {
    return {
      eventCount: this.#eventCount,
      commentCount: this.#commentCount,
    };
  }

  /** Parses one chunk; returns the events it completed, each stamped `arrivedAtMs`. */
  push(chunk: Uint8Array | string, arrivedAtMs: number): ServerSentEvent[] {
    if (this.#ended) throw new Error('SseParser.push() called after end().');
    let text: string;
    if (typeof chunk === 'string') {
      text = chunk;
    } else {
      const length = chunk.byteLength;
      if (this.#decoderIsEmpty && length > 0 && (chunk[length - 1] as number) < 0x80) {
        // Ends in ASCII with nothing held back from before: no code point is split, so the
        // one-shot decode gives what the streaming decoder would.
        text = Buffer.from(chunk.buffer, chunk.byteOffset, length).toString('utf8');
      } else {
        text = this.#decoder.decode(chunk, { stream: true });
        // An ASCII last byte completes (or invalidates) whatever came before it.
        this.#decoderIsEmpty = length > 0 && (chunk[length - 1] as number) < 0x80;
      }
    }
    return this.#consume(text, arrivedAtMs, false);
  }

  /**
   * Ends the stream: flushes an incomplete UTF-8 sequence (as U+FFFD), processes a last
   * line without a line ending, and dispatches a last event that lacked its blank line.
   */
  end(arrivedAtMs: number): ServerSentEvent[] {
    if (this.#ended) return [];
    const rest = this.#decoder.decode();
    const events = this.#consume(rest, arrivedAtMs, true);
    this.#ended = true;
    return events;
  }

  #consume(text: string, arrivedAtMs: number, isEnd: boolean): ServerSentEvent[] {
    const events: ServerSentEvent[] = [];
    let start = 0;
    if (this.#atStreamStart && text.length > 0) {
      this.#atStreamStart = false;
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this.#skipLeadingLineFeed && text.length > start) {
      if (text.charCodeAt(start) === lineFeed) start++;
      this.#skipLeadingLineFeed = false;
    }
    let lineStart = start;
    if (text.indexOf('\r', start) === -1) {
      // The usual case, `\n` only: find the line ends natively.
      for (
        let index = text.indexOf('\n', start);
        index !== -1;
        index = text.indexOf('\n', lineStart)
      ) {
        const line =
          this.#pending === ''
            ? text.slice(lineStart, index)
            : this.#pending + text.slice(lineStart, index);
        this.#pending = '';
        this.#processLine(line, arrivedAtMs, events);
        lineStart = index + 1;
      }
      return this.#finishConsume(text, lineStart, arrivedAtMs, isEnd, events);
    }
    for (let index = start; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code !== lineFeed && code !== carriageReturn) continue;
      const line = this.#pending + text.slice(lineStart, index);
      this.#pending = '';
      this.#processLine(line, arrivedAtMs, events);
      if (code === carriageReturn) {
        if (index + 1 < text.length) {
          if (text.charCodeAt(index + 1) === lineFeed) index++;
        } else {
          this.#skipLeadingLineFeed = true;
        }
      }
      lineStart = index + 1;
    }
    return this.#finishConsume(text, lineStart, arrivedAtMs, isEnd, events);
  }

  #finishConsume(
    text: string,
    lineStart: number,
    arrivedAtMs: number,
    isEnd: boolean,
    events: ServerSentEvent[],
  ): ServerSentEvent[] {
    if (lineStart < text.length) this.#pending += text.slice(lineStart);
    if (isEnd) {
      if (this.#pending.length > 0) {
        const line = this.#pending;
        this.#pending = '';
        this.#processLine(line, arrivedAtMs, events);
      }
      this.#dispatch(arrivedAtMs, events);
    }
    return events;
  }

  #processLine(line: string, arrivedAtMs: number, events: ServerSentEvent[]): void {
    if (line.length === 0) {
      this.#dispatch(arrivedAtMs, events);
      return;
    }
    if (line.charCodeAt(0) === 0x3a /* : */) {
      this.#commentCount++;
      return;
    }
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.slice(line.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1);
    }
    switch (field) {
      case 'event':
        this.#eventType = value;
        break;
      case 'data':
        this.#dataLines.push(value);
        this.#hasData = true;
        break;
      case 'id':
        if (!value.includes('\u0000')) this.#lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.#retryMs = Number(value);
        break;
      default:
        // Unknown fields are ignored, as the spec says.
        break;
    }
  }

  #dispatch(arrivedAtMs: number, events: ServerSentEvent[]): void {
    if (!this.#hasData) {
      // An empty event (only `event:`/`id:` lines, or a stray blank line): nothing to
      // dispatch; the event type is reset as the spec says.
      this.#eventType = '';
      return;
    }
    events.push({
      event: this.#eventType === '' ? 'message' : this.#eventType,
      data:
        this.#dataLines.length === 1 ? (this.#dataLines[0] as string) : this.#dataLines.join('\n'),
      lastEventId: this.#lastEventId,
      retryMs: this.#retryMs,
      arrivedAtMs,
    });
    this.#eventCount++;
    this.#dataLines = [];
    this.#hasData = false;
    this.#eventType = '';
  }
}
