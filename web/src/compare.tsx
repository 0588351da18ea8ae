/**
 * Compare: one prompt, several served models, answers side by side as they stream, and a
 * latency chart (TTFT and decode tokens/s) that gains a point per run and keeps them as the
 * user toggles between models. Models run one after another so their timings do not compete
 * for the same cores. Figures are measured here, in the browser, from the /v1 stream:
 * TTFT at the first event carrying text, decode tokens/s = (N − 1) / (last − first), N from
 * the server's usage (else the count of text events, marked "estimate").
 * Past bench runs from the store open as their HTML report.
 */

import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { failure, getJson, type ServedModel, serverSentEvents } from './api.js';

export interface RunPoint {
  run: number;
  model: string;
  ttftMs: number | undefined;
  tokensPerSecond: number | undefined;
  tokens: number;
  tokenSource: 'usage' | 'estimate';
  e2eMs: number | undefined;
  /** The model was not loaded when the run began: its TTFT includes the load. */
  cold?: boolean;
}

interface Pane {
  model: string;
  text: string;
  status: 'waiting' | 'streaming' | 'done' | 'error';
  error?: string;
  point?: RunPoint;
}

interface BenchRunEntry {
  id: number;
  name?: string;
  startedAt: string;
  status: string;
  models: string[];
  requests: number;
}

const STORAGE_KEY = 'tandem.compare.points';
const SERIES_COLORS = ['#2f6fde', '#d9534f', '#2a9d5c', '#c77c0e', '#7b4fd6', '#0f8ea3'];

function loadPoints(): RunPoint[] {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]') as RunPoint[];
    return Array.isArray(stored) ? stored : [];
  } catch {
    return [];
  }
}

/**
 * Streams one answer from /v1/chat/completions and measures it as the bytes arrive.
 * `onText` gets each piece of text.
 */
