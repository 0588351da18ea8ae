/**
 * Presets for OpenAI-compatible local servers: where each one listens by default, what it
 * is called in messages, and how to start it when it cannot be reached.
 */
import { execFile } from 'node:child_process';
import { InvalidArgumentError } from '../../errors.js';

export type PresetName = 'foundry' | 'ollama' | 'llamacpp' | 'lmstudio' | 'vllm' | 'openai';

export interface Preset {
  name: PresetName;
  /** The server's name as messages show it. */
  displayName: string;
  /** Base URL (ending in /v1) when nothing else says where the server is; none for `openai`. */
  defaultBaseUrl: string | undefined;
  /** What to do when the server cannot be reached; one sentence. */
  startHint: string;
}

export const presets: Readonly<Record<PresetName, Preset>> = {
  foundry: {
    name: 'foundry',
    displayName: 'Foundry Local',
    defaultBaseUrl: 'http://localhost:5273/v1',
    startHint: "Start it with 'foundry service start' or set FOUNDRY_LOCAL_ENDPOINT.",
  },
  ollama: {
    name: 'ollama',
    displayName: 'Ollama',
    defaultBaseUrl: 'http://localhost:11434/v1',
    startHint: "Start it with 'ollama serve'.",
  },
  llamacpp: {
    name: 'llamacpp',
    displayName: 'llama-server',
    defaultBaseUrl: 'http://localhost:8080/v1',
    startHint: "Start it with 'llama-server -m <model.gguf> --port 8080'.",
  },
  lmstudio: {
    name: 'lmstudio',
    displayName: 'LM Studio',
    defaultBaseUrl: 'http://localhost:1234/v1',
    startHint: "Start its server with 'lms server start' or from the LM Studio app.",
  },
  vllm: {
    name: 'vllm',
    displayName: 'vLLM',
    defaultBaseUrl: 'http://localhost:8000/v1',
    startHint: "Start it with 'vllm serve <model>'.",
  },
  openai: {
    name: 'openai',
    displayName: 'the server',
    defaultBaseUrl: undefined,
    startHint: 'Check that the server is running and that the URL is right.',
  },
};

export function isPresetName(value: string): value is PresetName {
  return Object.hasOwn(presets, value);
}

export function getPreset(name: string): Preset {
  if (!isPresetName(name)) {
    throw new InvalidArgumentError(
      `Unknown server preset '${name}'. Use one of: ${Object.keys(presets).join(', ')}.`,
    );
  }
  return presets[name];
}

export interface CommandResult {
  /** Exit code; null when the command did not exit by itself (timed out, killed). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** `not-found`: no such executable on PATH; `timeout`: killed after timeoutMs. */
  failure?: 'not-found' | 'timeout' | 'other';
}

/** Runs an executable with arguments (no shell). Never throws for a failing command. */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  options: { timeoutMs: number },
) => Promise<CommandResult>;

/** The real command runner, on node:child_process `execFile`. */
export function createProcessCommandRunner(
  environment: Readonly<Record<string, string | undefined>>,
): CommandRunner {
  return (command, args, options) =>
    new Promise((resolve) => {
      execFile(
        command,
        [...args],
        {
          timeout: options.timeoutMs,
          env: environment,
          windowsHide: true,
          maxBuffer: 1024 * 1024,
        },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve({ exitCode: 0, stdout, stderr });
            return;
          }
          const code = (error as NodeJS.ErrnoException).code;
          const failure: CommandResult['failure'] =
            code === 'ENOENT'
              ? 'not-found'
              : error.killed && error.signal !== null
                ? 'timeout'
                : typeof code === 'number'
                  ? undefined
                  : 'other';
          const result: CommandResult = {
            exitCode: typeof code === 'number' ? code : null,
            stdout,
            stderr,
          };
          resolve(failure === undefined ? result : { ...result, failure });
        },
      );
    });
}

export const foundryStatusTimeoutMs = 5_000;

export type BaseUrlSource = 'option' | 'environment' | 'foundry-status' | 'default';

export interface ResolvedBaseUrl {
  baseUrl: string;
  source: BaseUrlSource;
}

export interface ResolvePresetBaseUrlOptions {
  environment: Readonly<Record<string, string | undefined>>;
  runCommand: CommandRunner;
}

/**
 * Takes `scheme://host:port` from the first http(s) URL in a text, e.g. from
 * "🟢 Model management service is running on http://127.0.0.1:52735/openai/status".
 */
export function findServiceOrigin(text: string): string | undefined {
  for (const match of text.matchAll(/https?:\/\/[^\s'"<>`]+/gi)) {
    try {
      const url = new URL(match[0].replace(/[.,;:!?)\]}]+$/, ''));
      if (url.hostname !== '') return url.origin;
    } catch {
      // Not a URL after all; try the next one.
    }
  }
  return undefined;
}

/**
 * Where a preset's server listens. Foundry Local: FOUNDRY_LOCAL_ENDPOINT as given, else the
 * URL `foundry service status` (then `foundry server status`) prints plus /v1, else
 * http://localhost:5273/v1. Other presets: their fixed default port. `openai` has none.
 */
export async function resolvePresetBaseUrl(
  presetName: PresetName,
  options: ResolvePresetBaseUrlOptions,
): Promise<ResolvedBaseUrl> {
  const preset = presets[presetName];
  if (presetName === 'foundry') {
    const fromEnvironment = options.environment.FOUNDRY_LOCAL_ENDPOINT?.trim();
    if (fromEnvironment !== undefined && fromEnvironment !== '') {
      return { baseUrl: fromEnvironment, source: 'environment' };
    }
    for (const args of [
      ['service', 'status'],
      ['server', 'status'],
    ]) {
      const result = await options.runCommand('foundry', args, {
        timeoutMs: foundryStatusTimeoutMs,
      });
      if (result.failure === 'not-found') break;
      const origin = findServiceOrigin(`${result.stdout}\n${result.stderr}`);
      if (origin !== undefined) return { baseUrl: `${origin}/v1`, source: 'foundry-status' };
    }
  }
  if (preset.defaultBaseUrl === undefined) {
    throw new InvalidArgumentError(
      `The '${presetName}' preset needs a base URL, e.g. http://localhost:8000/v1.`,
    );
  }
  return { baseUrl: preset.defaultBaseUrl, source: 'default' };
}
