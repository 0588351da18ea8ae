import { Worker } from 'node:worker_threads';

/**
 * Measures memory read bandwidth with `threads` workers, each comparing two large buffers
 * (memcmp reads both; nothing is written). Buffers far larger than the caches force the
 * reads to come from DRAM, which is where decode reads its weights from.
 */
export async function measureReadBandwidth({
  threads,
  bytesPerThread = 256 * 1024 * 1024,
  repetitions = 5,
}: {
  threads: number;
  bytesPerThread?: number;
  repetitions?: number;
}): Promise<{ bytesPerSecond: number; samplesBytesPerSecond: number[] }> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const half = workerData.bytes / 2;
    const a = Buffer.alloc(half, 7);
    const b = Buffer.alloc(half, 7);
    parentPort.postMessage('ready');
    parentPort.on('message', () => {
      let sink = 0;
      sink += a.compare(b);
      parentPort.postMessage(sink);
    });
  `;
  const workers = Array.from(
    { length: threads },
    () => new Worker(source, { eval: true, workerData: { bytes: bytesPerThread } }),
  );
  try {
    await Promise.all(
      workers.map((worker) => new Promise((resolve) => worker.once('message', resolve))),
    );
    const samples: number[] = [];
    for (let repetition = 0; repetition < repetitions + 1; repetition++) {
      const started = performance.now();
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise((resolve) => {
              worker.once('message', resolve);
              worker.postMessage('go');
            }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      // The first pass pages the buffers in; it is not counted.
      if (repetition > 0) samples.push((threads * bytesPerThread) / seconds);
    }
    samples.sort((x, y) => x - y);
    return {
      bytesPerSecond: samples[Math.floor(samples.length / 2)] as number,
      samplesBytesPerSecond: samples,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
