// The rnnkit API end to end on a task with a known answer: does a sequence of +1/-1 steps end with a positive sum?
// Run after `npm run build`:  node examples/quickstart.js
'use strict';
const os = require('os');
const path = require('path');
const rk = require('..');

/** samples x [steps, 2]: a +-1 step and a distractor per time step; label: one-hot sign of the running sum. */
function makeData(samples, steps, seed) {
  const rng = new rk.Random(seed);
  const x = new Float32Array(samples * steps * 2);
  const y = new Float32Array(samples * 2);
  for (let i = 0; i < samples; i++) {
    let sum = 0;
    for (let t = 0; t < steps; t++) {
      const step = rng.uniform() < 0.5 ? -1 : 1;
      sum += step;
      x[(i * steps + t) * 2] = step;
      x[(i * steps + t) * 2 + 1] = rng.uniform();
    }
    y[i * 2 + (sum > 0 ? 1 : 0)] = 1;
  }
  return { x: rk.tensor(x, [samples, steps, 2]), y: rk.tensor(y, [samples, 2]) };
}

async function main() {
  rk.setSeed(42);
  const steps = 15;
  const train = makeData(2000, steps, 1);
  const test = makeData(500, steps, 2);

  const model = rk.sequential({ name: 'sum-sign' });
  model.add(rk.layers.lstm({ units: 32, inputShape: [steps, 2] }));
  model.add(rk.layers.dense({ units: 2, activation: 'softmax' }));
  model.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.01, clipnorm: 1 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  model.summary();

  const history = await model.fit(train.x, train.y, {
    epochs: 15, batchSize: 32, validationSplit: 0.1, verbose: 1,
    callbacks: [
      rk.callbacks.earlyStopping({ monitor: 'val_loss', patience: 3, restoreBestWeights: true }),
      { onEpochEnd: (epoch, logs) => { if (logs.val_accuracy > 0.995) model.stopTraining = true; } },
    ],
  });
  console.log(`trained ${history.epoch.length} epochs; last val_accuracy ${history.history.val_accuracy.slice(-1)[0].toFixed(3)}`);

  const { loss, accuracy } = await model.evaluate(test.x, test.y);
  console.log(`held-out: loss ${loss.toFixed(4)}, accuracy ${accuracy.toFixed(3)}`);

  const file = path.join(os.tmpdir(), `rnnkit-quickstart-${process.pid}.rnnkit`);
  await model.save(file, { includeOptimizer: true });
  const loaded = await rk.loadModel(file);
  const probs = await loaded.predict([[[1, 0.5], ...Array(steps - 1).fill([1, 0.5])]]);
  console.log(`saved to ${file}; the loaded model says an all-+1 sequence is positive with p = ${probs.array()[0][1].toFixed(3)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
