'use strict';
/**
 * Attention throughput (issue 14): rnnkit's attention op (bench/attention_rate.cc, build/rnnkit_attention_bench,
 * one thread) against the same computation written in tfjs ops (bench/attention_tfjs.js, one child per tfjs
 * backend), forward and forward + backward, at the shape the issue asks for. The shared workloads file has no
 * attention entry (and is not ours to edit), so the shapes are defined here: [query, value] with the key = the
 * value, query [B, Tq, H], value [B, Tv, H], each layer with its Keras defaults (Attention: dot, no scale;
 * AdditiveAttention: scale [H]). FLOPs per sample (attention_rate.cc): dot 4 Tq Tv H forward, additive 6 Tq Tv H
 * (a tanh counted as one operation); train counts 3x forward, as every bench workload.
 */
const fs = require('fs');
const path = require('path');
const { execFileSync, fork } = require('child_process');

const DEFAULT_ATTENTION_BENCH = path.join(__dirname, '..', 'build', 'rnnkit_attention_bench');

/** The attention workloads: ids usable with --only. */
const ATTENTION_WORKLOADS = [
  { id: 'A1', desc: 'Attention (dot), B 64, Tq 20, Tv 20, H 256', score: 'dot', B: 64, Tq: 20, Tv: 20, H: 256 },
  { id: 'A2', desc: 'AdditiveAttention (scale [H]), B 64, Tq 20, Tv 20, H 256', score: 'additive', B: 64, Tq: 20, Tv: 20, H: 256 },
];
const SECONDS = { full: 4, quick: 0.5 };

/** FLOPs per sample of one forward (see the header). */
function forwardFlopsPerSample(workload) {
  return (workload.score === 'dot' ? 4 : 6) * workload.Tq * workload.Tv * workload.H;
}

/** rnnkit's rates from the native program: 'measurement' records (forward and train), or one 'failed' record. */
function measureNative(workload, { executable = DEFAULT_ATTENTION_BENCH, mode }) {
  const base = { backend: 'rnnkit', workload: workload.id };
  if (!fs.existsSync(executable)) {
    return [{ type: 'failed', ...base, measure: 'attention', error: `attention bench not found at ${executable}: build it with npm run prebench (CMake target rnnkit_attention_bench)` }];
  }
  try {
    const args = [workload.score, workload.B, workload.Tq, workload.Tv, workload.H, SECONDS[mode]].map(String);
    const result = JSON.parse(execFileSync(executable, args, { encoding: 'utf8' }).trim().split('\n').pop());
    return ['forward', 'train'].map((measure) => ({
      type: 'attention', ...base, measure, samplesPerSec: result[measure].samplesPerSecond, gflops: result[measure].gflops,
    }));
  } catch (error) {
    return [{ type: 'failed', ...base, measure: 'attention', error: error.message.split('\n')[0] }];
  }
}

/** The tfjs-ops rates on one backend ('tfjs-cpu' or 'tfjs-wasm'), measured in a child process. */
function measureTfjs(workload, backend, mode) {
  return new Promise((resolve) => {
    const records = [];
    const child = fork(path.join(__dirname, 'attention_tfjs.js'), [JSON.stringify({ workload, backend, mode })],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (record) => records.push(record));
    child.on('close', (code, signal) => {
      if (records.length === 0) {
        records.push({ type: 'failed', backend, workload: workload.id, measure: 'attention', error: `child exited with ${signal || `code ${code}`}` });
      }
      resolve(records.map((r) => (r.type === 'attention'
        ? { ...r, gflops: (r.samplesPerSec * forwardFlopsPerSample(workload) * (r.measure === 'train' ? 3 : 1)) / 1e9 }
        : r)));
    });
  });
}

/** Measures every selected attention workload on every selected backend; records go to `run` and `emit`. */
async function runAttention(workloads, options, run, emit, progress) {
  for (const workload of workloads) {
    const records = [];
    if (options.backends.includes('rnnkit')) records.push(...measureNative(workload, { mode: options.mode }));
    for (const backend of options.backends.filter((b) => b.startsWith('tfjs-'))) {  // no attention on onnx here
      progress(`${workload.id} on ${backend}`);
      records.push(...(await measureTfjs(workload, backend, options.mode)));
    }
    for (const record of records) {
      if (record.type === 'failed') run.failures.push(record);
      else run.attention.push(record);
      emit(record);
    }
    progress(`${workload.id}: done`);
  }
}

module.exports = { ATTENTION_WORKLOADS, DEFAULT_ATTENTION_BENCH, forwardFlopsPerSample, runAttention };
