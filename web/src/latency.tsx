/**
 * The latency chart shared by Compare and In the browser: one point per run (TTFT and decode
 * tokens/s), a series per model and place (a served model, or a model running in this
 * browser on WebGPU or WASM), kept in localStorage so that runs accumulate across pages and
 * reloads, and server and in-browser inference can be put side by side.
 *
 * Server runs are measured here, in the browser, from the /v1 stream: TTFT at the first event
 * carrying text, decode tokens/s = (N − 1) / (last − first), N from the server's usage (else
 * the count of text events, marked "estimate"). In-browser runs are measured in the worker
 * that generates, per token (N counted by the engine).
 */

import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { failure, serverFetch, serverSentEvents } from './api.js';

export interface RunPoint {
  run: number;
  model: string;
  /** Where it ran: on the server (default, for points stored before this field) or here. */
  where?: 'server' | 'browser';
  /** In the browser: 'WebGPU' or 'WASM'. */
  backend?: string;
  ttftMs: number | undefined;
  tokensPerSecond: number | undefined;
  tokens: number;
  tokenSource: 'usage' | 'estimate' | 'engine';
  e2eMs: number | undefined;
  /** The model was not loaded (or, in the browser, not yet run) when the run began. */
  cold?: boolean;
}

const STORAGE_KEY = 'tandem.compare.points';
const SERIES_COLORS = ['#2f6fde', '#d9534f', '#2a9d5c', '#c77c0e', '#7b4fd6', '#0f8ea3'];

/** The series a point belongs to: the model, and for in-browser runs the backend. */
export function seriesOf(point: RunPoint): string {
  return point.where === 'browser'
    ? `${point.model} (browser, ${point.backend ?? '?'})`
    : point.model;
}

function loadPoints(): RunPoint[] {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]') as RunPoint[];
    return Array.isArray(stored) ? stored : [];
  } catch {
    return [];
  }
}

/**
 * The stored points, and `add`, which numbers a new point after every stored one (another tab
 * or page may have added some) and stores it at once.
 */
export function useRunPoints(): {
  points: RunPoint[];
  add: (point: Omit<RunPoint, 'run'>) => RunPoint;
  clear: () => void;
} {
  const [points, setPoints] = useState<RunPoint[]>(loadPoints);
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === STORAGE_KEY) setPoints(loadPoints());
    };
    addEventListener('storage', onStorage);
    return () => removeEventListener('storage', onStorage);
  }, []);
  const add = (point: Omit<RunPoint, 'run'>): RunPoint => {
    const stored = loadPoints();
    const numbered = {
      run: stored.reduce((highest, entry) => Math.max(highest, entry.run), 0) + 1,
      ...point,
    };
    const all = [...stored, numbered];
    localStorage.setItem(STORAGE_KEY, JSON.stringify(all));
    setPoints(all);
    return numbered;
  };
  const clear = () => {
    localStorage.setItem(STORAGE_KEY, '[]');
    setPoints([]);
  };
  return { points, add, clear };
}

/**
 * Resolves once the page has painted what is pending (a chart redrawn for the last run, say),
 * so that the work does not land inside the next measurement: a busy main thread reads a
 * stream's chunks late and all at once.
 */
export function afterPaint(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/**
 * Streams one answer from the server's /v1/chat/completions and measures it as the bytes
 * arrive. `onText` gets each piece of text.
 */
export async function measureServerRun(
  model: string,
  prompt: string,
  maxTokens: number,
  onText: (text: string) => void,
  signal: AbortSignal,
): Promise<Omit<RunPoint, 'run'>> {
  await afterPaint();
  const startedAt = performance.now();
  const response = await serverFetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      messages: [{ role: 'user', content: prompt }],
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
    signal,
  });
  if (!response.ok || response.body === null) throw await failure(response);
  let first: number | undefined;
  let last: number | undefined;
  let events = 0;
  let usageTokens: number | undefined;
  for await (const { data, atMs } of serverSentEvents(response.body)) {
    if (data === '[DONE]') continue;
    const chunk = JSON.parse(data) as {
      choices?: { delta?: { content?: string; reasoning_content?: string } }[];
      usage?: { completion_tokens?: number };
      error?: { message?: string };
    };
    if (chunk.error !== undefined) throw new Error(chunk.error.message ?? 'The stream failed.');
    const delta = chunk.choices?.[0]?.delta;
    const text = (delta?.reasoning_content ?? '') + (delta?.content ?? '');
    if (text !== '') {
      first ??= atMs;
      last = atMs;
      events += 1;
      onText(text);
    }
    if (chunk.usage?.completion_tokens !== undefined) usageTokens = chunk.usage.completion_tokens;
  }
  const tokens = usageTokens ?? events;
  return {
    model,
    where: 'server',
    ...timings(startedAt, first, last, tokens),
    tokens,
    tokenSource: usageTokens === undefined ? 'estimate' : 'usage',
  };
}

