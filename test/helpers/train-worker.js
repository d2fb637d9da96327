/**
 * Worker thread for test/workers.test.ts. workerData: { cacheDir, mode, seed }.
 * - mode 'train': trains a small seeded LSTM for 2 epochs and posts { weights: number[][] } (exact float values).
 * - mode 'long': trains a model whose batches take tens of milliseconds and posts 'batch' at the start of every
 *   batch, until the parent terminates the thread (mid-batch, on purpose).
 * - mode 'sync': posts 'batch' once, then reads and writes all weights synchronously until terminated.
 * - mode 'rapid': posts 'batch' once, then predicts one sample after another until terminated.
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
  if (workerData.mode === 'rapid') {
    // One-sample predictions back to back: a batch is queued every few hundred microseconds, so the termination
    // often lands while the addon queues one (napi_queue_async_work failing in a dying environment).
    const one = rk.tensor(x.data.subarray(0, x.size / x.shape[0]), [1, ...x.shape.slice(1)]);
    parentPort.postMessage('batch');
    for (;;) await model.predictOnBatch(one);
  }
  if (workerData.mode === 'sync') {
    // Synchronous calls into the addon back to back, so the termination lands inside one of them too (not only
    // in a batch completion): each reads and writes every weight.
    parentPort.postMessage('batch');
    for (;;) model.setWeights(model.getWeights());
  }
  await model.fit(x, y, {
    epochs: 1000, batchSize: 128, verbose: 0, seed: 1,
    callbacks: [{ onBatchBegin: () => parentPort.postMessage('batch') }],
  });
}

main().catch((error) => parentPort.postMessage({ error: `${error.code ?? ''} ${error.message}` }));
