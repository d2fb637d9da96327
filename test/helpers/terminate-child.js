/**
 * Child process for test/workers.test.ts: starts worker threads that train, terminates each in the middle of a
 * batch (worker.terminate() after its batch began, at a different delay each time), and meanwhile trains in this
 * thread too; then eight more inside synchronous calls into the addon
 * or while it queues one small batch after another. Prints 'survived <n>' when all of it is over. Before rnnkit dropped completions into a dying
 * environment, the first terminate aborted this whole process (SIGABRT from std::terminate).
 *
 * Usage: node terminate-child.js <transpile cache dir>
 */
'use strict';
const path = require('path');
const { Worker } = require('worker_threads');
const cacheDir = process.argv[2];
const rk = require('./ts-require').loadRnnkit(cacheDir);
const { trainSmall } = require('./worker-models');

function terminateMidBatch(delayMs, batchesFirst, mode = 'long') {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'train-worker.js'), { workerData: { cacheDir, mode } });
    let seen = 0;
    worker.on('message', (message) => {
      if (message && message.error) reject(new Error(message.error));
      if (message === 'batch' && ++seen === batchesFirst) setTimeout(() => worker.terminate(), delayMs);
    });
    worker.on('error', reject);
    worker.on('exit', () => resolve(seen));
  });
}

async function main() {
  const delays = [0, 1, 3, 7, 15, 30];
  let terminated = 0;
  // Two at a time, with training on this thread alongside, so completions meet dying environments while the task
  // pool is shared.
  for (let i = 0; i < delays.length; i += 2) {
    await Promise.all([terminateMidBatch(delays[i], 1 + (i % 3)), terminateMidBatch(delays[i + 1], 2), trainSmall(rk, i)]);
    terminated += 2;
  }
  // Workers terminated inside synchronous calls into the addon (getWeights / setWeights), and while they queue
  // one small batch after another.
  for (const delay of [0, 2, 5, 11]) {
    await terminateMidBatch(delay, 1, 'sync');
    await terminateMidBatch(delay, 1, 'rapid');
    terminated += 2;
  }
  process.stdout.write(`survived ${terminated}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
