'use strict';
/** Command-line options of bench/run.js. Unknown options are errors, not ignored. */
const path = require('path');
const { DEFAULT_WORKLOADS_FILE } = require('./workloads');
const { DEFAULT_GEMM_BENCH } = require('./gemm');

const BACKENDS = ['rnnkit', 'tfjs-wasm', 'tfjs-cpu', 'onnx'];

const USAGE = `usage: node bench/run.js [options]
  --workloads <file>     workload definitions (default ${path.relative(process.cwd(), DEFAULT_WORKLOADS_FILE)})
  --only W1,W2           run only these workload ids
  --backends <list>      any of ${BACKENDS.join(',')} (default all)
  --threads 1,2          rnnkit thread counts to measure, each in its own child (default 1,2; the first is the
                         one compared with tfjs in the main table)
  --load <n>             start n busy-loop processes for the whole run (default 0): measures rnnkit's threads
                         with the machine's cores taken
  --quick                few steps per measurement: a smoke run
  --json <file>          write the JSON lines to <file> instead of stdout
  --gemm-bench <file>    GEMM rate program (default build/rnnkit_gemm_bench)
  --help                 this text`;

function list(value, name) {
  const items = String(value).split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new Error(`Expected a comma-separated list for ${name} but received '${value}'`);
  return items;
}

/** Parses argv (without node and script) into { workloadsFile, only, backends, mode, jsonFile, gemmBench, help }. */
function parseOptions(argv) {
  const options = {
    workloadsFile: DEFAULT_WORKLOADS_FILE, only: [], backends: BACKENDS.slice(), mode: 'full', jsonFile: null,
    gemmBench: DEFAULT_GEMM_BENCH, help: false, threads: [1, 2], load: 0,
  };
  const withValue = {
    '--workloads': 'workloadsFile', '--only': 'only', '--backends': 'backends', '--json': 'jsonFile', '--gemm-bench': 'gemmBench',
    '--threads': 'threads', '--load': 'load',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.mode = 'quick';
    else if (arg === '--help' || arg === '-h') options.help = true;
    else if (withValue[arg]) {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`Expected a value after ${arg} but received ${value === undefined ? 'nothing' : `'${value}'`}`);
      options[withValue[arg]] = value;
    } else throw new Error(`Expected an option among --workloads, --only, --backends, --threads, --load, --quick, --json, --gemm-bench, --help but received '${arg}'`);
  }
  if (typeof options.only === 'string') options.only = list(options.only, '--only');
  if (typeof options.backends === 'string') {
    options.backends = list(options.backends, '--backends');
    for (const b of options.backends) if (!BACKENDS.includes(b)) throw new Error(`Expected backends among ${BACKENDS.join(', ')} for --backends but received '${b}'`);
  }
  if (typeof options.threads === 'string') {
    options.threads = list(options.threads, '--threads').map((t) => {
      const n = Number(t);
      if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`Expected thread counts that are integers in [1, 256] for --threads but received '${t}'`);
      return n;
    });
  }
  if (typeof options.load === 'string') {
    const n = Number(options.load);
    if (!Number.isInteger(n) || n < 0 || n > 64) throw new Error(`Expected an integer in [0, 64] for --load but received '${options.load}'`);
    options.load = n;
  }
  options.workloadsFile = path.resolve(options.workloadsFile);
  options.gemmBench = path.resolve(options.gemmBench);
  if (options.jsonFile) options.jsonFile = path.resolve(options.jsonFile);
  return options;
}

module.exports = { parseOptions, USAGE, BACKENDS };
