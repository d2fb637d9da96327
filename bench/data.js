'use strict';
/**
 * Seeded benchmark batches, identical for every backend: inputs uniform in [-1, 1) of shape [B, T, F] and one-hot
 * labels [B, C]. The values only need to be finite and fixed; they are not meant to be learnable.
 */

/** mulberry32: a tiny 32-bit generator, enough for repeatable benchmark data (not for statistics). */
function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** { x: Float32Array [batch*T*F], y: Float32Array [batch*C], xShape, yShape } from a fixed seed. */
function makeBatch(workload, batch, seed) {
  const next = mulberry32(seed);
  const x = new Float32Array(batch * workload.T * workload.F);
  for (let i = 0; i < x.length; i++) x[i] = next() * 2 - 1;
  const y = new Float32Array(batch * workload.C);
  for (let b = 0; b < batch; b++) y[b * workload.C + Math.floor(next() * workload.C)] = 1;
  return { x, y, xShape: [batch, workload.T, workload.F], yShape: [batch, workload.C] };
}

module.exports = { makeBatch, mulberry32 };
