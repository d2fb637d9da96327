#!/usr/bin/env node
'use strict';
/**
 * rnnkit vs tfjs benchmark (`npm run bench`). For each workload of the shared workloads file, each backend is
 * measured in its own child process (so peak RSS is per backend), backends interleaved per workload so that load
 * changes on the machine hit all of them alike. JSON lines go to stdout (or --json), progress to stderr, and a
 * Markdown summary to stdout at the end and to bench/results/latest.md. See bench/README.md.
 */
const fs = require('fs');
const path = require('path');
const { fork, spawn } = require('child_process');
const { parseOptions, USAGE } = require('./options');
const { loadWorkloads, selectWorkloads } = require('./workloads');
const { machineInfo, loadSnapshot } = require('./machine');
const { measureGemmRates, measurePeakRate } = require('./gemm');
const { gemmShapesFor, withThroughputFigures, speedRatios, modelAgreement } = require('./derive');
const { markdownReport } = require('./report');
const { ATTENTION_WORKLOADS, runAttention } = require('./attention');
const { runStreams } = require('./streams');

const SEED = 1234;

/** Backend labels: rnnkit at the first --threads count is 'rnnkit', at the others 'rnnkit-<n>t'. */
function rnnkitLabel(threads, options) {
  return threads === options.threads[0] ? 'rnnkit' : `rnnkit-${threads}t`;
}

/**
 * The children to run per workload: one per tfjs backend, one per rnnkit thread count. rnnkit at a further thread
 * count also measures itself against the first count in the same process (pairWith: paired thread ratios).
 */
function jobsFor(options) {
  return options.backends.flatMap((backend) => (backend === 'rnnkit'
    ? options.threads.map((threads, i) => ({
      backend, threads, label: rnnkitLabel(threads, options), ...(i > 0 ? { pairWith: options.threads[0] } : {}),
    }))
    : [{ backend, label: backend }]));
}

/** --load n: n busy-loop processes for the whole run, so that thread counts are compared with the cores taken. */
function startLoad(count) {
  const burners = [];
  for (let i = 0; i < count; i++) {
    burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  }
  const stop = () => burners.forEach((b) => b.kill('SIGKILL'));
  process.on('exit', stop);
  return stop;
}
// Wall-time cap per (backend, workload) child. full: only a guard against hangs (tfjs-cpu needs minutes per step on
// the longest workload). quick: keeps the smoke run short; what did not finish in time is reported, not hidden.
const CHILD_TIMEOUT_SECONDS = { full: 2400, quick: 5 };
const GEMM_SECONDS = { full: 1, quick: 0.25 };

function progress(text) {
  process.stderr.write(`[bench] ${text}\n`);
}

/**
 * Runs one (backend, workload) child; resolves with its records. A crash or a full-mode timeout becomes a 'failed'
 * record; hitting the --quick cap a 'skipped' one (the measurements finished before the cap are kept).
 */
