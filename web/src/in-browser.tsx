/**
 * In the browser: a model runs inside this page (in a worker) with transformers.js on
 * onnxruntime-web, on WebGPU when the browser offers an adapter and WASM otherwise, and the
 * page says which one ONNX Runtime really uses. Its runs go onto the same latency chart as
 * Compare's, and the same prompt can be sent to a served model right after, so in-browser and
 * server inference sit side by side.
 */

import { useEffect, useRef, useState } from 'preact/hooks';
import { failure, getJson, type ServedModel, serverFetch, storedApiKey } from './api.js';
import type {
  BrowserBackend,
  WebGpuProbe,
  WorkerReply,
  WorkerRequest,
} from './browser-protocol.js';
import {
  LatencyCharts,
  measureServerRun,
  type RunPoint,
  rateText,
  timings,
  useRunPoints,
} from './latency.js';

interface BrowserModel {
  name: string;
  demo: boolean;
  dtypes: string[];
  weightBytes: Record<string, number | undefined>;
  ready: boolean;
}

type BackendChoice = 'auto' | BrowserBackend;

interface Loaded {
  key: string;
  backend: BrowserBackend;
  detail: string;
  loadMs: number;
  runs: number;
}

type Done = Extract<WorkerReply, { type: 'done' }>;

type Pending = {
  expect: WorkerReply['type'];
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
};

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * The worker and its requests: each request has an id, and only the reply (or error) with
 * that id settles it. A worker that fails, or is ended, rejects everything still waiting.
 */
class InBrowserRunner {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #dead: Error | undefined;

  constructor(
    onText: (text: string) => void,
    onProgress: (reply: Extract<WorkerReply, { type: 'progress' }>) => void,
  ) {
    this.#worker = new Worker(new URL('./browser-worker.ts', import.meta.url), {
      type: 'module',
      name: 'tandem-in-browser',
    });
    this.#worker.addEventListener('message', (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      if (reply.type === 'text') onText(reply.text);
      else if (reply.type === 'progress') onProgress(reply);
      else {
        const pending = this.#pending.get(reply.id);
        if (pending === undefined) return;
        this.#pending.delete(reply.id);
        if (reply.type === 'error') pending.reject(new Error(reply.message));
        else if (reply.type === pending.expect) pending.resolve(reply);
        else pending.reject(new Error(`The worker answered ${reply.type}, not ${pending.expect}.`));
      }
    });
    this.#worker.addEventListener('error', (event) => {
      this.#end(
        new Error(`The in-browser worker failed: ${event.message || 'it could not start'}.`),
      );
    });
  }

  /** The error that ended this worker, if one did: it takes no more requests. */
  get dead(): Error | undefined {
    return this.#dead;
  }

  request<T extends WorkerReply['type']>(
    message: WithoutId<Exclude<WorkerRequest, { type: 'stop' }>>,
    expect: T,
  ): Promise<Extract<WorkerReply, { type: T }>> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { expect, resolve: resolve as (reply: WorkerReply) => void, reject });
      this.#worker.postMessage({ ...message, id } as WorkerRequest);
    });
  }

  /** Asks the generation in progress to stop after its current token. */
  stop(): void {
    this.#worker.postMessage({ type: 'stop' } satisfies WorkerRequest);
  }

  /** Ends the worker (and the model in it) at once. */
  terminate(reason = 'Stopped.'): void {
    this.#worker.terminate();
    this.#end(new Error(reason));
  }

  #end(error: Error): void {
    this.#dead ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/** How long Stop waits for the worker to finish its token before ending the worker. */
const STOP_GRACE_MS = 2000;

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function probeLine(probe: WebGpuProbe | undefined): string {
  if (probe === undefined) return 'WebGPU: checking…';
  if (!probe.available) return `WebGPU: not available, ${probe.reason}. Auto runs on WASM.`;
  return `WebGPU: available, ${probe.adapter}${probe.fallback ? ' (a software adapter: it runs on the CPU, so expect it to be slow)' : ''}${probe.shaderF16 ? '' : '; no shader-f16, so fp32, q8 or q4 weights only'}.`;
}

