/**
 * ONNX model folders that the web app's "In the browser" page runs inside the browser with
 * transformers.js: the demo models (written on first use, as `tandem run onnx:demo-slm`
 * writes them) and any folder the server is told to expose (`serve --browser-model
 * NAME=FOLDER`). The page lists them from GET /api/browser-models and transformers.js reads
 * their files from GET /models/NAME/… (config.json, tokenizer files, onnx/model*.onnx).
 */

import { createReadStream, existsSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { InvalidArgumentError } from '../../errors.js';
import {
  DEMO_MODEL_NAMES,
  type DemoModelName,
  isDemoModelName,
} from '../../models/demo/demo-models.js';
import { demoOnnxFolderPath, ensureDemoOnnxModel } from '../../models/demo/demo-onnx.js';
import { inspectOnnxModelFolder } from '../../models/onnx/model-folder.js';
import {
  ONNX_DTYPE_FILE_SUFFIX,
  ONNX_DTYPES,
  type OnnxDtype,
} from '../../models/onnx/onnx-dtypes.js';
import type { ServerEnv } from '../server-env.js';
import { contentType, fileUnder } from './web-assets.js';

/** A folder to expose under a name: `--browser-model NAME=FOLDER`. */
export interface BrowserModelConfig {
  name: string;
  path: string;
}

export interface BrowserModelEntry {
  name: string;
  /** A built-in random-weight demo model. */
  demo: boolean;
  /** The dtypes whose weights the folder holds (fp32 first when present). */
  dtypes: OnnxDtype[];
  /** Bytes of each dtype's weights (the .onnx file and its external data). */
  weightBytes: Partial<Record<OnnxDtype, number>>;
  /** False for a demo model not written yet: the first request writes it (demo-llm: ~300 MB). */
  ready: boolean;
}

const NAME_PATTERN = /^\w[\w.-]{0,127}$/;

/**
 * The files of a model folder the browser may read: the JSON files at the top (config,
 * tokenizer, generation config) and the ONNX weights with their external data. Nothing else
 * in an exposed folder (a .git folder, notes, other files) is served.
 */
const SERVED_FILE = /^\/(?:[\w.-]+\.json|onnx\/model(?:_[a-z0-9]+)?\.onnx(?:_data(?:_\d+)?)?)$/;

/** `NAME=FOLDER` from the command line, checked as an ONNX model folder. */
export function parseBrowserModel(text: string): BrowserModelConfig {
  const equals = text.indexOf('=');
  if (equals <= 0 || equals === text.length - 1) {
    throw new InvalidArgumentError(
      `--browser-model '${text}' is not NAME=FOLDER: e.g. --browser-model phi=./models/phi-4-mini-onnx.`,
    );
  }
  const name = text.slice(0, equals).trim();
  const path = text.slice(equals + 1).trim();
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(
      `--browser-model name '${name}' may only use letters, digits and . _ - and must start with a letter or digit (it becomes a URL path).`,
    );
  }
  return { name, path };
}

/** Bytes of onnx/model{suffix}.onnx plus its external data files, or undefined when absent. */
async function weightBytes(folder: string, dtype: OnnxDtype): Promise<number | undefined> {
  const base = `model${ONNX_DTYPE_FILE_SUFFIX[dtype]}.onnx`;
  try {
    let total = (await stat(`${folder}/onnx/${base}`)).size;
    for (let part = 0; ; part += 1) {
      const data = `${folder}/onnx/${base}_data${part === 0 ? '' : `_${part}`}`;
      const info = await stat(data).catch(() => undefined);
      if (info === undefined) break;
      total += info.size;
    }
    return total;
  } catch {
    return undefined;
  }
}

export class BrowserModels {
  readonly #folders = new Map<string, string>();
  /** Demo folders checked (or written) by this server: checked once, not per request. */
  readonly #demoFolders = new Map<DemoModelName, Promise<string>>();
  readonly #modelsDirectory: string;

