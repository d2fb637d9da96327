#!/usr/bin/env node
'use strict';
/**
 * The streams section of the bench (issue 15), id S1: one-step streaming of the W1 model (its shape from the shared
 * workloads file) for 1, 8, 64, 256 and 1,024 concurrent streams, at each rnnkit thread count, through rnnkit's
 * stream pool against the same steps one by one, onnxruntime-node with state in and out, a stateful tfjs-wasm model,
 * and rnnkit's batch-N predict of one step. Measured in child processes (bench/streams_child.js); run.js calls
 * runStreams, and `node bench/streams.js` runs the section alone. `--rss [steps]` is the separate RSS mode:
 * 64 streams stepping through the pool for 1,000,000 steps (default), RSS sampled along the way. See bench/README.md.
 */
const fs = require('fs');
const path = require('path');
const { fork } = require('child_process');

const STREAM_COUNTS = [1, 8, 64, 256, 1024];
const STREAM_WORKLOAD = 'W1';
const CHILD_TIMEOUT_SECONDS = { full: 900, quick: 120 };
const METHOD_LABELS = { pool: 'pool', oneByOne: 'one by one', onnx: 'onnx', predict: 'predict [N,1,F]', 'tfjs-wasm': 'tfjs-wasm' };

function runStreamChild(job, timeoutSeconds) {
  return new Promise((resolve) => {
    const records = [];
    const child = fork(path.join(__dirname, 'streams_child.js'), [JSON.stringify(job)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const timer = setTimeout(() => {
      records.push({ type: 'failed', backend: job.backend, workload: 'S1', measure: 'streams', error: `timed out after ${timeoutSeconds} s` });
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    child.on('message', (record) => records.push(record));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!records.some((r) => r.type === 'streamDone' || r.type === 'failed')) {
        records.push({ type: 'failed', backend: job.backend, workload: 'S1', measure: 'streams', error: `child exited with ${signal || `code ${code}`}` });
      }
      resolve(records.map((r) => (r.workload === STREAM_WORKLOAD ? { ...r, workload: 'S1' } : r)));
    });
  });
}

/** Measures S1 (unless --only leaves it out); records go to run.streams / run.failures and to `emit`. */
async function runStreams(options, run, emit, progress) {
  run.streams = [];
  if (options.only.length > 0 && !options.only.includes('S1')) return;
  if (!options.backends.includes('rnnkit')) return;
  const base = { workloadsFile: options.workloadsFile, workloadId: STREAM_WORKLOAD, mode: options.mode, seed: 1234, counts: STREAM_COUNTS };
  const jobs = options.threads.map((threads) => ({ ...base, backend: 'rnnkit', threads, withOnnx: options.backends.includes('onnx') }));
  if (options.backends.includes('tfjs-wasm')) jobs.push({ ...base, backend: 'tfjs-wasm', threads: 1 });
  for (const job of jobs) {
    progress(`S1 streams on ${job.backend}${job.backend === 'rnnkit' ? ` at ${job.threads} thread(s)` : ''}`);
    for (const record of await runStreamChild(job, CHILD_TIMEOUT_SECONDS[options.mode])) {
      if (record.type === 'failed') run.failures.push(record);
      else run.streams.push(record);
      emit(record);
    }
  }
}

function num(value) {
  if (!Number.isFinite(value)) return '–';
  const a = Math.abs(value);
  return a >= 100 ? value.toFixed(0) : a >= 10 ? value.toFixed(1) : a >= 1 ? value.toFixed(2) : value.toPrecision(2);
}

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The Markdown of the streams section ('' when it was not run). */
function streamsReport(run) {
  const records = run.streams || [];
  const measured = records.filter((r) => r.type === 'stream');
  if (measured.length === 0 && !records.some((r) => r.type === 'streamRss')) return '';
  const parts = [];
  if (measured.length > 0) {
    const threads = [...new Set(measured.filter((r) => r.backend === 'rnnkit').map((r) => r.threads))];
    const tfjs = (N) => measured.find((r) => r.method === 'tfjs-wasm' && r.streams === N);
    const get = (t, N, method) => measured.find((r) => r.backend === 'rnnkit' && r.threads === t && r.streams === N && r.method === method);
    const pair = (t, N, over) => records.find((r) => r.type === 'streamPair' && r.threads === t && r.streams === N && r.over === over);
    const ratio = (t, N, over) => {
      const p = pair(t, N, over);
      return p ? `${num(p.ratio.median)}x (${num(p.ratio.min)}–${num(p.ratio.max)})` : '–';
    };
    const cell = (r) => (r ? `${num(r.stepsPerSec.median)} · ${num(r.latencyMs.p50)} / ${num(r.latencyMs.p99)}` : '–');
    const methods = ['pool', 'oneByOne', 'onnx', 'predict'];
    const header = ['Threads', 'Streams N', ...methods.map((m) => `${METHOD_LABELS[m]} steps/s · p50 / p99 ms`),
      'tfjs-wasm steps/s · p50 / p99 ms', 'pool / one by one (paired)', 'pool / onnx (paired)', 'pool / predict (paired)', 'pool / tfjs-wasm', 'load avg 1 min'];
    const rows = [];
    for (const t of threads) {
      for (const N of STREAM_COUNTS) {
        const own = get(t, N, 'pool');
        if (!own) continue;
        const w = tfjs(N);
        rows.push([String(t), String(N), ...methods.map((m) => cell(get(t, N, m))), cell(w),
          ratio(t, N, 'oneByOne'), ratio(t, N, 'onnx'), ratio(t, N, 'predict'),
          w ? `${num(own.stepsPerSec.median / w.stepsPerSec.median)}x` : '–', String(own.loadavg[0])]);
      }
    }
    parts.push(table(header, rows));
    const checks = records.filter((r) => r.type === 'streamCheck');
    const reference = checks.find((c) => c.backend === 'rnnkit');
    if (reference) {
      const diffs = [];
      for (const c of checks) {
        for (const [name, values] of Object.entries(c.outputs)) {
          if (name === 'pool' && c === reference) continue;
          const d = values.length === reference.outputs.pool.length ? values.reduce((m, v, i) => Math.max(m, Math.abs(v - reference.outputs.pool[i])), 0) : NaN;
          diffs.push(`${name}${c.backend === 'rnnkit' ? ` (${c.threads}t)` : ''} ${Number.isNaN(d) ? 'size mismatch' : d.toExponential(1)}`);
        }
      }
      parts.push(`Same weights check: 4 streams, 3 steps from zero state, max |softmax output − pool's|: ${diffs.join(', ')}.`);
    }
  }
  for (const r of records.filter((x) => x.type === 'streamRss')) {
    const s = r.samples;
    const mid = s[Math.floor(s.length / 2)];
    parts.push(`RSS over ${r.steps.toLocaleString('en-US')} pool steps (${r.streams} streams, ${r.threads} thread(s), ${num(r.seconds)} s, ` +
      `load average ${r.loadavg.join(' / ')}): start ${num(s[0].rssMB)} MB, middle ${num(mid.rssMB)} MB, end ${num(s[s.length - 1].rssMB)} MB ` +
      `(every tenth: ${s.map((x) => num(x.rssMB)).join(', ')}; JS heap used ${num(s[0].heapUsedMB)} → ${num(s[s.length - 1].heapUsedMB)} MB); ` +
      `pool stats: ${r.stats.batches} native calls, mean batch ${num(r.stats.meanBatch)}, p50 ${num(r.stats.p50Ms)} ms, p99 ${num(r.stats.p99Ms)} ms.`);
  }
  return parts.join('\n\n');
}

/** Notes on what the streams columns are (the README has the long form). */
const STREAMS_NOTE = 'Cells: steps/s (median of the rounds) · p50 / p99 latency of one step in ms. pool: every stream calls ' +
  'pool.step at once, the pool (maxBatch 1024, maxDelayMs 0) batches them into one native call; one by one: the same pool, ' +
  'each step awaited before the next; onnx: onnxruntime-node on the same thread count, rnnkit\'s export with stateInputs, all ' +
  'N streams in one session.run [N, 1, F] with h and c passed in and out; predict: rnnkit predictOnBatch [N, 1, F] with no ' +
  'state (the batch-N predict rate of one step); tfjs-wasm: a stateful model (batchInputShape [N, 1, F]), one predict per ' +
  'step of all N streams (its own child, 1 thread; the same figure on every thread row). Paired ratios alternate the methods ' +
  'window by window in one process (median, min–max over the rounds); pool / tfjs-wasm divides medians of two processes.';

async function main() {
  const { parseOptions } = require('./options');
  const argv = process.argv.slice(2);
  const rssAt = argv.indexOf('--rss');
  let rssSteps = 0;
  if (rssAt >= 0) {
    const value = argv[rssAt + 1];
    const explicit = value !== undefined && !value.startsWith('--');
    rssSteps = explicit ? Number(value) : 1e6;
    if (!Number.isInteger(rssSteps) || rssSteps < 64) throw new Error(`Expected a step count of at least 64 after --rss but received '${value}'`);
    argv.splice(rssAt, explicit ? 2 : 1);
  }
  for (const unused of ['--load', '--gemm-bench']) {
    if (argv.includes(unused)) throw new Error(`Expected options of the streams section (--rss [steps], --threads, --backends, --only, --workloads, --quick, --json) but received ${unused}, which only run.js uses`);
  }
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write('usage: node bench/streams.js [--rss [steps]] [--threads 1,2] [--backends rnnkit,onnx,tfjs-wasm] [--workloads <file>] [--quick] [--json <file>]\n');
    return;
  }
  const run = { streams: [], failures: [] };
  const jsonOut = options.jsonFile ? fs.createWriteStream(options.jsonFile) : process.stdout;
  const emit = (record) => jsonOut.write(`${JSON.stringify(record)}\n`);
  const progress = (text) => process.stderr.write(`[bench] ${text}\n`);
  if (rssSteps) {
    const job = { workloadsFile: options.workloadsFile, workloadId: STREAM_WORKLOAD, mode: options.mode, seed: 1234, counts: [64], backend: 'rnnkit', threads: options.threads[0], rssSteps };
    for (const record of await runStreamChild(job, 3600)) {
      (record.type === 'failed' ? run.failures : run.streams).push(record);
      emit(record);
    }
  } else {
    await runStreams(options, run, emit, progress);
  }
  if (options.jsonFile) await new Promise((resolve) => jsonOut.end(resolve));
  const failures = run.failures.map((f) => `- FAILED ${f.backend} ${f.measure}: ${f.error}`).join('\n');
  process.stdout.write(`\n## Streams (S1: W1 model, one step per call)\n\n${streamsReport(run)}\n\n${rssSteps ? '' : `- ${STREAMS_NOTE}\n`}${failures}\n`);
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  });
}

module.exports = { runStreams, streamsReport, STREAMS_NOTE, STREAM_COUNTS };