/** TTFT, decode tokens/s and E2E from the start, the first and last token times and N. */
export function timings(
  startedAtMs: number,
  firstMs: number | undefined,
  lastMs: number | undefined,
  tokens: number,
): Pick<RunPoint, 'ttftMs' | 'tokensPerSecond' | 'e2eMs'> {
  const decodeMs = firstMs !== undefined && lastMs !== undefined ? lastMs - firstMs : undefined;
  return {
    ttftMs: firstMs === undefined ? undefined : firstMs - startedAtMs,
    tokensPerSecond:
      decodeMs !== undefined && decodeMs > 0 && tokens > 1
        ? ((tokens - 1) * 1000) / decodeMs
        : undefined,
    e2eMs: lastMs === undefined ? undefined : lastMs - startedAtMs,
  };
}

/**
 * A run's decode rate as shown: `— tok/s` with the reason when there is none (one token, or
 * every token arrived in the same read of the stream, so no time passed between them).
 */
export function rateText(point: Pick<RunPoint, 'tokensPerSecond' | 'tokens'>): string {
  if (point.tokensPerSecond !== undefined) return `${point.tokensPerSecond.toFixed(1)} tok/s`;
  return point.tokens > 1 ? '— tok/s (all tokens arrived at once)' : '— tok/s (one token)';
}

/** One uPlot chart of a figure per run, a series per model; remade when the points change. */
function RunChart({
  title,
  unit,
  points,
  value,
}: {
  title: string;
  unit: string;
  points: RunPoint[];
  value: (point: RunPoint) => number | undefined;
}) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const series = [...new Set(points.map(seriesOf))];
    const data: uPlot.AlignedData = [
      points.map((point) => point.run),
      ...series.map((name) =>
        points.map((point) => (seriesOf(point) === name ? (value(point) ?? null) : null)),
      ),
    ];
    const chart = new uPlot(
      {
        width: Math.max(320, element.clientWidth),
        height: 220,
        title,
        scales: { x: { time: false } },
        axes: [
          { label: 'run', incrs: [1, 2, 5, 10, 20, 50] },
          { label: unit, size: 60 },
        ],
        series: [
          { label: 'run' },
          ...series.map((name, index) => ({
            label: name,
            stroke: SERIES_COLORS[index % SERIES_COLORS.length] as string,
            width: 0,
            spanGaps: true,
            points: { show: true, size: 9 },
          })),
        ],
      },
      data,
      element,
    );
    return () => chart.destroy();
  }, [points, title, unit, value]);
  return <div class="chart" ref={container} data-points={points.length} />;
}

const ttftOf = (point: RunPoint) => point.ttftMs;
const rateOf = (point: RunPoint) => point.tokensPerSecond;

/** The two charts and the table of every run, with a button that clears them. */
export function LatencyCharts({
  points,
  onClear,
  empty,
}: {
  points: RunPoint[];
  onClear: () => void;
  empty: string;
}) {
  return (
    <section class="charts">
      <div class="charts-head">
        <h2>Latency per run</h2>
        <button type="button" class="link" disabled={points.length === 0} onClick={onClear}>
          Clear points
        </button>
      </div>
      {points.length === 0 ? (
        <p class="muted">{empty}</p>
      ) : (
        <div class="chart-row">
          <RunChart title="Time to first token" unit="ms" points={points} value={ttftOf} />
          <RunChart title="Decode tokens/s" unit="tok/s" points={points} value={rateOf} />
        </div>
      )}
      {points.length > 0 && (
        <table class="runs" data-testid="compare-runs">
          <thead>
            <tr>
              <th>Run</th>
              <th>Model</th>
              <th>TTFT (ms)</th>
              <th>Decode tok/s</th>
              <th>Tokens</th>
            </tr>
          </thead>
          <tbody>
            {points.map((point) => (
              <tr key={point.run}>
                <td>{point.run}</td>
                <td>{seriesOf(point)}</td>
                <td>
                  {point.ttftMs?.toFixed(1) ?? '—'}
                  {point.cold && (
                    <span class="muted small">
                      {' '}
                      cold:{' '}
                      {point.where === 'browser'
                        ? 'first run after load (WebGPU compiles its shaders here)'
                        : 'includes the model load'}
                    </span>
                  )}
                </td>
                <td>{rateText(point).replace(' tok/s', '')}</td>
                <td>
                  {point.tokens} ({point.tokenSource})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
