'use strict';
/**
 * Initial weights computed once by the bench and set on every backend with setWeights, so that all sides start from
 * the same numbers. Keras semantics: kernels glorotUniform, recurrent kernels orthogonal, biases zero with the LSTM
 * forget block at 1 (unitForgetBias). Order and layout as Keras/tfjs: per recurrent layer kernel [in, gates*H],
 * recurrent_kernel [H, gates*H], bias [gates*H]; then the Dense kernel [H, C] and bias [C].
 *
 * Why not let tfjs initialise: its 'orthogonal' initializer is a Householder QR in tf ops that takes ~80 s for a
 * [128, 512] matrix on the cpu backend (minutes for W2's [256, 1024]); it is not timed, but it would dominate the run.
 */
const { layerPlan } = require('./workloads');
const { mulberry32 } = require('./data');

/** Standard normal samples by Box-Muller. */
function normalSampler(uniform) {
  return () => {
    const u = 1 - uniform(); // (0, 1]: log(0) is avoided
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/** U(-limit, limit) with limit = sqrt(6 / (fanIn + fanOut)). */
function glorotUniform(rows, cols, uniform) {
  const limit = Math.sqrt(6 / (rows + cols));
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = (uniform() * 2 - 1) * limit;
  return values;
}

/**
 * A [rows, cols] matrix with orthonormal rows (rows <= cols) or columns (rows > cols), as Keras' Orthogonal: QR of a
 * normal [long, short] matrix with R's diagonal made positive. Modified Gram-Schmidt on the short side's vectors
 * gives that Q directly (its R has a positive diagonal), computed in float64.
 */
function orthogonal(rows, cols, normal) {
  const count = Math.min(rows, cols);
  const length = Math.max(rows, cols);
  const vectors = Array.from({ length: count }, () => Float64Array.from({ length }, normal));
  for (let i = 0; i < count; i++) {
    const v = vectors[i];
    for (let j = 0; j < i; j++) {
      const q = vectors[j];
      let dot = 0;
      for (let k = 0; k < length; k++) dot += q[k] * v[k];
      for (let k = 0; k < length; k++) v[k] -= dot * q[k];
    }
    let norm = 0;
    for (let k = 0; k < length; k++) norm += v[k] * v[k];
    norm = Math.sqrt(norm);
    for (let k = 0; k < length; k++) v[k] /= norm;
  }
  // vectors[i] is row i when rows <= cols, column i otherwise.
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) values[r * cols + c] = rows <= cols ? vectors[r][c] : vectors[c][r];
  }
  return values;
}

/** [{ shape, values: Float32Array }] for every weight of the workload's model, in Keras order. */
function initialWeights(workload, seed) {
  const uniform = mulberry32(seed ^ 0x5eed);
  const normal = normalSampler(uniform);
  const weights = [];
  const plan = layerPlan(workload);
  for (const layer of plan) {
    const width = layer.gates * layer.units;
    const bias = new Float32Array(width);
    if (layer.cell === 'lstm') bias.fill(1, layer.units, 2 * layer.units); // gate order i, f, c, o
    weights.push(
      { shape: [layer.inputWidth, width], values: glorotUniform(layer.inputWidth, width, uniform) },
      { shape: [layer.units, width], values: orthogonal(layer.units, width, normal) },
      { shape: [width], values: bias },
    );
  }
  const hidden = plan[plan.length - 1].units;
  weights.push(
    { shape: [hidden, workload.C], values: glorotUniform(hidden, workload.C, uniform) },
    { shape: [workload.C], values: new Float32Array(workload.C) },
  );
  return weights;
}

module.exports = { initialWeights, orthogonal };
