/** Models shared by the worker-thread tests and their in-process references (helpers/train-worker.js). */
'use strict';

function dataOf(rk, samples, steps, features, classes) {
  const x = new Float32Array(samples * steps * features);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 0.8;
  const y = new Float32Array(samples * classes);
  for (let s = 0; s < samples; s++) y[s * classes + (s % classes)] = 1;
  return { x: rk.tensor(x, [samples, steps, features]), y: rk.tensor(y, [samples, classes]) };
}

/** A seeded LSTM(16) trained for 2 epochs on fixed data; its weights as plain arrays of float32 values. */
async function trainSmall(rk, seed) {
  rk.setSeed(seed);
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units: 16, inputShape: [6, 4] }));
  model.add(rk.layers.dense({ units: 3, activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const { x, y } = dataOf(rk, 48, 6, 4, 3);
  await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0, seed });
  return model.getWeights().map((w) => Array.from(w.data));
}

/** An LSTM(128) over 60 steps: a batch of 128 takes tens of milliseconds, long enough to terminate a worker in it. */
function longModel(rk) {
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units: 128, inputShape: [60, 16] }));
  model.add(rk.layers.dense({ units: 4, activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return model;
}

function longData(rk) {
  return dataOf(rk, 256, 60, 16, 4);
}

module.exports = { trainSmall, longModel, longData };
