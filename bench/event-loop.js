#!/usr/bin/env node
'use strict';
/**
 * Does training keep Node's event loop responsive? Trains a workload (default W2) with rnnkit's model.fit for a few
 * batches while a 10 ms setInterval records how late each tick fires. Prints the worst and p99 delay in ms
 * (target: under 50 ms), as text on stderr and one JSON line on stdout.
 *
 *   node bench/event-loop.js [--workloads <file>] [--workload W2] [--batches 4]
 */
const { performance } = require('perf_hooks');
const { loadWorkloads, DEFAULT_WORKLOADS_FILE } = require('./workloads');
const { makeBatch } = require('./data');
const { percentile } = require('./stats');
const { buildRnnkitModel } = require('./rnnkit_runner');

const INTERVAL_MS = 10;
const TARGET_MS = 50;
const SEED = 1234;

function parseArgs(argv) {
  const options = { workloadsFile: DEFAULT_WORKLOADS_FILE, workload: 'W2', batches: 4 };
  const names = { '--workloads': 'workloadsFile', '--workload': 'workload', '--batches': 'batches' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!names[argv[i]] || argv[i + 1] === undefined) {
      throw new Error(`Expected options among ${Object.keys(names).join(', ')}, each with a value, but received '${argv.slice(i).join(' ')}'`);
    }
    options[names[argv[i]]] = argv[i + 1];
  }
  const batches = Number(options.batches);
  if (!Number.isInteger(batches) || batches < 1) throw new Error(`Expected a positive integer for --batches but received '${options.batches}'`);
  options.batches = batches;
  return options;
}

/**
 * Starts a 10 ms interval; stop() returns each tick's delay beyond the 10 ms it asked for, and when (ms after the
 * start) the worst one ended, to tell a stall at the start (input preparation) from one during the batches.
 */
function startDelayProbe() {
  const delays = [];
  const start = performance.now();
  let last = start;
  let worstAtMs = null;
  const timer = setInterval(() => {
    const now = performance.now();
    const delay = Math.max(0, now - last - INTERVAL_MS);
    if (!delays.length || delay > Math.max(...delays)) worstAtMs = now - start;
    delays.push(delay);
    last = now;
  }, INTERVAL_MS);
  return () => {
    clearInterval(timer);
    return { delays, worstAtMs };
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const workload = loadWorkloads(options.workloadsFile).find((w) => w.id === options.workload && w.kind === 'train');
  if (!workload) throw new Error(`Expected a training workload id for --workload but received '${options.workload}'`);
  const rk = require('..');
  const model = buildRnnkitModel(rk, workload, SEED);
  const samples = options.batches * workload.B;
  const data = makeBatch(workload, samples, SEED);
  const x = rk.tensor(data.x, data.xShape);
  const y = rk.tensor(data.y, data.yShape);

  const stop = startDelayProbe();
  const start = performance.now();
  await model.fit(x, y, { epochs: 1, batchSize: workload.B, shuffle: false, verbose: 0 });
  const seconds = (performance.now() - start) / 1000;
  const { delays, worstAtMs } = stop();

  const result = {
    type: 'event-loop', workload: workload.id, batches: options.batches, batchSize: workload.B, fitSeconds: seconds,
    ticks: delays.length, worstDelayMs: delays.length ? Math.max(...delays) : null,
    p99DelayMs: delays.length ? percentile(delays, 99) : null, worstAtMs, targetMs: TARGET_MS,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  const verdict = result.worstDelayMs !== null && result.worstDelayMs < TARGET_MS ? 'within' : 'OVER';
  process.stderr.write(`${workload.id}: fit of ${options.batches} batches of ${workload.B} took ${seconds.toFixed(2)} s; ` +
    `${delays.length} ticks of a ${INTERVAL_MS} ms interval: worst delay ${result.worstDelayMs?.toFixed(1)} ms, ` +
    `p99 ${result.p99DelayMs?.toFixed(1)} ms (${verdict} the ${TARGET_MS} ms target); the worst tick came ` +
    `${worstAtMs?.toFixed(0)} ms after fit started\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.message.startsWith('Expected') ? error.message : error.stack}\n`);
  process.exit(1);
});
