'use strict';
/**
 * Figures derived from the raw timings: achieved GFLOP/s (FLOP model in workloads.js), rnnkit's GFLOP/s as a fraction
 * of the single-thread GEMM rate, and speed ratios rnnkit / tfjs per measurement.
 */
const { forwardFlopsPerSample, trainFlopsPerSample, recurrentGemmShapes } = require('./workloads');
const { mapSummary } = require('./stats');
const { shapeKey } = require('./gemm');

const REFERENCE_GEMM = { m: 1024, k: 1024, n: 1024 };

/** The recurrent GEMM shape that carries most FLOPs (all layers of the current workloads share one shape). */
function dominantRecurrentShape(workload, batch) {
  return recurrentGemmShapes(workload, batch).reduce((a, b) => (b.k * b.n > a.k * a.n ? b : a));
}

/** GEMM shapes to measure for the given workloads: the reference plus each recurrent shape, without repeats. */
function gemmShapesFor(workloads) {
  const shapes = new Map([[shapeKey(REFERENCE_GEMM), REFERENCE_GEMM]]);
  for (const w of workloads) {
    for (const batch of w.kind === 'infer' ? w.inferBatches : [w.B]) {
      for (const s of recurrentGemmShapes(w, batch)) shapes.set(shapeKey(s), s);
    }
  }
  return [...shapes.values()];
}

/** Adds flopsPerSample and gflops to a measurement, and for rnnkit the fractions of the GEMM rates. */
function withThroughputFigures(record, workload, gemm) {
  if (record.type !== 'measurement' || !record.samplesPerSec) return record;
  const flopsPerSample = record.measure === 'train' ? trainFlopsPerSample(workload) : forwardFlopsPerSample(workload);
  const gflops = mapSummary(record.samplesPerSec, (rate) => (rate * flopsPerSample) / 1e9);
  const result = { ...record, flopsPerSample, gflops };
  if (record.backend.startsWith('rnnkit') && gemm && gemm.available) {
    const reference = gemm.rates.get(shapeKey(REFERENCE_GEMM));
    const recurrentShape = dominantRecurrentShape(workload, record.batch);
    const recurrent = gemm.rates.get(shapeKey(recurrentShape));
    result.gemmFraction = {
      of1024: reference ? gflops.median / reference.gflops : null,
      ofRecurrentShape: recurrent ? gflops.median / recurrent.gflops : null,
      recurrentShape: shapeKey(recurrentShape),
    };
  }
  return result;
}

/**
 * One 'ratio' record per rnnkit measurement (every thread count): its samples/s over each tfjs backend's (> 1: rnnkit
 * is faster) and, for other thread counts, over rnnkit at the first thread count.
 */
function speedRatios(measurements) {
  const key = (m) => `${m.workload}|${m.measure}|${m.batch}`;
  const byKey = new Map();
  for (const m of measurements) byKey.set(`${key(m)}|${m.backend}`, m);
  return measurements
    .filter((m) => m.backend.startsWith('rnnkit'))
    .map((m) => {
      const ratio = (other) => {
        const o = byKey.get(`${key(m)}|${other}`);
        return o ? m.samplesPerSec.median / o.samplesPerSec.median : null;
      };
      return {
        type: 'ratio', backend: m.backend, workload: m.workload, measure: m.measure, batch: m.batch,
        rnnkitOverTfjsWasm: ratio('tfjs-wasm'), rnnkitOverTfjsCpu: ratio('tfjs-cpu'), rnnkitOverOnnx: ratio('onnx'),
        ...(m.backend !== 'rnnkit' ? { overFirstThreadCount: ratio('rnnkit') } : {}),
      };
    });
}

/**
 * Evidence that every backend built the same model: parameter counts, and the largest |difference| between each tfjs
 * backend's softmax outputs and rnnkit's on the same few samples (same initial weights, so float32 rounding only).
 */
function modelAgreement(workloadId, models, outputs) {
  const params = Object.fromEntries(models.map((m) => [m.backend, m.params]));
  const reference = outputs.find((o) => o.backend === 'rnnkit');
  const maxAbsDiff = {};
  if (reference) {
    for (const o of outputs.filter((x) => x.backend !== 'rnnkit')) {
      maxAbsDiff[o.backend] = o.values.length === reference.values.length
        ? o.values.reduce((worst, v, i) => Math.max(worst, Math.abs(v - reference.values[i])), 0)
        : null;
    }
  }
  return { type: 'parity', workload: workloadId, params, maxAbsDiff };
}

module.exports = { gemmShapesFor, withThroughputFigures, speedRatios, modelAgreement, REFERENCE_GEMM };
