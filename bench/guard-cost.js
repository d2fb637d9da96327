#!/usr/bin/env node
'use strict';
/**
 * What the non-finite step guard (ops/optimizer.cc: copy each parameter's value and slots before its update, scan
 * them after) costs on a W1 training step (LSTM 128, T 28, F 28, dense 10 softmax, Adam, batch 32), measured against
 * an addon built without it, in one process: both .node files are loaded side by side, given the same weights and
 * batch, and timed in alternating windows, so a busy machine slows both alike. Time is the process's CPU time
 * (process.cpuUsage: user + system, all threads), not wall time: on a shared machine wall time mostly measures who
 * else is running. Prints the median of the per-round ratios (guard / base CPU time per step) and their spread.
 *
 *   node bench/guard-cost.js <base rnnkit.node> <guarded rnnkit.node> [rounds] [steps per window]
 */
const [basePath, guardPath, roundsArg, stepsArg] = process.argv.slice(2);
if (!basePath || !guardPath) {
  console.error('usage: node bench/guard-cost.js <base rnnkit.node> <guarded rnnkit.node> [rounds] [steps per window]');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 40), steps = Number(stepsArg ?? 20);
const B = 32, T = 28, F = 28, H = 128, C = 10;

function network(file) {
  const addon = require(require('path').resolve(file));
  if (process.env.RNNKIT_THREADS) addon.setThreads(Number(process.env.RNNKIT_THREADS));
  // The chain graph input -> lstm -> head (lib/binding_types.ts NativeGraphSpec).
  const net = new addon.Network({
    inputs: [{ name: 'x', shape: [T, F] }],
    layers: [
      { kind: 'recurrent', name: 'lstm', cell: 'lstm', units: H, activation: 'tanh', recurrentActivation: 'sigmoid', useBias: true,
        resetAfter: true, returnSequences: false, goBackwards: false, bidirectional: false, mergeMode: 'concat', dropout: 0, recurrentDropout: 0 },
      { kind: 'dense', name: 'head', units: C, activation: 'softmax', useBias: true },
    ],
    nodes: [{ layer: 0, inputs: [0], outputs: [1] }, { layer: 1, inputs: [1], outputs: [2] }],
    outputs: [2],
  });
  let seed = 7;
  const random = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32 - 0.5; };
  net.params().forEach((p, i) => net.setParam(i, Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => random() * 0.2)));
  net.compile([{ loss: 'categoricalCrossentropy', weight: 1 }], { kind: 'adam', learningRate: 1e-4 });
  return { net, threads: addon.getThreads() };
}

async function main() {
  const base = network(basePath), guard = network(guardPath);
  const x = Float32Array.from({ length: B * T * F }, (_, i) => Math.sin(i * 0.013));
  const y = new Float32Array(B * C);
  for (let b = 0; b < B; b++) y[b * C + (b % C)] = 1;
  const time = async (net) => {
    const start = process.cpuUsage();
    for (let s = 0; s < steps; s++) await net.trainBatch({ batch: B, inputs: [x], shapes: [[T, F]], targets: [y], sampleWeights: null }, s);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1e3 / steps;
  };
  for (let i = 0; i < 3; i++) { await time(base.net); await time(guard.net); }
  const ratios = [], baseMs = [], guardMs = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so neither always gets the warmer caches.
    const first = r % 2 === 0;
    const a = first ? await time(base.net) : undefined;
    const g = await time(guard.net);
    const b2 = first ? a : await time(base.net);
    baseMs.push(b2); guardMs.push(g); ratios.push(g / b2);
  }
  const median = (v) => { const s = [...v].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; };
  const quantile = (v, q) => { const s = [...v].sort((p, r) => p - r); return s[Math.floor(q * (s.length - 1))]; };
  console.log(`W1 train batch ${B}, ${base.threads} thread(s), ${rounds} rounds of ${steps} steps each: ` +
    `base median ${median(baseMs).toFixed(3)} CPU ms/step, guard median ${median(guardMs).toFixed(3)} CPU ms/step, ` +
    `ratio guard/base median ${median(ratios).toFixed(4)} (quartiles ${quantile(ratios, 0.25).toFixed(4)}-${quantile(ratios, 0.75).toFixed(4)})`);
}
main();
