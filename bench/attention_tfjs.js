'use strict';
/**
 * Child process of bench/attention.js: Keras's attention written in tfjs ops (tfjs has no attention layer) on one
 * tfjs backend, timed with the bench protocol. forward: the output [B, Tq, H] of [query, value]; train: the gradients
 * of sum(output * dOutput) with respect to the query, the value and the scale (AdditiveAttention), as the native
 * bench's backward from a fixed dOutput. Records go back over IPC.
 */
const { SETTINGS, measureRate } = require('./protocol');

function pattern(count, seed) {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = ((state >>> 8) / (1 << 24)) * 2 - 1;
  }
  return values;
}

const job = JSON.parse(process.argv[2]);

async function main() {
  const { workload, backend, mode } = job;
  const tf = require('@tensorflow/tfjs');
  if (backend === 'tfjs-wasm') require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend.slice(5)))) throw new Error(`Expected tfjs backend '${backend}' to initialise`);
  await tf.ready();
  const { B, Tq, Tv, H, score } = workload;
  const query = tf.tensor3d(pattern(B * Tq * H, 1), [B, Tq, H]);
  const value = tf.tensor3d(pattern(B * Tv * H, 2), [B, Tv, H]);
  const scale = tf.tensor1d(pattern(H, 3));
  const dOutput = tf.tensor3d(pattern(B * Tq * H, 4), [B, Tq, H]);
  // Keras: dot scores Q K^T; additive sum_d scale_d tanh(q_d + k_d); softmax over Tv; weighted sum of the value.
  const attend = (q, v, s) => {
    const scores = score === 'dot'
      ? tf.matMul(q, v, false, true)
      : tf.sum(tf.mul(s, tf.tanh(tf.add(tf.expandDims(q, 2), tf.expandDims(v, 1)))), -1);
    return tf.matMul(tf.softmax(scores), v);
  };
  // The dot layer has no weight (Keras default useScale false): its gradients are the query's and the value's only.
  const gradients = tf.grads((q, v, s) => tf.sum(tf.mul(attend(q, v, s), dOutput)));
  const differentiated = score === 'dot' ? [query, value] : [query, value, scale];
  const settings = SETTINGS[mode];
  const send = (record) => new Promise((resolve) => process.send({ backend, workload: workload.id, ...record }, resolve));
  const forward = async () => {
    const out = tf.tidy(() => attend(query, value, scale));
    await out.data();
    out.dispose();
  };
  const train = async () => {
    const grads = tf.tidy(() => gradients(differentiated));
    await Promise.all(grads.map((g) => g.data()));
    tf.dispose(grads);
  };
  for (const [measure, step] of [['forward', forward], ['train', train]]) {
    const rate = await measureRate(step, B, settings);
    await send({ type: 'attention', measure, samplesPerSec: rate.samplesPerSec.median, note: rate.note });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    const record = { type: 'failed', backend: job.backend, workload: job.workload.id, measure: 'attention', error: String(error && error.message) };
    process.send(record, () => process.exit(1));
  },
);
