/**
 * npm run eval:retrieval — retrieval quality of tandem's RAG on the repository's fixed set
 * (datasets/retrieval: documents/*.md and questions.jsonl, each question naming the document
 * that answers it): recall@1, recall@5 and MRR for BM25, and for vector and hybrid retrieval
 * when EVAL_EMBED_MODEL names an embedding-capable model reference; then the misses.
 *
 * Environment: EVAL_EMBED_MODEL (e.g. demo-slm, ollama:nomic-embed-text), EVAL_RETRIEVAL_DIR
 * (default: the repository's datasets/retrieval), TANDEM_HOME.
 */

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../src/engines/registry.js';
import type { Engine } from '../src/engines/spec.js';
import { errorLine, TandemError } from '../src/errors.js';
import { isDemoModelName } from '../src/models/demo/definitions.js';
import { type Embedder, engineEmbedder } from '../src/rag/embedder.js';
import {
  evaluateRetrieval,
  loadQuestions,
  type ModeEvaluation,
} from '../src/rag/search/retrieval-eval.js';

const DEFAULT_FOLDER = fileURLToPath(new URL('../../datasets/retrieval', import.meta.url));

function percent(share: number): string {
  return `${(100 * share).toFixed(1)}%`;
}

function scoreLine(evaluation: ModeEvaluation): string {
  return `${evaluation.mode.padEnd(7)} recall@1 ${percent(evaluation.recallAt1)}  recall@${evaluation.k} ${percent(evaluation.recallAtK)}  MRR@${evaluation.k} ${evaluation.meanReciprocalRank.toFixed(3)}  (${evaluation.questions} questions, ${evaluation.meanRetrievalMs.toFixed(2)} ms each)`;
}

async function main(): Promise<void> {
  const folder = process.env.EVAL_RETRIEVAL_DIR?.trim() || DEFAULT_FOLDER;
  const embedModel = process.env.EVAL_EMBED_MODEL?.trim() || undefined;
  const questions = await loadQuestions(join(folder, 'questions.jsonl'));
  let engine: Engine | undefined;
  let embedder: Embedder | undefined;
  if (embedModel !== undefined) {
    engine = await createEngine(embedModel);
    embedder = engineEmbedder(engine, embedModel);
  }
  try {
    const evaluation = await evaluateRetrieval(join(folder, 'documents'), questions, {
      ...(embedder === undefined ? {} : { embedder }),
    });
    console.log(
      `eval:retrieval — ${questions.length} questions over ${evaluation.documents} documents (${evaluation.chunks} chunks, indexed in ${evaluation.indexMs.toFixed(0)} ms${embedModel === undefined ? '' : ` with vectors from ${embedModel}`}) from ${folder}`,
    );
    if (embedModel !== undefined && isDemoModelName(embedModel.replace(/^(llama|onnx):/, ''))) {
      console.log(
        `  note: ${embedModel} has random weights, so its embeddings are random too: its vector and hybrid figures only show the pipeline working, not retrieval quality. Use a real embedding model (e.g. ollama:nomic-embed-text) for those.`,
      );
    }
    console.log('');
    for (const mode of evaluation.modes) console.log(`  ${scoreLine(mode)}`);
    for (const mode of evaluation.modes) {
      console.log(
        `\n${mode.mode} misses (no chunk of the answering document in the top ${mode.k}): ${mode.misses.length}`,
      );
      for (const miss of mode.misses) {
        console.log(`  ${miss.id}: "${miss.question}"`);
        console.log(`    wanted ${miss.document}; got ${miss.retrieved.join(', ') || 'nothing'}`);
      }
    }
  } finally {
    await engine?.dispose();
  }
}

await main().catch((error: unknown) => {
  console.error(`error: ${errorLine(error)}`);
  process.exitCode = error instanceof TandemError ? error.exitCode : 1;
});
