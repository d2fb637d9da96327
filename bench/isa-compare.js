#!/usr/bin/env node
'use strict';
/**
 * Two builds of the addon (e.g. the avx2 and avx512 prebuilds) on the bench workloads, paired in one process: the
 * package (dist/) is loaded twice, each copy bound to one .node file through RNNKIT_NATIVE_PATH, both models get the
 * same weights and batch, and each round times one window of each (the order alternates), so a busy machine slows
 * both alike. Time is the process's CPU time (process.cpuUsage: user + system, all threads; 1 rnnkit thread by
 * default), not wall time. Prints, per case, the median CPU ms per step of each build, the median of the per-round
 * ratios B/A with their range, the largest difference between the two builds' predictions, and the load average.
 *
 *   node bench/isa-compare.js <A rnnkit.node> <B rnnkit.node> [--rounds n] [--window s] [--cases W1:train,I1:1,...]
 *
 * Cases: <workload>:train | <workload>:predict (batch = the workload's B) | I1:<batch>. Default: W1-W5 train and
 * predict, I1 batch 1 and 256. Needs `npm run build:ts`.
 */
const os = require('os');
const path = require('path');
const { loadWorkloads } = require('./workloads');
const { makeBatch } = require('./data');
const { buildRnnkitModel } = require('./rnnkit_runner');

const USAGE = 'usage: node bench/isa-compare.js <A rnnkit.node> <B rnnkit.node> [--rounds n] [--window s] [--cases list]';
const DEFAULT_CASES = ['W1', 'W2', 'W3', 'W4', 'W5'].flatMap((w) => [`${w}:train`, `${w}:predict`]).concat(['I1:1', 'I1:256']);

function parse(argv) {
  const files = [], options = { rounds: 8, window: 0.25, cases: DEFAULT_CASES };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') options.rounds = Number(argv[++i]);
    else if (argv[i] === '--window') options.window = Number(argv[++i]);
    else if (argv[i] === '--cases') options.cases = String(argv[++i]).split(',');
    else if (argv[i].startsWith('--')) throw new Error(`Expected --rounds, --window or --cases but received ${argv[i]}\n${USAGE}`);
    else files.push(path.resolve(argv[i]));
  }
  if (files.length !== 2 || !(options.rounds >= 1) || !(options.window > 0)) {
    throw new Error(`Expected two .node files, rounds >= 1 and window > 0\n${USAGE}`);
  }
  return { files, options };
}

/** A fresh copy of the package bound to `file` (every dist/ module re-evaluated, so loadNative's cache is its own). */
function loadPackage(file) {
  const dist = path.join(__dirname, '..', 'dist') + path.sep;
  for (const key of Object.keys(require.cache)) if (key.startsWith(dist)) delete require.cache[key];
  const saved = process.env.RNNKIT_NATIVE_PATH;
  process.env.RNNKIT_NATIVE_PATH = file;
  try {
    const rk = require('..');
    rk.setThreads(Number(process.env.RNNKIT_THREADS || 1));
    rk.backendInfo();   // loads the addon now, while RNNKIT_NATIVE_PATH names it
    return rk;
  } finally {
    if (saved === undefined) delete process.env.RNNKIT_NATIVE_PATH;
    else process.env.RNNKIT_NATIVE_PATH = saved;
  }
}

function setup(rk, workloads, name) {
  const [id, what] = name.split(':');
  const workload = workloads.find((w) => w.id === id);
  if (!workload) throw new Error(`Expected a workload id but received '${id}'\n${USAGE}`);
  const train = what === 'train';
  const batch = train || what === 'predict' ? workload.B : Number(what);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`Expected train, predict or a batch after ${id}: but received '${what}'`);
  const model = buildRnnkitModel(rk, workload, 1234);
  const data = makeBatch(workload, batch, 1234);
  const x = rk.tensor(data.x, data.xShape), y = rk.tensor(data.y, data.yShape);
  return {
    batch,
    step: train ? () => model.trainOnBatch(x, y) : () => model.predictOnBatch(x),
    predict: async () => (await model.predictOnBatch(x)).dataSync(),
  };
}

/** CPU ms per step over `steps` steps. */
async function time(side, steps) {
  const start = process.cpuUsage();
  for (let s = 0; s < steps; s++) await side.step();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e3 / steps;
}

const median = (v) => { const s = [...v].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; };

async function main() {
  const { files, options } = parse(process.argv.slice(2));
  const workloads = loadWorkloads();
  const [rkA, rkB] = files.map(loadPackage);
  const [infoA, infoB] = [rkA, rkB].map((rk) => rk.backendInfo());
  console.log(`A: ${infoA.path} (${infoA.isa}; ${infoA.simd})\nB: ${infoB.path} (${infoB.isa}; ${infoB.simd})\n` +
    `${rkA.getThreads()} thread(s), ${options.rounds} rounds, windows of ~${options.window} s CPU; ${os.cpus()[0].model}`);
  for (const name of options.cases) {
    const load = os.loadavg()[0];
    const a = setup(rkA, workloads, name), b = setup(rkB, workloads, name);
    const [outA, outB] = [await a.predict(), await b.predict()];
    let maxDiff = 0;
    for (let i = 0; i < outA.length; i++) maxDiff = Math.max(maxDiff, Math.abs(outA[i] - outB[i]));
    // Warm-up, then the steps per window from A's warm-up rate.
    for (let i = 0; i < 2; i++) { await a.step(); await b.step(); }
    const steps = Math.max(1, Math.round(options.window / (await time(a, 3) / 1e3)));
    await time(b, 3);
    const msA = [], msB = [], ratios = [];
    for (let r = 0; r < options.rounds; r++) {
      const first = r % 2 === 0 ? [a, b] : [b, a];
      const t0 = await time(first[0], steps), t1 = await time(first[1], steps);
      const [ta, tb] = r % 2 === 0 ? [t0, t1] : [t1, t0];
      msA.push(ta); msB.push(tb); ratios.push(tb / ta);
    }
    console.log(`${name.padEnd(11)} batch ${String(a.batch).padStart(3)}: A ${median(msA).toFixed(3)} B ` +
      `${median(msB).toFixed(3)} CPU ms/step, B/A ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}-` +
      `${Math.max(...ratios).toFixed(3)}), A/B speed-up ${(1 / median(ratios)).toFixed(2)}x; |predA-predB| max ` +
      `${maxDiff.toExponential(1)}; load ${load.toFixed(1)}-${os.loadavg()[0].toFixed(1)}`);
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(2);
});
