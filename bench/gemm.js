'use strict';
/**
 * Runs the GEMM rate program (bench/gemm_rate.cc, built by CMake as build/rnnkit_gemm_bench) for the reference
 * 1024^3 product and the recurrent shapes, so rnnkit's GFLOP/s can be read as a fraction of what Eigen reaches on
 * one core of this machine, and for the core's multiply-add peak, the ceiling of any kernel.
 */
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const DEFAULT_GEMM_BENCH = path.join(__dirname, '..', 'build', 'rnnkit_gemm_bench');

function shapeKey({ m, k, n }) {
  return `${m}x${k}x${n}`;
}

/**
 * Measures each shape; returns { available, path, rates: Map(key -> record), records } where records are the JSON
 * lines to print. A missing program yields one 'gemm-missing' record and an empty map; the run goes on.
 */
function measureGemmRates(shapes, { executable = DEFAULT_GEMM_BENCH, seconds }) {
  if (!fs.existsSync(executable)) {
    const message = `GEMM rate program not found at ${executable}: build it with the CMake build (target rnnkit_gemm_bench) ` +
      'or pass --gemm-bench <file>; GEMM fractions are left out';
    return { available: false, rates: new Map(), records: [{ type: 'gemm-missing', path: executable, message }] };
  }
  const rates = new Map();
  const records = [];
  for (const shape of shapes) {
    try {
      const out = execFileSync(executable, [shape.m, shape.k, shape.n, seconds].map(String), { encoding: 'utf8' });
      const record = { type: 'gemm', ...JSON.parse(out.trim().split('\n').pop()) };
      rates.set(shapeKey(shape), record);
      records.push(record);
    } catch (error) {
      records.push({ type: 'failed', backend: 'gemm', measure: `gemm ${shapeKey(shape)}`, error: error.message.split('\n')[0] });
    }
  }
  return { available: true, rates, records };
}

/**
 * The single-thread multiply-add peak: a 'gemm-peak' record ({ lanes, gflops }), a 'failed' record, or null when the
 * program is missing (measureGemmRates reports that once).
 */
function measurePeakRate({ executable = DEFAULT_GEMM_BENCH, seconds }) {
  if (!fs.existsSync(executable)) return null;
  try {
    const out = execFileSync(executable, ['peak', String(seconds)], { encoding: 'utf8' });
    const { lanes, gflops } = JSON.parse(out.trim().split('\n').pop());
    return { type: 'gemm-peak', lanes, gflops };
  } catch (error) {
    return { type: 'failed', backend: 'gemm', measure: 'multiply-add peak', error: error.message.split('\n')[0] };
  }
}

module.exports = { DEFAULT_GEMM_BENCH, measureGemmRates, measurePeakRate, shapeKey };
