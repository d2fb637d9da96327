'use strict';
/**
 * What is measured for one workload on one backend. Training workloads: train steps and prediction at batch B.
 * Inference workloads: per-call latency at each of their batch sizes (samples/s = batch / latency).
 * Every measurement that throws becomes a 'failed' record carrying the error; nothing is skipped silently.
 * With `pairWith` (rnnkit at another thread count), each measurement is then repeated as a paired comparison with
 * that thread count in the same process ('threadPair' records, protocol.js measurePairedRatio).
 */
const os = require('os');
const { makeBatch } = require('./data');
const { measureRate, measureLatency, measurePairedRatio } = require('./protocol');
const { mapSummary } = require('./stats');

const PARITY_SAMPLES = 4;

function errorText(error) {
  return error && error.message ? `${error.name || 'Error'}: ${error.message}` : String(error);
}

/** The 1-minute load average, rounded: every measurement carries the load it ran under (the machine may be shared). */
function loadNow() {
  return Number(os.loadavg()[0].toFixed(2));
}

async function guarded(base, emit, body) {
  try {
    emit({ type: 'measurement', ...base, ...(await body()), loadavg1: loadNow() }); // body may set another type
  } catch (error) {
    emit({ type: 'failed', ...base, error: errorText(error) });
  }
}

async function measureTraining(model, workload, seed, settings, emit) {
  const batch = model.prepare(makeBatch(workload, workload.B, seed));
  const base = { workload: workload.id, batch: workload.B };
  // An inference-only backend (onnxruntime) has no train: the report says n/a rather than failed.
  if (model.train) await guarded({ ...base, measure: 'train' }, emit, () => measureRate(() => model.train(batch), workload.B, settings));
  await guarded({ ...base, measure: 'predict' }, emit, () => measureRate(() => model.predict(batch), workload.B, settings));
}

async function measureInference(model, workload, seed, settings, emit) {
  for (const size of workload.inferBatches) {
    await guarded({ workload: workload.id, batch: size, measure: 'infer' }, emit, async () => {
      const batch = model.prepare(makeBatch(workload, size, seed + size));
      const result = await measureLatency(() => model.predict(batch), settings);
      return { ...result, samplesPerSec: mapSummary(result.latencyMs, (ms) => (size * 1000) / ms) };
    });
  }
}

/**
 * rnnkit only: the ratio of this backend's thread count over `pairWith` threads, measured in alternating windows on
 * the same model and batch, for every measurement above. Records carry comparison: 'threads'.
 */
async function measureThreadPairs(backend, model, workload, { seed, settings, pairWith }, emit) {
  const own = backend.info.threads;
  const keys = workload.kind === 'infer'
    ? workload.inferBatches.map((size) => ({ measure: 'infer', batch: size, seed: seed + size }))
    : ['train', 'predict'].map((measure) => ({ measure, batch: workload.B, seed }));
  for (const key of keys) {
    const base = { workload: workload.id, measure: key.measure, batch: key.batch, comparison: 'threads' };
    await guarded(base, emit, async () => {
      const batch = model.prepare(makeBatch(workload, key.batch, key.seed));
      const step = key.measure === 'train' ? () => model.train(batch) : () => model.predict(batch);
      const paired = await measurePairedRatio(step, (n) => backend.setThreads(n), [pairWith, own], settings);
      return { type: 'threadPair', threads: [pairWith, own], ...paired };
    });
  }
  backend.setThreads(own);
}

/**
 * Builds the workload's model on `backend` and emits one record per measurement (or per failure). `beforePairs` is
 * called between the backend's own measurements and the paired thread comparison, if there is one.
 */
async function measureWorkload(backend, workload, { seed, settings, pairWith, beforePairs }, emit) {
  let model;
  try {
    model = await backend.build(workload, seed);
  } catch (error) {
    emit({ type: 'failed', workload: workload.id, measure: 'build', error: errorText(error) });
    return;
  }
  emit({ type: 'model', workload: workload.id, params: model.params });
  await guarded({ workload: workload.id, measure: 'outputs' }, emit, async () => {
    // Predictions on a few fixed samples: run.js compares them across backends to show the models are the same.
    const outputs = await model.outputs(model.prepare(makeBatch(workload, PARITY_SAMPLES, seed + 1)));
    return { type: 'outputs', samples: PARITY_SAMPLES, values: Array.from(outputs) };
  });
  if (workload.kind === 'infer') await measureInference(model, workload, seed, settings, emit);
  else await measureTraining(model, workload, seed, settings, emit);
  if (pairWith !== undefined && backend.setThreads && settings.pairRounds > 0) {
    if (beforePairs) beforePairs();
    await measureThreadPairs(backend, model, workload, { seed, settings, pairWith }, emit);
  }
  model.release();
}

module.exports = { measureWorkload, errorText };
