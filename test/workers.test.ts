/**
 * rnnkit inside worker threads, as worker pools run it: several workers training at once get exactly the weights
 * training alone gets, and a worker terminated in the middle of a batch (worker.terminate(), as pools that time out
 * jobs do) leaves the process running. The terminations run in a child process, so a regression shows as its exit
 * status (SIGABRT) instead of taking jest down.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';
import { tmpdir } from 'os';
import { Worker } from 'worker_threads';
import * as rk from '../lib';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { trainSmall } = require('./helpers/worker-models');
const cacheDir = join(tmpdir(), 'rnnkit-ts-cache');

function trainInWorker(seed: number): Promise<number[][]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(__dirname, 'helpers', 'train-worker.js'), { workerData: { cacheDir, mode: 'train', seed } });
    worker.once('message', (message: { weights?: number[][]; error?: string }) => {
      if (message.error) reject(new Error(message.error));
      else resolve(message.weights!);
    });
    worker.once('error', reject);
  });
}

test('four workers training at once reach, bit for bit, the weights of training alone on the main thread', async () => {
  const alone = await trainSmall(rk, 7);
  const other = await trainSmall(rk, 8);
  const results = await Promise.all([trainInWorker(7), trainInWorker(8), trainInWorker(7), trainInWorker(8)]);
  expect(results[0]).toEqual(alone);
  expect(results[2]).toEqual(alone);
  expect(results[1]).toEqual(other);
  expect(results[3]).toEqual(other);
  expect(other).not.toEqual(alone);  // the seeds matter, so equality above is not vacuous
});

test('workers terminated in the middle of a batch leave the process alive and training', () => {
  const run = spawnSync(process.execPath, [join(__dirname, 'helpers', 'terminate-child.js'), cacheDir], {
    encoding: 'utf8', timeout: 90_000,
  });
  expect({ status: run.status, signal: run.signal, stdout: run.stdout.trim(), stderr: run.stderr.trim() })
    .toEqual({ status: 0, signal: null, stdout: 'survived 14', stderr: '' });
});
