'use strict';
/**
 * The tfjs side of the benchmark: the same model as rnnkit_runner.js built with @tensorflow/tfjs layers on the 'cpu'
 * backend (plain JS) or the 'wasm' backend (@tensorflow/tfjs-backend-wasm; in Node it runs single-threaded, SIMD when
 * the runtime supports it). tfjs defaults differ from Keras, so every Keras default is set explicitly. The initial values
 * are the bench's shared weights (initial_weights.js: glorotUniform, orthogonal, unit forget bias), set with setWeights.
 */
const { layerPlan } = require('./workloads');
const { initialWeights } = require('./initial_weights');

/** Loads tfjs with the named backend ('cpu' or 'wasm') and waits until it is ready. */
async function createTfjsBackend(backendName) {
  const tf = require('@tensorflow/tfjs');
  if (backendName === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backendName))) throw new Error(`Expected tfjs backend '${backendName}' to initialise but setBackend returned false`);
  await tf.ready();
  const info = { version: tf.version.tfjs, backend: tf.getBackend() };
  if (backendName === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    info.wasmSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    info.wasmThreads = wasm.getThreadsCount();
  }

  const factories = { lstm: tf.layers.lstm, gru: tf.layers.gru, rnn: tf.layers.simpleRNN };

  function recurrentArgs(layer) {
    const args = {
      units: layer.units, returnSequences: layer.returnSequences, activation: 'tanh',
      // 'zeros' only as a placeholder: the orthogonal values come from setWeights below, because tfjs's 'orthogonal'
      // (a QR in tf ops) takes minutes on the cpu backend for these shapes.
      kernelInitializer: 'glorotUniform', recurrentInitializer: 'zeros', biasInitializer: 'zeros',
    };
    // tfjs defaults recurrentActivation to 'hardSigmoid'; Keras uses 'sigmoid'.
    if (layer.cell !== 'rnn') args.recurrentActivation = 'sigmoid';
    if (layer.cell === 'lstm') args.unitForgetBias = true;
    if (layer.cell === 'gru') args.resetAfter = false;
    return args;
  }

  function build(workload, seed) {
    const model = tf.sequential();
    layerPlan(workload).forEach((layer, i) => {
      const args = recurrentArgs(layer);
      if (i === 0) args.inputShape = [workload.T, workload.F];
      model.add(factories[layer.cell](args));
    });
    model.add(tf.layers.dense({ units: workload.C, activation: 'softmax' }));
    model.compile({ optimizer: tf.train.adam(1e-3, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy' });
    model.setWeights(initialWeights(workload, seed).map((w) => tf.tensor(w.values, w.shape)));
    const tensors = [];
    return {
      params: model.countParams(),
      prepare: (batch) => {
        const prepared = { x: tf.tensor3d(batch.x, batch.xShape), y: tf.tensor2d(batch.y, batch.yShape) };
        tensors.push(prepared.x, prepared.y);
        return prepared;
      },
      // trainOnBatch resolves with the loss values, so the step's computation has finished when it returns.
      train: async ({ x, y }) => { await model.trainOnBatch(x, y); },
      predict: async ({ x }) => {
        const out = model.predictOnBatch(x);
        await out.data();
        out.dispose();
      },
      outputs: async ({ x }) => {
        const out = model.predictOnBatch(x);
        const values = await out.data();
        out.dispose();
        return values;
      },
      release: () => {
        tensors.forEach((t) => t.dispose());
        model.dispose();
      },
    };
  }

  return { name: `tfjs-${backendName}`, info, build };
}

module.exports = { createTfjsBackend };