export function InBrowserPage() {
  const [models, setModels] = useState<BrowserModel[]>([]);
  const [served, setServed] = useState<ServedModel[]>([]);
  const [modelName, setModelName] = useState('');
  const [dtype, setDtype] = useState('fp32');
  const [choice, setChoice] = useState<BackendChoice>('auto');
  const [probe, setProbe] = useState<WebGpuProbe | undefined>();
  const [prompt, setPrompt] = useState(
    'Explain in three sentences why small language models matter.',
  );
  const [maxTokens, setMaxTokens] = useState(32);
  const [serverModel, setServerModel] = useState('');
  const [phase, setPhase] = useState<'idle' | 'loading' | 'generating' | 'server'>('idle');
  const [progress, setProgress] = useState<string | undefined>();
  const [loaded, setLoaded] = useState<Loaded | undefined>();
  const [browserText, setBrowserText] = useState('');
  const [browserPoint, setBrowserPoint] = useState<RunPoint | undefined>();
  const [finish, setFinish] = useState<string | undefined>();
  const [serverText, setServerText] = useState('');
  const [serverPoint, setServerPoint] = useState<RunPoint | undefined>();
  const [error, setError] = useState<string | undefined>();
  const { points, add, clear } = useRunPoints();
  const runner = useRef<InBrowserRunner | undefined>(undefined);
  const serverAbort = useRef<AbortController | undefined>(undefined);
  const stopped = useRef(false);
  /** The phase as the Stop button's timer sees it (state in a closure would be stale). */
  const phaseNow = useRef<typeof phase>('idle');
  const enter = (next: typeof phase) => {
    phaseNow.current = next;
    setPhase(next);
  };

  /** The worker, or a new one when there is none or the last one died (its model with it). */
  const ensureRunner = (): InBrowserRunner => {
    if (runner.current?.dead !== undefined) {
      runner.current = undefined;
      setLoaded(undefined);
    }
    runner.current ??= new InBrowserRunner(
      (text) => setBrowserText((current) => current + text),
      (reply) =>
        setProgress(
          `Reading ${reply.file}: ${megabytes(reply.loadedBytes)} of ${megabytes(reply.totalBytes)}`,
        ),
    );
    return runner.current;
  };

  const refreshModels = () =>
    getJson<{ data: BrowserModel[] }>('/api/browser-models').then((body) => {
      setModels(body.data);
      return body.data;
    });

  useEffect(() => {
    refreshModels()
      .then((data) => {
        const first = data[0];
        if (first !== undefined) {
          setModelName(first.name);
          setDtype(first.dtypes.includes('fp32') ? 'fp32' : (first.dtypes[0] ?? 'fp32'));
        }
      })
      .catch((failure: Error) => setError(failure.message));
    getJson<{ data: ServedModel[] }>('/api/models')
      .then((body) => setServed(body.data))
      .catch((failure: Error) => setError(failure.message));
    ensureRunner()
      .request({ type: 'probe' }, 'probe')
      .then((reply) => setProbe(reply.webgpu))
      .catch((failure: Error) => setProbe({ available: false, reason: failure.message }));
    return () => {
      runner.current?.terminate();
      runner.current = undefined;
      serverAbort.current?.abort();
    };
  }, []);

  const model = models.find((entry) => entry.name === modelName);
  const backend: BrowserBackend | undefined =
    choice === 'auto'
      ? probe === undefined
        ? undefined
        : probe.available
          ? 'webgpu'
          : 'wasm'
      : choice;
  const loadKey = `${modelName}|${dtype}|${backend}`;

  /** A new model, dtype or backend needs a fresh worker: the old one and its model go. */
  const unload = (reason?: string) => {
    runner.current?.terminate(reason);
    runner.current = undefined;
    setLoaded(undefined);
  };

  const run = async () => {
    if (model === undefined || backend === undefined || probe === undefined) return;
    if (prompt.trim() === '') return;
    setError(undefined);
    setBrowserText('');
    setBrowserPoint(undefined);
    setFinish(undefined);
    setServerText('');
    setServerPoint(undefined);
    stopped.current = false;
    try {
      let current = runner.current?.dead === undefined ? loaded : undefined;
      if (current?.key !== loadKey) {
        if (runner.current !== undefined) unload();
        enter('loading');
        // The server prepares the model (a demo model is checked or written) and answers
        // with its own message when it cannot, before the worker and its clock start.
        setProgress(
          model.ready ? 'Asking the server for the model…' : 'The server is writing the model…',
        );
        const check = await serverFetch(`/models/${encodeURIComponent(model.name)}/config.json`);
        if (!check.ok) throw await failure(check);
        await check.body?.cancel();
        setProgress('Starting ONNX Runtime…');
        const apiKey = storedApiKey();
        const reply = await ensureRunner().request(
          {
            type: 'load',
            model: model.name,
            backend,
            dtype,
            ...(apiKey === undefined ? {} : { apiKey }),
          },
          'loaded',
        );
        current = { key: loadKey, backend, detail: reply.detail, loadMs: reply.loadMs, runs: 0 };
        setLoaded(current);
        setProgress(undefined);
        void refreshModels().catch(() => undefined);
      }
      enter('generating');
      const done: Done = await ensureRunner().request(
        { type: 'generate', prompt, maxTokens },
        'done',
      );
      const measured: Omit<RunPoint, 'run'> = {
        model: model.name,
        where: 'browser',
        backend: current.backend === 'webgpu' ? 'WebGPU' : 'WASM',
        ...timings(done.startedAtMs, done.firstTokenAtMs, done.lastTokenAtMs, done.tokens),
        tokens: done.tokens,
        tokenSource: 'engine',
        cold: current.runs === 0,
      };
      // A stopped run is shown but not charted: its figures cover only part of an answer.
      setBrowserPoint(done.finish === 'aborted' ? { run: 0, ...measured } : add(measured));
      current = { ...current, runs: current.runs + 1 };
      setLoaded(current);
      setFinish(done.finish);
      if (serverModel !== '' && !stopped.current) {
        enter('server');
        const abort = new AbortController();
        serverAbort.current = abort;
        // Asked now: the server may have unloaded the model since (or another tab loaded it).
        const servedNow = await getJson<{ data: ServedModel[] }>('/api/models');
        setServed(servedNow.data);
        const cold = servedNow.data.find((entry) => entry.name === serverModel)?.loaded === false;
        const measuredOnServer = await measureServerRun(
          serverModel,
          prompt,
          maxTokens,
          (text) => setServerText((all) => all + text),
          abort.signal,
        );
        setServerPoint(add({ ...measuredOnServer, cold }));
      }
    } catch (problem) {
      const message =
        (problem as Error).name === 'AbortError' ? 'Stopped.' : (problem as Error).message;
      // A load or generation that failed may leave a half-made session: start afresh.
      if (phaseNow.current === 'loading' || phaseNow.current === 'generating') unload(message);
      setError(message);
      setProgress(undefined);
    } finally {
      serverAbort.current = undefined;
      enter('idle');
    }
  };

  const stop = () => {
    stopped.current = true;
    if (phaseNow.current === 'loading') unload();
    else if (phaseNow.current === 'generating') {
      runner.current?.stop();
      // The worker stops after its current token; a long prompt or a wedged worker is ended.
      const stopping = runner.current;
      setTimeout(() => {
        if (phaseNow.current === 'generating' && runner.current === stopping) unload();
      }, STOP_GRACE_MS);
    } else serverAbort.current?.abort();
  };

  const busy = phase !== 'idle';
  return (
    <div class="in-browser">
      <section class="compare-controls">
        <div class="compare-options">
          <label>
            Model{' '}
            <select
              value={modelName}
              disabled={busy}
              data-testid="browser-model"
              onChange={(event) => {
                const name = (event.target as HTMLSelectElement).value;
                const next = models.find((entry) => entry.name === name);
                setModelName(name);
                if (next !== undefined && !next.dtypes.includes(dtype)) {
                  setDtype(next.dtypes.includes('fp32') ? 'fp32' : (next.dtypes[0] ?? 'fp32'));
                }
              }}
            >
              {models.map((entry) => (
                <option key={entry.name} value={entry.name}>
                  {entry.name}
                  {entry.demo ? ' (random weights)' : ''}
                </option>
              ))}
            </select>
          </label>
          <label>
            Weights{' '}
            <select
              value={dtype}
              disabled={busy}
              onChange={(event) => setDtype((event.target as HTMLSelectElement).value)}
            >
              {(model?.dtypes ?? []).map((entry) => (
                <option key={entry} value={entry}>
                  {entry}
                  {model?.weightBytes[entry] === undefined
                    ? ''
                    : `, ${megabytes(model.weightBytes[entry])}`}
                </option>
              ))}
            </select>
          </label>
          <label>
            Backend{' '}
            <select
              value={choice}
              disabled={busy}
              data-testid="browser-backend-choice"
              onChange={(event) =>
                setChoice((event.target as HTMLSelectElement).value as BackendChoice)
              }
            >
              <option value="auto">Auto: WebGPU if offered, else WASM</option>
              <option value="webgpu">WebGPU</option>
              <option value="wasm">WASM</option>
            </select>
          </label>
        </div>
        <p class="muted small" data-testid="webgpu-status">
          {probeLine(probe)}
        </p>
        <textarea
          rows={3}
          value={prompt}
          data-testid="browser-prompt"
          onInput={(event) => setPrompt((event.target as HTMLTextAreaElement).value)}
        />
        <div class="compare-options">
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
          <label>
            Then on the server{' '}
            <select
              value={serverModel}
              disabled={busy}
              data-testid="browser-server-model"
              onChange={(event) => setServerModel((event.target as HTMLSelectElement).value)}
            >
              <option value="">(nothing)</option>
              {served.map((entry) => (
                <option key={entry.name} value={entry.name}>
                  {entry.name} ({entry.engine})
                </option>
              ))}
            </select>
          </label>
          {busy ? (
            <button type="button" class="stop" onClick={stop}>
              Stop
            </button>
          ) : (
            <button
              type="button"
              class="send"
              data-testid="browser-run"
              disabled={
                model === undefined ||
                backend === undefined ||
                probe === undefined ||
                prompt.trim() === ''
              }
              onClick={() => void run()}
            >
              Run in this browser
            </button>
          )}
        </div>
        <p class="muted small">
          The model's files come from this server; nothing is fetched from anywhere else. Figures
          are measured in the worker that generates: TTFT from the call to the first token (prompt
          processing included), decode tokens/s over the tokens after it, tokens counted as they are
          generated. The load (download from this server, runtime start, session) is its own figure;
          a first run after a load is marked cold.
        </p>
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
      </section>
      <section class="panes">
        <article class="pane" data-testid="browser-pane">
          <header>
            <strong>{modelName || 'In this browser'}</strong>
            <span class="badge" data-testid="browser-backend">
              {loaded?.detail ??
                (backend === undefined
                  ? '…'
                  : `${backend === 'webgpu' ? 'WebGPU' : 'WASM'} (not loaded)`)}
            </span>
          </header>
          {progress && <div class="muted small">{progress}</div>}
          {phase === 'loading' && !progress && <div class="muted small">Loading…</div>}
          <div class="pane-text" data-testid="browser-text">
            {browserText}
          </div>
          {loaded && (
            <div class="figures" data-testid="browser-figures">
              Load {(loaded.loadMs / 1000).toFixed(2)} s
              {browserPoint && (
                <>
                  {' '}
                  · TTFT {browserPoint.ttftMs?.toFixed(0) ?? '—'} ms
                  {browserPoint.cold ? ' (cold)' : ''} · {rateText(browserPoint)} ·{' '}
                  {browserPoint.tokens} tokens (counted)
                  {finish === 'aborted' ? ' · stopped' : finish === 'length' ? ' · max tokens' : ''}
                </>
              )}
            </div>
          )}
          {model?.demo && (
            <div class="muted small">
              A demo model: random weights, so its text is noise; its speed is real.
            </div>
          )}
        </article>
        {serverModel !== '' && (serverText !== '' || serverPoint || phase === 'server') && (
          <article class="pane" data-testid="server-pane">
            <header>
              <strong>{serverModel}</strong>
              <span class="badge">on the server</span>
            </header>
            <div class="pane-text">{serverText}</div>
            {serverPoint && (
              <div class="figures">
                TTFT {serverPoint.ttftMs?.toFixed(0) ?? '—'} ms
                {serverPoint.cold ? ' (cold)' : ''} · {rateText(serverPoint)} · {serverPoint.tokens}{' '}
                tokens ({serverPoint.tokenSource})
              </div>
            )}
          </article>
        )}
      </section>
      <LatencyCharts
        points={points}
        onClear={clear}
        empty="Run the model: each run adds a point, beside the runs made on the Compare page."
      />
    </div>
  );
}