  /**
   * `models` are checked now (a folder that is not an ONNX model folder is an error that
   * names what is missing); the demo models are always added after them.
   */
  constructor(models: readonly BrowserModelConfig[], modelsDirectory: string) {
    this.#modelsDirectory = modelsDirectory;
    for (const model of models) {
      if (isDemoModelName(model.name)) {
        throw new InvalidArgumentError(
          `--browser-model ${model.name}: '${model.name}' is a built-in demo model and is always offered; pick another name.`,
        );
      }
      if (this.#folders.has(model.name)) {
        throw new InvalidArgumentError(`--browser-model ${model.name} is given twice.`);
      }
      if (!existsSync(model.path) || !statSync(model.path).isDirectory()) {
        throw new InvalidArgumentError(
          `--browser-model ${model.name}: no folder at ${model.path}; give the folder that holds config.json and onnx/model.onnx.`,
        );
      }
      this.#folders.set(model.name, inspectOnnxModelFolder(model.path).path);
    }
  }

  get names(): string[] {
    return [...this.#folders.keys(), ...DEMO_MODEL_NAMES];
  }

  has(name: string): boolean {
    return this.#folders.has(name) || isDemoModelName(name);
  }

  /**
   * The folder of a model. A demo model's folder is checked (its weights hashed) or written
   * on the first request only; a failed write is tried again on the next request.
   */
  async folderOf(name: string): Promise<string | undefined> {
    const folder = this.#folders.get(name);
    if (folder !== undefined) return folder;
    if (!isDemoModelName(name)) return undefined;
    let ready = this.#demoFolders.get(name);
    if (ready === undefined) {
      ready = ensureDemoOnnxModel(name, { modelsDirectory: this.#modelsDirectory }).then(
        (result) => result.path,
      );
      this.#demoFolders.set(name, ready);
      ready.catch(() => this.#demoFolders.delete(name));
    }
    return ready;
  }

  async list(): Promise<BrowserModelEntry[]> {
    const entries: BrowserModelEntry[] = [];
    for (const name of this.names) {
      const demo = isDemoModelName(name);
      const folder =
        this.#folders.get(name) ?? demoOnnxFolderPath(this.#modelsDirectory, name as DemoModelName);
      const sizes: Partial<Record<OnnxDtype, number>> = {};
      for (const dtype of ONNX_DTYPES) {
        const bytes = await weightBytes(folder, dtype);
        if (bytes !== undefined) sizes[dtype] = bytes;
      }
      const present = ONNX_DTYPES.filter((dtype) => sizes[dtype] !== undefined);
      entries.push({
        name,
        demo,
        // A demo folder not yet written will hold fp32 weights, as tandem writes them.
        dtypes: present.length > 0 || !demo ? present : ['fp32'],
        weightBytes: sizes,
        ready: present.length > 0,
      });
    }
    return entries;
  }
}

/**
 * GET /models/NAME/PATH, mounted at /models (the list is GET /api/browser-models). Files are
 * streamed from disk (a model's weights can be gigabytes) and only from inside the model's
 * folder.
 */
export function browserModelFileRoutes(models: BrowserModels): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();
  routes.get('/:name/*', async (c) => {
    const name = c.req.param('name');
    if (!models.has(name)) {
      return c.json(
        {
          error: {
            message: `No browser model '${name.slice(0, 100)}'. Offered: ${models.names.join(', ')}; expose a folder with tandem serve --browser-model NAME=FOLDER.`,
          },
        },
        404,
      );
    }
    const relative = c.req.path.slice(`/models/${name}`.length);
    if (!SERVED_FILE.test(relative)) {
      return c.json(
        {
          error: {
            message: `${name} has no file ${decodeURIComponentSafe(relative)} to serve: only its top-level .json files and onnx/model*.onnx (with their _data files) are served.`,
          },
        },
        404,
      );
    }
    let folder: string | undefined;
    try {
      folder = await models.folderOf(name);
    } catch (error) {
      return c.json(
        {
          error: {
            message: `Could not prepare '${name}': ${error instanceof Error ? error.message : String(error)}`,
          },
        },
        500,
      );
    }
    const path = folder === undefined ? undefined : fileUnder(folder, relative);
    const info = path === undefined ? undefined : await stat(path).catch(() => undefined);
    if (path === undefined || info === undefined || !info.isFile()) {
      return c.json(
        { error: { message: `${name} has no file ${decodeURIComponentSafe(relative)}.` } },
        404,
      );
    }
    const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, {
      'content-type': contentType(path),
      'content-length': String(info.size),
      'cache-control': 'no-cache',
      'last-modified': info.mtime.toUTCString(),
      'x-content-type-options': 'nosniff',
    });
  });
  return routes;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text).slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
