'use strict';
/**
 * The onnxruntime-node side of the benchmark (inference only): the workload's rnnkit model (rnnkit_runner.js, the
 * bench's shared initial weights) exported by rnnkit's own ONNX exporter (`rk.onnx.toBytes`) and run in an
 * onnxruntime-node session on one thread (intraOpNumThreads 1, interOpNumThreads 1). A workload with a layer the
 * exporter cannot write fails at build with the exporter's error, which the report shows in the column.
 */
const { buildRnnkitModel } = require('./rnnkit_runner');

/** onnxruntime session options for `threads` threads (1 for the inference column). */
function sessionOptions(threads) {
  return {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  };
}

/** Loads rnnkit (for the model and its export) and onnxruntime-node; `info` names the versions measured. */
function createOnnxBackend(threads = 1) {
  const rk = require('..');
  const ort = require('onnxruntime-node');
  const info = { onnxruntime: require('onnxruntime-node/package.json').version, threads, exporter: `rnnkit ${require('../package.json').version}` };

  async function build(workload, seed) {
    const model = buildRnnkitModel(rk, workload, seed);
    const session = await ort.InferenceSession.create(rk.onnx.toBytes(model), sessionOptions(threads));
    const [inputName] = session.inputNames;
    const [outputName] = session.outputNames;
    return {
      params: model.countParams(),
      prepare: (batch) => ({ x: new ort.Tensor('float32', batch.x, batch.xShape) }),
      // No train: onnxruntime-node runs inference only (the report shows 'n/a' for train).
      predict: async ({ x }) => { await session.run({ [inputName]: x }); },
      outputs: async ({ x }) => (await session.run({ [inputName]: x }))[outputName].data,
      release: () => { void session.release(); },
    };
  }

  return { name: 'onnx', info, build };
}

module.exports = { createOnnxBackend, sessionOptions };
