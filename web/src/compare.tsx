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
import {
  type BenchRunSummary,
  getJson,
  type ReportLink,
  type ServedModel,
  sendJson,
  storedApiKey,
} from './api.js';
import {
  LatencyCharts,
  measureServerRun,
  type RunPoint,
  rateText,
  useRunPoints,
} from './latency.js';

interface Pane {
  model: string;
  text: string;
  status: 'waiting' | 'streaming' | 'done' | 'error' | 'not run';
  error?: string;
  point?: RunPoint;
}

export function ComparePage() {
  const [models, setModels] = useState<ServedModel[]>([]);
  const [selected, setSelected] = useState<string[]>([]);
  const [prompt, setPrompt] = useState(
    'Explain in three sentences why small language models matter.',
  );
  const [maxTokens, setMaxTokens] = useState(64);
  const [panes, setPanes] = useState<Pane[]>([]);
  const { points, add, clear } = useRunPoints();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [benchRuns, setBenchRuns] = useState<BenchRunSummary[]>([]);
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
    getJson<{ data: BenchRunSummary[] }>('/api/bench/runs')
      .then((body) => setBenchRuns(body.data))
      .catch((failure: Error) => setError(failure.message));
  }, []);

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
    for (const [index, model] of order.entries()) {
      if (abort.signal.aborted) {
        patch(index, { status: 'not run' });
        continue;
      }
      patch(index, { status: 'streaming' });
      let text = '';
      try {
        const served = await getJson<{ data: ServedModel[] }>('/api/models');
        const cold = served.data.find((entry) => entry.name === model)?.loaded === false;
        const measured = await measureServerRun(
          model,
          prompt,
          maxTokens,
          (piece) => {
            text += piece;
            patch(index, { text });
          },
          abort.signal,
        );
        const point = add({ ...measured, cold });
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
                {rateText(pane.point)} · {pane.point.tokens} tokens ({pane.point.tokenSource})
              </div>
            )}
          </article>
        ))}
      </section>
      <LatencyCharts
        points={points}
        onClear={clear}
        empty="Run a prompt: each run adds a point per model."
      />
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
                  onClick={(event) => {
                    if (storedApiKey() === undefined) return;
                    // A new tab sends no key: open it on a one-time link instead.
                    event.preventDefault();
                    const tab = window.open('', '_blank');
                    if (tab !== null) tab.opener = null;
                    sendJson<ReportLink>(`/api/bench/runs/${entry.id}/report-link`, 'POST', {})
                      .then(({ url }) => {
                        if (tab !== null) tab.location.href = url;
                      })
                      .catch((problem: Error) => {
                        tab?.close();
                        setError(problem.message);
                      });
                  }}
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