async function measureStream(
  model: string,
  prompt: string,
  maxTokens: number,
  onText: (text: string) => void,
  signal: AbortSignal,
): Promise<Omit<RunPoint, 'run'>> {
  const startedAt = performance.now();
  const response = await fetch('/v1/chat/completions', {
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
  const decodeMs = first !== undefined && last !== undefined ? last - first : undefined;
  return {
    model,
    ttftMs: first === undefined ? undefined : first - startedAt,
    tokensPerSecond:
      decodeMs !== undefined && decodeMs > 0 && tokens > 1
        ? ((tokens - 1) * 1000) / decodeMs
        : undefined,
    tokens,
    tokenSource: usageTokens === undefined ? 'estimate' : 'usage',
    e2eMs: last === undefined ? undefined : last - startedAt,
  };
}

/** One uPlot chart of a figure per run, a series per model; remade when the models change. */
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
    const models = [...new Set(points.map((point) => point.model))];
    const xs = points.map((point) => point.run);
    const data: uPlot.AlignedData = [
      xs,
      ...models.map((model) =>
        points.map((point) => (point.model === model ? (value(point) ?? null) : null)),
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
          ...models.map((model, index) => ({
            label: model,
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

export function ComparePage() {
  const [models, setModels] = useState<ServedModel[]>([]);
  const [selected, setSelected] = useState<string[]>([]);
  const [prompt, setPrompt] = useState(
    'Explain in three sentences why small language models matter.',
  );
  const [maxTokens, setMaxTokens] = useState(64);
  const [panes, setPanes] = useState<Pane[]>([]);
  const [points, setPoints] = useState<RunPoint[]>(loadPoints);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [benchRuns, setBenchRuns] = useState<BenchRunEntry[]>([]);
  const controller = useRef<AbortController | undefined>(undefined);

  useEffect(() => {
    getJson<{ data: ServedModel[] }>('/api/models')
      .then((body) => {
        setModels(body.data);
        setSelected((current) =>
          current.length > 0 ? current : body.data.slice(0, 2).map((model) => model.name),
        );
      })
      .catch((failure: Error) => setError(failure.message));
    getJson<{ data: BenchRunEntry[] }>('/api/bench/runs')
      .then((body) => setBenchRuns(body.data))
      .catch((failure: Error) => setError(failure.message));
  }, []);

  useEffect(() => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(points));
  }, [points]);

  const run = async () => {
    if (selected.length === 0 || prompt.trim() === '') return;
    setError(undefined);
    setRunning(true);
    const abort = new AbortController();
    controller.current = abort;
    const order = [...selected];
    let current: Pane[] = order.map((model) => ({ model, text: '', status: 'waiting' }));
    setPanes(current);
    const patch = (index: number, change: Partial<Pane>) => {
      current = current.map((pane, at) => (at === index ? { ...pane, ...change } : pane));
      setPanes(current);
    };
    let nextRun = points.reduce((highest, point) => Math.max(highest, point.run), 0) + 1;
    for (const [index, model] of order.entries()) {
      if (abort.signal.aborted) break;
      patch(index, { status: 'streaming' });
      let text = '';
      try {
        const served = await getJson<{ data: ServedModel[] }>('/api/models');
        const cold = served.data.find((entry) => entry.name === model)?.loaded === false;
        const measured = await measureStream(
          model,
          prompt,
          maxTokens,
          (piece) => {
            text += piece;
            patch(index, { text });
          },
          abort.signal,
        );
        const point: RunPoint = { run: nextRun, ...measured, cold };
        nextRun += 1;
        setPoints((all) => [...all, point]);
        patch(index, { status: 'done', point });
      } catch (failure) {
        const message =
          (failure as Error).name === 'AbortError' ? 'Stopped.' : (failure as Error).message;
        patch(index, { status: 'error', error: message });
      }
    }
    setRunning(false);
    controller.current = undefined;
  };

  const toggle = (name: string) =>
    setSelected((current) =>
      current.includes(name) ? current.filter((entry) => entry !== name) : [...current, name],
    );

  return (
    <div class="compare">
      <section class="compare-controls">
        <textarea
          rows={3}
          value={prompt}
          data-testid="compare-prompt"
          onInput={(event) => setPrompt((event.target as HTMLTextAreaElement).value)}
        />
        <div class="compare-options">
          <fieldset>
            <legend>Models</legend>
            {models.map((model) => (
              <label key={model.name}>
                <input
                  type="checkbox"
                  checked={selected.includes(model.name)}
                  onChange={() => toggle(model.name)}
                />{' '}
                {model.name}
                {model.demo && <span class="muted small"> (random weights)</span>}
              </label>
            ))}
          </fieldset>
          <label>
            Max tokens{' '}
            <input
              type="number"
              min={1}
              max={2048}
              value={maxTokens}
              onInput={(event) =>
                setMaxTokens(Number((event.target as HTMLInputElement).value) || 1)
              }
            />
          </label>
          {running ? (
            <button type="button" class="stop" onClick={() => controller.current?.abort()}>
              Stop
            </button>
          ) : (
            <button
              type="button"
              class="send"
              data-testid="compare-run"
              disabled={selected.length === 0 || prompt.trim() === ''}
              onClick={() => void run()}
            >
              Run
            </button>
          )}
        </div>
        <p class="muted small">
          Models run one after another so they do not compete for the cores. Figures are measured in
          this browser from the /v1 stream: TTFT to the first text, decode tokens/s over the rest;
          tokens from the server's usage (else counted events, marked estimate).
        </p>
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
      </section>
      <section class="panes">
        {panes.map((pane) => (
          <article class="pane" key={pane.model} data-testid="compare-pane">
            <header>
              <strong>{pane.model}</strong>
              <span class="muted small">{pane.status}</span>
            </header>
            <div class="pane-text">{pane.text}</div>
            {pane.error && <div class="error-inline">{pane.error}</div>}
            {pane.point && (
              <div class="figures">
                TTFT {pane.point.ttftMs?.toFixed(0) ?? '—'} ms{pane.point.cold ? ' (cold)' : ''} ·{' '}
                {pane.point.tokensPerSecond?.toFixed(1) ?? '—'} tok/s · {pane.point.tokens} tokens (
                {pane.point.tokenSource})
              </div>
            )}
          </article>
        ))}
      </section>
      <section class="charts">
        <div class="charts-head">
          <h2>Latency per run</h2>
          <button
            type="button"
            class="link"
            disabled={points.length === 0}
            onClick={() => setPoints([])}
          >
            Clear points
          </button>
        </div>
        {points.length === 0 ? (
          <p class="muted">Run a prompt: each run adds a point per model.</p>
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
                  <td>{point.model}</td>
                  <td>
                    {point.ttftMs?.toFixed(1) ?? '—'}
                    {point.cold && <span class="muted small"> cold: includes the model load</span>}
                  </td>
                  <td>{point.tokensPerSecond?.toFixed(1) ?? '—'}</td>
                  <td>
                    {point.tokens} ({point.tokenSource})
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="bench-runs">
        <h2>Bench runs</h2>
        {benchRuns.length === 0 ? (
          <p class="muted">
            No bench runs are stored yet: <code>tandem bench demo-slm demo-llm</code> records one.
          </p>
        ) : (
          <ul data-testid="bench-runs">
            {benchRuns.map((entry) => (
              <li key={entry.id}>
                <a
                  class="bench-link"
                  href={`/api/bench/runs/${entry.id}/report`}
                  target="_blank"
                  rel="noopener"
                >
                  #{entry.id} {entry.name ?? entry.models.join(' vs ')}
                </a>{' '}
                <span class="muted small">
                  {new Date(entry.startedAt).toLocaleString()} · {entry.requests} requests ·{' '}
                  {entry.status}
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
