'use strict';
/**
 * Child process entry: measures one workload on one backend so that peak RSS (process.resourceUsage().maxRSS)
 * belongs to that backend alone. Started by run.js with fork(); the job comes as a JSON argument, records go back
 * over IPC, each tagged with the backend. Anything the libraries print goes to stderr, never into the JSON stream.
 */
const { loadWorkloads } = require('./workloads');
const { SETTINGS } = require('./protocol');
const { measureWorkload, errorText } = require('./measure_workload');

async function createBackend(name, threads) {
  if (name === 'rnnkit') return require('./rnnkit_runner').createRnnkitBackend(threads);
  if (name === 'tfjs-cpu' || name === 'tfjs-wasm') return require('./tfjs_runner').createTfjsBackend(name.slice(5));
  if (name === 'onnx') return require('./onnx_runner').createOnnxBackend(1);
  throw new Error(`Expected a backend among rnnkit, tfjs-cpu, tfjs-wasm, onnx but received '${name}'`);
}

async function main() {
  const job = JSON.parse(process.argv[2]);
  // Records carry the job's label: rnnkit at another thread count is reported as its own column (run.js).
  const send = (record) => process.send({ backend: job.label, ...record });
  // maxRSS is in kilobytes. Taken before the paired thread comparison, which keeps the workspaces of both thread
  // counts' batch plans alive at once: the RSS reported is that of this backend's own measurements.
  const rssRecord = () => ({ backend: job.label, type: 'rss', workload: job.workloadId, maxRssMB: process.resourceUsage().maxRSS / 1024 });
  let rss;
  try {
    const workload = loadWorkloads(job.workloadsFile).find((w) => w.id === job.workloadId);
    const backend = await createBackend(job.backend, job.threads);
    send({ type: 'backend', info: backend.info });
    const beforePairs = () => { rss = rssRecord(); };
    await measureWorkload(backend, workload, { seed: job.seed, settings: SETTINGS[job.mode], pairWith: job.pairWith, beforePairs }, send);
  } catch (error) {
    send({ type: 'failed', workload: job.workloadId, measure: 'setup', error: errorText(error) });
  }
  // Exit once the last record is written: a library's open handle must not keep us alive.
  process.send(rss || rssRecord(), () => process.exit(0));
}

main();
