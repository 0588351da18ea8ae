/**
 * The floor under bench:client: the same closed-loop load read by the least a Node process
 * can do — one keep-alive socket per stream reading into one shared buffer, no HTTP parsing,
 * no SSE, no JSON, no timing — so that the CPU a reader needs just to receive the stream on
 * this machine (kernel TCP work and the event loop's own cost per read) is measured, not
 * guessed. It counts tokens as occurrences of `"content":"` and takes `data: [DONE]` as the
 * end of a response; it is only ever pointed at the synthetic server.
 */
import { connect } from 'node:net';
import { createRandomUint32 } from '../src/measure/random.js';
import { sharedClockMs } from '../test/support/synthetic-server.js';

export interface BareReaderOptions {
  streams: number;
  durationMs: number;
  warmupMs: number;
  minTokens: number;
  maxTokens: number;
  seed?: number;
}

export interface BareReaderResult {
  tokensPerSecond: number;
  /** CPU time of this process over the measured window, ms. */
  cpuMs: { user: number; system: number };
}

const tokenMarker = '"content":"';
const doneMarker = 'data: [DONE]';

function countOccurrences(text: string, marker: string): number {
  let count = 0;
  for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + marker.length)) {
    count++;
  }
  return count;
}

export async function runBareReader(
  baseUrl: string,
  options: BareReaderOptions,
  onWindow?: { start?: () => void | Promise<void>; end?: () => void | Promise<void> },
): Promise<BareReaderResult> {
  const url = new URL(`${baseUrl}/chat/completions`);
  const shared = Buffer.allocUnsafe(64 * 1024);
  const nextUint32 = createRandomUint32(options.seed ?? 1);
  const span = options.maxTokens - options.minTokens + 1;
  const startedAt = sharedClockMs();
  const windowStart = startedAt + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  let tokens = 0;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let cpu: NodeJS.CpuUsage | undefined;
  const timers = [
    setTimeout(() => {
      cpuAtStart = process.cpuUsage();
      void onWindow?.start?.();
    }, options.warmupMs),
    setTimeout(() => {
      cpu = process.cpuUsage(cpuAtStart);
      void onWindow?.end?.();
    }, options.warmupMs + options.durationMs),
  ];

  async function stream(): Promise<void> {
    let onText: (text: string) => void = () => {};
    let failed: (error: Error) => void = () => {};
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      noDelay: true,
      onread: {
        buffer: shared,
        callback: (count: number, buffer: Uint8Array) => {
          onText((buffer as Buffer).toString('latin1', 0, count));
          return true;
        },
      },
    });
    socket.on('error', (error) => failed(error));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    try {
      while (sharedClockMs() < windowEnd) {
        const maxTokens = options.minTokens + Math.floor((nextUint32() / 4294967296) * span);
        const body = JSON.stringify({
          model: 'synthetic',
          messages: [{ role: 'user', content: 'bench' }],
          stream: true,
          max_tokens: maxTokens,
        });
        await new Promise<void>((resolve, reject) => {
          failed = reject;
          // The end of the previous read, so that a marker split across two reads is seen.
          let tail = '';
          onText = (text) => {
            const joined = tail + text;
            const now = sharedClockMs();
            if (now >= windowStart && now <= windowEnd) {
              tokens += countOccurrences(joined, tokenMarker) - countOccurrences(tail, tokenMarker);
            }
            if (joined.includes(doneMarker)) resolve();
            tail = joined.slice(-16);
          };
          socket.write(
            `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\naccept: text/event-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
        });
      }
    } finally {
      socket.destroy();
    }
  }

  await Promise.all(Array.from({ length: options.streams }, () => stream()));
  for (const timer of timers) clearTimeout(timer);
  cpu ??= process.cpuUsage(cpuAtStart);
  return {
    tokensPerSecond: (tokens * 1000) / options.durationMs,
    cpuMs: { user: cpu.user / 1000, system: cpu.system / 1000 },
  };
}
