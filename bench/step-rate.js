#!/usr/bin/env node
'use strict';
/**
 * One rnnkit measurement, quickly: samples/s of trainOnBatch or predictOnBatch for one workload of the shared
 * workloads file at a chosen batch size, for A/B checks of a kernel change and for profiling
 * (`perf record -g node bench/step-rate.js W1 train`). Not a substitute for run.js: no tfjs, no GEMM reference,
 * no repetitions statistics, just the rate over a fixed time after a warm-up.
 *
 *   node bench/step-rate.js <workload> <train|predict> [batch] [seconds]     (threads: RNNKIT_THREADS)
 */
const { loadWorkloads } = require('./workloads');
const { makeBatch } = require('./data');
const { buildRnnkitModel } = require('./rnnkit_runner');

const USAGE = 'usage: node bench/step-rate.js <workload id> <train|predict> [batch] [seconds]';

async function main() {
  const [id, measure, batchArg, secondsArg] = process.argv.slice(2);
  const workload = loadWorkloads().find((w) => w.id === id);
  if (!workload || !['train', 'predict'].includes(measure)) throw new Error(`Expected a workload id and train|predict but received '${id}' '${measure}'\n${USAGE}`);
  const batch = batchArg === undefined ? (workload.kind === 'infer' ? workload.inferBatches[workload.inferBatches.length - 1] : workload.B) : Number(batchArg);
  const seconds = secondsArg === undefined ? 3 : Number(secondsArg);
  if (!Number.isInteger(batch) || batch < 1 || !(seconds > 0)) throw new Error(`Expected a batch >= 1 and seconds > 0 but received '${batchArg}' '${secondsArg}'\n${USAGE}`);

  const rk = require('..');
  const model = buildRnnkitModel(rk, workload, 1234);
  const data = makeBatch(workload, batch, 1234);
  const x = rk.tensor(data.x, data.xShape), y = rk.tensor(data.y, data.yShape);
  const step = measure === 'train' ? () => model.trainOnBatch(x, y) : () => model.predictOnBatch(x);
  for (let i = 0; i < 3; i++) await step();
  const start = process.hrtime.bigint();
  let steps = 0;
  while (Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
    await step();
    steps++;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${id} ${measure} batch ${batch}, ${rk.getThreads()} thread(s): ${((steps * batch) / elapsed).toFixed(0)} samples/s (${steps} steps in ${elapsed.toFixed(2)} s)`);
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
});
