'use strict';
/**
 * Reads the shared workload definitions (the single source of the benchmark shapes) and derives what the harness
 * needs from them: resolved workloads, FLOP counts, and the recurrent GEMM shape of each layer.
 *
 * FLOP model (from the workloads file's _comment): one recurrent layer costs 2*(in+H)*gates*H per time step per
 * sample (the input and recurrent matrix products; element-wise gate math is not counted), the Dense head 2*H*C per
 * sample, and a training step 3x the forward pass (forward, gradient w.r.t. activations, gradient w.r.t. weights).
 */
const fs = require('fs');
const path = require('path');

const DEFAULT_WORKLOADS_FILE = path.resolve(__dirname, '..', '..', 'shared', 'bench', 'workloads.json');

/** Gate blocks per cell: LSTM i, f, c, o; GRU z, r, h; SimpleRNN one. */
const GATES = { lstm: 4, gru: 3, rnn: 1 };

function fail(what, name, value) {
  throw new Error(`Expected ${what} for ${name} but received ${JSON.stringify(value)}`);
}

function checkPositiveInteger(value, name) {
  if (!Number.isInteger(value) || value < 1) fail('a positive integer', name, value);
  return value;
}

function checkLayers(layers, id) {
  if (!Array.isArray(layers) || layers.length === 0) fail('a non-empty layers list', `${id}.layers`, layers);
  return layers.map((layer, i) => {
    const name = `${id}.layers[${i}]`;
    if (!layer || !Object.prototype.hasOwnProperty.call(GATES, layer.cell)) fail(`a cell among ${Object.keys(GATES).join(', ')}`, `${name}.cell`, layer && layer.cell);
    return { cell: layer.cell, units: checkPositiveInteger(layer.units, `${name}.units`) };
  });
}

/** A training workload: { id, desc, layers, T, F, C, B }. */
function resolveTraining(id, raw) {
  return {
    id,
    kind: 'train',
    desc: String(raw.desc || ''),
    layers: checkLayers(raw.layers, id),
    T: checkPositiveInteger(raw.T, `${id}.T`),
    F: checkPositiveInteger(raw.F, `${id}.F`),
    C: checkPositiveInteger(raw.C, `${id}.C`),
    B: checkPositiveInteger(raw.B, `${id}.B`),
  };
}

/** An inference workload that reuses another workload's model: { ...model, id, kind: 'infer', inferBatches }. */
function resolveInference(id, raw, all) {
  const base = all[raw.model];
  if (!base || base.model !== undefined) fail('the id of a training workload', `${id}.model`, raw.model);
  const batches = raw.infer_batches;
  if (!Array.isArray(batches) || batches.length === 0) fail('a non-empty list of batch sizes', `${id}.infer_batches`, batches);
  batches.forEach((b, i) => checkPositiveInteger(b, `${id}.infer_batches[${i}]`));
  return { ...resolveTraining(raw.model, base), id, kind: 'infer', desc: String(raw.desc || ''), modelId: raw.model, inferBatches: batches.slice() };
}

/** Loads and validates a workloads file; returns the workloads in file order (keys starting with '_' are comments). */
function loadWorkloads(file = DEFAULT_WORKLOADS_FILE) {
  let all;
  try {
    all = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`Expected a readable JSON workloads file for --workloads but received ${file}: ${error.message}`);
  }
  return Object.keys(all)
    .filter((id) => !id.startsWith('_'))
    .map((id) => (all[id].model !== undefined ? resolveInference(id, all[id], all) : resolveTraining(id, all[id])));
}

/** Per layer: input width, units, gates and whether it returns sequences (all but the last recurrent layer). */
function layerPlan(workload) {
  let inputWidth = workload.F;
  return workload.layers.map((layer, i) => {
    const plan = { ...layer, gates: GATES[layer.cell], inputWidth, returnSequences: i < workload.layers.length - 1 };
    inputWidth = layer.units;
    return plan;
  });
}

/** Forward FLOPs for one sample: sum over layers of T * 2*(in+H)*gates*H, plus 2*H*C for the head. */
function forwardFlopsPerSample(workload) {
  const plan = layerPlan(workload);
  const recurrent = plan.reduce((sum, l) => sum + workload.T * 2 * (l.inputWidth + l.units) * l.gates * l.units, 0);
  return recurrent + 2 * plan[plan.length - 1].units * workload.C;
}

/** Training FLOPs for one sample: 3x forward. */
function trainFlopsPerSample(workload) {
  return 3 * forwardFlopsPerSample(workload);
}

/** Distinct per-step recurrent GEMM shapes h[M=batch, K=H] * U[K=H, N=gates*H] of a workload at a batch size. */
function recurrentGemmShapes(workload, batch) {
  const seen = new Map();
  for (const l of layerPlan(workload)) seen.set(`${batch}x${l.units}x${l.gates * l.units}`, { m: batch, k: l.units, n: l.gates * l.units });
  return [...seen.values()];
}

/** Keeps the workloads named in `only` (all when empty); an unknown name is an error, not a silent skip. */
function selectWorkloads(workloads, only) {
  if (!only || only.length === 0) return workloads;
  const ids = workloads.map((w) => w.id);
  for (const id of only) if (!ids.includes(id)) fail(`workload ids among ${ids.join(', ')}`, '--only', only.join(','));
  return workloads.filter((w) => only.includes(w.id));
}

module.exports = {
  DEFAULT_WORKLOADS_FILE, GATES, loadWorkloads, selectWorkloads, layerPlan, forwardFlopsPerSample, trainFlopsPerSample,
  recurrentGemmShapes,
};