function runChild(job, timeoutSeconds) {
  const timeoutRecord = job.mode === 'quick'
    ? { type: 'skipped', reason: `not finished within the --quick cap of ${timeoutSeconds} s per backend and workload (run without --quick to measure it)` }
    : { type: 'failed', error: `timed out after ${timeoutSeconds} s` };
  return new Promise((resolve) => {
    const records = [];
    // The child's output goes to our stderr: library chatter (tfjs greets Node users) must not enter the JSON stream.
    // The tail is kept so that a crash (e.g. the dynamic linker's "symbol lookup error") is named in the record.
    const child = fork(path.join(__dirname, 'child.js'), [JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let outputTail = '';
    const forward = (chunk) => {
      process.stderr.write(chunk);
      outputTail = (outputTail + chunk.toString()).slice(-2000);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    const timer = setTimeout(() => {
      records.push({ ...timeoutRecord, backend: job.label, workload: job.workloadId, measure: 'process' });
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    child.on('message', (record) => records.push(record));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!records.some((r) => r.type === 'rss' || r.measure === 'process')) {
        const lastLine = outputTail.split('\n').map((l) => l.trim()).filter(Boolean).pop();
        const error = `child exited with ${signal || `code ${code}`} before finishing${lastLine ? `: ${lastLine}` : ''}`;
        records.push({ type: 'failed', backend: job.label, workload: job.workloadId, measure: 'process', error });
      }
      resolve(records);
    });
  });
}

/**
 * One workload: the GEMM reference rates (just before rnnkit, so both see the same machine load), then each backend in
 * its own child, then speed ratios and the same-model check. Everything is recorded in `run` and emitted.
 */
async function runWorkload(workload, options, run, emit) {
  if (options.backends.includes('rnnkit')) {
    progress(`${workload.id}: GEMM rates`);
    const gemm = measureGemmRates(gemmShapesFor([workload]), { executable: options.gemmBench, seconds: GEMM_SECONDS[options.mode] });
    const firstMissing = !gemm.available && ![...run.gemm.values()].some((g) => !g.available);
    if (firstMissing) progress(gemm.records[0].message);
    for (const record of gemm.records) {
      if (record.type === 'failed') run.failures.push(record);
      if (gemm.available || firstMissing) emit({ ...record, workload: workload.id });
    }
    run.gemm.set(workload.id, gemm);
  }
  const measured = [];
  const models = [];
  const outputs = [];
  for (const { backend, threads, label, pairWith } of jobsFor(options)) {
    const started = Date.now();
    const job = { backend, threads, label, pairWith, workloadId: workload.id, workloadsFile: options.workloadsFile, mode: options.mode, seed: SEED };
    for (const raw of await runChild(job, CHILD_TIMEOUT_SECONDS[options.mode])) {
      const record = withThroughputFigures(raw, workload, run.gemm.get(workload.id));
      if (record.type === 'outputs') {
        outputs.push(record); // compared below, not printed
        continue;
      }
      if (record.type === 'backend') run.backendInfo[label] = record.info;
      else if (record.type === 'model') models.push(record);
      else if (record.type === 'measurement') measured.push(record), run.measurements.push(record);
      else if (record.type === 'failed') run.failures.push(record);
      else if (record.type === 'skipped') run.skipped.push(record);
      else if (record.type === 'rss') run.rss.push(record);
      else if (record.type === 'threadPair') run.threadPairs.push(record);
      emit(record);
    }
    progress(`${workload.id} on ${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  for (const ratio of speedRatios(measured)) run.ratios.push(ratio), emit(ratio);
  const parity = modelAgreement(workload.id, models, outputs);
  run.parity.push(parity);
  emit(parity);
}

async function main() {
  let options;
  let workloads;
  let attentionWorkloads;
  try {
    options = parseOptions(process.argv.slice(2));
    if (options.help) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    // Attention workloads (A1, A2) are defined in bench/attention.js, not in the shared workloads file.
    // The streams section (S1, bench/streams.js) takes W1's shape from the workloads file; it has no entry of its own.
    const attentionIds = ATTENTION_WORKLOADS.map((w) => w.id);
    const only = options.only.filter((id) => !attentionIds.includes(id) && id !== 'S1');
    attentionWorkloads = options.only.length === 0 ? ATTENTION_WORKLOADS : ATTENTION_WORKLOADS.filter((w) => options.only.includes(w.id));
    workloads = options.only.length > 0 && only.length === 0 ? [] : selectWorkloads(loadWorkloads(options.workloadsFile), only);
  } catch (error) {
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  const jsonOut = options.jsonFile ? fs.createWriteStream(options.jsonFile) : process.stdout;
  const emit = (record) => jsonOut.write(`${JSON.stringify(record)}\n`);

  const stopLoad = startLoad(options.load);
  const run = {
    mode: options.mode, workloadsFile: options.workloadsFile, workloads, backends: jobsFor(options).map((j) => j.label),
    threads: options.threads, load: options.load, backendInfo: {},
    measurements: [], failures: [], skipped: [], rss: [], ratios: [], parity: [], threadPairs: [], gemm: new Map(),
    attention: [], streams: [],
  };
  progress('machine info and busy probe');
  run.machineStart = await machineInfo();
  emit({ type: 'machine', ...run.machineStart, threads: options.threads, load: options.load });
  if (options.backends.includes('rnnkit')) {
    const peak = measurePeakRate({ executable: options.gemmBench, seconds: GEMM_SECONDS[options.mode] });
    if (peak && peak.type === 'failed') run.failures.push(peak);
    else if (peak) run.gemmPeak = peak;
    if (peak) emit(peak);
  }

  for (const workload of workloads) await runWorkload(workload, options, run, emit);
  await runAttention(attentionWorkloads, options, run, emit, progress);
  await runStreams(options, run, emit, progress);

  run.machineEnd = await loadSnapshot();
  stopLoad();
  emit({ type: 'machine-end', ...run.machineEnd });
  if (options.jsonFile) await new Promise((resolve) => jsonOut.end(resolve));

  const markdown = markdownReport(run);
  const resultsDir = path.join(__dirname, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, 'latest.md'), markdown);
  process.stdout.write(`\n${markdown}`);
  progress(`report written to ${path.relative(process.cwd(), path.join(resultsDir, 'latest.md'))}`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
