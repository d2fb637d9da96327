#!/usr/bin/env node
'use strict';
/**
 * Batch-1 (or batch-B) predict latency of the I1 model (W1: LSTM 128, T 28, F 28, dense 10 softmax), or of another
 * single-layer workload of the shared workloads file (--workload W4), through the raw binding, for one or two addons loaded side by side and timed in alternating rounds (order swapped every round), so
 * a busy machine slows both alike. Per addon and round: the wall-clock median of one awaited `predict` (the
 * worker-thread path), the process CPU time per call of the same calls (user + system, all threads), the time the
 * JavaScript thread was busy per call during them (event-loop utilization: what a predict takes from other JS work),
 * and the wall-clock median of `predictSync` (the same work on the calling thread: what the thread hop and promise
 * cost is the difference). Prints, per addon, the median and min-max over rounds of each figure, and the load average.
 *
 *   node bench/predict-latency.js <rnnkit.node> [other rnnkit.node] [--batch B] [--rounds R] [--calls N] [--workload I1]
 */
const path = require('path');
const os = require('os');
const { performance } = require('perf_hooks');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args.splice(at, 2)[1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`Expected ${name} to be an integer >= 1 but received '${value}'`);
  return value;
};
const B = option('--batch', 1), rounds = option('--rounds', 12), calls = option('--calls', 400);
const workloadAt = args.indexOf('--workload');
const workloadId = workloadAt < 0 ? 'I1' : args.splice(workloadAt, 2)[1];
const workload = require('./workloads').loadWorkloads().find((w) => w.id === workloadId);
if (!workload || workload.layers.length !== 1) throw new Error(`Expected a one-layer workload id for --workload but received '${workloadId}'`);
const files = args;
if (files.length < 1 || files.length > 2) {
  console.error('usage: node bench/predict-latency.js <rnnkit.node> [other rnnkit.node] [--batch B] [--rounds R] [--calls N]');
  process.exit(2);
}
const { T, F, C } = workload, H = workload.layers[0].units;
const cell = { rnn: 'simpleRNN' }[workload.layers[0].cell] ?? workload.layers[0].cell;

function network(file) {
  const addon = require(path.resolve(file));
  if (process.env.RNNKIT_THREADS) addon.setThreads(Number(process.env.RNNKIT_THREADS));
  const net = new addon.Network({
    inputs: [{ name: 'x', shape: [T, F] }],
    layers: [
      { kind: 'recurrent', name: 'rnn', cell, units: H, activation: 'tanh', recurrentActivation: 'sigmoid', useBias: true,
        resetAfter: true, returnSequences: false, goBackwards: false, bidirectional: false, mergeMode: 'concat', dropout: 0, recurrentDropout: 0 },
      { kind: 'dense', name: 'head', units: C, activation: 'softmax', useBias: true },
    ],
    nodes: [{ layer: 0, inputs: [0], outputs: [1] }, { layer: 1, inputs: [1], outputs: [2] }],
    outputs: [2],
  });
  let seed = 7;
  const random = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32 - 0.5; };
  net.params().forEach((p, i) => net.setParam(i, Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => random() * 0.2)));
  return net;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function round(net, batch) {
  const wall = [], sync = [];
  const start = process.cpuUsage(), loop = performance.eventLoopUtilization();
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await net.predict(batch);
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const used = process.cpuUsage(start), busy = performance.eventLoopUtilization(loop).active;
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    net.predictSync(batch);
    sync.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { wall: median(wall), cpu: (used.user + used.system) / 1e3 / calls, jsBusy: busy / calls, sync: median(sync) };
}

async function main() {
  const nets = files.map(network);
  const x = Float32Array.from({ length: B * T * F }, (_, i) => Math.sin(i * 0.013));
  const batch = { batch: B, inputs: [x], shapes: [[T, F]], targets: [], sampleWeights: null };
  const outputs = nets.map((net) => net.predictSync(batch).outputs[0]);
  if (outputs.length === 2) {
    const gap = Math.max(...outputs[0].map((v, i) => Math.abs(v - outputs[1][i])));
    console.log(`max |output difference| between the addons: ${gap.toExponential(2)}`);
  }
  for (const net of nets) await round(net, batch);
  const results = nets.map(() => ({ wall: [], cpu: [], jsBusy: [], sync: [] }));
  const load = os.loadavg();
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? nets.map((_, i) => i) : nets.map((_, i) => nets.length - 1 - i);
    for (const i of order) {
      const one = await round(nets[i], batch);
      for (const key of Object.keys(one)) results[i][key].push(one[key]);
    }
  }
  const show = (values) => `${median(values).toFixed(4)} (${Math.min(...values).toFixed(4)}-${Math.max(...values).toFixed(4)})`;
  files.forEach((file, i) => {
    console.log(`${file}: ${workloadId} batch ${B}, ms per call, median (min-max) of ${rounds} rounds x ${calls} calls`);
    console.log(`  predict wall ${show(results[i].wall)}  cpu ${show(results[i].cpu)}  JS thread busy ${show(results[i].jsBusy)}`);
    console.log(`  predictSync wall ${show(results[i].sync)}`);
  });
  if (nets.length === 2) {
    const ratios = results[0].wall.map((w, r) => results[1].wall[r] / w);
    console.log(`second / first predict wall, per round: median ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`);
  }
  console.log(`load average before: ${load.map((v) => v.toFixed(2)).join(' ')}, after: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
