'use strict';
/**
 * The rnnkit side of the benchmark: builds a workload's model with the public API (dist/, via require('..')) and
 * exposes one training step and one prediction on a prepared batch.
 */
const { layerPlan } = require('./workloads');
const { initialWeights } = require('./initial_weights');

const CELL_FACTORIES = { lstm: 'lstm', gru: 'gru', rnn: 'simpleRNN' };

/** Keras defaults written out so both sides visibly build the same model. */
function recurrentArgs(layer) {
  const args = {
    units: layer.units, returnSequences: layer.returnSequences, activation: 'tanh',
    kernelInitializer: 'glorotUniform', recurrentInitializer: 'orthogonal', biasInitializer: 'zeros',
  };
  if (layer.cell !== 'rnn') args.recurrentActivation = 'sigmoid';
  if (layer.cell === 'lstm') args.unitForgetBias = true;
  // tfjs has only the reset-before form (resetAfter false); use it here too for a like-for-like comparison.
  if (layer.cell === 'gru') args.resetAfter = false;
  return args;
}

/**
 * The workload's compiled rnnkit model: recurrent layers, Dense(C, softmax), categorical cross-entropy, Adam(1e-3),
 * starting from the bench's shared initial weights (the same numbers tfjs starts from).
 */
function buildRnnkitModel(rk, workload, seed) {
  rk.setSeed(seed);
  const model = rk.sequential();
  layerPlan(workload).forEach((layer, i) => {
    const args = recurrentArgs(layer);
    if (i === 0) args.inputShape = [workload.T, workload.F];
    model.add(rk.layers[CELL_FACTORIES[layer.cell]](args));
  });
  model.add(rk.layers.dense({ units: workload.C, activation: 'softmax' }));
  model.compile({
    optimizer: rk.optimizers.adam({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }),
    loss: 'categoricalCrossentropy',
  });
  model.setWeights(initialWeights(workload, seed).map((w) => rk.tensor(w.values, w.shape)));
  return model;
}

/** Loads rnnkit with `threads` threads per batch; `info` describes the build that is measured. */
function createRnnkitBackend(threads) {
  const rk = require('..');
  const version = require('../package.json').version;
  rk.setThreads(threads);

  function build(workload, seed) {
    const model = buildRnnkitModel(rk, workload, seed);
    return {
      params: model.countParams(),
      prepare: (batch) => ({ x: rk.tensor(batch.x, batch.xShape), y: rk.tensor(batch.y, batch.yShape) }),
      train: async ({ x, y }) => { await model.trainOnBatch(x, y); },
      predict: async ({ x }) => { await model.predictOnBatch(x); },
      outputs: async ({ x }) => (await model.predictOnBatch(x)).dataSync(),
      release: () => {},
    };
  }

  // setThreads: the paired thread comparison (measure_workload.js) switches the count between timed windows.
  return {
    name: 'rnnkit', info: { version, threads: rk.getThreads(), ...rk.backendInfo() }, build,
    setThreads: (n) => rk.setThreads(n),
  };
}

module.exports = { createRnnkitBackend, buildRnnkitModel };
