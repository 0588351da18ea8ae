/**
 * The web app served by `tandem serve` at `/`: built into dist/web with the package, so it
 * needs no network at run time (no CDN, fonts or scripts from outside; ONNX Runtime's wasm
 * files are emitted as assets). `npm run build` runs this after tsc.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // The in-browser engine's worker is a module: ONNX Runtime imports its wasm glue (.mjs).
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // transformers.js is one large chunk, loaded only by the in-browser page.
    chunkSizeWarningLimit: 1500,
  },
});
