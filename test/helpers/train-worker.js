/**
 * Worker thread for test/workers.test.ts. workerData: { cacheDir, mode, seed }.
 * - mode 'train': trains a small seeded LSTM for 2 epochs and posts { weights: number[][] } (exact float values).
 * - mode 'long': trains a model whose batches take tens of milliseconds and posts 'batch' at the start of every
 *   batch, until the parent terminates the thread (mid-batch, on purpose).
 */
'use strict';
const { parentPort, workerData } = require('worker_threads');
const rk = require('./ts-require').loadRnnkit(workerData.cacheDir);
const { trainSmall, longModel, longData } = require('./worker-models');

async function main() {
  if (workerData.mode === 'train') {
    const weights = await trainSmall(rk, workerData.seed);
    parentPort.postMessage({ weights });
    return;
  }
  const model = longModel(rk);
  const { x, y } = longData(rk);
  await model.fit(x, y, {
    epochs: 1000, batchSize: 128, verbose: 0, seed: 1,
    callbacks: [{ onBatchBegin: () => parentPort.postMessage('batch') }],
  });
}

main().catch((error) => parentPort.postMessage({ error: `${error.code ?? ''} ${error.message}` }));
