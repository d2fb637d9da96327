/**
 * Child process for test/checkpoint-resume.test.ts: trains a seeded LSTM for 6 epochs with a modelCheckpoint that
 * includes the optimizer state (`<dir>/ckpt-{epoch}.rnnkit`), and writes the final weights to `<dir>/final.json`.
 *
 *   node checkpoint-child.js <cache dir> <dir> <shuffle: 0|1> full      train from scratch to the end
 *   node checkpoint-child.js <cache dir> <dir> <shuffle: 0|1> crash     the same, but in epoch 3 at batch 4 print
 *                                                                       'kill me' and wait to be killed (SIGKILL)
 *   node checkpoint-child.js <cache dir> <dir> <shuffle: 0|1> resume    load the newest checkpoint, fit on from it
 */
'use strict';
const fs = require('fs');
const path = require('path');
const [cacheDir, dir, shuffleArg, mode] = process.argv.slice(2);
const rk = require('./ts-require').loadRnnkit(cacheDir);

const EPOCHS = 6;
const shuffle = shuffleArg === '1';

function data() {
  const samples = 96, steps = 8, features = 4;
  const x = new Float32Array(samples * steps * features).map((_, i) => Math.sin(i * 0.61) + 0.3 * Math.cos(i * 1.7));
  const y = new Float32Array(samples * 3);
  for (let s = 0; s < samples; s++) y[s * 3 + ((s * 7) % 3)] = 1;
  return { x: rk.tensor(x, [samples, steps, features]), y: rk.tensor(y, [samples, 3]) };
}

function freshModel() {
  rk.setSeed(11);
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units: 16, inputShape: [8, 4], recurrentDropout: 0.2 }));
  model.add(rk.layers.dropout({ rate: 0.3 }));
  model.add(rk.layers.dense({ units: 3, activation: 'softmax' }));
  model.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
  return model;
}

function newestCheckpoint() {
  const epochs = fs.readdirSync(dir).map((f) => /^ckpt-(\d+)\.rnnkit$/.exec(f)).filter(Boolean).map((m) => Number(m[1]));
  if (epochs.length === 0) throw new Error(`no checkpoint in ${dir}`);
  return Math.max(...epochs);
}

async function main() {
  let model;
  let initialEpoch = 0;
  if (mode === 'resume') {
    initialEpoch = newestCheckpoint();  // ckpt-k holds the model after k complete epochs (0-based epoch k-1)
    model = await rk.loadModel(path.join(dir, `ckpt-${initialEpoch}.rnnkit`));
  } else {
    model = freshModel();
  }
  const { x, y } = data();
  const crash = {
    onBatchBegin: async (batch) => {
      if (mode === 'crash' && currentEpoch === 3 && batch === 4) {
        process.stdout.write('kill me\n');
        await new Promise((resolve) => setTimeout(resolve, 120_000));
      }
    },
    onEpochBegin: (epoch) => { currentEpoch = epoch; },
  };
  let currentEpoch = -1;
  await model.fit(x, y, {
    epochs: EPOCHS, initialEpoch, batchSize: 16, shuffle, seed: 5, verbose: 0,
    callbacks: [rk.callbacks.modelCheckpoint(path.join(dir, 'ckpt-{epoch}.rnnkit'), { includeOptimizer: true }), crash],
  });
  fs.writeFileSync(path.join(dir, 'final.json'), JSON.stringify(model.getWeights().map((w) => Array.from(w.data))));
  process.stdout.write(`done from ${initialEpoch}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
